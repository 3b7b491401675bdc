// Asking for a neighbor's MAC: an ARP request, or an IPv6 neighbor solicitation.
//  * Hosts of routed access ports: when a decapsulated packet's host is unknown, the
//    worker asks out of the routed access port whose subnet holds it (Solicit). The
//    reply is learned like any other ARP/ND packet from a host (route_input.h).
//  * Underlay next hops: the control thread resolves and refreshes them itself
//    (control/nexthops.h) with frames from BuildSolicit, which a worker transmits.
#pragma once

#include <cstdint>

#include "dataplane/worker_context.h"

namespace tundra {

// The longest frame BuildSolicit writes: Ethernet + IPv6 + NS + source link-layer option.
inline constexpr uint16_t kSolicitFrameMax = 86;

// Writes a request for `target` (4 or 16 bytes by `family`) from the port with MAC
// `src_mac` and address `src_ip` into `frame` and returns its length. With `dst_mac`
// null it is a resolution (broadcast ARP; NS to the solicited-node multicast address);
// otherwise a unicast probe to the MAC we hold (RFC 1122 §2.3.2.1; RFC 4861 §7.3.3:
// NS to the target's own address), which confirms the neighbor still answers there.
uint16_t BuildSolicit(uint8_t family, const uint8_t src_mac[6], const uint8_t* src_ip,
                      const uint8_t* target, const uint8_t* dst_mac, uint8_t* frame);

// Solicits `dst` (4 or 16 bytes by `family`) out of the routed access port whose subnet
// holds it. A stream of packets to one unresolved host asks once per 100 ms, not once
// per packet.
void Solicit(WorkerContext& ctx, uint8_t family, const uint8_t* dst);

}  // namespace tundra
