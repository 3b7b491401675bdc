#include "dataplane/neighbor_reply.h"

#include <cstring>

#include "dataplane/proto/ether.h"
#include "dataplane/proto/ip.h"

namespace tundra {

const uint8_t* ArpRequestTarget(const rte_mbuf* m) {
  if (rte_pktmbuf_data_len(m) < kEtherHdrLen + sizeof(ArpHdr)) return nullptr;
  const auto* arp = rte_pktmbuf_mtod_offset(m, const ArpHdr*, kEtherHdrLen);
  if (arp->hw_type != kArpHwEther || arp->proto_type != kEtherTypeIpv4 || arp->hw_len != 6 ||
      arp->proto_len != 4 || arp->op != kArpOpRequest) {
    return nullptr;
  }
  return arp->tpa;
}

void MakeArpReply(rte_mbuf* m, const uint8_t mac[6]) {
  auto* eth = rte_pktmbuf_mtod(m, EtherHdr*);
  auto* arp = reinterpret_cast<ArpHdr*>(eth + 1);
  uint8_t target[4];
  std::memcpy(target, arp->tpa, 4);
  std::memcpy(eth->dst, arp->sha, 6);
  std::memcpy(eth->src, mac, 6);
  arp->op = kArpOpReply;
  std::memcpy(arp->tha, arp->sha, 6);
  std::memcpy(arp->tpa, arp->spa, 4);
  std::memcpy(arp->sha, mac, 6);
  std::memcpy(arp->spa, target, 4);
  m->ol_flags = 0;
}

bool AnswerArp(const PortView& port, rte_mbuf* m) {
  const uint8_t* target = ArpRequestTarget(m);
  if (!port.has_v4 || target == nullptr || std::memcmp(target, port.v4, 4) != 0) return false;
  MakeArpReply(m, port.mac);
  return true;
}

const uint8_t* SolicitTarget(const rte_mbuf* m, uint16_t l3_off) {
  if (rte_pktmbuf_data_len(m) < l3_off + kIpv6HdrLen + sizeof(Icmpv6NdHdr)) return nullptr;
  const auto* ip = rte_pktmbuf_mtod_offset(m, const Ipv6Hdr*, l3_off);
  const auto* nd = reinterpret_cast<const Icmpv6NdHdr*>(ip + 1);
  static constexpr uint8_t kUnspecified[16] = {};
  // RFC 4861 §7.1.1: hop limit 255, code 0. A solicitation from the unspecified address
  // is duplicate address detection: not ours to answer.
  if (ip->next_header != kIpProtoIcmpv6 || ip->hop_limit != 255 ||
      nd->type != kIcmpv6NeighborSolicit || nd->code != 0 ||
      std::memcmp(ip->src, kUnspecified, 16) == 0) {
    return nullptr;
  }
  return nd->target;
}

bool MakeNeighborAdvert(rte_mbuf* m, uint16_t l3_off, const uint8_t mac[6]) {
  const uint32_t reply_len = l3_off + kIpv6HdrLen + sizeof(Icmpv6NdHdr) + sizeof(NdLinkLayerOption);
  if (rte_pktmbuf_pkt_len(m) < reply_len &&
      rte_pktmbuf_append(m, reply_len - rte_pktmbuf_pkt_len(m)) == nullptr) {
    return false;
  }
  if (rte_pktmbuf_pkt_len(m) > reply_len) rte_pktmbuf_trim(m, rte_pktmbuf_pkt_len(m) - reply_len);
  auto* eth = rte_pktmbuf_mtod(m, EtherHdr*);
  auto* ip = rte_pktmbuf_mtod_offset(m, Ipv6Hdr*, l3_off);
  auto* nd = reinterpret_cast<Icmpv6NdHdr*>(ip + 1);
  std::memcpy(eth->dst, eth->src, 6);
  std::memcpy(eth->src, mac, 6);
  std::memcpy(ip->dst, ip->src, 16);
  std::memcpy(ip->src, nd->target, 16);
  ip->vtc_flow = Be32(6u << 28);
  ip->payload_len = Be16(sizeof(Icmpv6NdHdr) + sizeof(NdLinkLayerOption));
  ip->hop_limit = 255;
  nd->type = kIcmpv6NeighborAdvert;
  nd->code = 0;
  nd->flags = Be32(kNaFlagSolicited | kNaFlagOverride);
  auto* opt = reinterpret_cast<NdLinkLayerOption*>(nd + 1);
  opt->type = 2;  // target link-layer address
  opt->len = 1;
  std::memcpy(opt->mac, mac, 6);
  nd->checksum = Be16(0);
  nd->checksum =
      Be16::FromRaw(rte_ipv6_udptcp_cksum(reinterpret_cast<const rte_ipv6_hdr*>(ip), nd));
  m->ol_flags = 0;
  return true;
}

bool AnswerNeighborSolicit(const PortView& port, rte_mbuf* m, uint16_t l3_off) {
  const uint8_t* target = SolicitTarget(m, l3_off);
  if (!port.has_v6 || target == nullptr || std::memcmp(target, port.v6, 16) != 0) return false;
  return MakeNeighborAdvert(m, l3_off, port.mac);
}

}  // namespace tundra
