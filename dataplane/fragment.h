// Fragmenting an inner IPv4 packet too big for its L3 tunnel (the tunnel's `fragment`
// option, for IPv4 without DF): DPDK's ip_frag library cuts it, and each fragment is
// pushed into the tunnel like any packet (encap_push.h).
#pragma once

#include <cstdint>

#include "dataplane/encap_push.h"
#include "dataplane/worker_context.h"

namespace tundra {

// Tries to send `p` (inner IP at offset 0, too big for p.t) as fragments. Returns true
// when it did: `p.m` is then consumed. False when the packet may not or could not be
// fragmented; `p.m` is unchanged.
bool SendFragments(WorkerContext& ctx, uint16_t rx_port, const EncapPacket& p);

}  // namespace tundra
