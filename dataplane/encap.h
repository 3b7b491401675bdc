// Encapsulation of a bridged access port's burst: each frame goes to the tunnel its
// (port, VLAN) is cross-connected to. Two stages:
//   attach  (port, VLAN) → tunnel, once per run of frames of one VLAN; a frame of a VLAN
//           with its own attachment loses its tag, others go whole to the port's
//           untagged attachment; the tunnel must be resolved and the frame fit its MTU
//   push    encap_push.h: the tunnel's header, counted and queued on its uplink
// (Routed access ports take route_input.h instead; worker.cc chooses per burst.)
#pragma once

#include <rte_mbuf.h>

#include <cstdint>

#include "dataplane/worker_context.h"

namespace tundra {

void EncapBurst(WorkerContext& ctx, uint16_t rx_port, rte_mbuf** pkts, uint16_t n);

}  // namespace tundra
