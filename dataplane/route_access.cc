#include "dataplane/route_access.h"

#include <rte_cycles.h>
#include <rte_ip_frag.h>
#include <rte_lpm.h>
#include <rte_lpm6.h>

#include <algorithm>
#include <cstring>

#include "dataplane/encap.h"
#include "dataplane/mbuf_util.h"
#include "dataplane/neighbor_reply.h"
#include "dataplane/proto/checksum.h"
#include "dataplane/proto/ether.h"
#include "dataplane/proto/ip.h"

namespace tundra {

namespace {

inline constexpr uint8_t kIpProtoIcmp = 1;
inline constexpr uint16_t kIpv6MinMtu = 1280;  // RFC 8200 §5
// Most fragments one oversized packet may become.
inline constexpr uint16_t kMaxFragments = 8;

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

// Decrements an IPv4 TTL with the RFC 1624 incremental checksum update.
void DecrementTtl(Ipv4Hdr* ip) {
  const uint16_t old_word = reinterpret_cast<const uint16_t*>(ip)[4];
  --ip->ttl;
  const uint16_t new_word = reinterpret_cast<const uint16_t*>(ip)[4];
  ip->checksum = Be16::FromRaw(UpdateChecksum16(ip->checksum.raw(), old_word, new_word));
}

// Builds the ICMP error for the inner packet `m` (IP at offset 0) too big for the
// tunnel, addressed back to its sender through `port`. Returns nullptr if impossible.
rte_mbuf* BuildTooBig(WorkerContext& ctx, const PortView& port, const uint8_t* sender_mac,
                      rte_mbuf* m, uint16_t mtu) {
  const uint8_t version = rte_pktmbuf_mtod(m, const uint8_t*)[0] >> 4;
  if ((version == 4 && !port.has_v4) || (version == 6 && !port.has_v6)) return nullptr;
  rte_mbuf* r = rte_pktmbuf_alloc(ctx.direct_pool);
  if (r == nullptr) return nullptr;
  const uint32_t l3_len = version == 4 ? kIpv4HdrLen : kIpv6HdrLen;
  // RFC 792: the header plus 8 bytes; RFC 4443 §2.4: as much as fits in 1280 bytes.
  const uint32_t quote =
      version == 4 ? std::min<uint32_t>(rte_pktmbuf_pkt_len(m),
                                        rte_pktmbuf_mtod(m, const Ipv4Hdr*)->header_len() + 8)
                   : std::min<uint32_t>(rte_pktmbuf_pkt_len(m), kIpv6MinMtu - l3_len - 8);
  const uint32_t total = kEtherHdrLen + l3_len + 8 + quote;
  uint8_t* p = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(r, static_cast<uint16_t>(total)));
  if (p == nullptr) {
    rte_pktmbuf_free(r);
    return nullptr;
  }
  std::memset(p, 0, kEtherHdrLen + l3_len + 8);
  auto* eth = reinterpret_cast<EtherHdr*>(p);
  std::memcpy(eth->dst, sender_mac, 6);
  std::memcpy(eth->src, port.mac, 6);
  uint8_t* icmp = p + kEtherHdrLen + l3_len;
  const void* orig = rte_pktmbuf_read(m, 0, quote, icmp + 8);
  if (orig != icmp + 8) std::memcpy(icmp + 8, orig, quote);
  if (version == 4) {
    eth->ether_type = kEtherTypeIpv4;
    auto* ip = reinterpret_cast<Ipv4Hdr*>(p + kEtherHdrLen);
    const auto* in = reinterpret_cast<const Ipv4Hdr*>(icmp + 8);
    ip->version_ihl = 0x45;
    ip->total_length = Be16(static_cast<uint16_t>(l3_len + 8 + quote));
    ip->ttl = 64;
    ip->protocol = kIpProtoIcmp;
    std::memcpy(ip->src, port.v4, 4);
    std::memcpy(ip->dst, in->src, 4);
    ip->checksum = Be16::FromRaw(~FoldChecksum(RawSum(ip, kIpv4HdrLen)));
    icmp[0] = 3;  // destination unreachable
    icmp[1] = 4;  // fragmentation needed and DF set (RFC 1191: next-hop MTU)
    const Be16 next_hop_mtu(mtu);
    std::memcpy(icmp + 6, &next_hop_mtu, 2);
    const uint16_t ck = static_cast<uint16_t>(~FoldChecksum(RawSum(icmp, 8 + quote)));
    std::memcpy(icmp + 2, &ck, 2);
  } else {
    eth->ether_type = kEtherTypeIpv6;
    auto* ip = reinterpret_cast<Ipv6Hdr*>(p + kEtherHdrLen);
    const auto* in = reinterpret_cast<const Ipv6Hdr*>(icmp + 8);
    ip->vtc_flow = Be32(6u << 28);
    ip->payload_len = Be16(static_cast<uint16_t>(8 + quote));
    ip->next_header = kIpProtoIcmpv6;
    ip->hop_limit = 255;
    std::memcpy(ip->src, port.v6, 16);
    std::memcpy(ip->dst, in->src, 16);
    icmp[0] = 2;  // packet too big (RFC 4443 §3.2)
    const Be32 mtu32(std::max<uint32_t>(mtu, kIpv6MinMtu));
    std::memcpy(icmp + 4, &mtu32, 4);
    const uint16_t ck = rte_ipv6_udptcp_cksum(reinterpret_cast<const rte_ipv6_hdr*>(ip), icmp);
    std::memcpy(icmp + 2, &ck, 2);
  }
  return r;
}

// Encapsulates `m` (inner IP at offset 0) into `t` and queues it, fragmenting or
// answering with an ICMP error when it is too big.
void SendIntoTunnel(WorkerContext& ctx, const PortView& port, uint16_t rx_port,
                    const uint8_t* sender_mac, rte_mbuf* m, const Tunnel& t, uint32_t id) {
  TunnelCounters& tc = ctx.counters->tunnels[id];
  const uint32_t len = rte_pktmbuf_pkt_len(m);
  TunnelState& state = ctx.tables->tunnel_state(id);
  if (!FitsMtu(t, len)) [[unlikely]] {
    const uint16_t inner_mtu = static_cast<uint16_t>(t.max_l3_len - (t.hdr_len - kEtherHdrLen));
    const auto* ip4 = rte_pktmbuf_mtod(m, const Ipv4Hdr*);
    if ((t.flags & kTunnelFragment) && ip4->version() == 4 && !ip4->dont_fragment() &&
        ctx.indirect_pool != nullptr) {
      rte_mbuf* frags[kMaxFragments];
      const int nf = rte_ipv4_fragment_packet(m, frags, kMaxFragments, inner_mtu, ctx.direct_pool,
                                              ctx.indirect_pool);
      if (nf > 0) {
        rte_pktmbuf_free(m);
        for (int f = 0; f < nf; ++f) {
          // rte_ipv4_fragment_packet leaves each fragment's header checksum to us.
          auto* fip = rte_pktmbuf_mtod(frags[f], Ipv4Hdr*);
          fip->checksum = Be16(0);
          fip->checksum = Be16::FromRaw(~FoldChecksum(RawSum(fip, fip->header_len())));
          const uint32_t flen = rte_pktmbuf_pkt_len(frags[f]);
          rte_mbuf* out = EncapOne(t, state, frags[f]);
          if (out == nullptr) {
            ctx.DropTunnel(rx_port, frags[f], DropReason::kNoHeadroom, id);
            continue;
          }
          tc.fragments.Inc();
          tc.encap_packets.Inc();
          tc.encap_bytes.Add(flen);
          ctx.Emit(t.egress_port, out);
        }
        return;
      }
    }
    if (rte_mbuf* err = BuildTooBig(ctx, port, sender_mac, m, inner_mtu)) {
      tc.icmp_errors.Inc();
      ctx.Emit(rx_port, err);
    }
    ctx.DropTunnel(rx_port, m, DropReason::kMtuExceeded, id);
    return;
  }
  rte_mbuf* out = EncapOne(t, state, m);
  if (out == nullptr) [[unlikely]] {
    ctx.DropTunnel(rx_port, m, DropReason::kNoHeadroom, id);
    return;
  }
  tc.encap_packets.Inc();
  tc.encap_bytes.Add(len);
  ctx.Emit(t.egress_port, out);
}

void RouteOne(WorkerContext& ctx, const PortView& port, uint16_t rx_port, rte_mbuf* m) {
  const uint32_t avail = rte_pktmbuf_data_len(m);
  if (avail < kEtherHdrLen) {
    ctx.Drop(rx_port, m, DropReason::kTruncated);
    return;
  }
  const auto* eth = rte_pktmbuf_mtod(m, const EtherHdr*);
  uint8_t sender_mac[6];
  std::memcpy(sender_mac, eth->src, 6);

  if (eth->ether_type == kEtherTypeArp) {
    if (avail >= kEtherHdrLen + sizeof(ArpHdr)) {
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
    return;
  }
  if (std::memcmp(eth->dst, port.mac, 6) != 0 && !IsMulticastMac(eth->dst)) {
    ctx.Drop(rx_port, m, DropReason::kNotForUs);
    return;
  }
  const RouteTable* routes = ctx.tables->routes();
  uint32_t id = kNoTunnel;
  if (eth->ether_type == kEtherTypeIpv4) {
    if (avail < kEtherHdrLen + kIpv4HdrLen) {
      ctx.Drop(rx_port, m, DropReason::kTruncated);
      return;
    }
    auto* ip = rte_pktmbuf_mtod_offset(m, Ipv4Hdr*, kEtherHdrLen);
    const uint16_t hlen = ip->header_len();
    const uint16_t total = ip->total_length.host();
    if (ip->version() != 4 || hlen < kIpv4HdrLen || total < hlen) {
      ctx.Drop(rx_port, m, DropReason::kBadIpHeader);
      return;
    }
    if (avail < uint32_t{kEtherHdrLen} + hlen ||
        rte_pktmbuf_pkt_len(m) < uint32_t{kEtherHdrLen} + total) {
      ctx.Drop(rx_port, m, DropReason::kTruncated);
      return;
    }
    if (!Ipv4HeaderChecksumOk(ip, hlen)) {
      ctx.Drop(rx_port, m, DropReason::kBadIpChecksum);
      return;
    }
    if (port.has_v4 && std::memcmp(ip->dst, port.v4, 4) == 0) {
      ctx.Drop(rx_port, m, DropReason::kNotForUs);  // we route; we are no host
      return;
    }
    uint32_t dst;
    std::memcpy(&dst, ip->dst, 4);
    if (routes == nullptr || rte_lpm_lookup(routes->v4, rte_be_to_cpu_32(dst), &id) != 0) {
      ctx.Drop(rx_port, m, DropReason::kNoRoute);
      return;
    }
    if (ip->ttl <= 1) {
      ctx.Drop(rx_port, m, DropReason::kTtlExceeded);
      return;
    }
    DecrementTtl(ip);
    TrimMbuf(m, kEtherHdrLen + total);
  } else if (eth->ether_type == kEtherTypeIpv6) {
    if (avail < kEtherHdrLen + kIpv6HdrLen) {
      ctx.Drop(rx_port, m, DropReason::kTruncated);
      return;
    }
    auto* ip = rte_pktmbuf_mtod_offset(m, Ipv6Hdr*, kEtherHdrLen);
    const uint16_t payload = ip->payload_len.host();
    if (ip->version() != 6) {
      ctx.Drop(rx_port, m, DropReason::kBadIpHeader);
      return;
    }
    if (rte_pktmbuf_pkt_len(m) < uint32_t{kEtherHdrLen} + kIpv6HdrLen + payload) {
      ctx.Drop(rx_port, m, DropReason::kTruncated);
      return;
    }
    if (ip->next_header == kIpProtoIcmpv6 &&
        avail >= kEtherHdrLen + kIpv6HdrLen + sizeof(Icmpv6NdHdr)) {
      const auto* nd = reinterpret_cast<const Icmpv6NdHdr*>(ip + 1);
      if (nd->type == kIcmpv6NeighborSolicit || nd->type == kIcmpv6NeighborAdvert) {
        static constexpr uint8_t kUnspecified[16] = {};
        const uint8_t* who = nd->type == kIcmpv6NeighborSolicit ? ip->src : nd->target;
        if (std::memcmp(who, kUnspecified, 16) != 0) LearnHost(ctx, rx_port, 6, who, eth->src);
        if (AnswerNeighborSolicit(port, m, kEtherHdrLen)) {
          ctx.counters->ports[rx_port].nd_replies.Inc();
          ctx.Emit(rx_port, m);
        } else {
          ctx.Drop(rx_port, m, DropReason::kArpIgnored);
        }
        return;
      }
    }
    if ((port.has_v6 && std::memcmp(ip->dst, port.v6, 16) == 0) || ip->dst[0] == 0xFF) {
      ctx.Drop(rx_port, m, ip->dst[0] == 0xFF ? DropReason::kArpIgnored : DropReason::kNotForUs);
      return;
    }
    if (routes == nullptr || rte_lpm6_lookup(routes->v6, ip->dst, &id) != 0) {
      ctx.Drop(rx_port, m, DropReason::kNoRoute);
      return;
    }
    if (ip->hop_limit <= 1) {
      ctx.Drop(rx_port, m, DropReason::kTtlExceeded);
      return;
    }
    --ip->hop_limit;
    TrimMbuf(m, kEtherHdrLen + kIpv6HdrLen + payload);
  } else {
    ctx.Drop(rx_port, m, DropReason::kNotForUs);
    return;
  }
  const Tunnel* t = ctx.tables->tunnel(id);
  if (t == nullptr || !(t->flags & kTunnelL3)) [[unlikely]] {
    ctx.Drop(rx_port, m, DropReason::kNoRoute);
    return;
  }
  if (!t->resolved) [[unlikely]] {
    ctx.DropTunnel(rx_port, m, DropReason::kNoNeighbor, id);
    return;
  }
  rte_pktmbuf_adj(m, kEtherHdrLen);
  SendIntoTunnel(ctx, port, rx_port, sender_mac, m, *t, id);
}

bool InPrefix(const uint8_t* addr, const uint8_t* net, uint8_t plen) {
  for (int b = 0; plen > 0; ++b, plen = plen > 8 ? plen - 8 : 0) {
    const uint8_t mask = static_cast<uint8_t>(0xFF00 >> (plen > 8 ? 8 : plen));
    if ((addr[b] ^ net[b]) & mask) return false;
  }
  return true;
}

// Asks for the MAC of on-link host `dst` (ARP request, or a neighbor solicitation to
// its solicited-node multicast address) out of the routed access port whose subnet
// holds it. The reply is learned like any other ARP/ND packet from a host.
void Solicit(WorkerContext& ctx, uint8_t version, const uint8_t* dst) {
  const size_t len = version == 4 ? 4 : 16;
  const uint64_t now = rte_rdtsc();
  if (std::memcmp(ctx.last_solicit_ip, dst, len) == 0 &&
      now - ctx.last_solicit_tsc < rte_get_tsc_hz() / 10) {
    return;
  }
  for (uint16_t p = 0; p < RTE_MAX_ETHPORTS; ++p) {
    const PortView* v = ctx.tables->port(p);
    if (v == nullptr) break;
    if (!v->routed) continue;
    const bool on_link = version == 4 ? v->has_v4 && InPrefix(dst, v->v4, v->v4_plen)
                                      : v->has_v6 && InPrefix(dst, v->v6, v->v6_plen);
    if (!on_link) continue;
    // Built in a local frame, then copied into a fresh mbuf.
    uint8_t frame[kEtherHdrLen + kIpv6HdrLen + sizeof(Icmpv6NdHdr) + 8] = {};
    uint16_t frame_len;
    auto* eth = reinterpret_cast<EtherHdr*>(frame);
    std::memcpy(eth->src, v->mac, 6);
    if (version == 4) {
      frame_len = 60;  // the Ethernet minimum, zero padded
      std::memset(eth->dst, 0xFF, 6);
      eth->ether_type = kEtherTypeArp;
      auto* arp = reinterpret_cast<ArpHdr*>(eth + 1);
      arp->hw_type = kArpHwEther;
      arp->proto_type = kEtherTypeIpv4;
      arp->hw_len = 6;
      arp->proto_len = 4;
      arp->op = kArpOpRequest;
      std::memcpy(arp->sha, v->mac, 6);
      std::memcpy(arp->spa, v->v4, 4);
      std::memcpy(arp->tpa, dst, 4);
    } else {
      frame_len = sizeof(frame);
      const uint8_t mcast_mac[6] = {0x33, 0x33, 0xFF, dst[13], dst[14], dst[15]};
      std::memcpy(eth->dst, mcast_mac, 6);
      eth->ether_type = kEtherTypeIpv6;
      auto* ip = reinterpret_cast<Ipv6Hdr*>(eth + 1);
      ip->vtc_flow = Be32(6u << 28);
      ip->payload_len = Be16(sizeof(Icmpv6NdHdr) + 8);
      ip->next_header = kIpProtoIcmpv6;
      ip->hop_limit = 255;
      std::memcpy(ip->src, v->v6, 16);
      const uint8_t solicited[16] = {0xFF, 0x02, 0, 0, 0,    0,       0,       0,
                                     0,    0,    0, 1, 0xFF, dst[13], dst[14], dst[15]};
      std::memcpy(ip->dst, solicited, 16);
      auto* nd = reinterpret_cast<Icmpv6NdHdr*>(ip + 1);
      nd->type = kIcmpv6NeighborSolicit;
      std::memcpy(nd->target, dst, 16);
      auto* opt = reinterpret_cast<NdLinkLayerOption*>(nd + 1);
      opt->type = 1;  // source link-layer address
      opt->len = 1;
      std::memcpy(opt->mac, v->mac, 6);
      nd->checksum =
          Be16::FromRaw(rte_ipv6_udptcp_cksum(reinterpret_cast<const rte_ipv6_hdr*>(ip), nd));
    }
    rte_mbuf* r = rte_pktmbuf_alloc(ctx.direct_pool);
    if (r == nullptr) return;
    char* out = rte_pktmbuf_append(r, frame_len);
    if (out == nullptr) {
      rte_pktmbuf_free(r);
      return;
    }
    std::memcpy(out, frame, frame_len);
    std::memcpy(ctx.last_solicit_ip, dst, len);
    ctx.last_solicit_tsc = now;
    ctx.Emit(p, r);
    return;
  }
}

}  // namespace

void RouteBurst(WorkerContext& ctx, const PortView& port, uint16_t rx_port, rte_mbuf** pkts,
                uint16_t n) {
  for (uint16_t i = 0; i < n; ++i) {
    if (i + kPrefetchOffset < n) rte_prefetch0(rte_pktmbuf_mtod(pkts[i + kPrefetchOffset], void*));
    RouteOne(ctx, port, rx_port, pkts[i]);
  }
}

bool DeliverRouted(WorkerContext& ctx, uint16_t rx_port, rte_mbuf* m, uint32_t id) {
  uint8_t* l3 = rte_pktmbuf_mtod(m, uint8_t*);
  const uint8_t version = l3[0] >> 4;
  const uint32_t avail = rte_pktmbuf_data_len(m);
  const uint8_t* dst;
  if (version == 4 && avail >= kIpv4HdrLen) {
    auto* ip = reinterpret_cast<Ipv4Hdr*>(l3);
    if (ip->ttl <= 1) {
      ctx.DropTunnel(rx_port, m, DropReason::kTtlExceeded, id);
      return false;
    }
    DecrementTtl(ip);
    dst = ip->dst;
  } else if (version == 6 && avail >= kIpv6HdrLen) {
    auto* ip = reinterpret_cast<Ipv6Hdr*>(l3);
    if (ip->hop_limit <= 1) {
      ctx.DropTunnel(rx_port, m, DropReason::kTtlExceeded, id);
      return false;
    }
    --ip->hop_limit;
    dst = ip->dst;
  } else {
    ctx.Drop(rx_port, m, DropReason::kBadIpHeader);
    return false;
  }
  // Decapsulated packets of a burst mostly go to a few hosts: the last one found is
  // remembered for the rest of the burst (DecapBurst resets it).
  const size_t alen = version == 4 ? 4 : 16;
  uint64_t host;
  if (ctx.host_cache_family == version &&
      (version == 4 ? std::memcmp(ctx.host_cache_ip, dst, 4) == 0
                    : std::memcmp(ctx.host_cache_ip, dst, 16) == 0)) {
    host = ctx.host_cache_value;
  } else {
    host = ctx.tables->LookupHost(version, dst);
    if (host != 0) {
      ctx.host_cache_family = version;
      std::memcpy(ctx.host_cache_ip, dst, alen);
      ctx.host_cache_value = host;
    }
  }
  if (host == 0) {
    Solicit(ctx, version, dst);
    ctx.DropTunnel(rx_port, m, DropReason::kNoNeighbor, id);
    return false;
  }
  const uint16_t out_port = HostPort(host);
  const PortView* view = ctx.tables->port(out_port);
  auto* eth = reinterpret_cast<EtherHdr*>(rte_pktmbuf_prepend(m, kEtherHdrLen));
  if (eth == nullptr || view == nullptr) {
    ctx.DropTunnel(rx_port, m, DropReason::kNoHeadroom, id);
    return false;
  }
  HostMac(host, eth->dst);
  std::memcpy(eth->src, view->mac, 6);
  eth->ether_type = version == 4 ? kEtherTypeIpv4 : kEtherTypeIpv6;
  m->ol_flags = 0;
  ctx.Emit(out_port, m);
  return true;
}

}  // namespace tundra
