// Known unicast through a segment, decided in the stage that found the frame's segment
// (encap's attach stage, decap's deliver stage) so the frame goes on with that stage's
// other frames, as an xconnect's does, instead of through SegmentForward's own batch.
//
// It only shortcuts SegmentForward's rules (segment_forward.h), for the frames where
// they have nothing to do but forward: the worker's conversation cache
// (conversation_cache.h) holds SegmentForward's answer for the frame's MAC pair — the
// destination's place, elsewhere in the segment (not back where the frame came from,
// not from one remote VTEP to another), and a source that needs no learn event (seen
// where this frame came from with no refresh due, or static, or not a host's MAC).
// Everything else returns kFdbNoPlace and takes SegmentForward: broadcast, multicast,
// unknown MACs and pairs not cached yet, learning, moves, refreshes, hairpins, split
// horizon, ARP/ND of a suppressing segment, frames from unknown remotes. Only
// SegmentForward fills the cache, after the stage has placed the whole burst: within one
// burst a MAC pair gets the same answer every time, so one conversation's frames never
// split between the two ways (no reordering).
#pragma once

#include <cstdint>
#include <cstring>

#include "dataplane/conversation_cache.h"
#include "dataplane/fdb.h"
#include "dataplane/proto/ether.h"
#include "dataplane/segment.h"
#include "dataplane/worker_context.h"

namespace tundra {

inline constexpr FdbPlace kFdbNoPlace = ~FdbPlace{0};

class SegmentUnicast {
 public:
  explicit SegmentUnicast(WorkerContext& ctx)
      : ctx_(ctx),
        generation_(ctx.tables->fdb_generation()),
        now_s_(static_cast<uint16_t>(ctx.tables->fdb_now_s())),
        tally_(*ctx.counters) {}
  SegmentUnicast(const SegmentUnicast&) = delete;
  SegmentUnicast& operator=(const SegmentUnicast&) = delete;

  // Where the frame at `eth` (no member VLAN tag), from `origin` in segment `segment`,
  // goes as known unicast, or kFdbNoPlace. `origin` is a member or a remote of the
  // segment (never kFdbUnknownRemote: those frames are SegmentForward's).
  __attribute__((always_inline)) FdbPlace Resolve(uint32_t segment, FdbPlace origin,
                                                  const EtherHdr* eth) {
    if (segment != seg_id_) [[unlikely]] {
      seg_id_ = segment;
      seg_ = ctx_.tables->segment(segment);
    }
    // Broadcast and multicast are flooded (and never cached): no lookup for them.
    if (seg_ == nullptr || IsMulticastMac(eth->dst)) [[unlikely]]
      return kFdbNoPlace;
    if (seg_->suppress && (eth->ether_type == kEtherTypeArp || eth->ether_type == kEtherTypeIpv6))
        [[unlikely]] {
      return kFdbNoPlace;
    }
    const ConversationCache::Key key = ConversationCache::KeyOf(segment, eth);
    Conversation c;
    if (!ctx_.conversation_cache.Find(ConversationCache::SetOf(key), key, generation_, c)) {
      return kFdbNoPlace;
    }
    const uint32_t here = PackPlace(origin);
    if (c.fixed) {
      // Cached whatever the origin: hairpin and split horizon are this frame's to check
      // (SegmentForward drops and counts them).
      if (c.to == here || (IsRemotePacked(c.to) && IsRemotePacked(here))) return kFdbNoPlace;
    } else if (c.from != here ||  // a move to learn (cached only where `to` is neither)
               (seg_->refresh_s != 0 &&
                static_cast<uint16_t>(now_s_ - c.stamp) >= seg_->refresh_s)) {  // a refresh
      return kFdbNoPlace;
    }
    return UnpackPlace(c.to);
  }

  // Counts a frame Resolve placed, once it is on its way: the segment's rx and tx.
  __attribute__((always_inline)) void Count(uint32_t segment, uint32_t len) {
    tally_.Add(segment, len);
  }

 private:
  WorkerContext& ctx_;
  const uint64_t generation_;
  const uint16_t now_s_;
  uint32_t seg_id_ = UINT32_MAX;
  const Segment* seg_ = nullptr;
  SegmentThroughTally tally_;
};

}  // namespace tundra
