#include "dataplane/decap_deliver.h"

#include <cstring>

#include "dataplane/mbuf_util.h"
#include "dataplane/route_deliver.h"
#include "dataplane/segment_forward.h"
#include "dataplane/segment_unicast.h"
#include "dataplane/vlan_tag.h"

namespace tundra {

namespace {

// Where the packets that are not bridged to an xconnect go.
struct OtherPackets {
  RoutedPacket routed[kBurstSize];
  SegmentFrame segment[kBurstSize];
  uint16_t nrouted = 0;
  uint16_t nsegment = 0;
};

// A packet of a segment's flow: stripped and counted against the remote it came from;
// known unicast to a member goes out now (segment_unicast.h), the rest to SegmentForward.
__attribute__((always_inline)) inline void ToSegment(WorkerContext& ctx, uint16_t rx_port,
                                                     const DecapFlow& f, uint8_t family,
                                                     rte_mbuf* m, DecapTally& tally,
                                                     SegmentUnicast& unicast, OtherPackets& o) {
  StripFront(m, f.strip);
  const uint32_t len = m->pkt_len;
  tally.Add(f.id, len);
  m->ol_flags = 0;
  const FdbPlace to = f.unknown_remote ? kFdbNoPlace
                                       : unicast.Resolve(f.segment, RemotePlace(f.id),
                                                         rte_pktmbuf_mtod(m, const EtherHdr*));
  if (to != kFdbNoPlace) {  // a member: never a remote, from a remote (split horizon)
    const uint16_t vlan = PlaceVlan(to);
    if (vlan != kVlanUntagged && !PushVlanTag(m, vlan)) [[unlikely]] {
      ctx.counters->segments[f.segment].drops[SegmentDropSlot(DropReason::kNoHeadroom)].Inc();
      ctx.Drop(rx_port, m, DropReason::kNoHeadroom);
      return;
    }
    unicast.Count(f.segment, len);
    ctx.Emit(PlacePort(to), m);
    return;
  }
  SegmentFrame& s = o.segment[o.nsegment++];
  s.m = m;
  s.segment = f.segment;
  if (f.unknown_remote) {
    s.origin = kFdbUnknownRemote;
    s.family = family;
    std::memcpy(s.remote_ip, f.remote, 16);
  } else {
    s.origin = RemotePlace(f.id);
  }
}

// The packets of one flow that are neither bridged nor a segment's: dropped, punted or
// routed.
void DeliverOther(WorkerContext& ctx, uint16_t rx_port, const DecapFlow& f, const DecapPacket& p,
                  OtherPackets& o) {
  rte_mbuf* m = p.m;
  if (p.drop != DropReason::kNone || f.action == FlowAction::kDrop) {
    const DropReason reason = p.drop != DropReason::kNone ? p.drop : f.drop;
    if (f.segment != 0 && SegmentDropSlot(reason) >= 0) {
      ctx.counters->segments[f.segment].drops[SegmentDropSlot(reason)].Inc();
    }
    ctx.Drop(rx_port, m, reason, f.id);
  } else if (f.action == FlowAction::kPunt) {
    ctx.counters->tunnels[f.id].oam_packets.Inc();
    ctx.Punt(rx_port, m);
  } else {
    StripFront(m, f.strip);
    RoutedPacket& r = o.routed[o.nrouted++];
    r.m = m;
    r.id = f.id;
    r.len = m->pkt_len;
  }
}

}  // namespace

void DeliverStage(WorkerContext& ctx, DecapBatch& b) {
  const uint16_t rx_port = b.rx_port;
  OtherPackets other;
  DecapTally tally(*ctx.counters);
  SegmentUnicast unicast(ctx);
  // The current run's flow, and what its packets need, hoisted out of the loop.
  uint8_t run_flow = UINT8_MAX;
  const DecapFlow* f = nullptr;
  TxBuffer* tx = nullptr;
  for (uint16_t i = 0; i < b.n; ++i) {
    const DecapPacket& p = b.pkts[i];
    if (p.flow != run_flow) {
      run_flow = p.flow;
      f = &b.flows[run_flow];
      if (f->action == FlowAction::kBridge) tx = &ctx.Tx(f->out_port);
    }
    rte_mbuf* m = p.m;
    if (p.drop != DropReason::kNone || f->action != FlowAction::kBridge) [[unlikely]] {
      if (p.drop == DropReason::kNone && f->action == FlowAction::kSegment) {
        ToSegment(ctx, rx_port, *f, b.parses[f->parse].family, m, tally, unicast, other);
      } else {
        DeliverOther(ctx, rx_port, *f, p, other);
      }
      continue;
    }
    StripFront(m, f->strip);
    const uint32_t inner_len = m->pkt_len;
    if (f->vlan != kVlanUntagged && !PushVlanTag(m, f->vlan)) [[unlikely]] {
      ctx.Drop(rx_port, m, DropReason::kNoHeadroom, f->id);
      continue;
    }
    m->ol_flags = 0;
    tally.Add(f->id, inner_len);
    ctx.Queue(*tx, f->out_port, m);
  }
  tally.Flush();
  if (other.nrouted != 0) DeliverRouted(ctx, rx_port, other.routed, other.nrouted);
  if (other.nsegment != 0) SegmentForward(ctx, rx_port, other.segment, other.nsegment);
}

}  // namespace tundra
