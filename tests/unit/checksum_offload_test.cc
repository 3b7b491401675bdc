// The tx checksum offload path must put the same bytes on the wire as the software
// path. A NIC is emulated as DPDK documents the contract: with RTE_MBUF_F_TX_IP_CKSUM
// it fills the IPv4 header checksum; with RTE_MBUF_F_TX_UDP_CKSUM it sums the UDP
// header and payload starting from the pseudo-header sum placed in the checksum field.
#include <rte_ip.h>

#include "dataplane/encap.h"
#include "dataplane/header_template.h"
#include "test_util.h"

namespace tundra::testing {
namespace {

void EmulateNic(rte_mbuf* m) {
  uint8_t* p = rte_pktmbuf_mtod(m, uint8_t*);
  if (m->ol_flags & RTE_MBUF_F_TX_IP_CKSUM) {
    auto* ip = reinterpret_cast<rte_ipv4_hdr*>(p + m->l2_len);
    ip->hdr_checksum = 0;
    ip->hdr_checksum = rte_ipv4_cksum(ip);
  }
  if ((m->ol_flags & RTE_MBUF_F_TX_L4_MASK) == RTE_MBUF_F_TX_UDP_CKSUM) {
    uint8_t* udp = p + m->l2_len + m->l3_len;
    const uint32_t len = rte_pktmbuf_pkt_len(m) - m->l2_len - m->l3_len;
    uint16_t sum = static_cast<uint16_t>(~rte_raw_cksum(udp, len));
    if (sum == 0) sum = 0xFFFF;
    std::memcpy(udp + 6, &sum, 2);
  }
}

std::vector<uint8_t> EncapWith(const TunnelSpec& spec, bool offload,
                               const std::vector<uint8_t>& inner, uint64_t* flags_out) {
  Underlay u;
  u.port = 0;
  u.src_mac = *MacAddress::Parse("02:00:00:00:00:01");
  u.dst_mac = *MacAddress::Parse("02:00:00:00:00:02");
  u.resolved = true;
  u.tx_ip_checksum_offload = offload;
  u.tx_udp_checksum_offload = offload;
  auto t = std::make_unique<Tunnel>();
  BuildTunnel(spec, u, 1, Attachment{1, 0, true}, *t);
  rte_mbuf* m = MbufFrom(inner);
  REQUIRE(EncapOne(*t, m));
  *flags_out = m->ol_flags;
  if (offload) {
    CHECK(m->l2_len == 14);
    CHECK(m->l3_len == (spec.local.is_v4() ? 20 : 40));
  }
  EmulateNic(m);
  std::vector<uint8_t> out = BytesOf(m);
  rte_pktmbuf_free(m);
  return out;
}

TEST_CASE("checksum offload and software paths produce identical bytes", "[checksum]") {
  Fixture f;
  for (bool v6 : {false, true}) {
    for (bool udp_csum : {false, true}) {
      for (size_t payload : {0, 1, 18, 333, 1400}) {
        TunnelSpec s = f.Vxlan("t", v6, 77);
        s.udp_csum = udp_csum;
        const std::vector<uint8_t> inner = InnerUdp4(4000, 53, payload);
        uint64_t sw_flags = 0, hw_flags = 0;
        const std::vector<uint8_t> sw = EncapWith(s, false, inner, &sw_flags);
        const std::vector<uint8_t> hw = EncapWith(s, true, inner, &hw_flags);
        INFO("v6=" << v6 << " udp_csum=" << udp_csum << " payload=" << payload);
        CHECK(sw_flags == 0);
        CHECK(sw == hw);
        if (v6) {
          CHECK(hw_flags == (RTE_MBUF_F_TX_IPV6 | RTE_MBUF_F_TX_UDP_CKSUM));
        } else if (udp_csum) {
          CHECK(hw_flags ==
                (RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_UDP_CKSUM));
        } else {
          CHECK(hw_flags == (RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM));
        }
      }
    }
  }
}

}  // namespace
}  // namespace tundra::testing
