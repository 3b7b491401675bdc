#include "dataplane/decap_deliver.h"

#include "dataplane/mbuf_util.h"
#include "dataplane/route_deliver.h"
#include "dataplane/vlan_tag.h"

namespace tundra {

namespace {

// The packets of one flow that cannot be bridged: dropped, punted or routed.
void DeliverOther(WorkerContext& ctx, uint16_t rx_port, const DecapFlow& f, const DecapPacket& p,
                  RoutedPacket* routed, uint16_t& nrouted) {
  rte_mbuf* m = p.m;
  if (p.drop != DropReason::kNone || f.action == FlowAction::kDrop) {
    ctx.Drop(rx_port, m, p.drop != DropReason::kNone ? p.drop : f.drop, f.id);
  } else if (f.action == FlowAction::kPunt) {
    ctx.counters->tunnels[f.id].oam_packets.Inc();
    ctx.Punt(rx_port, m);
  } else {
    StripFront(m, f.strip);
    RoutedPacket& r = routed[nrouted++];
    r.m = m;
    r.id = f.id;
    r.len = m->pkt_len;
  }
}

}  // namespace

void DeliverStage(WorkerContext& ctx, DecapBatch& b) {
  const uint16_t rx_port = b.rx_port;
  RoutedPacket routed[kBurstSize];
  uint16_t nrouted = 0;
  DecapTally tally(*ctx.counters);
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
      DeliverOther(ctx, rx_port, *f, p, routed, nrouted);
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
  if (nrouted != 0) DeliverRouted(ctx, rx_port, routed, nrouted);
}

}  // namespace tundra
