#include "dataplane/icmp_error.h"

#include <rte_ip.h>

#include <algorithm>
#include <cstring>

#include "dataplane/proto/checksum.h"
#include "dataplane/proto/ether.h"
#include "dataplane/proto/ip.h"

namespace tundra {

namespace {

inline constexpr uint16_t kIpv6MinMtu = 1280;  // RFC 8200 §5

}  // namespace

rte_mbuf* BuildTooBig(rte_mempool* pool, const PortView& port, const uint8_t* sender_mac,
                      const rte_mbuf* m, uint16_t mtu) {
  const uint8_t version = rte_pktmbuf_mtod(m, const uint8_t*)[0] >> 4;
  if ((version == 4 && !port.has_v4) || (version == 6 && !port.has_v6)) return nullptr;
  rte_mbuf* r = rte_pktmbuf_alloc(pool);
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

}  // namespace tundra
