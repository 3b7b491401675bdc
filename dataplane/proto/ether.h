// Ethernet, 802.1Q and ARP wire formats.
#pragma once

#include <rte_arp.h>
#include <rte_ether.h>

#include <cstdint>

#include "dataplane/proto/endian.h"

namespace tundra {

inline constexpr Be16 kEtherTypeIpv4{0x0800};
inline constexpr Be16 kEtherTypeIpv6{0x86DD};
inline constexpr Be16 kEtherTypeArp{0x0806};
inline constexpr Be16 kEtherTypeVlan{0x8100};
// "Transparent Ethernet Bridging": the payload type of GENEVE and gretap.
inline constexpr Be16 kEtherTypeTeb{0x6558};

inline constexpr uint16_t kEtherHdrLen = 14;
inline constexpr uint16_t kVlanHdrLen = 4;
inline constexpr uint16_t kVlanIdMask = 0x0FFF;

struct __attribute__((packed)) EtherHdr {
  uint8_t dst[6];
  uint8_t src[6];
  Be16 ether_type;
};
static_assert(sizeof(EtherHdr) == sizeof(rte_ether_hdr));

// The 4 bytes that follow the source MAC in a tagged frame.
struct __attribute__((packed)) VlanTag {
  Be16 tpid;  // 0x8100
  Be16 tci;   // PCP(3) DEI(1) VID(12)
};
static_assert(sizeof(VlanTag) == 4);

struct __attribute__((packed)) ArpHdr {
  Be16 hw_type;       // 1 = Ethernet
  Be16 proto_type;    // 0x0800
  uint8_t hw_len;     // 6
  uint8_t proto_len;  // 4
  Be16 op;            // 1 request, 2 reply
  uint8_t sha[6];
  uint8_t spa[4];
  uint8_t tha[6];
  uint8_t tpa[4];
};
static_assert(sizeof(ArpHdr) == sizeof(rte_arp_hdr));

inline constexpr Be16 kArpHwEther{1};
inline constexpr Be16 kArpOpRequest{1};
inline constexpr Be16 kArpOpReply{2};

inline bool IsMulticastMac(const uint8_t* mac) { return (mac[0] & 0x01) != 0; }

}  // namespace tundra
