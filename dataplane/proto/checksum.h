// Internet checksum arithmetic (RFC 1071) and incremental updates (RFC 1624).
// Sums are kept unfolded in 32 bits over 16-bit words as they lie in memory, so a
// field stored in network order is added as-is and the result is stored as-is.
#pragma once

#include <rte_ip.h>

#include <cstdint>
#include <cstring>

namespace tundra {

inline uint16_t FoldChecksum(uint32_t sum) {
  sum = (sum & 0xFFFF) + (sum >> 16);
  sum = (sum & 0xFFFF) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}

// Sum of `len` bytes as 16-bit words in memory order (unfolded).
inline uint32_t RawSum(const void* data, size_t len) { return __rte_raw_cksum(data, len, 0); }

// Whether an IPv4 header (of `len` bytes, a multiple of 4) sums to all ones. The
// common 20-byte header is five 32-bit adds and a fold.
inline bool Ipv4HeaderChecksumOk(const void* hdr, uint16_t len) {
  const auto* p = static_cast<const uint8_t*>(hdr);
  uint32_t w[5];
  std::memcpy(w, p, 20);
  uint64_t sum = uint64_t{w[0]} + w[1] + w[2] + w[3] + w[4];
  for (uint16_t i = 20; i < len; i += 4) {
    uint32_t opt;
    std::memcpy(&opt, p + i, 4);
    sum += opt;
  }
  sum = (sum & 0xFFFFFFFF) + (sum >> 32);
  sum = (sum & 0xFFFFFFFF) + (sum >> 32);
  return FoldChecksum(static_cast<uint32_t>(sum)) == 0xFFFF;
}

// RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), for one 16-bit field changing m → m'.
inline uint16_t UpdateChecksum16(uint16_t checksum, uint16_t old_raw, uint16_t new_raw) {
  uint32_t sum = static_cast<uint16_t>(~checksum) + static_cast<uint16_t>(~old_raw) + new_raw;
  return static_cast<uint16_t>(~FoldChecksum(sum));
}

}  // namespace tundra
