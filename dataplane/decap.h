// Decapsulation: tunnel packets on an uplink become frames on access ports.
#pragma once

#include <rte_mbuf.h>

#include <cstdint>

#include "dataplane/decap_types.h"
#include "dataplane/tables.h"
#include "dataplane/worker_context.h"

namespace tundra {

enum class ParseVerdict : uint8_t { kLookup, kDrop, kReply };

// Validates `m`'s outer headers against `port` (the uplink it arrived on). kLookup: `out`
// holds the decap key; kDrop: `reason` says why; kReply: `m` was rewritten into an ARP
// or neighbor reply to send back out of the same port. Never reads past the packet.
ParseVerdict ParseOuter(const Tables& tables, const PortView& port, rte_mbuf* m, OuterParse& out,
                        DropReason& reason);

// Decapsulates a burst received on uplink `rx_port`: parse all, look the keys up in
// bulk, then strip and forward each to its tunnel's attachment.
void DecapBurst(WorkerContext& ctx, uint16_t rx_port, rte_mbuf** pkts, uint16_t n);

}  // namespace tundra
