#include "dataplane/encap_push.h"

#include <rte_prefetch.h>

namespace tundra {

void CompleteInnerChecksum(rte_mbuf* m, uint16_t l3_off) {
  uint8_t* l3 = rte_pktmbuf_mtod_offset(m, uint8_t*, l3_off);
  const uint32_t avail = rte_pktmbuf_data_len(m) - l3_off;
  if (avail < kIpv4HdrLen) return;
  uint8_t proto;
  uint16_t l4_off;
  if ((l3[0] >> 4) == 4) {
    const auto* ip = reinterpret_cast<const Ipv4Hdr*>(l3);
    if (ip->is_fragment()) return;
    proto = ip->protocol;
    l4_off = l3_off + ip->header_len();
  } else if ((l3[0] >> 4) == 6 && avail >= kIpv6HdrLen) {
    proto = reinterpret_cast<const Ipv6Hdr*>(l3)->next_header;
    l4_off = l3_off + kIpv6HdrLen;
  } else {
    return;
  }
  const uint16_t field = proto == kIpProtoTcp ? 16 : proto == kIpProtoUdp ? 6 : 0;
  if (field == 0 || rte_pktmbuf_data_len(m) < l4_off + field + 2u) return;
  uint8_t* ck = rte_pktmbuf_mtod_offset(m, uint8_t*, l4_off + field);
  ck[0] = ck[1] = 0;
  const uint32_t l4_len = rte_pktmbuf_pkt_len(m) - l4_off;
  const uint16_t sum =
      (l3[0] >> 4) == 4
          ? L4Checksum(m, reinterpret_cast<const Ipv4Hdr*>(l3), nullptr, proto, l4_off, l4_len)
          : L4Checksum(m, nullptr, reinterpret_cast<const Ipv6Hdr*>(l3), proto, l4_off, l4_len);
  std::memcpy(ck, &sum, 2);
  m->ol_flags &= ~RTE_MBUF_F_RX_L4_CKSUM_MASK;
}

void PushStage(WorkerContext& ctx, uint16_t rx_port, EncapPacket* pkts, uint16_t n) {
  EncapTally tally(*ctx.counters);
  // The current run of packets of one tunnel: its uplink's tx buffer, and the GRE
  // sequence numbers reserved for it.
  uint32_t run_id = kNoTunnel;
  TxBuffer* tx = nullptr;
  uint32_t seq = 0;
  uint32_t seq_left = 0;
  uint64_t nexthop = 0;
  for (uint16_t i = 0; i < n; ++i) {
    EncapPacket& p = pkts[i];
    if (p.drop != DropReason::kNone) [[unlikely]] {
      ctx.Drop(rx_port, p.m, p.drop, p.id);
      continue;
    }
    const Tunnel& t = *p.t;
    if (p.id != run_id) {
      run_id = p.id;
      tx = &ctx.Tx(t.egress_port);
      seq_left = 0;
      // Read once per run: the run's packets all go to the MAC of this moment.
      nexthop = ctx.tables->PathNextHop(t.path);
    }
    if (nexthop == 0) [[unlikely]] {
      ctx.Drop(rx_port, p.m, NoNextHopReason(*ctx.tables, t), p.id);
      continue;
    }
    if (t.flags & kTunnelGreSequence) [[unlikely]] {
      if (seq_left == 0) {
        // RFC 2890: one number per packet, in the order sent. Several workers may send
        // on one tunnel, so the run's numbers are reserved at once, not one by one.
        for (uint16_t j = i; j < n && pkts[j].id == run_id; ++j) {
          seq_left += pkts[j].drop == DropReason::kNone;
        }
        seq =
            ctx.tables->tunnel_state(run_id).tx_seq.fetch_add(seq_left, std::memory_order_relaxed);
      }
      --seq_left;
    }
    rte_mbuf* out = PushTunnelHeader(t, p.m, seq++, nexthop);
    if (out == nullptr) [[unlikely]] {
      ctx.Drop(rx_port, p.m, DropReason::kNoHeadroom, p.id);
      continue;
    }
    tally.Add(p.id, p.len);
    ctx.Queue(*tx, t.egress_port, out);
  }
}

}  // namespace tundra
