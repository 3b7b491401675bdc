// The tx checksum offload paths must put the same bytes on the wire as the software
// path, for every protocol × underlay. A NIC is emulated as DPDK documents the
// contract: IP_CKSUM / OUTER_IP_CKSUM fill the IPv4 header checksum at l2_len /
// outer_l2_len; UDP_CKSUM / OUTER_UDP_CKSUM sum the UDP header and payload starting
// from the pseudo-header sum placed in the checksum field.
#include <rte_ip.h>

#include "dataplane/encap_push.h"
#include "dataplane/header_template.h"
#include "test_util.h"

namespace tundra::testing {
namespace {

enum class Offload { kNone, kPlain, kOuter };

void FillIpChecksum(uint8_t* ip) {
  auto* h = reinterpret_cast<rte_ipv4_hdr*>(ip);
  h->hdr_checksum = 0;
  h->hdr_checksum = rte_ipv4_cksum(h);
}

void FillUdpChecksum(rte_mbuf* m, uint32_t off) {
  uint8_t* udp = rte_pktmbuf_mtod_offset(m, uint8_t*, off);
  uint16_t sum = 0;
  rte_raw_cksum_mbuf(m, off, rte_pktmbuf_pkt_len(m) - off, &sum);
  sum = static_cast<uint16_t>(~sum);
  if (sum == 0) sum = 0xFFFF;
  std::memcpy(udp + 6, &sum, 2);
}

void EmulateNic(rte_mbuf* m) {
  uint8_t* p = rte_pktmbuf_mtod(m, uint8_t*);
  if (m->ol_flags & RTE_MBUF_F_TX_OUTER_IP_CKSUM) FillIpChecksum(p + m->outer_l2_len);
  if (m->ol_flags & RTE_MBUF_F_TX_OUTER_UDP_CKSUM) {
    FillUdpChecksum(m, m->outer_l2_len + m->outer_l3_len);
  }
  if (!(m->ol_flags & RTE_MBUF_F_TX_TUNNEL_MASK)) {
    if (m->ol_flags & RTE_MBUF_F_TX_IP_CKSUM) FillIpChecksum(p + m->l2_len);
    if ((m->ol_flags & RTE_MBUF_F_TX_L4_MASK) == RTE_MBUF_F_TX_UDP_CKSUM) {
      FillUdpChecksum(m, m->l2_len + m->l3_len);
    }
  }
}

struct Result {
  std::vector<uint8_t> bytes;
  uint64_t flags = 0;
  uint16_t l2 = 0, l3 = 0, outer_l2 = 0, outer_l3 = 0;
};

Result EncapWith(const TunnelSpec& spec, Offload mode, const std::vector<uint8_t>& inner) {
  Underlay u;
  u.port = 0;
  u.src_mac = *MacAddress::Parse("02:00:00:00:00:01");
  u.dst_mac = *MacAddress::Parse("02:00:00:00:00:02");
  u.tx_ip_checksum_offload = mode != Offload::kNone;
  u.tx_udp_checksum_offload = mode != Offload::kNone;
  u.tx_outer_offload = mode == Offload::kOuter;
  auto t = std::make_unique<Tunnel>();
  BuildTunnel(spec, u, 1, Attachment{1, 0, true}, *t);
  rte_mbuf* m = MbufFrom(inner);
  if (t->flags & kTunnelL3) rte_pktmbuf_adj(m, 14);
  m = PushTunnelHeader(*t, m, 0, PackNextHop(u.dst_mac.bytes.data()));
  REQUIRE(m != nullptr);
  Result r{{},
           m->ol_flags,
           static_cast<uint16_t>(m->l2_len),
           static_cast<uint16_t>(m->l3_len),
           static_cast<uint16_t>(m->outer_l2_len),
           static_cast<uint16_t>(m->outer_l3_len)};
  EmulateNic(m);
  r.bytes = BytesOf(m);
  rte_pktmbuf_free(m);
  return r;
}

TEST_CASE("checksum offload and software paths produce identical bytes", "[checksum]") {
  Fixture f;
  for (TunnelType type :
       {TunnelType::kVxlan, TunnelType::kGeneve, TunnelType::kGretap, TunnelType::kGre}) {
    for (bool v6 : {false, true}) {
      for (bool udp_csum : {false, true}) {
        for (size_t payload : {0, 1, 333, 1400}) {
          TunnelSpec s = f.Vxlan("t", v6, 77);
          s.type = type;
          if (IsUdpTunnel(type)) {
            s.udp_csum = udp_csum;
          } else {
            s.csum = udp_csum;  // the GRE checksum is always software
            s.has_key = true;
            s.key = 9;
          }
          if (type == TunnelType::kGeneve) s.options.push_back({0x0102, 0x80, {1, 2, 3, 4}});
          const std::vector<uint8_t> inner = InnerUdp4(4000, 53, payload);
          const Result sw = EncapWith(s, Offload::kNone, inner);
          const Result plain = EncapWith(s, Offload::kPlain, inner);
          const Result outer = EncapWith(s, Offload::kOuter, inner);
          INFO(TunnelTypeName(type)
               << " v6=" << v6 << " csum=" << udp_csum << " payload=" << payload);
          CHECK(sw.flags == 0);
          CHECK(sw.bytes == plain.bytes);
          CHECK(sw.bytes == outer.bytes);
          const bool udp_ck = IsUdpTunnel(type) && (udp_csum || v6);
          // Plain: the outer headers as an ordinary packet.
          uint64_t want = v6 ? 0 : RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM;
          if (udp_ck)
            want |= (v6 ? RTE_MBUF_F_TX_IPV6 : RTE_MBUF_F_TX_IPV4) | RTE_MBUF_F_TX_UDP_CKSUM;
          CHECK(plain.flags == want);
          // Outer: tunnel flag, outer IP (and UDP) checksum, outer and inner lengths.
          const uint64_t tunnel_flag = type == TunnelType::kVxlan    ? RTE_MBUF_F_TX_TUNNEL_VXLAN
                                       : type == TunnelType::kGeneve ? RTE_MBUF_F_TX_TUNNEL_GENEVE
                                                                     : RTE_MBUF_F_TX_TUNNEL_GRE;
          want = tunnel_flag | (v6 ? RTE_MBUF_F_TX_OUTER_IPV6
                                   : RTE_MBUF_F_TX_OUTER_IPV4 | RTE_MBUF_F_TX_OUTER_IP_CKSUM);
          if (udp_ck) want |= RTE_MBUF_F_TX_OUTER_UDP_CKSUM;
          CHECK(outer.flags == want);
          CHECK(outer.outer_l2 == 14);
          CHECK(outer.outer_l3 == (v6 ? 40 : 20));
          const uint16_t outer_len = v6 ? 54 : 34;
          const uint16_t tunnel_hdr = static_cast<uint16_t>(
              sw.bytes.size() - inner.size() + (type == TunnelType::kGre ? 14 : 0) - outer_len);
          CHECK(outer.l2 == tunnel_hdr + (type == TunnelType::kGre ? 0 : 14));
          CHECK(outer.l3 == 20);  // the inner IPv4 header
        }
      }
    }
  }
}

}  // namespace
}  // namespace tundra::testing
