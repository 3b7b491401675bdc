// ARP and neighbor discovery arriving on an uplink. A request for our VTEP address is
// answered in place (neighbor_reply.h). What a packet tells about its sender (ARP) or
// target (NA) goes to the control thread as a LearnEvent; only the next hops the control
// thread resolves take it up (control/nexthops.h), so a flood of ARP from strangers adds
// no neighbor. A reply to one of our probes is marked confirmed: it proves the neighbor
// reachable; gratuitous ARP and unsolicited NA only update a MAC.
#pragma once

#include <rte_mbuf.h>

#include "dataplane/tables.h"
#include "dataplane/worker_context.h"

namespace tundra {

// `m` (an Ethernet frame on uplink `rx_port`) is ARP, or IPv6 with ICMPv6 directly after
// the fixed header. Consumes it: answered, taken in, or dropped as arp-ignored.
void UplinkNeighborInput(WorkerContext& ctx, const PortView& port, uint16_t rx_port, rte_mbuf* m);

// Whether the IPv6 packet at `l3_off` of `m` is a neighbor solicitation or advertisement
// (what UplinkNeighborInput takes).
bool IsNeighborDiscovery(const rte_mbuf* m, uint16_t l3_off);

}  // namespace tundra
