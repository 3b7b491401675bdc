// Encapsulation: frames from an access port become tunnel packets on the uplink.
#pragma once

#include <rte_mbuf.h>

#include <cstdint>

#include "dataplane/proto/ether.h"
#include "dataplane/worker_context.h"

namespace tundra {

// Encapsulates a burst received on access port `rx_port`: bridged ports send each
// frame to the tunnel of its (port, VLAN) attachment; routed ports route IP packets
// into L3 tunnels (route_access.h). Everything else is dropped with a counted reason.
void EncapBurst(WorkerContext& ctx, uint16_t rx_port, rte_mbuf** pkts, uint16_t n);

// Prepends `t`'s header to `m` and finishes lengths, source port, sequence number and
// checksums. `m` starts with the inner Ethernet frame, or for L3 tunnels with the
// inner IP packet. Returns the packet's head (a new segment when the header outgrew
// the headroom), or nullptr (with `m` unchanged) when no mbuf was left for that.
// Exposed for unit tests, the fuzzer and the instruction-count benchmark.
rte_mbuf* EncapOne(const Tunnel& t, TunnelState& state, rte_mbuf* m);

// Whether `inner_len` bytes of inner frame/packet fit the tunnel's uplink MTU.
inline bool FitsMtu(const Tunnel& t, uint32_t inner_len) {
  return inner_len + t.hdr_len - kEtherHdrLen <= t.max_l3_len;
}

// Fills in an inner L4 checksum that the rx port left to be completed
// (RTE_MBUF_F_RX_L4_CKSUM_NONE: virtio/veth CHECKSUM_PARTIAL style).
void CompleteInnerChecksum(rte_mbuf* m, uint16_t l3_off);

}  // namespace tundra
