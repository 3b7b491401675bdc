// Routed access ports and L3 (gre) tunnels. A routed access port has an address: it
// answers ARP and neighbor solicitations for it (learning the asking host), routes the
// IP packets hosts send it into gre tunnels by longest-prefix match, and receives the
// IP packets those tunnels decapsulate, rebuilding their Ethernet header from the
// learned (or static) host neighbors. Like a router it decrements TTL, and it answers
// packets too big for the tunnel with ICMP "fragmentation needed"/"packet too big", or
// fragments them when the tunnel says so.
#pragma once

#include <rte_mbuf.h>

#include <cstdint>

#include "dataplane/worker_context.h"

namespace tundra {

// Routes a burst received on routed access port `rx_port`.
void RouteBurst(WorkerContext& ctx, const PortView& port, uint16_t rx_port, rte_mbuf** pkts,
                uint16_t n);

// Sends the inner IP packet `m` (no Ethernet header) decapsulated from tunnel `id` to
// its host. Returns true when it was queued; otherwise it was dropped and counted.
bool DeliverRouted(WorkerContext& ctx, uint16_t rx_port, rte_mbuf* m, uint32_t id);

}  // namespace tundra
