// Decapsulation: tunnel packets on an uplink become frames on access ports (or, for L3
// tunnels, IP packets to the hosts of routed access ports).
#pragma once

#include <rte_mbuf.h>

#include <cstdint>

#include "dataplane/decap_parse.h"
#include "dataplane/worker_context.h"

namespace tundra {

// Decapsulates a burst received on uplink `rx_port`: the stages of decap_batch.h.
void DecapBurst(WorkerContext& ctx, uint16_t rx_port, rte_mbuf** pkts, uint16_t n);

}  // namespace tundra
