// Decap's check stage: what a tunnel's rules say about its packets.
//   per flow:   a tunnel has the key (else unknown-vni, or bad-payload-type when a GRE
//               tunnel of the other payload kind has it); UDP tunnels' outer source is
//               the remote (anti-spoofing); GENEVE control packets are punted and
//               critical options must be understood (RFC 8926 §3.5); L2 tunnels need
//               an attachment
//   per packet: GRE sequence numbers (RFC 2890 §2.2) and RFC 6040 ECN decapsulation,
//               which rewrites the inner IP header's ECN field
#pragma once

#include "dataplane/decap_batch.h"
#include "dataplane/tables.h"
#include "dataplane/worker_context.h"

namespace tundra {

void CheckStage(WorkerContext& ctx, DecapBatch& b);

}  // namespace tundra
