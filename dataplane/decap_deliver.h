// Decap's deliver stage: strips the outer headers and sends each frame to its tunnel's
// attachment (tagged with its VLAN), or each L3 packet to the routed access port of its
// host (route_deliver.h). Packets an earlier stage dropped are counted and freed here,
// GENEVE control packets punted to the control thread.
#pragma once

#include "dataplane/decap_batch.h"
#include "dataplane/worker_context.h"

namespace tundra {

void DeliverStage(WorkerContext& ctx, DecapBatch& b);

}  // namespace tundra
