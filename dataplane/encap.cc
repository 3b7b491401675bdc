#include "dataplane/encap.h"

#include <rte_ether.h>
#include <rte_memcpy.h>
#include <rte_prefetch.h>

#include <cstring>

#include "dataplane/flow_hash.h"
#include "dataplane/inner_ip.h"
#include "dataplane/mbuf_util.h"
#include "dataplane/proto/checksum.h"
#include "dataplane/proto/ether.h"
#include "dataplane/proto/gre.h"
#include "dataplane/proto/ip.h"
#include "dataplane/proto/udp.h"
#include "dataplane/route_access.h"
#include "dataplane/tx_checksum.h"

namespace tundra {

namespace {

// Applies ttl/tos/df inherit to the outer header just copied from the template.
void ApplyInherit(const Tunnel& t, const InnerIp& inner, uint8_t* l3) {
  if (inner.version == 0) return;
  if (t.underlay == 4) {
    auto* ip = reinterpret_cast<Ipv4Hdr*>(l3);
    if (t.flags & kTunnelTtlInherit) ip->ttl = inner.ttl;
    if (t.flags & kTunnelTosInherit) ip->tos = (inner.tos & ~kEcnMask) | (ip->tos & kEcnMask);
    if (t.flags & kTunnelDfInherit) {
      ip->fragment_offset = Be16(inner.df ? Ipv4Hdr::kDontFragment : 0);
    }
  } else {
    auto* ip = reinterpret_cast<Ipv6Hdr*>(l3);
    if (t.flags & kTunnelTtlInherit) ip->hop_limit = inner.ttl;
    if (t.flags & kTunnelTosInherit) {
      const uint32_t tc = (inner.tos & ~kEcnMask) | (ip->traffic_class() & kEcnMask);
      ip->vtc_flow = Be32((ip->vtc_flow.host() & 0xF00FFFFF) | (tc << 20));
    }
  }
}

// Removes the 802.1Q tag of a frame whose attachment named its VLAN.
void StripVlan(rte_mbuf* m) {
  uint8_t* p = rte_pktmbuf_mtod(m, uint8_t*);
  std::memmove(p + kVlanHdrLen, p, 2 * RTE_ETHER_ADDR_LEN);
  rte_pktmbuf_adj(m, kVlanHdrLen);
}

void FinishGre(const Tunnel& t, TunnelState& state, rte_mbuf* m, uint8_t* h, const InnerIp& inner) {
  if (t.flags & kTunnelL3) {
    reinterpret_cast<GreHdr*>(h + t.tun_off)->protocol =
        inner.version == 6 ? kEtherTypeIpv6 : kEtherTypeIpv4;
  }
  if (t.flags & kTunnelGreSequence) {
    const Be32 seq(state.tx_seq.fetch_add(1, std::memory_order_relaxed));
    std::memcpy(h + t.gre_seq_off, &seq, 4);
  }
  if (t.flags & kTunnelGreChecksum) {
    // RFC 2784 §2.5: over the GRE header and payload, with the checksum field zero.
    const uint32_t len = rte_pktmbuf_pkt_len(m) - t.tun_off;
    uint16_t sum = 0;
    SumMbuf(m, t.tun_off, len, &sum);
    const uint16_t ck = static_cast<uint16_t>(~sum);
    std::memcpy(h + t.gre_csum_off, &ck, 2);
  }
}

}  // namespace

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

// Makes room for `len` header bytes in front of `m`: in its headroom, or else in a new
// head segment (GENEVE with many options outgrows the 128-byte headroom).
__attribute__((always_inline)) inline rte_mbuf* PrependHeader(rte_mbuf* m, uint16_t len) {
  if (m->data_off >= len) [[likely]] {
    m->data_off -= len;
    m->data_len += len;
    m->pkt_len += len;
    return m;
  }
  rte_mbuf* head = rte_pktmbuf_alloc(m->pool);
  if (head == nullptr) return nullptr;
  if (rte_pktmbuf_append(head, len) == nullptr || rte_pktmbuf_chain(head, m) != 0) {
    rte_pktmbuf_free(head);
    return nullptr;
  }
  head->ol_flags = m->ol_flags;
  head->port = m->port;
  return head;
}

// EncapOne's body, inlined into EncapBurst's loop (a call per packet costs ~20
// instructions of prologue and epilogue; callgrind_guard.py shows it).
__attribute__((always_inline)) inline rte_mbuf* EncapPacket(const Tunnel& t, TunnelState& state,
                                                            rte_mbuf* m) {
  const uint32_t inner_len = rte_pktmbuf_pkt_len(m);
  const uint8_t* inner = rte_pktmbuf_mtod(m, const uint8_t*);
  const uint32_t avail = rte_pktmbuf_data_len(m);
  const bool udp = IsUdpTunnel(t.type);
  uint16_t ip_off;
  InnerIp inner_ip;
  uint16_t sport = 0;
  if (!(t.flags & kTunnelL3) && avail >= kEtherHdrLen + kIpv4HdrLen &&
      reinterpret_cast<const EtherHdr*>(inner)->ether_type == kEtherTypeIpv4 &&
      (inner[kEtherHdrLen] >> 4) == 4 && !(m->ol_flags & RTE_MBUF_F_RX_RSS_HASH)) [[likely]] {
    // The common frame, untagged IPv4: one look at its header gives the RFC 6040 and
    // inherit fields and the flow hash (the same values as the general path below).
    ip_off = kEtherHdrLen;
    inner_ip = ReadInnerIpAt(inner + kEtherHdrLen, avail - kEtherHdrLen);
    if (udp) sport = SourcePortFromHash(Ipv4FlowHash(inner, kEtherHdrLen, avail));
  } else {
    ip_off = (t.flags & kTunnelL3) ? 0 : InnerIpOffset(inner, avail);
    inner_ip = (ip_off != 0 || (t.flags & kTunnelL3))
                   ? ReadInnerIpAt(inner + ip_off, avail - ip_off)
                   : InnerIp{};
    if (udp) sport = SourcePortFromHash(InnerFlowHash(m, inner, avail));
  }
  if ((m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK) == RTE_MBUF_F_RX_L4_CKSUM_NONE &&
      inner_ip.version != 0) [[unlikely]] {
    CompleteInnerChecksum(m, ip_off);
  }

  m = PrependHeader(m, t.hdr_len);
  if (m == nullptr) [[unlikely]]
    return nullptr;
  uint8_t* h = rte_pktmbuf_mtod(m, uint8_t*);
  rte_memcpy(h, t.hdr.data(), t.hdr_len);

  uint8_t* l3 = h + kEtherHdrLen;
  const uint16_t l3_total = static_cast<uint16_t>(inner_len + t.hdr_len - kEtherHdrLen);
  // RFC 6040 normal mode: the outer ECN field is a copy of the inner one.
  const uint8_t ecn = inner_ip.tos & kEcnMask;
  if (t.underlay == 4) {
    auto* ip = reinterpret_cast<Ipv4Hdr*>(l3);
    ip->total_length = Be16(l3_total);
    ip->tos |= ecn;
    if (t.flags & kTunnelPerPacketIpMask) [[unlikely]] {
      ApplyInherit(t, inner_ip, l3);
      ip->checksum = Be16::FromRaw(~FoldChecksum(RawSum(ip, kIpv4HdrLen)));
    } else {
      ip->checksum = Be16::FromRaw(
          ~FoldChecksum(t.ip_sum + ip->total_length.raw() + Be16(uint16_t{ecn}).raw()));
    }
  } else {
    auto* ip = reinterpret_cast<Ipv6Hdr*>(l3);
    ip->payload_len = Be16(static_cast<uint16_t>(l3_total - kIpv6HdrLen));
    if (ecn != 0) ip->vtc_flow = Be32(ip->vtc_flow.host() | (uint32_t{ecn} << 20));
    if (t.flags & kTunnelPerPacketIpMask) [[unlikely]]
      ApplyInherit(t, inner_ip, l3);
  }
  UdpHdr* udp_hdr = nullptr;
  if (udp) {
    udp_hdr = reinterpret_cast<UdpHdr*>(l3 + t.l3_len);
    udp_hdr->src_port = Be16(sport);
    udp_hdr->length = Be16(static_cast<uint16_t>(l3_total - t.l3_len));
  } else {
    FinishGre(t, state, m, h, inner_ip);
  }
  FinishOuterChecksums(t, m, l3, udp_hdr, inner_ip.version);
  return m;
}

rte_mbuf* EncapOne(const Tunnel& t, TunnelState& state, rte_mbuf* m) {
  return EncapPacket(t, state, m);
}

void EncapBurst(WorkerContext& ctx, uint16_t rx_port, rte_mbuf** pkts, uint16_t n) {
  const Tables& tables = *ctx.tables;
  const PortView* view = tables.port(rx_port);
  if (view->routed) {
    RouteBurst(ctx, *view, rx_port, pkts, n);
    return;
  }
  for (uint16_t i = 0; i < kPrefetchOffset && i < n; ++i) {
    rte_prefetch0(rte_pktmbuf_mtod(pkts[i], void*));
  }
  for (uint16_t i = 0; i < n; ++i) {
    if (i + kPrefetchOffset < n) rte_prefetch0(rte_pktmbuf_mtod(pkts[i + kPrefetchOffset], void*));
    rte_mbuf* m = pkts[i];
    if (rte_pktmbuf_data_len(m) < kEtherHdrLen) [[unlikely]] {
      ctx.Drop(rx_port, m, DropReason::kTruncated);
      continue;
    }
    // A tagged frame goes to its VLAN's attachment if there is one, else, tag and all,
    // to the port's untagged (whole-port) attachment.
    const auto* eth = rte_pktmbuf_mtod(m, const EtherHdr*);
    uint16_t vlan = kVlanUntagged;
    if (eth->ether_type == kEtherTypeVlan) {
      if (rte_pktmbuf_data_len(m) < kEtherHdrLen + kVlanHdrLen) [[unlikely]] {
        ctx.Drop(rx_port, m, DropReason::kTruncated);
        continue;
      }
      vlan = reinterpret_cast<const VlanTag*>(eth->src + 6)->tci.host() & kVlanIdMask;
    }
    uint32_t id = tables.attachment(rx_port, vlan);
    if (id == kNoTunnel && vlan != kVlanUntagged) {
      vlan = kVlanUntagged;
      id = tables.attachment(rx_port, vlan);
    }
    const Tunnel* t = id != kNoTunnel ? tables.tunnel(id) : nullptr;
    if (t == nullptr) [[unlikely]] {
      ctx.Drop(rx_port, m, DropReason::kNoAttachment);
      continue;
    }
    if (!t->resolved) [[unlikely]] {
      ctx.DropTunnel(rx_port, m, DropReason::kNoNeighbor, id);
      continue;
    }
    if (vlan != kVlanUntagged) StripVlan(m);
    const uint32_t inner_len = rte_pktmbuf_pkt_len(m);
    if (!FitsMtu(*t, inner_len)) [[unlikely]] {
      ctx.DropTunnel(rx_port, m, DropReason::kMtuExceeded, id);
      continue;
    }
    rte_mbuf* out = EncapPacket(*t, tables.tunnel_state(id), m);
    if (out == nullptr) [[unlikely]] {
      ctx.DropTunnel(rx_port, m, DropReason::kNoHeadroom, id);
      continue;
    }
    m = out;
    TunnelCounters& tc = ctx.counters->tunnels[id];
    tc.encap_packets.Inc();
    tc.encap_bytes.Add(inner_len);
    ctx.Emit(t->egress_port, m);
  }
}

}  // namespace tundra
