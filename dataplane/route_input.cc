#include "dataplane/route_input.h"

#include <rte_lpm.h>
#include <rte_lpm6.h>

#include <cstring>

#include "dataplane/burst.h"
#include "dataplane/echo_reply.h"
#include "dataplane/encap_push.h"
#include "dataplane/fragment.h"
#include "dataplane/icmp_error.h"
#include "dataplane/ip_input.h"
#include "dataplane/ip_ttl.h"
#include "dataplane/mbuf_util.h"
#include "dataplane/neighbor_reply.h"
#include "dataplane/proto/ether.h"
#include "dataplane/proto/ip.h"

namespace tundra {

namespace {

// A packet the input stage accepted for routing.
struct RoutedInput {
  rte_mbuf* m;
  IpInput ip;
  uint8_t lookup;  // its index in the family's destination array
};

void LearnHost(WorkerContext& ctx, uint16_t port, uint8_t family, const uint8_t* ip,
               const uint8_t* mac) {
  if (IsMulticastMac(mac)) return;
  LearnEvent e = {};
  e.family = family;
  e.port = port;
  std::memcpy(e.mac, mac, 6);
  std::memcpy(e.ip, ip, family == 4 ? 4 : 16);
  ctx.Learn(e);
}

// ARP from a host: learned, and answered when it asks for our address.
void InputArp(WorkerContext& ctx, const PortView& port, uint16_t rx_port, rte_mbuf* m) {
  if (rte_pktmbuf_data_len(m) >= kEtherHdrLen + sizeof(ArpHdr)) {
    const auto* arp = rte_pktmbuf_mtod_offset(m, const ArpHdr*, kEtherHdrLen);
    static constexpr uint8_t kZero[4] = {};
    if (arp->hw_type == kArpHwEther && arp->proto_type == kEtherTypeIpv4 &&
        std::memcmp(arp->spa, kZero, 4) != 0) {
      LearnHost(ctx, rx_port, 4, arp->spa, arp->sha);
    }
  }
  if (AnswerArp(port, m)) {
    ctx.counters->ports[rx_port].nd_replies.Inc();
    ctx.Emit(rx_port, m);
  } else {
    ctx.Drop(rx_port, m, DropReason::kArpIgnored);
  }
}

// An ICMPv6 neighbor solicitation or advertisement from a host: learned, and answered
// when it solicits our address. Returns false when `m` is not one.
bool InputNeighborDiscovery(WorkerContext& ctx, const PortView& port, uint16_t rx_port,
                            rte_mbuf* m) {
  const auto* ip = rte_pktmbuf_mtod_offset(m, const Ipv6Hdr*, kEtherHdrLen);
  if (ip->next_header != kIpProtoIcmpv6 ||
      rte_pktmbuf_data_len(m) < kEtherHdrLen + kIpv6HdrLen + sizeof(Icmpv6NdHdr)) {
    return false;
  }
  const auto* nd = reinterpret_cast<const Icmpv6NdHdr*>(ip + 1);
  if (nd->type != kIcmpv6NeighborSolicit && nd->type != kIcmpv6NeighborAdvert) return false;
  static constexpr uint8_t kUnspecified[16] = {};
  const uint8_t* who = nd->type == kIcmpv6NeighborSolicit ? ip->src : nd->target;
  if (std::memcmp(who, kUnspecified, 16) != 0) {
    LearnHost(ctx, rx_port, 6, who, rte_pktmbuf_mtod(m, const EtherHdr*)->src);
  }
  if (AnswerNeighborSolicit(port, m, kEtherHdrLen)) {
    ctx.counters->ports[rx_port].nd_replies.Inc();
    ctx.Emit(rx_port, m);
  } else {
    ctx.Drop(rx_port, m, DropReason::kArpIgnored);
  }
  return true;
}

// An IP packet for the port's own address: we are no host, but we answer pings
// (echo_reply.h). Returns the drop reason, or kNone when it was answered and sent.
// Out of line, and `consumed` left to the caller, so the routed packets' path through
// InputOne grows as little as it can (3 instructions a packet under callgrind).
[[gnu::noinline, gnu::cold]] DropReason InputForUs(WorkerContext& ctx, const PortView& port,
                                                   uint16_t rx_port, rte_mbuf* m,
                                                   const IpInput& ip) {
  DropReason drop = DropReason::kNotForUs;
  const EchoVerdict echo = AnswerEcho(port, m, ip, drop);
  if (echo == EchoVerdict::kReplied) {
    ctx.counters->ports[rx_port].echo_replies.Inc();
    ctx.Emit(rx_port, m);
    return DropReason::kNone;
  }
  return echo == EchoVerdict::kDrop ? drop : DropReason::kNotForUs;
}

// The input stage for one packet: ARP/ND are handled here; an IP packet passes IP input
// and must be for someone else (we route; we are no host), but a ping of our address is
// answered. Returns kNone when `m` is to be routed; `consumed` when it was answered.
DropReason InputOne(WorkerContext& ctx, const PortView& port, uint16_t rx_port, rte_mbuf* m,
                    IpInput& ip, bool& consumed) {
  consumed = false;
  if (rte_pktmbuf_data_len(m) < kEtherHdrLen) return DropReason::kTruncated;
  const auto* eth = rte_pktmbuf_mtod(m, const EtherHdr*);
  if (eth->ether_type == kEtherTypeArp) {
    InputArp(ctx, port, rx_port, m);
    consumed = true;
    return DropReason::kNone;
  }
  if (std::memcmp(eth->dst, port.mac, 6) != 0 && !IsMulticastMac(eth->dst)) {
    return DropReason::kNotForUs;
  }
  if (eth->ether_type == kEtherTypeIpv4) {
    if (DropReason r = CheckIpv4(m, kEtherHdrLen, ip); r != DropReason::kNone) return r;
    const auto* ip4 = rte_pktmbuf_mtod_offset(m, const Ipv4Hdr*, kEtherHdrLen);
    if (port.has_v4 && std::memcmp(ip4->dst, port.v4, 4) == 0) {
      const DropReason r = InputForUs(ctx, port, rx_port, m, ip);
      consumed = r == DropReason::kNone;
      return r;
    }
    return DropReason::kNone;
  }
  if (eth->ether_type == kEtherTypeIpv6) {
    if (DropReason r = CheckIpv6(m, kEtherHdrLen, ip); r != DropReason::kNone) return r;
    if (InputNeighborDiscovery(ctx, port, rx_port, m)) {
      consumed = true;
      return DropReason::kNone;
    }
    const auto* ip6 = rte_pktmbuf_mtod_offset(m, const Ipv6Hdr*, kEtherHdrLen);
    if (ip6->dst[0] == 0xFF) return DropReason::kArpIgnored;  // multicast: not routed
    if (port.has_v6 && std::memcmp(ip6->dst, port.v6, 16) == 0) {
      const DropReason r = InputForUs(ctx, port, rx_port, m, ip);
      consumed = r == DropReason::kNone;
      return r;
    }
    return DropReason::kNone;
  }
  return DropReason::kNotForUs;
}

// A packet too big for its tunnel: fragments, or an ICMP error back to its sender.
void SendTooBig(WorkerContext& ctx, const PortView& port, uint16_t rx_port,
                const uint8_t* sender_mac, EncapPacket& p) {
  if (SendFragments(ctx, rx_port, p)) return;
  const uint16_t inner_mtu = static_cast<uint16_t>(p.t->max_l3_len - (p.t->hdr_len - kEtherHdrLen));
  if (rte_mbuf* err = BuildTooBig(ctx.direct_pool, port, sender_mac, p.m, inner_mtu)) {
    ctx.counters->tunnels[p.id].icmp_errors.Inc();
    ctx.Emit(rx_port, err);
  }
  ctx.Drop(rx_port, p.m, DropReason::kMtuExceeded, p.id);
}

}  // namespace

void RouteBurst(WorkerContext& ctx, uint16_t rx_port, rte_mbuf** pkts, uint16_t n) {
  const Tables& tables = *ctx.tables;
  const PortView& port = *tables.port(rx_port);

  // Input: ARP/ND and IP input; destinations gathered per family for the lookup.
  RoutedInput in[kBurstSize];
  uint16_t nin = 0;
  uint32_t dst4[kBurstSize];
  uint8_t dst6[kBurstSize][16];
  uint16_t n4 = 0, n6 = 0;
  PrefetchFirstHeaders(pkts, n);
  for (uint16_t i = 0; i < n; ++i) {
    PrefetchAheadHeader(pkts, i, n);
    rte_mbuf* m = pkts[i];
    RoutedInput& r = in[nin];
    bool consumed;
    const DropReason drop = InputOne(ctx, port, rx_port, m, r.ip, consumed);
    if (consumed) continue;
    if (drop != DropReason::kNone) {
      ctx.Drop(rx_port, m, drop);
      continue;
    }
    r.m = m;
    if (r.ip.family == 4) {
      uint32_t dst;
      std::memcpy(&dst, rte_pktmbuf_mtod_offset(m, const Ipv4Hdr*, kEtherHdrLen)->dst, 4);
      dst4[n4] = rte_be_to_cpu_32(dst);
      r.lookup = static_cast<uint8_t>(n4++);
    } else {
      std::memcpy(dst6[n6], rte_pktmbuf_mtod_offset(m, const Ipv6Hdr*, kEtherHdrLen)->dst, 16);
      r.lookup = static_cast<uint8_t>(n6++);
    }
    ++nin;
  }
  if (nin == 0) return;

  // Lookup: longest-prefix match of every destination, in bulk.
  const RouteTable* routes = tables.routes();
  uint32_t hop4[kBurstSize];
  int32_t hop6[kBurstSize];
  if (routes != nullptr && n4 != 0) rte_lpm_lookup_bulk(routes->v4, dst4, hop4, n4);
  if (routes != nullptr && n6 != 0) rte_lpm6_lookup_bulk_func(routes->v6, dst6, hop6, n6);

  // Forward: into the route's tunnel, TTL decremented; too big → fragments or ICMP.
  EncapPacket out[kBurstSize];
  uint16_t nout = 0;
  for (uint16_t i = 0; i < nin; ++i) {
    const RoutedInput& r = in[i];
    rte_mbuf* m = r.m;
    uint32_t id = kNoTunnel;
    if (routes != nullptr) {
      if (r.ip.family == 4 && (hop4[r.lookup] & RTE_LPM_LOOKUP_SUCCESS)) {
        id = hop4[r.lookup] & 0x00FFFFFF;
      } else if (r.ip.family == 6 && hop6[r.lookup] >= 0) {
        id = static_cast<uint32_t>(hop6[r.lookup]);
      }
    }
    if (id == kNoTunnel) {
      ctx.Drop(rx_port, m, DropReason::kNoRoute);
      continue;
    }
    const bool ttl_ok = r.ip.family == 4
                            ? DecrementTtl(rte_pktmbuf_mtod_offset(m, Ipv4Hdr*, kEtherHdrLen))
                            : DecrementHopLimit(rte_pktmbuf_mtod_offset(m, Ipv6Hdr*, kEtherHdrLen));
    if (!ttl_ok) {
      ctx.Drop(rx_port, m, DropReason::kTtlExceeded);
      continue;
    }
    TrimMbuf(m, r.ip.end);
    const Tunnel* t = tables.tunnel(id);
    if (t == nullptr || !(t->flags & kTunnelL3)) [[unlikely]] {
      ctx.Drop(rx_port, m, DropReason::kNoRoute);
      continue;
    }
    // The IP packet goes on, without its Ethernet header (IP input proved it is there).
    // A packet whose tunnel has no next hop is dropped by the push stage, as on every path.
    const uint32_t len = rte_pktmbuf_pkt_len(m) - kEtherHdrLen;
    if (!FitsMtu(*t, len)) [[unlikely]] {
      // Checked here too, so that an unsendable packet is one drop, not one per fragment.
      if (tables.PathNextHop(t->path) == 0) {
        ctx.Drop(rx_port, m, NoNextHopReason(tables, *t), id);
        continue;
      }
      // Packets before it leave first: a burst keeps its order on the wire.
      PushStage(ctx, rx_port, out, nout);
      nout = 0;
      uint8_t sender_mac[6];
      std::memcpy(sender_mac, rte_pktmbuf_mtod(m, const EtherHdr*)->src, 6);
      rte_pktmbuf_adj(m, kEtherHdrLen);
      EncapPacket p{m, t, id, len, DropReason::kNone};
      SendTooBig(ctx, port, rx_port, sender_mac, p);
      continue;
    }
    StripFront(m, kEtherHdrLen);
    EncapPacket& p = out[nout++];
    p.m = m;
    p.t = t;
    p.id = id;
    p.len = len;
    p.drop = DropReason::kNone;
  }
  PushStage(ctx, rx_port, out, nout);
}

}  // namespace tundra
