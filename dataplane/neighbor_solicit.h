// Resolving hosts of routed access ports: when a decapsulated packet's host is unknown,
// tundra asks for its MAC (an ARP request, or a neighbor solicitation to its
// solicited-node multicast address) out of the routed access port whose subnet holds
// it. The reply is learned like any other ARP/ND packet from a host (route_input.h).
#pragma once

#include <cstdint>

#include "dataplane/worker_context.h"

namespace tundra {

// Solicits `dst` (4 or 16 bytes by `family`). A stream of packets to one unresolved host
// asks once per 100 ms, not once per packet.
void Solicit(WorkerContext& ctx, uint8_t family, const uint8_t* dst);

}  // namespace tundra
