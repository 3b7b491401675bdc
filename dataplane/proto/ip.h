// IPv4 and IPv6 wire formats (RFC 791, RFC 8200) and ICMPv6 neighbor discovery (RFC 4861).
#pragma once

#include <rte_ip.h>

#include <cstdint>

#include "dataplane/proto/endian.h"

namespace tundra {

inline constexpr uint8_t kIpProtoIcmp = 1;
inline constexpr uint8_t kIpProtoTcp = 6;
inline constexpr uint8_t kIpProtoUdp = 17;
inline constexpr uint8_t kIpProtoSctp = 132;
inline constexpr uint8_t kIpProtoGre = 47;
inline constexpr uint8_t kIpProtoIcmpv6 = 58;
inline constexpr uint8_t kIpv6FragmentHeader = 44;

inline constexpr uint16_t kIpv4HdrLen = 20;
inline constexpr uint16_t kIpv6HdrLen = 40;

struct __attribute__((packed)) Ipv4Hdr {
  uint8_t version_ihl;  // version(4) IHL(4), IHL in 4-byte words
  uint8_t tos;          // DSCP(6) ECN(2)
  Be16 total_length;
  Be16 packet_id;
  Be16 fragment_offset;  // flags(3: reserved, DF, MF) offset(13)
  uint8_t ttl;
  uint8_t protocol;
  Be16 checksum;
  uint8_t src[4];
  uint8_t dst[4];

  uint8_t version() const { return version_ihl >> 4; }
  uint16_t header_len() const { return (version_ihl & 0x0F) * 4; }
  bool is_fragment() const {
    return (fragment_offset.raw() & Be16(kMoreFragments | kOffsetMask).raw()) != 0;
  }
  bool dont_fragment() const { return (fragment_offset.raw() & Be16(kDontFragment).raw()) != 0; }

  static constexpr uint16_t kDontFragment = 0x4000;
  static constexpr uint16_t kMoreFragments = 0x2000;
  static constexpr uint16_t kOffsetMask = 0x1FFF;
};
static_assert(sizeof(Ipv4Hdr) == sizeof(rte_ipv4_hdr));

struct __attribute__((packed)) Ipv6Hdr {
  Be32 vtc_flow;  // version(4) traffic class(8) flow label(20)
  Be16 payload_len;
  uint8_t next_header;
  uint8_t hop_limit;
  uint8_t src[16];
  uint8_t dst[16];

  uint8_t version() const { return vtc_flow.host() >> 28; }
  uint8_t traffic_class() const { return (vtc_flow.host() >> 20) & 0xFF; }
};
static_assert(sizeof(Ipv6Hdr) == sizeof(rte_ipv6_hdr));

// ICMPv6 Neighbor Solicitation / Advertisement body after the 4-byte ICMPv6 header.
struct __attribute__((packed)) Icmpv6NdHdr {
  uint8_t type;  // 135 NS, 136 NA
  uint8_t code;
  Be16 checksum;
  Be32 flags;  // NA: R(31) S(30) O(29); NS: reserved
  uint8_t target[16];
};
static_assert(sizeof(Icmpv6NdHdr) == 24);

struct __attribute__((packed)) NdLinkLayerOption {
  uint8_t type;  // 1 source, 2 target link-layer address
  uint8_t len;   // in 8-byte units: 1 for Ethernet
  uint8_t mac[6];
};
static_assert(sizeof(NdLinkLayerOption) == 8);

inline constexpr uint8_t kIcmpv6NeighborSolicit = 135;
inline constexpr uint8_t kIcmpv6NeighborAdvert = 136;
inline constexpr uint32_t kNaFlagSolicited = 0x40000000;
inline constexpr uint32_t kNaFlagOverride = 0x20000000;

}  // namespace tundra
