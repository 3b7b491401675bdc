#include "dataplane/encap.h"

#include "dataplane/burst.h"
#include "dataplane/encap_push.h"
#include "dataplane/proto/ether.h"
#include "dataplane/vlan_tag.h"

namespace tundra {

namespace {

void AttachStage(WorkerContext& ctx, uint16_t rx_port, rte_mbuf** pkts, uint16_t n,
                 EncapPacket* out) {
  const Tables& tables = *ctx.tables;
  // The attachment of the last VLAN seen: frames of a burst are mostly of one VLAN.
  uint32_t last_vlan = UINT32_MAX;
  uint32_t id = kNoTunnel;
  const Tunnel* t = nullptr;
  bool untag = false;
  DropReason drop = DropReason::kNone;
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
      t = id != kNoTunnel ? tables.tunnel(id) : nullptr;
      if (t == nullptr) {
        id = kNoTunnel;
        drop = DropReason::kNoAttachment;
      } else {
        drop = t->resolved ? DropReason::kNone : DropReason::kNoNeighbor;
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
}

}  // namespace

void EncapBurst(WorkerContext& ctx, uint16_t rx_port, rte_mbuf** pkts, uint16_t n) {
  EncapPacket batch[kBurstSize];
  AttachStage(ctx, rx_port, pkts, n, batch);
  PushStage(ctx, rx_port, batch, n);
}

}  // namespace tundra
