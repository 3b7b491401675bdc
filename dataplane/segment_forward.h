// A segment's forwarding stage, shared by both ways into a segment: frames from its
// local members (encap.cc's attach stage) and frames decapsulated from its remote VTEPs
// (decap_deliver.cc). Per run of frames of one segment it does, in this order:
//
//   learn    one bulk FDB lookup of every source and destination MAC; a source that
//            is new, moved or due a refresh becomes an FdbLearnEvent for the control
//            thread (deduplicated per burst, rate-limited, counted when dropped)
//   resolve  known unicast → its member, or its remote VTEP (only from a member: a
//            remote's frame never goes to another remote, split horizon); a frame for
//            where it came from is dropped (hairpin)
//   flood    broadcast, multicast, unknown unicast → one copy per member (not the one
//            it came from) and, from a member, one per remote VTEP (head-end
//            replication). A copy shares the original's data beyond its first bytes.
//   emit     members: VLAN tag, tx buffer; remotes: the tunnels' push stage
#pragma once

#include <rte_mbuf.h>

#include <cstdint>

#include "dataplane/fdb.h"
#include "dataplane/worker_context.h"

namespace tundra {

// One frame entering a segment: its Ethernet header at the mbuf's data, no VLAN tag of
// the member's.
struct SegmentFrame {
  rte_mbuf* m;
  uint32_t segment;
  FdbPlace origin;  // the member or remote it came from (or kFdbUnknownRemote)
  uint8_t family;   // kFdbUnknownRemote: the outer source's IP version and address
  uint8_t remote_ip[16];
};

// Forwards `n` frames (any mix of segments; runs of one segment are handled together),
// received on `rx_port`.
void SegmentForward(WorkerContext& ctx, uint16_t rx_port, SegmentFrame* frames, uint16_t n);

// Frames of at most this many bytes are copied whole for each flooded copy; longer ones
// copy this much and share the rest by reference (an indirect mbuf).
inline constexpr uint32_t kFloodCopyBytes = 128;

// A copy of `m` for one more destination of a flood, with headroom for an outer header,
// or nullptr when no mbuf is left. `m` itself is not changed.
rte_mbuf* FloodCopy(rte_mbuf* m, rte_mempool* direct, rte_mempool* indirect);

}  // namespace tundra
