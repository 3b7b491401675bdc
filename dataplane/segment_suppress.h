// ARP/ND suppression for segments (`segment <name> suppress on`, like the kernel
// bridge's neigh_suppress): the segment keeps tenant IP → MAC bindings, snooped from
// ARP and neighbor discovery frames crossing it or given with `fdb add ... ip <ip>`, and
// answers a member's ARP request or neighbor solicitation for a known address itself
// instead of flooding it to every VTEP.
#pragma once

#include <rte_mbuf.h>

#include <cstdint>

#include "dataplane/tables.h"

namespace tundra {

// A tenant address and the MAC that answers for it, as a frame shows it.
struct HostBinding {
  uint8_t family = 0;  // 4 or 6
  uint8_t ip[16] = {};
  uint8_t mac[6] = {};
};

// The binding an (untagged) ARP request or reply, neighbor solicitation (not DAD) or
// advertisement announces about its sender; false for any other frame.
bool SnoopHostBinding(const rte_mbuf* m, HostBinding& out);

// When `m` is an ARP request or neighbor solicitation for an address segment `segment`
// knows, turns it into the answer (to its sender) and returns true.
bool SuppressNeighborRequest(const Tables& tables, uint32_t segment, rte_mbuf* m);

}  // namespace tundra
