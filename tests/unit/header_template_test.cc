#include "dataplane/header_template.h"

#include <rte_ip.h>

#include "dataplane/proto/checksum.h"
#include "test_util.h"

namespace tundra::testing {
namespace {

TEST_CASE("header template: lengths, offsets and the precomputed IPv4 sum", "[template]") {
  Fixture f;
  Underlay u;
  u.src_mac = *MacAddress::Parse("02:00:00:00:00:01");
  u.dst_mac = *MacAddress::Parse("02:00:00:00:00:02");
  Tunnel t4, t6;
  BuildTunnel(f.Vxlan("a", false, 1), u, 1, {}, t4);
  BuildTunnel(f.Vxlan("b", true, 1), u, 2, {}, t6);
  CHECK(t4.hdr_len == 50);
  CHECK(t6.hdr_len == 70);
  CHECK(t4.l3_len == 20);
  CHECK(t6.l3_len == 40);
  CHECK((t6.flags & kTunnelUdpChecksum) != 0);  // always over IPv6
  CHECK((t4.flags & kTunnelUdpChecksum) == 0);
  // Adding a length to the template's sum gives the checksum DPDK computes.
  for (uint16_t len : {28, 100, 1500, 65535}) {
    Tunnel copy = t4;
    auto* ip = reinterpret_cast<rte_ipv4_hdr*>(copy.hdr.data() + 14);
    ip->total_length = rte_cpu_to_be_16(len);
    const uint16_t expected = rte_ipv4_cksum(ip);
    CHECK(static_cast<uint16_t>(~FoldChecksum(t4.ip_sum + ip->total_length)) == expected);
  }
}

}  // namespace
}  // namespace tundra::testing
