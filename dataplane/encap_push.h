// Encap's push and emit: the one way a packet enters a tunnel, whichever path it came
// from (a bridged access port's frame, a routed host's IP packet, a fragment of one).
// The tunnel's precomputed outer header (its template, header_template.h) is copied in
// front; then per packet only what varies: lengths, the UDP source port (the inner
// flow's hash, RFC 7348 §5), RFC 6040 ECN and ttl/tos/df inherit, the GRE protocol,
// sequence number and checksum, and the outer checksums (offloaded or in software,
// tx_checksum.h).
#pragma once

#include <rte_mbuf.h>
#include <rte_memcpy.h>
#include <smmintrin.h>

#include <cstdint>
#include <cstring>

#include "dataplane/flow_hash.h"
#include "dataplane/inner_ip.h"
#include "dataplane/proto/checksum.h"
#include "dataplane/proto/ether.h"
#include "dataplane/proto/gre.h"
#include "dataplane/proto/ip.h"
#include "dataplane/proto/udp.h"
#include "dataplane/push_shape.h"
#include "dataplane/tunnel.h"
#include "dataplane/tx_checksum.h"
#include "dataplane/worker_context.h"

namespace tundra {

// A packet on its way into a tunnel.
struct EncapPacket {
  rte_mbuf* m;
  const Tunnel* t;
  uint32_t id;
  uint32_t len;     // inner bytes (counted as encap bytes)
  DropReason drop;  // kNone while the packet goes on
};

// Pushes every live packet of `pkts` into its tunnel and queues it on the tunnel's
// uplink; drops the others, counted against `rx_port`. A run of packets of one GRE
// tunnel with sequence numbers reserves its numbers with one atomic add.
void PushStage(WorkerContext& ctx, uint16_t rx_port, EncapPacket* pkts, uint16_t n);

// Whether `inner_len` bytes of inner frame/packet fit the tunnel's uplink MTU.
inline bool FitsMtu(const Tunnel& t, uint32_t inner_len) {
  return inner_len + t.hdr_len - kEtherHdrLen <= t.max_l3_len;
}

// Why packets of `t` drop while its path has no next-hop word.
inline DropReason NoNextHopReason(const Tables& tables, const Tunnel& t) {
  return tables.path_nexthop_id(t.path) == 0 ? DropReason::kNoUnderlayRoute
                                             : DropReason::kNoNeighbor;
}

// Fills in an inner L4 checksum that the rx port left to be completed
// (RTE_MBUF_F_RX_L4_CKSUM_NONE: virtio/veth CHECKSUM_PARTIAL style).
void CompleteInnerChecksum(rte_mbuf* m, uint16_t l3_off);

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

// Copies a tunnel's header template (kMaxTemplateLen bytes, 16-byte aligned, so whole
// blocks may be read past `len`) to `dst`, writing exactly `len` (≥ 32) bytes: whole
// 16-byte blocks, the last one ending at `len`. The destination MAC (bytes 0..5) comes
// from `nexthop` (tables.h PackNextHop), blended into the first block. Straight-line for
// the usual lengths (Ethernet + IPv4/IPv6 + UDP/GRE + tunnel header: 38 to 96 bytes).
__attribute__((always_inline)) inline void CopyTemplate(uint8_t* dst, const uint8_t* src,
                                                        uint16_t len, uint64_t nexthop) {
  const auto copy = [&](uint16_t off) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + off),
                     _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + off)));
  };
  if (len > 96) [[unlikely]] {
    rte_memcpy(dst, src, len);
    std::memcpy(dst, &nexthop, 6);
    return;
  }
  // The last block first: for len < 48 it overlaps the second, and then the first.
  copy(len - 16);
  if (len > 80) copy(64);
  if (len > 64) copy(48);
  if (len > 48) copy(32);
  copy(16);
  const __m128i first = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(dst),
                   _mm_blend_epi16(first, _mm_cvtsi64_si128(static_cast<int64_t>(nexthop)), 0x07));
}

// Applies ttl/tos/df inherit to the outer header just copied from the template. As
// Linux's `df inherit`: DF copied from an IPv4 inner packet, set for IPv6 (which
// routers never fragment), clear for anything else.
inline void ApplyInherit(const Tunnel& t, const InnerIp& inner, uint8_t* l3) {
  if (t.outer_family == 4) {
    auto* ip = reinterpret_cast<Ipv4Hdr*>(l3);
    if (t.flags & kTunnelDfInherit) {
      const bool df = inner.version == 6 || (inner.version == 4 && inner.df);
      ip->fragment_offset = Be16(df ? Ipv4Hdr::kDontFragment : 0);
    }
    if (inner.version == 0) return;
    if (t.flags & kTunnelTtlInherit) ip->ttl = inner.ttl;
    if (t.flags & kTunnelTosInherit) ip->tos = (inner.tos & ~kEcnMask) | (ip->tos & kEcnMask);
  } else {
    if (inner.version == 0) return;
    auto* ip = reinterpret_cast<Ipv6Hdr*>(l3);
    if (t.flags & kTunnelTtlInherit) ip->hop_limit = inner.ttl;
    if (t.flags & kTunnelTosInherit) {
      const uint32_t tc = (inner.tos & ~kEcnMask) | (ip->traffic_class() & kEcnMask);
      ip->vtc_flow = Be32((ip->vtc_flow.host() & 0xF00FFFFF) | (tc << 20));
    }
  }
}

