// A routed access port's burst: the port has an address and acts as the hosts' router
// into L3 (gre) tunnels. Stages over the burst:
//   input    ARP and ND from hosts are learned (to the control thread) and answered for
//            our address; IP packets pass IP input (ip_input.h, shared with decap) and
//            must be for someone else, but pings of our address are answered
//            (echo_reply.h)
//   lookup   the destinations' longest-prefix match, in bulk (rte_lpm, rte_lpm6)
//   forward  TTL / hop limit decremented (ip_ttl.h); a packet too big for the tunnel is
//            fragmented (fragment.h) or answered with ICMP (icmp_error.h)
//   push     encap_push.h, as for bridged frames
// The other direction, decapsulated packets to hosts, is route_deliver.h.
#pragma once

#include <rte_mbuf.h>

#include <cstdint>

#include "dataplane/worker_context.h"

namespace tundra {

void RouteBurst(WorkerContext& ctx, uint16_t rx_port, rte_mbuf** pkts, uint16_t n);

}  // namespace tundra
