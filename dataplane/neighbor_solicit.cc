#include "dataplane/neighbor_solicit.h"

#include <rte_cycles.h>
#include <rte_ip.h>

#include <cstring>

#include "dataplane/proto/ether.h"
#include "dataplane/proto/ip.h"

namespace tundra {

namespace {

bool InPrefix(const uint8_t* addr, const uint8_t* net, uint8_t plen) {
  for (int b = 0; plen > 0; ++b, plen = plen > 8 ? plen - 8 : 0) {
    const uint8_t mask = static_cast<uint8_t>(0xFF00 >> (plen > 8 ? 8 : plen));
    if ((addr[b] ^ net[b]) & mask) return false;
  }
  return true;
}

}  // namespace

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
    // Built in a local frame, then copied into a fresh mbuf.
    uint8_t frame[kEtherHdrLen + kIpv6HdrLen + sizeof(Icmpv6NdHdr) + 8] = {};
    uint16_t frame_len;
    auto* eth = reinterpret_cast<EtherHdr*>(frame);
    std::memcpy(eth->src, v->mac, 6);
    if (family == 4) {
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

}  // namespace tundra
