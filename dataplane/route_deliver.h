// Routed delivery: IP packets that an L3 (gre) tunnel decapsulated go to their host on a
// routed access port, like a router's last hop: TTL or hop limit decremented, the host's
// MAC and port from the host table (learned from ARP/ND, or static), our MAC as source.
// An unknown host is solicited (neighbor_solicit.h) and the packet dropped.
#pragma once

#include <rte_mbuf.h>

#include <cstdint>

#include "dataplane/worker_context.h"

namespace tundra {

struct RoutedPacket {
  rte_mbuf* m;   // the inner IP packet, at offset 0
  uint32_t id;   // the tunnel it came from
  uint32_t len;  // its length as decapsulated (counted as decap bytes)
};

void DeliverRouted(WorkerContext& ctx, uint16_t rx_port, RoutedPacket* pkts, uint16_t n);

}  // namespace tundra
