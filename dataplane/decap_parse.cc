#include "dataplane/decap_parse.h"

#include <rte_debug.h>
#include <rte_prefetch.h>

#include <cstring>

#include "dataplane/decap_shape.h"
#include "dataplane/echo_reply.h"
#include "dataplane/ip_input.h"
#include "dataplane/mbuf_util.h"
#include "dataplane/neighbor_input.h"
#include "dataplane/proto/ether.h"
#include "dataplane/proto/ip.h"
#include "dataplane/tunnel_parse.h"
#include "dataplane/udp_input.h"

namespace tundra {

namespace {

// Bytes of headers decap wants contiguous: outer Ethernet + IPv6 + extension headers +
// UDP + GENEVE with options + inner Ethernet + inner IPv6.
constexpr uint32_t kContiguousHeaders = 512;

ParseVerdict Fail(DropReason& drop, DropReason why) {
  drop = why;
  return ParseVerdict::kDrop;
}

// A tunnel packet to a multicast group: a segment's `group` (RFC 7348 §4.2) takes it
// if one has the group with the packet's VNI/key, found by the lookup (the key's local
// address is the group); other packets to groups are not ours.
inline bool ToGroup(bool multicast_dst, const IpInput& ip) {
  return multicast_dst && (ip.protocol == kIpProtoUdp || ip.protocol == kIpProtoGre);
}

// IP input of the outer header, then what makes it ours: addressed to this uplink (or
// to a multicast group, as above), not a fragment. IPv6 neighbor solicitations for us
// are answered here.
ParseVerdict ParseOuterIp(const PortView& port, rte_mbuf* m, Be16 ether_type, IpInput& ip,
                          DecapFlow& out, DecapParse& parse, DropReason& drop) {
  if (ether_type == kEtherTypeIpv4) {
    if (DropReason r = CheckIpv4(m, kEtherHdrLen, ip); r != DropReason::kNone) return Fail(drop, r);
    const auto* ip4 = rte_pktmbuf_mtod_offset(m, const Ipv4Hdr*, kEtherHdrLen);
    if (!port.has_v4 ||
        (std::memcmp(ip4->dst, port.v4, 4) != 0 && !ToGroup((ip4->dst[0] & 0xF0) == 0xE0, ip))) {
      return Fail(drop, DropReason::kNotForUs);
    }
    if (ip4->is_fragment()) return Fail(drop, DropReason::kIpFragment);
    parse.outer_ecn = ip4->tos & 0x03;
    std::memcpy(out.key.local, ip4->dst, 4);
    std::memcpy(out.remote, ip4->src, 4);
  } else {
    if (DropReason r = CheckIpv6(m, kEtherHdrLen, ip); r != DropReason::kNone) return Fail(drop, r);
    const auto* ip6 = rte_pktmbuf_mtod_offset(m, const Ipv6Hdr*, kEtherHdrLen);
    if (IsNeighborDiscovery(m, kEtherHdrLen)) return ParseVerdict::kNeighbor;
    const bool to_us = port.has_v6 && std::memcmp(ip6->dst, port.v6, 16) == 0;
    const bool maybe_group = port.has_v6 && !to_us && ip6->dst[0] == 0xFF;
    const DropReason not_ours =
        ip6->next_header == kIpProtoIcmpv6 ? DropReason::kArpIgnored : DropReason::kNotForUs;
    if (!to_us && !maybe_group) return Fail(drop, not_ours);
    if (DropReason r = SkipIpv6ExtensionHeaders(m, ip); r != DropReason::kNone) {
      return Fail(drop, r);
    }
    if (!to_us && !ToGroup(true, ip)) return Fail(drop, not_ours);
    parse.outer_ecn = ip6->traffic_class() & 0x03;
    std::memcpy(out.key.local, ip6->dst, 16);
    std::memcpy(out.remote, ip6->src, 16);
  }
  TrimMbuf(m, ip.end);
  parse.family = ip.family;
  out.key.family = ip.family;
  return ParseVerdict::kLookup;
}

// A packet for us that is no tunnel packet: a ping of our VTEP address is answered
// (echo_reply.h). Kept out of line, off the tunnel parse.
[[gnu::noinline, gnu::cold]] ParseVerdict ParseNotTunnel(const PortView& port, rte_mbuf* m,
                                                         const IpInput& ip, DropReason& drop) {
  const EchoVerdict echo = AnswerEcho(port, m, ip, drop);
  if (echo == EchoVerdict::kReplied) return ParseVerdict::kReply;
  return echo == EchoVerdict::kDrop ? ParseVerdict::kDrop : Fail(drop, DropReason::kNotTunnel);
}

}  // namespace

ParseVerdict ParseOuter(const Tables& tables, const PortView& port, rte_mbuf* m, DecapFlow& out,
                        DecapParse& parse, DropReason& drop) {
  // Every header, the inner Ethernet/IP one included, is read in the first segment:
  // a packet whose first segment ends inside them is made contiguous first (rare:
  // receive buffers are 2 KB).
  if (m->nb_segs > 1 && rte_pktmbuf_data_len(m) < kContiguousHeaders) [[unlikely]]
    Linearize(m);
  if (rte_pktmbuf_data_len(m) < kEtherHdrLen) return Fail(drop, DropReason::kTruncated);
  const auto* eth = rte_pktmbuf_mtod(m, const EtherHdr*);
  if (std::memcmp(eth->dst, port.mac, 6) != 0 && !IsMulticastMac(eth->dst)) {
    return Fail(drop, DropReason::kNotForUs);
  }
  if (eth->ether_type == kEtherTypeArp) return ParseVerdict::kNeighbor;
  if (eth->ether_type != kEtherTypeIpv4 && eth->ether_type != kEtherTypeIpv6) {
    return Fail(drop, DropReason::kNotForUs);
  }
  out.key = DecapKey{};
  IpInput ip;
  if (ParseVerdict v = ParseOuterIp(port, m, eth->ether_type, ip, out, parse, drop);
      v != ParseVerdict::kLookup) {
    return v;
  }
  TunnelParse& tp = parse.tunnel;
  if (ip.protocol == kIpProtoGre) {
    tp = ParseGre(m, ip.l4_off, static_cast<uint16_t>(ip.end - ip.l4_off));
    if (tp.drop != DropReason::kNone) return Fail(drop, tp.drop);
    // GRE is point-to-point: the remote is part of the key.
    std::memcpy(out.key.remote, out.remote, ip.family == 4 ? 4 : 16);
    if (tp.has_key) out.key.flags = kDecapKeyHasKey;
  } else if (ip.protocol == kIpProtoUdp) {
    const UdpHdr* udp = CheckUdpLength(m, ip, drop);
    if (udp == nullptr) return ParseVerdict::kDrop;
    const uint8_t type = tables.udp_tunnel_type(udp->dst_port.host());
    if (type == 0) return Fail(drop, DropReason::kUnknownPort);
    if (!UdpChecksumOk(m, ip, *udp)) return Fail(drop, DropReason::kBadUdpChecksum);
    tp = ParseUdpTunnel(static_cast<TunnelType>(type), m, ip.l4_off + kUdpHdrLen);
    if (tp.drop != DropReason::kNone) return Fail(drop, tp.drop);
  } else {
    return ParseNotTunnel(port, m, ip, drop);
  }
  tp.l4_off = ip.l4_off;
  out.key.type = static_cast<uint8_t>(tp.type);
  out.key.vni_or_key = tp.vni_or_key;
  // The inner Ethernet header (pushed a VLAN tag, read for ECN) or inner IP header
  // (TTL, ECN) is rewritten in place, so it must be in the first segment.
  if (rte_pktmbuf_data_len(m) < uint32_t{tp.inner_off} + MinInnerLen(tp)) {
    return Fail(drop, DropReason::kTruncated);
  }
  return ParseVerdict::kLookup;
}

namespace {

#ifdef TUNDRA_VERIFY_FAST_PATH
// The same-shape match must give what the full parser gives (decap_shape.h).
void VerifyMatch(const Tables& tables, const PortView& port, rte_mbuf* m, const DecapFlow& flow,
                 const DecapParse& parse, uint32_t seq) {
  DecapFlow want_flow;
  DecapParse want;
  DropReason drop = DropReason::kNone;
  const ParseVerdict v = ParseOuter(tables, port, m, want_flow, want, drop);
  const TunnelParse& a = parse.tunnel;
  const TunnelParse& b = want.tunnel;
  const size_t alen = parse.family == 4 ? 4 : 16;
  // The flow's own identity lives in its key and remote; the shared parse's
  // vni_or_key is its first flow's.
  if (v != ParseVerdict::kLookup || !(flow.key == want_flow.key) ||
      std::memcmp(flow.remote, want_flow.remote, alen) != 0 || parse.family != want.family ||
      parse.outer_ecn != want.outer_ecn || a.type != b.type || a.l3_version != b.l3_version ||
      a.has_key != b.has_key || a.has_seq != b.has_seq || a.has_csum != b.has_csum ||
      a.oam != b.oam || a.critical != b.critical || a.opts_off != b.opts_off ||
      a.opts_len != b.opts_len || a.inner_off != b.inner_off || a.l4_off != b.l4_off ||
      a.id_off != b.id_off || a.seq_off != b.seq_off || (b.has_seq && seq != b.seq)) {
    rte_panic("decap same-shape match disagrees with the full parser (verdict %d, drop %s)\n",
              static_cast<int>(v), DropReasonName(drop));
  }
}
#endif

// Where ParseStage is in its burst: the next packet, and the batch's counts so far.
struct ParseCursor {
  uint16_t i = 0;
  uint16_t npkts = 0;
  uint16_t nflows = 0;
  uint16_t nparses = 0;
};

// Accepts packets from c.i on for as long as they match the shape's reference (Match,
// with a plain UDP layout taken as constant unless kKind is kAny); stops at the first
// miss, which the caller parses fully. Out of line per variant: each loop gets the
// registers to itself.
template <DecapShape::Kind kKind>
__attribute__((noinline)) void MatchRun([[maybe_unused]] const Tables& tables,
                                        [[maybe_unused]] const PortView& port,
                                        const DecapShape& shape, rte_mbuf** pkts, uint16_t n,
                                        DecapBatch& b, ParseCursor& c) {
  uint16_t i = c.i, npkts = c.npkts, nflows = c.nflows;
  for (; i < n; ++i) {
    PrefetchAheadHeader(pkts, i, n);
    rte_mbuf* m = pkts[i];
    DecapPacket& p = b.pkts[npkts];
    const DecapShape::Result r = shape.Match<kKind>(m, p.seq);
    if (r == DecapShape::kMiss) [[unlikely]]
      break;
    p.m = m;
    p.drop = DropReason::kNone;
    if (r == DecapShape::kSameFlow) [[likely]] {
      p.flow = shape.flow();
    } else {
      // A flow of its own that shares the reference's parse.
      DecapFlow& f = b.flows[nflows];
      const DecapFlow& ref = b.flows[shape.flow()];
      f.key = ref.key;
      f.parse = ref.parse;
      f.first = static_cast<uint8_t>(npkts);
      shape.Patch(m, f);
      p.flow = static_cast<uint8_t>(nflows++);
    }
#ifdef TUNDRA_VERIFY_FAST_PATH
    VerifyMatch(tables, port, m, b.flows[p.flow], b.parses[b.flows[p.flow].parse], p.seq);
#endif
    ++npkts;
  }
  c.i = i;
  c.npkts = npkts;
  c.nflows = nflows;
}

}  // namespace

void ParseStage(WorkerContext& ctx, const PortView& port, rte_mbuf** pkts, uint16_t n,
                DecapBatch& b) {
  const Tables& tables = *ctx.tables;
  const uint16_t rx_port = b.rx_port;
  DecapShape& shape = ctx.decap_shape;
  shape.Forget();
  ParseCursor c;
  PrefetchFirstHeaders(pkts, n);
  while (c.i < n) {
    if (shape.valid()) {
      switch (shape.kind()) {
        case DecapShape::Kind::kPlainUdp4:
          MatchRun<DecapShape::Kind::kPlainUdp4>(tables, port, shape, pkts, n, b, c);
          break;
        case DecapShape::Kind::kPlainUdp6:
          MatchRun<DecapShape::Kind::kPlainUdp6>(tables, port, shape, pkts, n, b, c);
          break;
        case DecapShape::Kind::kAny:
          MatchRun<DecapShape::Kind::kAny>(tables, port, shape, pkts, n, b, c);
          break;
      }
      if (c.i == n) break;
    }
    // No reference yet, or a miss: the full parser.
    PrefetchAheadHeader(pkts, c.i, n);
    rte_mbuf* m = pkts[c.i++];
    DecapPacket& p = b.pkts[c.npkts];
    p.m = m;
    p.drop = DropReason::kNone;
    DecapFlow& f = b.flows[c.nflows];
    DecapParse& parse = b.parses[c.nparses];
    DropReason drop;
    switch (ParseOuter(tables, port, m, f, parse, drop)) {
      case ParseVerdict::kLookup:
        f.parse = static_cast<uint8_t>(c.nparses++);
        f.first = static_cast<uint8_t>(c.npkts);
        p.flow = static_cast<uint8_t>(c.nflows++);
        p.seq = parse.tunnel.seq;
        shape.Fill(m, parse, p.flow);
        ++c.npkts;
        break;
      case ParseVerdict::kReply:  // ARP/ND are answered by UplinkNeighborInput
        ctx.counters->ports[rx_port].echo_replies.Inc();
        ctx.Emit(rx_port, m);
        break;
      case ParseVerdict::kNeighbor:
        UplinkNeighborInput(ctx, port, rx_port, m);
        break;
      case ParseVerdict::kDrop:
        ctx.Drop(rx_port, m, drop);
        break;
    }
  }
  b.n = c.npkts;
  b.nflows = c.nflows;
  b.nparses = c.nparses;
}

}  // namespace tundra
