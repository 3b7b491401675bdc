// Encapsulation: frames from an access port become tunnel packets on the uplink.
#pragma once

#include <rte_mbuf.h>

#include <cstdint>

#include "dataplane/worker_context.h"

namespace tundra {

// Encapsulates a burst received on access port `rx_port`: each frame goes to the tunnel
// its (port, VLAN) attachment names, or is dropped with a counted reason.
void EncapBurst(WorkerContext& ctx, uint16_t rx_port, rte_mbuf** pkts, uint16_t n);

// Prepends `t`'s header to `m` (a bare inner frame) and finishes lengths, source port
// and checksums. Returns false (with `m` unchanged) when there is no headroom.
// Exposed for unit tests and the instruction-count benchmark.
bool EncapOne(const Tunnel& t, rte_mbuf* m);

}  // namespace tundra
