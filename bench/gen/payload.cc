#include "bench/gen/payload.h"

#include <cstring>

#include "dataplane/proto/ether.h"
#include "dataplane/proto/geneve.h"
#include "dataplane/proto/gre.h"
#include "dataplane/proto/ip.h"
#include "dataplane/proto/udp.h"
#include "dataplane/proto/vxlan.h"

namespace tundra::gen {
namespace {

// How far the magic scan looks, from the start of the frame.
constexpr uint32_t kScanLen = 256;
// Outer + inner: deeper nesting is left to the scan.
constexpr int kMaxDepth = 2;

template <typename T>
bool Fits(uint32_t off, uint32_t len) {
  return off + sizeof(T) <= len;
}

uint16_t Get16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

std::optional<uint32_t> ParseEther(const uint8_t* f, uint32_t len, uint32_t off, int depth,
                                   const TunnelPorts& ports);

// `off` is at an IP header of `version` (4 or 6).
std::optional<uint32_t> ParseIp(const uint8_t* f, uint32_t len, uint32_t off, uint8_t version,
                                int depth, const TunnelPorts& ports) {
  uint8_t proto;
  if (version == 4) {
    if (!Fits<Ipv4Hdr>(off, len)) return std::nullopt;
    const uint32_t ihl = (f[off] & 0x0F) * 4u;
    if (ihl < kIpv4HdrLen || off + ihl > len) return std::nullopt;
    proto = f[off + 9];
    off += ihl;
  } else {
    if (!Fits<Ipv6Hdr>(off, len)) return std::nullopt;
    proto = f[off + 6];
    off += kIpv6HdrLen;
  }
  if (proto == kIpProtoUdp) {
    if (!Fits<UdpHdr>(off, len)) return std::nullopt;
    const uint16_t dport = Get16(f + off + 2);
    off += kUdpHdrLen;
    if (off + kPayloadLen <= len && HasMagic(f + off)) return off;
    if (depth >= kMaxDepth) return std::nullopt;
    if (dport == ports.vxlan) {
      if (off + kVxlanHdrLen > len) return std::nullopt;
      return ParseEther(f, len, off + kVxlanHdrLen, depth + 1, ports);
    }
    if (dport == ports.geneve) {
      if (off + kGeneveHdrLen > len) return std::nullopt;
      const uint32_t opt_len = (f[off] & 0x3F) * 4u;
      return ParseEther(f, len, off + kGeneveHdrLen + opt_len, depth + 1, ports);
    }
    return std::nullopt;
  }
  if (proto == kIpProtoGre && depth < kMaxDepth) {
    if (!Fits<GreHdr>(off, len)) return std::nullopt;
    const uint16_t flags = Get16(f + off);
    const uint16_t inner = Get16(f + off + 2);
    off += GreHeaderLen(flags);
    if (inner == 0x6558) return ParseEther(f, len, off, depth + 1, ports);
    if (inner == 0x0800 || inner == 0x86DD) {
      return ParseIp(f, len, off, inner == 0x0800 ? 4 : 6, depth + 1, ports);
    }
  }
  return std::nullopt;
}

std::optional<uint32_t> ParseEther(const uint8_t* f, uint32_t len, uint32_t off, int depth,
                                   const TunnelPorts& ports) {
  if (!Fits<EtherHdr>(off, len)) return std::nullopt;
  uint16_t type = Get16(f + off + 12);
  off += kEtherHdrLen;
  for (int tags = 0; (type == 0x8100 || type == 0x88A8) && tags < 2; ++tags) {
    if (off + kVlanHdrLen > len) return std::nullopt;
    type = Get16(f + off + 2);
    off += kVlanHdrLen;
  }
  if (type == 0x0800) return ParseIp(f, len, off, 4, depth, ports);
  if (type == 0x86DD) return ParseIp(f, len, off, 6, depth, ports);
  return std::nullopt;
}

}  // namespace

std::optional<uint32_t> FindPayload(const uint8_t* frame, uint32_t len, const TunnelPorts& ports) {
  if (auto off = ParseEther(frame, len, 0, 0, ports)) return off;
  const uint32_t end = (len < kScanLen ? len : kScanLen);
  for (uint32_t off = 0; off < end && off + kPayloadLen <= len; ++off) {
    if (frame[off] == (kPayloadMagic >> 16) && HasMagic(frame + off)) return off;
  }
  return std::nullopt;
}

}  // namespace tundra::gen
