// Joining an underlay multicast group: the IGMPv3 / MLDv2 report a segment's `group`
// needs so that snooping switches and multicast routers send the group's packets to
// this uplink. The control thread builds them (control/nexthops.h sends them as a
// group's next hop is taken, kept and given up); a worker transmits them.
#pragma once

#include <cstdint>

namespace tundra {

// The longest frame BuildMembershipReport writes: Ethernet + IPv6 + hop-by-hop header +
// MLDv2 report with one record.
inline constexpr uint16_t kMembershipReportMax = 14 + 40 + 8 + 8 + 20;

// Writes a report of one record of `record_type` (proto/igmp.h) for `group` (4 or 16
// bytes by `family`) from the port with MAC `src_mac` into `frame`; returns its length.
// IGMPv3 goes from `src_v4` (null: 0.0.0.0, RFC 3376 §4.2.13) to 224.0.0.22, MLDv2 from
// the port's EUI-64 link-local address (RFC 3810 §5: reports come from a link-local
// source) to ff02::16; both with TTL/hop limit 1 and a Router Alert option.
uint16_t BuildMembershipReport(uint8_t family, const uint8_t src_mac[6], const uint8_t* src_v4,
                               const uint8_t* group, uint8_t record_type, uint8_t* frame);

}  // namespace tundra
