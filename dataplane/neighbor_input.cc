#include "dataplane/neighbor_input.h"

#include <rte_ip.h>

#include <cstring>

#include "dataplane/neighbor_reply.h"
#include "dataplane/proto/ether.h"
#include "dataplane/proto/ip.h"

namespace tundra {

namespace {

void Learn(WorkerContext& ctx, uint16_t rx_port, uint8_t family, const uint8_t* ip,
           const uint8_t* mac, bool confirmed) {
  LearnEvent e = {};
  e.family = family;
  e.flags = confirmed ? kLearnConfirmed : 0;
  e.port = rx_port;
  std::memcpy(e.mac, mac, 6);
  std::memcpy(e.ip, ip, family == 4 ? 4 : 16);
  ctx.Learn(e);
}

bool UsableMac(const uint8_t* mac) {
  static constexpr uint8_t kZero[6] = {};
  return !IsMulticastMac(mac) && std::memcmp(mac, kZero, 6) != 0;
}

// The sender of a well-formed Ethernet/IPv4 ARP packet, learned (the control thread
// takes it up only for a next hop it resolves, as the kernel updates only existing
// entries from overheard ARP). True when the packet was for us: a reply or request to
// our address, or gratuitous (sender = target).
bool LearnArp(WorkerContext& ctx, const PortView& port, uint16_t rx_port, const rte_mbuf* m) {
  if (rte_pktmbuf_data_len(m) < kEtherHdrLen + sizeof(ArpHdr)) return false;
  const auto* arp = rte_pktmbuf_mtod_offset(m, const ArpHdr*, kEtherHdrLen);
  static constexpr uint8_t kZero[4] = {};
  if (arp->hw_type != kArpHwEther || arp->proto_type != kEtherTypeIpv4 || arp->hw_len != 6 ||
      arp->proto_len != 4 || std::memcmp(arp->spa, kZero, 4) == 0 || !UsableMac(arp->sha)) {
    return false;
  }
  const bool to_us = port.has_v4 && std::memcmp(arp->tpa, port.v4, 4) == 0;
  Learn(ctx, rx_port, 4, arp->spa, arp->sha, to_us && arp->op == kArpOpReply);
  return to_us || std::memcmp(arp->spa, arp->tpa, 4) == 0;
}

// The link-layer address option of `type` (1 source, 2 target) among the ND options
// in [opt, end), or null.
const uint8_t* FindLinkLayerOption(const uint8_t* opt, const uint8_t* end, uint8_t type) {
  while (end - opt >= 8) {
    const uint32_t len = uint32_t{opt[1]} * 8;
    if (len == 0 || len > static_cast<uint32_t>(end - opt)) return nullptr;  // RFC 4861 §4.6
    if (opt[0] == type && len == sizeof(NdLinkLayerOption)) {
      return reinterpret_cast<const NdLinkLayerOption*>(opt)->mac;
    }
    opt += len;
  }
  return nullptr;
}

// What a solicitation says about its sender or an advertisement about its target,
// learned (RFC 4861 §7.2.3, §7.2.5). True when the packet was for us: an advertisement,
// or a solicitation of our address.
bool LearnNeighborDiscovery(WorkerContext& ctx, const PortView& port, uint16_t rx_port,
                            const rte_mbuf* m) {
  const auto* ip = rte_pktmbuf_mtod_offset(m, const Ipv6Hdr*, kEtherHdrLen);
  const uint32_t icmp_len = ip->payload_len.host();
  // §7.1: hop limit 255 (the packet was not routed), code 0, a valid checksum.
  if (ip->hop_limit != 255 || icmp_len < sizeof(Icmpv6NdHdr) ||
      rte_pktmbuf_data_len(m) < kEtherHdrLen + kIpv6HdrLen + icmp_len) {
    return false;
  }
  const auto* nd = reinterpret_cast<const Icmpv6NdHdr*>(ip + 1);
  if (nd->code != 0 ||
      rte_ipv6_udptcp_cksum_verify(reinterpret_cast<const rte_ipv6_hdr*>(ip), nd) != 0) {
    return false;
  }
  const uint8_t* opts = reinterpret_cast<const uint8_t*>(nd + 1);
  const uint8_t* end = reinterpret_cast<const uint8_t*>(nd) + icmp_len;
  static constexpr uint8_t kUnspecified[16] = {};
  if (nd->type == kIcmpv6NeighborSolicit) {
    if (std::memcmp(ip->src, kUnspecified, 16) == 0) return false;  // address detection
    const uint8_t* mac = FindLinkLayerOption(opts, end, 1);
    if (mac == nullptr || !UsableMac(mac)) return false;
    Learn(ctx, rx_port, 6, ip->src, mac, false);
    return port.has_v6 && std::memcmp(nd->target, port.v6, 16) == 0;
  }
  // An advertisement without the target's link-layer address option is from a neighbor
  // that assumes we know its MAC; the Ethernet source is that MAC on a LAN.
  const uint8_t* mac = FindLinkLayerOption(opts, end, 2);
  if (mac == nullptr) mac = rte_pktmbuf_mtod(m, const EtherHdr*)->src;
  if (!UsableMac(mac) || (nd->target[0] == 0xFF)) return false;
  Learn(ctx, rx_port, 6, nd->target, mac, (nd->flags.host() & kNaFlagSolicited) != 0);
  return true;
}

}  // namespace

bool IsNeighborDiscovery(const rte_mbuf* m, uint16_t l3_off) {
  if (rte_pktmbuf_data_len(m) < l3_off + kIpv6HdrLen + sizeof(Icmpv6NdHdr)) return false;
  const auto* ip = rte_pktmbuf_mtod_offset(m, const Ipv6Hdr*, l3_off);
  const auto* nd = reinterpret_cast<const Icmpv6NdHdr*>(ip + 1);
  return ip->next_header == kIpProtoIcmpv6 &&
         (nd->type == kIcmpv6NeighborSolicit || nd->type == kIcmpv6NeighborAdvert);
}

void UplinkNeighborInput(WorkerContext& ctx, const PortView& port, uint16_t rx_port, rte_mbuf* m) {
  PortCounters& pc = ctx.counters->ports[rx_port];
  const bool arp = rte_pktmbuf_mtod(m, const EtherHdr*)->ether_type == kEtherTypeArp;
  const bool for_us =
      arp ? LearnArp(ctx, port, rx_port, m) : LearnNeighborDiscovery(ctx, port, rx_port, m);
  if (arp ? AnswerArp(port, m) : AnswerNeighborSolicit(port, m, kEtherHdrLen)) {
    pc.nd_replies.Inc();
    ctx.Emit(rx_port, m);
  } else if (for_us) {
    pc.nd_learned.Inc();
    rte_pktmbuf_free(m);
  } else {
    ctx.Drop(rx_port, m, DropReason::kArpIgnored);
  }
}

}  // namespace tundra
