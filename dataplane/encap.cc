#include "dataplane/encap.h"

#include "dataplane/burst.h"
#include "dataplane/encap_push.h"
#include "dataplane/proto/ether.h"
#include "dataplane/segment_forward.h"
#include "dataplane/segment_unicast.h"
#include "dataplane/vlan_tag.h"

namespace tundra {

namespace {

// Each frame's tunnel (xconnect) by its port and VLAN. A frame of a segment member is
// marked kNoAttachment with its segment in `id` (kAttachSegment set), for
// SegmentAttachStage; returns whether there was one.
bool AttachStage(WorkerContext& ctx, uint16_t rx_port, rte_mbuf** pkts, uint16_t n,
                 EncapPacket* out) {
  const Tables& tables = *ctx.tables;
  // The attachment of the last VLAN seen: frames of a burst are mostly of one VLAN.
  uint32_t last_vlan = UINT32_MAX;
  uint32_t id = kNoTunnel;
  const Tunnel* t = nullptr;
  bool untag = false;
  DropReason drop = DropReason::kNone;
  bool segments = false;
  PrefetchFirstHeaders(pkts, n);
  for (uint16_t i = 0; i < n; ++i) {
    PrefetchAheadHeader(pkts, i, n);
    rte_mbuf* m = pkts[i];
    EncapPacket& p = out[i];
    p.m = m;
    const uint32_t avail = rte_pktmbuf_data_len(m);
    const auto* eth = rte_pktmbuf_mtod(m, const EtherHdr*);
    uint16_t vlan = kVlanUntagged;
    if (avail < kEtherHdrLen + kVlanHdrLen) [[unlikely]] {
      if (avail < kEtherHdrLen || eth->ether_type == kEtherTypeVlan) {
        p = EncapPacket{m, nullptr, kNoTunnel, 0, DropReason::kTruncated};
        continue;
      }
    } else if (eth->ether_type == kEtherTypeVlan) {
      vlan = reinterpret_cast<const VlanTag*>(eth->src + 6)->tci.host() & kVlanIdMask;
    }
    if (vlan != last_vlan) {
      last_vlan = vlan;
      id = tables.attachment(rx_port, vlan);
      untag = vlan != kVlanUntagged && id != kNoTunnel;
      if (id == kNoTunnel && vlan != kVlanUntagged) id = tables.attachment(rx_port, kVlanUntagged);
      t = id != kNoTunnel && !(id & kAttachSegment) ? tables.tunnel(id) : nullptr;
      if (id & kAttachSegment) {
        segments = true;
        drop = DropReason::kNoAttachment;  // not dropped: diverted
      } else if (t == nullptr) {
        id = kNoTunnel;
        drop = DropReason::kNoAttachment;
      } else {
        drop = DropReason::kNone;  // an unresolved next hop drops in PushStage
      }
    }
    p.t = t;
    p.id = id;
    p.drop = drop;
    if (drop != DropReason::kNone) [[unlikely]]
      continue;
    if (untag) StripVlanTag(m);
    p.len = rte_pktmbuf_pkt_len(m);
    if (!FitsMtu(*t, p.len)) [[unlikely]]
      p.drop = DropReason::kMtuExceeded;
  }
  return segments;
}

// The frames AttachStage marked as a segment's, their member's VLAN tag stripped:
// known unicast to a remote VTEP that can take it now goes into that remote's tunnel in
// place, with the burst's other frames (segment_unicast.h); the rest move to `seg`,
// their slots left with no mbuf. Returns how many moved.
uint16_t SegmentAttachStage(WorkerContext& ctx, uint16_t rx_port, EncapPacket* pkts, uint16_t n,
                            SegmentFrame* seg) {
  const Tables& tables = *ctx.tables;
  SegmentUnicast unicast(ctx);
  uint16_t nseg = 0;
  for (uint16_t i = 0; i < n; ++i) {
    EncapPacket& p = pkts[i];
    if (!(p.id & kAttachSegment) || p.drop != DropReason::kNoAttachment) continue;
    rte_mbuf* m = p.m;
    // The member is the frame's VLAN when that is attached, else the whole port.
    const auto* eth = rte_pktmbuf_mtod(m, const EtherHdr*);
    uint16_t vlan = kVlanUntagged;
    if (eth->ether_type == kEtherTypeVlan) {
      vlan = reinterpret_cast<const VlanTag*>(eth->src + 6)->tci.host() & kVlanIdMask;
      if (tables.attachment(rx_port, vlan) == p.id) {
        StripVlanTag(m);
      } else {
        vlan = kVlanUntagged;
      }
    }
    const uint32_t segment = p.id & ~kAttachSegment;
    const FdbPlace origin = LocalPlace(rx_port, vlan);
    const FdbPlace to = unicast.Resolve(segment, origin, rte_pktmbuf_mtod(m, const EtherHdr*));
    if (IsRemotePlace(to) && to != kFdbNoPlace) {
      // What SegmentForward would count as the segment's drop goes there instead.
      const uint32_t id = PlaceTunnel(to);
      const Tunnel* t = tables.tunnel(id);
      const uint32_t len = rte_pktmbuf_pkt_len(m);
      if (t != nullptr && tables.PathNextHop(t->path) != 0 && FitsMtu(*t, len)) [[likely]] {
        p = EncapPacket{m, t, id, len, DropReason::kNone};
        unicast.Count(segment, len);
        continue;
      }
    }
    SegmentFrame& f = seg[nseg++];  // a member's frame: no outer source to record
    f.m = m;
    f.segment = segment;
    f.origin = origin;
    p.m = nullptr;
  }
  return nseg;
}

// Removes the slots SegmentAttachStage left with no mbuf; returns how many stay.
uint16_t Compact(EncapPacket* pkts, uint16_t n) {
  uint16_t kept = 0;
  for (uint16_t i = 0; i < n; ++i) {
    if (pkts[i].m != nullptr) pkts[kept++] = pkts[i];
  }
  return kept;
}

}  // namespace

void EncapBurst(WorkerContext& ctx, uint16_t rx_port, rte_mbuf** pkts, uint16_t n) {
  EncapPacket batch[kBurstSize];
  if (!AttachStage(ctx, rx_port, pkts, n, batch)) [[likely]] {
    PushStage(ctx, rx_port, batch, n);
    return;
  }
  SegmentFrame seg[kBurstSize];
  const uint16_t nseg = SegmentAttachStage(ctx, rx_port, batch, n, seg);
  PushStage(ctx, rx_port, batch, nseg == 0 ? n : Compact(batch, n));
  if (nseg != 0) SegmentForward(ctx, rx_port, seg, nseg);
}

}  // namespace tundra
