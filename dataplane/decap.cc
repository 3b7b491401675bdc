#include "dataplane/decap.h"

#include <rte_prefetch.h>

#include <cstring>

#include "dataplane/neighbor_reply.h"
#include "dataplane/proto/checksum.h"
#include "dataplane/proto/ether.h"
#include "dataplane/proto/ip.h"
#include "dataplane/proto/udp.h"
#include "dataplane/tunnel_parse.h"

namespace tundra {

namespace {

// The outer IP layer, whichever its version.
struct OuterIp {
  uint16_t l4_off = 0;
  uint16_t l4_len = 0;  // IP payload bytes
  uint8_t protocol = 0;
  uint8_t family = 0;
};

ParseVerdict Fail(DropReason& reason, DropReason why) {
  reason = why;
  return ParseVerdict::kDrop;
}

// Trims Ethernet padding (or other trailing bytes) past the IP packet's end.
void TrimTo(rte_mbuf* m, uint32_t len) {
  if (rte_pktmbuf_pkt_len(m) > len) rte_pktmbuf_trim(m, rte_pktmbuf_pkt_len(m) - len);
}

ParseVerdict ParseIpv4(const PortView& port, rte_mbuf* m, uint16_t off, OuterIp& ip_out,
                       OuterParse& out, DropReason& reason) {
  const uint32_t avail = rte_pktmbuf_data_len(m);
  if (avail < uint32_t{off} + kIpv4HdrLen) return Fail(reason, DropReason::kTruncated);
  const auto* ip = rte_pktmbuf_mtod_offset(m, const Ipv4Hdr*, off);
  const uint16_t hlen = ip->header_len();
  if (ip->version() != 4 || hlen < kIpv4HdrLen) return Fail(reason, DropReason::kBadIpHeader);
  if (avail < off + hlen) return Fail(reason, DropReason::kTruncated);
  const uint16_t total = ip->total_length.host();
  if (total < hlen) return Fail(reason, DropReason::kBadIpHeader);
  if (rte_pktmbuf_pkt_len(m) < uint32_t{off} + total) return Fail(reason, DropReason::kTruncated);
  const uint64_t ip_ck = m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK;
  if (ip_ck == RTE_MBUF_F_RX_IP_CKSUM_BAD ||
      (ip_ck != RTE_MBUF_F_RX_IP_CKSUM_GOOD && FoldChecksum(RawSum(ip, hlen)) != 0xFFFF)) {
    return Fail(reason, DropReason::kBadIpChecksum);
  }
  if (!port.has_v4 || std::memcmp(ip->dst, port.v4, 4) != 0) {
    return Fail(reason, DropReason::kNotForUs);
  }
  if (ip->is_fragment()) return Fail(reason, DropReason::kIpFragment);
  TrimTo(m, off + total);
  ip_out = {static_cast<uint16_t>(off + hlen), static_cast<uint16_t>(total - hlen), ip->protocol,
            4};
  out.key.family = 4;
  std::memcpy(out.key.local, ip->dst, 4);
  out.remote_off = off + offsetof(Ipv4Hdr, src);
  return ParseVerdict::kLookup;
}

ParseVerdict ParseIpv6(const PortView& port, rte_mbuf* m, uint16_t off, OuterIp& ip_out,
                       OuterParse& out, DropReason& reason) {
  const uint32_t avail = rte_pktmbuf_data_len(m);
  if (avail < uint32_t{off} + kIpv6HdrLen) return Fail(reason, DropReason::kTruncated);
  const auto* ip = rte_pktmbuf_mtod_offset(m, const Ipv6Hdr*, off);
  if (ip->version() != 6) return Fail(reason, DropReason::kBadIpHeader);
  const uint16_t payload = ip->payload_len.host();
  if (rte_pktmbuf_pkt_len(m) < uint32_t{off} + kIpv6HdrLen + payload) {
    return Fail(reason, DropReason::kTruncated);
  }
  if (ip->next_header == kIpProtoIcmpv6) {
    if (AnswerNeighborSolicit(port, m, off)) return ParseVerdict::kReply;
  }
  if (!port.has_v6 || std::memcmp(ip->dst, port.v6, 16) != 0) {
    return Fail(reason, ip->next_header == kIpProtoIcmpv6 ? DropReason::kArpIgnored
                                                          : DropReason::kNotForUs);
  }
  if (ip->next_header == kIpv6FragmentHeader) return Fail(reason, DropReason::kIpFragment);
  TrimTo(m, off + kIpv6HdrLen + payload);
  ip_out = {static_cast<uint16_t>(off + kIpv6HdrLen), payload, ip->next_header, 6};
  out.key.family = 6;
  std::memcpy(out.key.local, ip->dst, 16);
  out.remote_off = off + offsetof(Ipv6Hdr, src);
  return ParseVerdict::kLookup;
}

bool UdpChecksumOk(const rte_mbuf* m, const OuterIp& ip, const UdpHdr& udp) {
  const uint64_t l4_ck = m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK;
  if (l4_ck == RTE_MBUF_F_RX_L4_CKSUM_GOOD) return true;
  if (l4_ck == RTE_MBUF_F_RX_L4_CKSUM_BAD) return false;
  if (ip.family == 4) {
    if (udp.checksum.raw() == 0) return true;  // RFC 768: no checksum
    const auto* ip4 = rte_pktmbuf_mtod_offset(m, const rte_ipv4_hdr*, kEtherHdrLen);
    return rte_ipv4_udptcp_cksum_mbuf_verify(m, ip4, ip.l4_off) == 0;
  }
  // RFC 8200 §8.1: zero is not a valid UDP checksum over IPv6 (RFC 6935 tunnels not enabled).
  if (udp.checksum.raw() == 0) return false;
  const auto* ip6 = rte_pktmbuf_mtod_offset(m, const rte_ipv6_hdr*, kEtherHdrLen);
  return rte_ipv6_udptcp_cksum_mbuf_verify(m, ip6, ip.l4_off) == 0;
}

}  // namespace

ParseVerdict ParseOuter(const Tables& tables, const PortView& port, rte_mbuf* m, OuterParse& out,
                        DropReason& reason) {
  if (rte_pktmbuf_data_len(m) < kEtherHdrLen) return Fail(reason, DropReason::kTruncated);
  auto* eth = rte_pktmbuf_mtod(m, const EtherHdr*);
  if (std::memcmp(eth->dst, port.mac, 6) != 0 && !IsMulticastMac(eth->dst)) {
    return Fail(reason, DropReason::kNotForUs);
  }
  OuterIp ip;
  ParseVerdict v;
  if (eth->ether_type == kEtherTypeIpv4) {
    v = ParseIpv4(port, m, kEtherHdrLen, ip, out, reason);
  } else if (eth->ether_type == kEtherTypeIpv6) {
    v = ParseIpv6(port, m, kEtherHdrLen, ip, out, reason);
  } else if (eth->ether_type == kEtherTypeArp) {
    return AnswerArp(port, m) ? ParseVerdict::kReply : Fail(reason, DropReason::kArpIgnored);
  } else {
    return Fail(reason, DropReason::kNotForUs);
  }
  if (v != ParseVerdict::kLookup) return v;

  if (ip.protocol != kIpProtoUdp) return Fail(reason, DropReason::kNotTunnel);
  if (ip.l4_len < kUdpHdrLen) return Fail(reason, DropReason::kTruncated);
  if (rte_pktmbuf_data_len(m) < ip.l4_off + kUdpHdrLen) return Fail(reason, DropReason::kTruncated);
  const auto* udp = rte_pktmbuf_mtod_offset(m, const UdpHdr*, ip.l4_off);
  if (udp->length.host() != ip.l4_len) return Fail(reason, DropReason::kBadUdpLength);
  const uint8_t type = tables.udp_tunnel_type(udp->dst_port.host());
  if (type == 0) return Fail(reason, DropReason::kUnknownPort);
  if (!UdpChecksumOk(m, ip, *udp)) return Fail(reason, DropReason::kBadUdpChecksum);

  const uint16_t tun_off = ip.l4_off + kUdpHdrLen;
  const TunnelParse tp = ParseTunnelHeader(static_cast<TunnelType>(type), m, tun_off);
  if (!tp.ok) return Fail(reason, tp.reason);
  out.key.type = type;
  out.key.vni = tp.vni;
  out.inner_off = tp.inner_off;
  if (rte_pktmbuf_pkt_len(m) < uint32_t{out.inner_off} + kEtherHdrLen) {
    return Fail(reason, DropReason::kTruncated);
  }
  return ParseVerdict::kLookup;
}

void DecapBurst(WorkerContext& ctx, uint16_t rx_port, rte_mbuf** pkts, uint16_t n) {
  const Tables& tables = *ctx.tables;
  const PortView& port = *tables.port(rx_port);
  OuterParse parsed[kBurstSize];
  const DecapKey* keys[kBurstSize];
  uint16_t slot_pkt[kBurstSize];
  uint32_t ids[kBurstSize];
  uint16_t nkeys = 0;

  for (uint16_t i = 0; i < kPrefetchOffset && i < n; ++i) {
    rte_prefetch0(rte_pktmbuf_mtod(pkts[i], void*));
  }
  for (uint16_t i = 0; i < n; ++i) {
    if (i + kPrefetchOffset < n) rte_prefetch0(rte_pktmbuf_mtod(pkts[i + kPrefetchOffset], void*));
    rte_mbuf* m = pkts[i];
    DropReason reason;
    OuterParse& p = parsed[nkeys];
    p.key = DecapKey{};
    switch (ParseOuter(tables, port, m, p, reason)) {
      case ParseVerdict::kLookup:
        keys[nkeys] = &p.key;
        slot_pkt[nkeys++] = i;
        break;
      case ParseVerdict::kReply:
        ctx.counters->ports[rx_port].nd_replies.Inc();
        ctx.Emit(rx_port, m);
        break;
      case ParseVerdict::kDrop:
        ctx.Drop(rx_port, m, reason);
        break;
    }
  }
  if (nkeys == 0) return;
  tables.LookupDecap(keys, nkeys, ids);

  for (uint16_t k = 0; k < nkeys; ++k) {
    rte_mbuf* m = pkts[slot_pkt[k]];
    const OuterParse& p = parsed[k];
    const uint32_t id = ids[k];
    const Tunnel* t = id != kNoTunnel ? tables.tunnel(id) : nullptr;
    if (t == nullptr) [[unlikely]] {
      ctx.Drop(rx_port, m, DropReason::kUnknownVni);
      continue;
    }
    const uint8_t* src = rte_pktmbuf_mtod_offset(m, const uint8_t*, p.remote_off);
    if (t->remote.family != p.key.family ||
        std::memcmp(t->remote.bytes.data(), src, p.key.family == 4 ? 4 : 16) != 0) [[unlikely]] {
      ctx.DropTunnel(rx_port, m, DropReason::kRemoteMismatch, id);
      continue;
    }
    if (!t->attachment.valid) [[unlikely]] {
      ctx.DropTunnel(rx_port, m, DropReason::kNoAttachment, id);
      continue;
    }
    rte_pktmbuf_adj(m, p.inner_off);
    const uint32_t inner_len = rte_pktmbuf_pkt_len(m);
    if (t->attachment.vlan != kVlanUntagged) {
      auto* h = reinterpret_cast<uint8_t*>(rte_pktmbuf_prepend(m, kVlanHdrLen));
      if (h == nullptr) [[unlikely]] {
        ctx.DropTunnel(rx_port, m, DropReason::kNoHeadroom, id);
        continue;
      }
      std::memmove(h, h + kVlanHdrLen, 2 * RTE_ETHER_ADDR_LEN);
      auto* tag = reinterpret_cast<VlanTag*>(h + 2 * RTE_ETHER_ADDR_LEN);
      tag->tpid = kEtherTypeVlan;
      tag->tci = Be16(t->attachment.vlan);
    }
    m->ol_flags = 0;
    TunnelCounters& tc = ctx.counters->tunnels[id];
    tc.decap_packets.Inc();
    tc.decap_bytes.Add(inner_len);
    ctx.Emit(t->attachment.port, m);
  }
}

}  // namespace tundra
