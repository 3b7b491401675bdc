#include "dataplane/encap.h"

#include "dataplane/burst.h"
#include "dataplane/encap_push.h"
#include "dataplane/proto/ether.h"
#include "dataplane/segment_forward.h"
#include "dataplane/vlan_tag.h"

namespace tundra {

namespace {

// Each frame's tunnel (xconnect) by its port and VLAN. A frame of a segment member is
// marked kNoAttachment with its segment in `id` (kAttachSegment set), for
// DivertSegmentFrames; returns whether there was one.
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

// Moves the frames AttachStage marked as a segment's out of `pkts` (compacted) into
// `seg`, their member's VLAN tag stripped; returns how many stayed.
uint16_t DivertSegmentFrames(const Tables& tables, uint16_t rx_port, EncapPacket* pkts, uint16_t n,
                             SegmentFrame* seg, uint16_t& nseg) {
  uint16_t kept = 0;
  for (uint16_t i = 0; i < n; ++i) {
    EncapPacket& p = pkts[i];
    if (!(p.id & kAttachSegment) || p.drop != DropReason::kNoAttachment) {
      pkts[kept++] = p;
      continue;
    }
    // The member is the frame's VLAN when that is attached, else the whole port.
    const auto* eth = rte_pktmbuf_mtod(p.m, const EtherHdr*);
    uint16_t vlan = kVlanUntagged;
    if (eth->ether_type == kEtherTypeVlan) {
      vlan = reinterpret_cast<const VlanTag*>(eth->src + 6)->tci.host() & kVlanIdMask;
      if (tables.attachment(rx_port, vlan) == p.id) {
        StripVlanTag(p.m);
      } else {
        vlan = kVlanUntagged;
      }
    }
    SegmentFrame& f = seg[nseg++];  // a member's frame: no outer source to record
    f.m = p.m;
    f.segment = p.id & ~kAttachSegment;
    f.origin = LocalPlace(rx_port, vlan);
  }
  return kept;
}

}  // namespace

void EncapBurst(WorkerContext& ctx, uint16_t rx_port, rte_mbuf** pkts, uint16_t n) {
  EncapPacket batch[kBurstSize];
  SegmentFrame seg[kBurstSize];
  uint16_t nseg = 0;
  uint16_t nencap = n;
  if (AttachStage(ctx, rx_port, pkts, n, batch)) [[unlikely]]
    nencap = DivertSegmentFrames(*ctx.tables, rx_port, batch, n, seg, nseg);
  PushStage(ctx, rx_port, batch, nencap);
  if (nseg != 0) SegmentForward(ctx, rx_port, seg, nseg);
}

}  // namespace tundra