// GRE's per-packet words: the L3 payload's protocol, sequence number `seq`, checksum.
inline void FinishGre(const Tunnel& t, rte_mbuf* m, uint8_t* h, const InnerIp& inner,
                      uint32_t seq) {
  if (t.flags & kTunnelL3) {
    reinterpret_cast<GreHdr*>(h + t.tun_off)->protocol =
        inner.version == 6 ? kEtherTypeIpv6 : kEtherTypeIpv4;
  }
  if (t.flags & kTunnelGreSequence) {
    const Be32 s(seq);
    std::memcpy(h + t.gre_seq_off, &s, 4);
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

// Prepends `t`'s header to `m` (the inner Ethernet frame, or for L3 tunnels the inner
// IP packet) and finishes it; `seq` is its GRE sequence number when `t` sends them,
// `nexthop` the word (tables.h PackNextHop) of the neighbor it goes to. Returns the
// packet's head (a new segment when the header outgrew the headroom), or nullptr (with
// `m` unchanged) when no mbuf was left for that. `S`, when fixed, is a shape `t` fits
// (push_shape.h): what it states is taken as constant instead of read from `t`.
template <PushShape S = kGeneralPush>
__attribute__((always_inline)) inline rte_mbuf* PushTunnelHeader(const Tunnel& t, rte_mbuf* m,
                                                                 uint32_t seq, uint64_t nexthop) {
  constexpr bool kFixed = S.fixed();
  const bool udp = kFixed ? S.udp : IsUdpTunnel(t.type);
  const bool l3_payload = !kFixed && (t.flags & kTunnelL3);
  const bool outer_v4 = kFixed ? S.outer_family == 4 : t.outer_family == 4;
  const bool per_packet_ip = !kFixed && (t.flags & kTunnelPerPacketIpMask);
  const uint16_t hdr_len = S.hdr_len != 0 ? S.hdr_len : t.hdr_len;
  const uint16_t l3_len = kFixed ? S.l3_len() : t.l3_len;

  const uint32_t inner_len = rte_pktmbuf_pkt_len(m);
  const uint8_t* inner = rte_pktmbuf_mtod(m, const uint8_t*);
  const uint32_t avail = rte_pktmbuf_data_len(m);
  uint16_t ip_off;
  InnerIp inner_ip;
  uint16_t sport = 0;
  if (!l3_payload && avail >= kEtherHdrLen + kIpv4HdrLen &&
      reinterpret_cast<const EtherHdr*>(inner)->ether_type == kEtherTypeIpv4 &&
      (inner[kEtherHdrLen] >> 4) == 4 && !(m->ol_flags & RTE_MBUF_F_RX_RSS_HASH)) [[likely]] {
    // The common frame, untagged IPv4: one look at its header gives the RFC 6040 and
    // inherit fields and the flow hash (the same values as the general path below).
    ip_off = kEtherHdrLen;
    inner_ip = ReadInnerIpAt(inner + kEtherHdrLen, avail - kEtherHdrLen);
    if (udp) sport = SourcePortFromHash(Ipv4FlowHash(inner, kEtherHdrLen, avail));
  } else {
    ip_off = l3_payload ? 0 : InnerIpOffset(inner, avail);
    inner_ip =
        (ip_off != 0 || l3_payload) ? ReadInnerIpAt(inner + ip_off, avail - ip_off) : InnerIp{};
    if (udp) sport = SourcePortFromHash(InnerFlowHash(m, inner, avail));
  }
  if ((m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK) == RTE_MBUF_F_RX_L4_CKSUM_NONE &&
      inner_ip.version != 0) [[unlikely]] {
    CompleteInnerChecksum(m, ip_off);
  }

  m = PrependHeader(m, hdr_len);
  if (m == nullptr) [[unlikely]]
    return nullptr;
  uint8_t* h = rte_pktmbuf_mtod(m, uint8_t*);
  CopyTemplate(h, t.hdr.data(), hdr_len, nexthop);

  uint8_t* l3 = h + kEtherHdrLen;
  const uint16_t l3_total = static_cast<uint16_t>(inner_len + hdr_len - kEtherHdrLen);
  // RFC 6040 normal mode: the outer ECN field is a copy of the inner one.
  const uint8_t ecn = inner_ip.tos & kEcnMask;
  if (outer_v4) {
    auto* ip = reinterpret_cast<Ipv4Hdr*>(l3);
    ip->total_length = Be16(l3_total);
    ip->tos |= ecn;
    if (per_packet_ip) [[unlikely]] {
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
    if (per_packet_ip) [[unlikely]]
      ApplyInherit(t, inner_ip, l3);
  }
  UdpHdr* udp_hdr = nullptr;
  if (udp) {
    udp_hdr = reinterpret_cast<UdpHdr*>(l3 + l3_len);
    udp_hdr->src_port = Be16(sport);
    udp_hdr->length = Be16(static_cast<uint16_t>(l3_total - l3_len));
  } else if (!kFixed) {
    FinishGre(t, m, h, inner_ip, seq);
  } else if (S.gre_sequence) {
    const Be32 s(seq);
    std::memcpy(h + hdr_len - 4, &s, 4);
  }
  if (kFixed) {
    m->ol_flags = 0;  // a fixed shape has no offloads (FitsPushShape)
    m->tx_offload = t.tx_offload;
    if (S.udp_checksum) {
      const uint16_t l4_off = kEtherHdrLen + l3_len;
      udp_hdr->checksum = Be16::FromRaw(
          L4Checksum(m, t.pseudo_addr_sum, kIpProtoUdp, l4_off, udp_hdr->length.host()));
    }
  } else {
    FinishOuterChecksums(t, m, l3, udp_hdr, inner_ip.version);
  }
  return m;
}

}  // namespace tundra
