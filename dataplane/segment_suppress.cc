#include "dataplane/segment_suppress.h"

#include <cstring>

#include "dataplane/fdb.h"
#include "dataplane/neighbor_reply.h"
#include "dataplane/proto/ether.h"
#include "dataplane/proto/ip.h"

namespace tundra {

namespace {

constexpr uint8_t kUnspecified[16] = {};

// The ICMPv6 neighbor discovery header of an untagged IPv6 frame, or null.
const Icmpv6NdHdr* NdOf(const rte_mbuf* m) {
  if (rte_pktmbuf_data_len(m) < kEtherHdrLen + kIpv6HdrLen + sizeof(Icmpv6NdHdr)) return nullptr;
  const auto* ip = rte_pktmbuf_mtod_offset(m, const Ipv6Hdr*, kEtherHdrLen);
  if (ip->next_header != kIpProtoIcmpv6 || ip->hop_limit != 255) return nullptr;
  const auto* nd = reinterpret_cast<const Icmpv6NdHdr*>(ip + 1);
  if (nd->code != 0 || (nd->type != kIcmpv6NeighborSolicit && nd->type != kIcmpv6NeighborAdvert)) {
    return nullptr;
  }
  return nd;
}

// The MAC of the link-layer address option of `type` (1 source, 2 target), or null.
const uint8_t* NdOption(const rte_mbuf* m, const Icmpv6NdHdr* nd, uint8_t type) {
  const auto* end = rte_pktmbuf_mtod_offset(m, const uint8_t*, rte_pktmbuf_data_len(m));
  for (const auto* o = reinterpret_cast<const uint8_t*>(nd + 1); o + 2 <= end && o[1] != 0;
       o += o[1] * 8) {
    if (o[0] == type && o[1] == 1 && o + 8 <= end) return o + 2;
  }
  return nullptr;
}

}  // namespace

bool SnoopHostBinding(const rte_mbuf* m, HostBinding& out) {
  if (rte_pktmbuf_data_len(m) < kEtherHdrLen) return false;
  const auto* eth = rte_pktmbuf_mtod(m, const EtherHdr*);
  if (eth->ether_type == kEtherTypeArp) {
    if (rte_pktmbuf_data_len(m) < kEtherHdrLen + sizeof(ArpHdr)) return false;
    const auto* arp = reinterpret_cast<const ArpHdr*>(eth + 1);
    if (arp->hw_type != kArpHwEther || arp->proto_type != kEtherTypeIpv4 || arp->hw_len != 6 ||
        arp->proto_len != 4 || (arp->op != kArpOpRequest && arp->op != kArpOpReply) ||
        std::memcmp(arp->spa, kUnspecified, 4) == 0 || IsMulticastMac(arp->sha) ||
        IsZeroMac(arp->sha)) {
      return false;  // a probe (sender 0.0.0.0) binds nothing
    }
    out.family = 4;
    std::memcpy(out.ip, arp->spa, 4);
    std::memset(out.ip + 4, 0, 12);
    std::memcpy(out.mac, arp->sha, 6);
    return true;
  }
  if (eth->ether_type != kEtherTypeIpv6) return false;
  const Icmpv6NdHdr* nd = NdOf(m);
  if (nd == nullptr) return false;
  const auto* ip = rte_pktmbuf_mtod_offset(m, const Ipv6Hdr*, kEtherHdrLen);
  const uint8_t* mac;
  if (nd->type == kIcmpv6NeighborAdvert) {
    mac = NdOption(m, nd, 2);
    std::memcpy(out.ip, nd->target, 16);
  } else {
    if (std::memcmp(ip->src, kUnspecified, 16) == 0) return false;  // DAD
    mac = NdOption(m, nd, 1);
    std::memcpy(out.ip, ip->src, 16);
  }
  if (mac == nullptr) mac = eth->src;
  if (IsMulticastMac(mac) || IsZeroMac(mac)) return false;
  out.family = 6;
  std::memcpy(out.mac, mac, 6);
  return true;
}

bool SuppressNeighborRequest(const Tables& tables, uint32_t segment, rte_mbuf* m) {
  const auto* eth = rte_pktmbuf_mtod(m, const EtherHdr*);
  if (eth->ether_type == kEtherTypeArp) {
    const uint8_t* target = ArpRequestTarget(m);
    const auto* arp = reinterpret_cast<const ArpHdr*>(eth + 1);
    // A gratuitous ARP announces; it asks nobody.
    if (target == nullptr || std::memcmp(arp->spa, target, 4) == 0) return false;
    uint8_t mac[6];
    if (!tables.LookupSegmentHost(segment, 4, target, mac)) return false;
    MakeArpReply(m, mac);
    return true;
  }
  if (eth->ether_type != kEtherTypeIpv6 || NdOf(m) == nullptr) return false;
  const uint8_t* target = SolicitTarget(m, kEtherHdrLen);
  uint8_t mac[6];
  return target != nullptr && tables.LookupSegmentHost(segment, 6, target, mac) &&
         MakeNeighborAdvert(m, kEtherHdrLen, mac);
}

}  // namespace tundra
