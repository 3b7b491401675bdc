#include "dataplane/encap.h"

#include <rte_ether.h>
#include <rte_memcpy.h>
#include <rte_prefetch.h>

#include <cstring>

#include "dataplane/flow_hash.h"
#include "dataplane/proto/checksum.h"
#include "dataplane/proto/ether.h"
#include "dataplane/proto/ip.h"
#include "dataplane/proto/udp.h"
#include "dataplane/tx_checksum.h"

namespace tundra {

namespace {

// The inner IP's TOS/traffic class, TTL/hop limit and DF, for the `inherit` options.
struct InnerIpFields {
  bool is_ip = false;
  bool df = false;
  uint8_t tos = 0;
  uint8_t ttl = 64;
};

InnerIpFields ReadInnerIp(const uint8_t* frame, uint32_t len) {
  InnerIpFields f;
  const Be16 type = reinterpret_cast<const EtherHdr*>(frame)->ether_type;
  if (type == kEtherTypeIpv4 && len >= kEtherHdrLen + kIpv4HdrLen) {
    const auto* ip = reinterpret_cast<const Ipv4Hdr*>(frame + kEtherHdrLen);
    f = {true, ip->dont_fragment(), ip->tos, ip->ttl};
  } else if (type == kEtherTypeIpv6 && len >= kEtherHdrLen + kIpv6HdrLen) {
    const auto* ip = reinterpret_cast<const Ipv6Hdr*>(frame + kEtherHdrLen);
    f = {true, false, ip->traffic_class(), ip->hop_limit};
  }
  return f;
}

// Applies ttl/tos/df inherit to the outer header just copied from the template.
void ApplyInherit(const Tunnel& t, const InnerIpFields& inner, uint8_t* l3) {
  if (!inner.is_ip) return;
  if (t.underlay == 4) {
    auto* ip = reinterpret_cast<Ipv4Hdr*>(l3);
    if (t.flags & kTunnelTtlInherit) ip->ttl = inner.ttl;
    if (t.flags & kTunnelTosInherit) ip->tos = inner.tos;
    if (t.flags & kTunnelDfInherit) {
      ip->fragment_offset = Be16(inner.df ? Ipv4Hdr::kDontFragment : 0);
    }
  } else {
    auto* ip = reinterpret_cast<Ipv6Hdr*>(l3);
    if (t.flags & kTunnelTtlInherit) ip->hop_limit = inner.ttl;
    if (t.flags & kTunnelTosInherit) {
      ip->vtc_flow = Be32((ip->vtc_flow.host() & 0xF00FFFFF) | (uint32_t{inner.tos} << 20));
    }
  }
}

// Removes the 802.1Q tag of a frame whose attachment named its VLAN.
void StripVlan(rte_mbuf* m) {
  uint8_t* p = rte_pktmbuf_mtod(m, uint8_t*);
  std::memmove(p + kVlanHdrLen, p, 2 * RTE_ETHER_ADDR_LEN);
  rte_pktmbuf_adj(m, kVlanHdrLen);
}

}  // namespace

bool EncapOne(const Tunnel& t, rte_mbuf* m) {
  const uint32_t inner_len = rte_pktmbuf_pkt_len(m);
  const uint8_t* inner = rte_pktmbuf_mtod(m, const uint8_t*);
  const uint16_t sport = SourcePortFromHash(InnerFlowHash(m, inner, rte_pktmbuf_data_len(m)));
  InnerIpFields inner_ip;
  if (t.flags & kTunnelInheritMask) [[unlikely]] {
    inner_ip = ReadInnerIp(inner, rte_pktmbuf_data_len(m));
  }

  uint8_t* h = reinterpret_cast<uint8_t*>(rte_pktmbuf_prepend(m, t.hdr_len));
  if (h == nullptr) [[unlikely]]
    return false;
  rte_memcpy(h, t.hdr.data(), t.hdr_len);

  uint8_t* l3 = h + kEtherHdrLen;
  const uint16_t l3_total = static_cast<uint16_t>(inner_len + t.hdr_len - kEtherHdrLen);
  auto* udp = reinterpret_cast<UdpHdr*>(l3 + t.l3_len);
  udp->src_port = Be16(sport);
  udp->length = Be16(static_cast<uint16_t>(l3_total - t.l3_len));
  if (t.flags & kTunnelInheritMask) [[unlikely]]
    ApplyInherit(t, inner_ip, l3);

  m->ol_flags = 0;
  m->l2_len = kEtherHdrLen;
  m->l3_len = t.l3_len;
  if (t.underlay == 4) {
    auto* ip = reinterpret_cast<Ipv4Hdr*>(l3);
    ip->total_length = Be16(l3_total);
    if (t.flags & kTunnelInheritMask) [[unlikely]] {
      ip->checksum = Be16(0);
      ip->checksum = Be16::FromRaw(~FoldChecksum(RawSum(ip, kIpv4HdrLen)));
    } else {
      ip->checksum = Be16::FromRaw(~FoldChecksum(t.ip_sum + ip->total_length.raw()));
    }
  } else {
    reinterpret_cast<Ipv6Hdr*>(l3)->payload_len =
        Be16(static_cast<uint16_t>(l3_total - kIpv6HdrLen));
  }
  FinishOuterChecksums(t, m, l3, udp);
  return true;
}

void EncapBurst(WorkerContext& ctx, uint16_t rx_port, rte_mbuf** pkts, uint16_t n) {
  const Tables& tables = *ctx.tables;
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
    if (inner_len + t->hdr_len - kEtherHdrLen > t->max_l3_len) [[unlikely]] {
      ctx.DropTunnel(rx_port, m, DropReason::kMtuExceeded, id);
      continue;
    }
    if (!EncapOne(*t, m)) [[unlikely]] {
      ctx.DropTunnel(rx_port, m, DropReason::kNoHeadroom, id);
      continue;
    }
    TunnelCounters& tc = ctx.counters->tunnels[id];
    tc.encap_packets.Inc();
    tc.encap_bytes.Add(inner_len);
    ctx.Emit(t->egress_port, m);
  }
}

}  // namespace tundra
