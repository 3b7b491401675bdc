// The few fields of the inner IP header that encap and decap act on (RFC 6040 ECN, TTL
// and DSCP inheritance, DF), read from wherever the inner IP header starts.
#pragma once

#include <cstdint>

#include "dataplane/proto/ether.h"
#include "dataplane/proto/ip.h"

namespace tundra {

struct InnerIp {
  uint8_t version = 0;  // 0: not IP
  bool df = false;
  uint8_t tos = 0;  // IPv4 TOS or IPv6 traffic class
  uint8_t ttl = 64;
};

inline InnerIp ReadInnerIpAt(const uint8_t* l3, uint32_t avail) {
  InnerIp f;
  if (avail < 1) return f;
  const uint8_t v = l3[0] >> 4;
  if (v == 4 && avail >= kIpv4HdrLen) {
    const auto* ip = reinterpret_cast<const Ipv4Hdr*>(l3);
    f = {4, ip->dont_fragment(), ip->tos, ip->ttl};
  } else if (v == 6 && avail >= kIpv6HdrLen) {
    const auto* ip = reinterpret_cast<const Ipv6Hdr*>(l3);
    f = {6, false, ip->traffic_class(), ip->hop_limit};
  }
  return f;
}

// Finds the IP header of an Ethernet frame (untagged or one 802.1Q tag): its offset,
// or 0 when the frame carries no IP.
inline uint16_t InnerIpOffset(const uint8_t* frame, uint32_t avail) {
  if (avail < kEtherHdrLen) return 0;
  Be16 type = reinterpret_cast<const EtherHdr*>(frame)->ether_type;
  uint16_t off = kEtherHdrLen;
  if (type == kEtherTypeVlan) {
    if (avail < kEtherHdrLen + kVlanHdrLen) return 0;
    std::memcpy(&type, frame + kEtherHdrLen + 2, 2);
    off += kVlanHdrLen;
  }
  return (type == kEtherTypeIpv4 || type == kEtherTypeIpv6) ? off : 0;
}

inline constexpr uint8_t kEcnMask = 0x03;
inline constexpr uint8_t kEcnNotEct = 0x00;
inline constexpr uint8_t kEcnEct1 = 0x01;
inline constexpr uint8_t kEcnEct0 = 0x02;
inline constexpr uint8_t kEcnCe = 0x03;

// RFC 6040 §4.2, normal mode: the inner ECN after decapsulation, or -1 to drop.
inline int DecapEcn(uint8_t outer, uint8_t inner) {
  if (outer == kEcnCe) return inner == kEcnNotEct ? -1 : kEcnCe;
  if (outer == kEcnEct1 && inner == kEcnEct0) return kEcnEct1;
  return inner;
}

}  // namespace tundra
