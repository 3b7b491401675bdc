// The 18 bytes tundra-gen writes at the start of every inner UDP payload, and how a
// receiver finds them again in a frame that may or may not be encapsulated.
//
// 18 bytes is what a 64-byte frame (60 bytes + FCS) has left after inner Ethernet,
// IPv4 and UDP headers, so every field is as narrow as it can usefully be:
//   magic   24 bits  kPayloadMagic, to recognise our packets
//   stream  24 bits  which template (tunnel, flow) sent it: 16M streams
//   seq     48 bits  per-stream sequence number, the low 48 bits of a 64-bit
//                    counter (2.8e14 packets: 21 days at 150 Mpps)
//   tsc     48 bits  rte_rdtsc() at send time, low 48 bits (30 hours at 2.6 GHz);
//                    latency is taken modulo 2^48
// All big-endian.
#pragma once

#include <cstdint>
#include <optional>

namespace tundra::gen {

inline constexpr uint32_t kPayloadMagic = 0x7D6E47;  // "}nG"
inline constexpr uint16_t kPayloadLen = 18;
inline constexpr uint16_t kPayloadSeqOff = 6;  // seq and tsc: the bytes patched per packet
inline constexpr uint16_t kPayloadStampLen = 12;
inline constexpr uint64_t kStampMask = (uint64_t{1} << 48) - 1;
inline constexpr uint32_t kMaxStreams = 1u << 24;

struct PayloadFields {
  uint32_t stream = 0;
  uint64_t seq = 0;  // low 48 bits
  uint64_t tsc = 0;  // low 48 bits
};

namespace detail {
inline void PutBe(uint8_t* p, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) {
    p[i] = static_cast<uint8_t>(v);
    v >>= 8;
  }
}
inline uint64_t GetBe(const uint8_t* p, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | p[i];
  return v;
}
}  // namespace detail

// Writes magic and stream; seq and tsc are zero until stamped.
inline void WritePayloadHeader(uint8_t* p, uint32_t stream) {
  detail::PutBe(p, kPayloadMagic, 3);
  detail::PutBe(p + 3, stream, 3);
  detail::PutBe(p + kPayloadSeqOff, 0, kPayloadStampLen);
}

inline void WritePayloadStamp(uint8_t* p, uint64_t seq, uint64_t tsc) {
  detail::PutBe(p + kPayloadSeqOff, seq & kStampMask, 6);
  detail::PutBe(p + kPayloadSeqOff + 6, tsc & kStampMask, 6);
}

inline bool HasMagic(const uint8_t* p) { return detail::GetBe(p, 3) == kPayloadMagic; }

inline PayloadFields ReadPayload(const uint8_t* p) {
  return PayloadFields{static_cast<uint32_t>(detail::GetBe(p + 3, 3)),
                       detail::GetBe(p + kPayloadSeqOff, 6),
                       detail::GetBe(p + kPayloadSeqOff + 6, 6)};
}

struct TunnelPorts {
  uint16_t vxlan = 4789;
  uint16_t geneve = 6081;
};

// Parses Ethernet (with VLAN tags) / IPv4|IPv6 / UDP|GRE / VXLAN|GENEVE|GRE payload /
// inner Ethernet / inner IP / UDP, up to two levels, and returns the payload if it
// starts with the magic. Failing that, scans the first 256 bytes for the magic (any
// encapsulation the parser does not know). Returns the offset, or nullopt.
std::optional<uint32_t> FindPayload(const uint8_t* frame, uint32_t len, const TunnelPorts& ports);

}  // namespace tundra::gen
