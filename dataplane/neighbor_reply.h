// Answers ARP requests and IPv6 Neighbor Solicitations for the uplink's own VTEP
// addresses, so underlay peers resolve us without static entries. The request mbuf is
// rewritten in place into the reply: no allocation on the worker.
#pragma once

#include <rte_mbuf.h>

#include "dataplane/tables.h"

namespace tundra {

// `m` holds an ARP frame. Returns true after turning it into our reply.
bool AnswerArp(const PortView& port, rte_mbuf* m);

// `m` holds an IPv6 packet (header at `l3_off`) carrying ICMPv6. Returns true after
// turning a Neighbor Solicitation for our address into a Neighbor Advertisement.
bool AnswerNeighborSolicit(const PortView& port, rte_mbuf* m, uint16_t l3_off);

}  // namespace tundra
