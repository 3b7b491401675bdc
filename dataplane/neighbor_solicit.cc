#include "dataplane/neighbor_solicit.h"

#include <rte_cycles.h>
#include <rte_ip.h>

#include <cstring>

#include "dataplane/proto/address.h"
#include "dataplane/proto/ether.h"
#include "dataplane/proto/ip.h"

namespace tundra {

uint16_t BuildSolicit(uint8_t family, const uint8_t src_mac[6], const uint8_t* src_ip,
                      const uint8_t* target, const uint8_t* dst_mac, uint8_t* frame) {
  std::memset(frame, 0, kSolicitFrameMax);
  auto* eth = reinterpret_cast<EtherHdr*>(frame);
  std::memcpy(eth->src, src_mac, 6);
  if (family == 4) {
    if (dst_mac != nullptr) {
      std::memcpy(eth->dst, dst_mac, 6);
    } else {
      std::memset(eth->dst, 0xFF, 6);
    }
    eth->ether_type = kEtherTypeArp;
    auto* arp = reinterpret_cast<ArpHdr*>(eth + 1);
    arp->hw_type = kArpHwEther;
    arp->proto_type = kEtherTypeIpv4;
    arp->hw_len = 6;
    arp->proto_len = 4;
    arp->op = kArpOpRequest;
    std::memcpy(arp->sha, src_mac, 6);
    std::memcpy(arp->spa, src_ip, 4);
    std::memcpy(arp->tpa, target, 4);
    return 60;  // the Ethernet minimum, zero padded
  }
  eth->ether_type = kEtherTypeIpv6;
  auto* ip = reinterpret_cast<Ipv6Hdr*>(eth + 1);
  ip->vtc_flow = Be32(6u << 28);
  ip->payload_len = Be16(sizeof(Icmpv6NdHdr) + sizeof(NdLinkLayerOption));
  ip->next_header = kIpProtoIcmpv6;
  ip->hop_limit = 255;  // RFC 4861 §7.1.1: receivers drop ND with any other
  std::memcpy(ip->src, src_ip, 16);
  if (dst_mac != nullptr) {
    std::memcpy(eth->dst, dst_mac, 6);
    std::memcpy(ip->dst, target, 16);
  } else {
    const uint8_t mcast_mac[6] = {0x33, 0x33, 0xFF, target[13], target[14], target[15]};
    std::memcpy(eth->dst, mcast_mac, 6);
    const uint8_t solicited[16] = {0xFF, 0x02, 0, 0, 0,    0,          0,          0,
                                   0,    0,    0, 1, 0xFF, target[13], target[14], target[15]};
    std::memcpy(ip->dst, solicited, 16);
  }
  auto* nd = reinterpret_cast<Icmpv6NdHdr*>(ip + 1);
  nd->type = kIcmpv6NeighborSolicit;
  std::memcpy(nd->target, target, 16);
  auto* opt = reinterpret_cast<NdLinkLayerOption*>(nd + 1);
  opt->type = 1;  // source link-layer address
  opt->len = 1;
  std::memcpy(opt->mac, src_mac, 6);
  nd->checksum =
      Be16::FromRaw(rte_ipv6_udptcp_cksum(reinterpret_cast<const rte_ipv6_hdr*>(ip), nd));
  return kSolicitFrameMax;
}

void Solicit(WorkerContext& ctx, uint8_t family, const uint8_t* dst) {
  const size_t len = family == 4 ? 4 : 16;
  const uint64_t now = rte_rdtsc();
  if (std::memcmp(ctx.last_solicit_ip, dst, len) == 0 &&
      now - ctx.last_solicit_tsc < rte_get_tsc_hz() / 10) {
    return;
  }
  for (uint16_t p = 0; p < RTE_MAX_ETHPORTS; ++p) {
    const PortView* v = ctx.tables->port(p);
    if (v == nullptr) break;
    if (!v->routed) continue;
    const bool on_link = family == 4 ? v->has_v4 && InPrefix(dst, v->v4, v->v4_plen)
                                     : v->has_v6 && InPrefix(dst, v->v6, v->v6_plen);
    if (!on_link) continue;
    uint8_t frame[kSolicitFrameMax];
    const uint16_t frame_len =
        BuildSolicit(family, v->mac, family == 4 ? v->v4 : v->v6, dst, nullptr, frame);
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

}  // namespace tundra
