#include "dataplane/encap_push.h"

#include <rte_prefetch.h>

#include <algorithm>
#include <array>
#include <utility>

#include "dataplane/esp.h"

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

namespace {

// Whether ESP may encrypt `m` in place: no segment of it shares its data with another
// mbuf (a flooded copy shares the original's tail, dataplane/segment_forward.h).
bool Unshared(const rte_mbuf* m) {
  for (; m != nullptr; m = m->next) {
    if (RTE_MBUF_CLONED(m) || RTE_MBUF_HAS_EXTBUF(m) || rte_mbuf_refcnt_read(m) != 1) {
      return false;
    }
  }
  return true;
}

// A protected tunnel's run (kTunnelEsp, the general variant only): pushed like any
// other, then encrypted together (dataplane/esp.h) and queued; returns where the run
// ends. Out of line: unprotected tunnels pay one branch per run for it.
__attribute__((noinline)) const EncapPacket* PushProtectedRun(WorkerContext& ctx, uint16_t rx_port,
                                                              const Tunnel& t, uint32_t id,
                                                              const EncapPacket* p,
                                                              const EncapPacket* end, uint32_t seq,
                                                              uint64_t nexthop, EncapTally& tally) {
  rte_mbuf* esp[kBurstSize];
  rte_mbuf* pushed[kBurstSize];
  uint32_t len[kBurstSize];
  uint16_t n = 0;
  for (; p != end && p->id == id; ++p) {
    if (p->drop != DropReason::kNone) [[unlikely]] {
      ctx.Drop(rx_port, p->m, p->drop, id);
      continue;
    }
    rte_mbuf* in = p->m;
    if (!Unshared(in)) [[unlikely]] {
      // Encrypting shared bytes would garble every other copy: this one gets its own.
      rte_mbuf* own = rte_pktmbuf_copy(in, ctx.direct_pool, 0, UINT32_MAX);
      if (own == nullptr) [[unlikely]] {
        ctx.Drop(rx_port, in, DropReason::kNoMbuf, id);
        continue;
      }
      rte_pktmbuf_free(in);
      in = own;
    }
    rte_mbuf* out = PushTunnelHeader<kGeneralPush>(t, in, seq++, nexthop);
    if (out == nullptr) [[unlikely]] {
      ctx.Drop(rx_port, in, DropReason::kNoHeadroom, id);
      continue;
    }
    out->l2_len = kEtherHdrLen;
    out->l3_len = t.l3_len;
    len[n] = p->len;
    pushed[n] = out;
    esp[n++] = out;
  }
  if (n == 0) return p;
  uint16_t within_lifetime = 0;
  const uint16_t ok = t.esp_out->Protect(esp, n, &within_lifetime);
  TxBuffer& tx = ctx.Tx(t.egress_port);
  for (uint16_t k = 0; k < ok; ++k) ctx.Queue(tx, t.egress_port, esp[k]);
  for (uint16_t k = ok; k < n; ++k) {
    for (uint16_t j = 0; j < n; ++j) {  // its length (Protect moved it behind)
      if (pushed[j] == esp[k]) len[j] = 0;
    }
    ctx.Drop(rx_port, esp[k],
             k < within_lifetime ? DropReason::kEspNoRoom : DropReason::kEspExpired, id);
  }
  uint64_t bytes = 0;
  for (uint16_t j = 0; j < n; ++j) bytes += len[j];
  tally.Add(id, ok, bytes);
  return p;
}

// Pushes pkts[i..n) with the push variant of shape `S` while their tunnels take that
// variant; dropped packets are dropped on the way. Returns where it stopped: n, or a
// live packet of a tunnel of another variant. A run of packets of one tunnel shares its
// tx buffer, next hop, counters and, for GRE with sequence numbers, one reservation of
// numbers.
template <PushShape S>
__attribute__((always_inline)) inline uint16_t PushRuns(WorkerContext& ctx, uint16_t rx_port,
                                                        EncapPacket* pkts, uint16_t i, uint16_t n) {
  EncapTally tally(*ctx.counters);
  const EncapPacket* p = pkts + i;
  const EncapPacket* const end = pkts + n;
  while (p != end) {
    if (p->drop != DropReason::kNone) [[unlikely]] {
      ctx.Drop(rx_port, p->m, p->drop, p->id);
      ++p;
      continue;
    }
    const Tunnel& t = *p->t;
    if (t.push_variant != S.variant) break;
    const uint32_t id = p->id;
    // Read once per run: the run's packets all go to the MAC of this moment.
    const uint64_t nexthop = ctx.tables->PathNextHop(t.path);
    if (nexthop == 0) [[unlikely]] {
      ctx.Drop(rx_port, p->m, NoNextHopReason(*ctx.tables, t), id);
      ++p;
      continue;
    }
    uint32_t seq = 0;
    if (S.fixed() ? S.gre_sequence : (t.flags & kTunnelGreSequence) != 0) {
      // RFC 2890: one number per packet, in the order sent. Several workers may send on
      // one tunnel, so the run's numbers are reserved at once, not one by one.
      uint32_t live = 0;
      for (const EncapPacket* q = p; q != end && q->id == id; ++q) {
        live += q->drop == DropReason::kNone;
      }
      seq = ctx.tables->tunnel_state(id).tx_seq.fetch_add(live, std::memory_order_relaxed);
    }
    if constexpr (!S.fixed()) {
      if (t.esp_out != nullptr) [[unlikely]] {
        p = PushProtectedRun(ctx, rx_port, t, id, p, end, seq, nexthop, tally);
        continue;
      }
    }
    TxBuffer& tx = ctx.Tx(t.egress_port);
    uint32_t packets = 0;
    uint64_t bytes = 0;
    for (; p != end && p->id == id; ++p) {
      if (p->drop != DropReason::kNone) [[unlikely]] {
        ctx.Drop(rx_port, p->m, p->drop, id);
        continue;
      }
      rte_mbuf* out = PushTunnelHeader<S>(t, p->m, seq++, nexthop);
      if (out == nullptr) [[unlikely]] {
        ctx.Drop(rx_port, p->m, DropReason::kNoHeadroom, id);
        continue;
      }
      ++packets;
      bytes += p->len;
      ctx.Queue(tx, t.egress_port, out);
    }
    tally.Add(id, packets, bytes);
  }
  return static_cast<uint16_t>(p - pkts);
}

// The fixed variants out of line: each loop gets the registers to itself.
template <PushShape S>
__attribute__((noinline)) uint16_t PushFixedRuns(WorkerContext& ctx, uint16_t rx_port,
                                                 EncapPacket* pkts, uint16_t i, uint16_t n) {
  return PushRuns<S>(ctx, rx_port, pkts, i, n);
}

// PushFixedRuns of each fixed shape, in kFixedPushes' (and PushVariant's) order.
template <size_t... I>
constexpr auto FixedRunsTable(std::index_sequence<I...>) {
  return std::array{&PushFixedRuns<kFixedPushes[I]>...};
}
constexpr auto kFixedRuns = FixedRunsTable(std::make_index_sequence<std::size(kFixedPushes)>());

}  // namespace

void PushStage(WorkerContext& ctx, uint16_t rx_port, EncapPacket* pkts, uint16_t n) {
  uint16_t i = 0;
  while (i < n) {
    // The variant of the first live packet's tunnel (a dropped packet has none); one
    // call per change of variant, not per packet.
    const PushVariant variant =
        pkts[i].drop == DropReason::kNone ? pkts[i].t->push_variant : PushVariant::kGeneral;
    i = variant == PushVariant::kGeneral
            ? PushRuns<kGeneralPush>(ctx, rx_port, pkts, i, n)
            : kFixedRuns[static_cast<size_t>(variant) - 1](ctx, rx_port, pkts, i, n);
  }
}

}  // namespace tundra
