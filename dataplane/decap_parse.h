// Decap's parse stage: validates each packet's outer headers and turns them into the
// flow (decap_batch.h) that classify looks up. One validator per header: IP input
// (ip_input.h, shared with routed access), the outer UDP header (udp_input.h) and the
// tunnel header (tunnel_parse.h). A packet whose outer headers repeat the last fully
// parsed one's shares or copies its flow (decap_shape.h).
#pragma once

#include <rte_mbuf.h>

#include <cstdint>

#include "dataplane/decap_batch.h"
#include "dataplane/tables.h"
#include "dataplane/worker_context.h"

namespace tundra {

enum class ParseVerdict : uint8_t { kLookup, kDrop, kReply, kNeighbor };

// The full parser. Validates `m`'s outer headers against `port` (the uplink it arrived
// on). kLookup: `flow` holds the key and remote, `parse` the rest; kDrop: `drop` says why; kReply:
// `m` was rewritten into a reply to send back out of the same port; kNeighbor: `m` is ARP
// or neighbor discovery, for UplinkNeighborInput (neighbor_input.h).
// Never reads past the packet; trims Ethernet padding.
ParseVerdict ParseOuter(const Tables& tables, const PortView& port, rte_mbuf* m, DecapFlow& flow,
                        DecapParse& parse, DropReason& drop);

// Parses a burst received on uplink `b.rx_port` into `b`. Packets dropped here, replies
// (ARP/ND, echo), and ARP/ND taken in are handed to `ctx` at once and do not enter the batch.
void ParseStage(WorkerContext& ctx, const PortView& port, rte_mbuf** pkts, uint16_t n,
                DecapBatch& b);

}  // namespace tundra
