// Encap and decap of single mbufs and bursts, v4 and v6 underlay, judged against
// byte offsets of RFC 7348 / RFC 791 / RFC 8200 and DPDK's checksum routines.
#include <rte_ip.h>

#include <algorithm>

#include "dataplane/decap.h"
#include "dataplane/encap.h"
#include "test_util.h"

namespace tundra::testing {
namespace {

TEST_CASE("VXLAN over IPv4: encap writes every RFC 7348 field", "[vxlan][encap]") {
  Fixture f;
  REQUIRE(f.writer->AddTunnel(f.Vxlan("t1", false, 0xABCDEF)).ok());
  REQUIRE(f.writer->AddXconnect(1, 0, "t1").ok());
  const std::vector<uint8_t> inner = InnerUdp4(1000, 2000);
  const std::vector<uint8_t> out = Encap(f, inner);
  REQUIRE(out.size() == inner.size() + 50);
  // Outer Ethernet: dst = neighbor, src = uplink, type IPv4.
  CHECK(std::vector<uint8_t>(out.begin(), out.begin() + 12) ==
        std::vector<uint8_t>{2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1});
  CHECK(Get16(out, 12) == 0x0800);
  // Outer IPv4 (offset 14).
  CHECK(out[14] == 0x45);
  CHECK(out[15] == 0);                         // TOS default 0
  CHECK(Get16(out, 16) == inner.size() + 36);  // total length
  CHECK((Get16(out, 20) & 0x4000) == 0x4000);  // DF set by default
  CHECK(out[22] == 64);                        // TTL default
  CHECK(out[23] == 17);                        // UDP
  CHECK(rte_ipv4_cksum(reinterpret_cast<const rte_ipv4_hdr*>(&out[14])) == 0);
  CHECK(std::vector<uint8_t>(out.begin() + 26, out.begin() + 34) ==
        std::vector<uint8_t>{192, 0, 2, 1, 192, 0, 2, 2});
  // UDP (offset 34): source port in 49152-65535, dst 4789, length, checksum 0.
  CHECK(Get16(out, 34) >= 49152);
  CHECK(Get16(out, 36) == 4789);
  CHECK(Get16(out, 38) == inner.size() + 16);
  CHECK(Get16(out, 40) == 0);
  // VXLAN (offset 42): flags 0x08, reserved zero, VNI, reserved zero.
  CHECK(std::vector<uint8_t>(out.begin() + 42, out.begin() + 50) ==
        std::vector<uint8_t>{0x08, 0, 0, 0, 0xAB, 0xCD, 0xEF, 0});
  CHECK(std::vector<uint8_t>(out.begin() + 50, out.end()) == inner);
  CHECK(f.counters->tunnels[1].encap_packets.Get() == 1);
}

TEST_CASE("VXLAN over IPv6: encap computes the UDP checksum", "[vxlan][encap][ipv6]") {
  Fixture f;
  REQUIRE(f.writer->AddTunnel(f.Vxlan("t6", true, 42)).ok());
  REQUIRE(f.writer->AddXconnect(1, 0, "t6").ok());
  const std::vector<uint8_t> inner = InnerUdp4(1000, 2000, 101);
  std::vector<uint8_t> out = Encap(f, inner);
  REQUIRE(out.size() == inner.size() + 70);
  CHECK(Get16(out, 12) == 0x86DD);
  CHECK(out[14] >> 4 == 6);
  CHECK(Get16(out, 18) == inner.size() + 16);  // payload length
  CHECK(out[20] == 17);
  CHECK(out[21] == 64);
  const uint16_t udp_ck = Get16(out, 54 + 6);
  CHECK(udp_ck != 0);
  rte_mbuf* m = MbufFrom(out);
  CHECK(rte_ipv6_udptcp_cksum_verify(rte_pktmbuf_mtod_offset(m, const rte_ipv6_hdr*, 14),
                                     rte_pktmbuf_mtod_offset(m, const void*, 54)) == 0);
  rte_pktmbuf_free(m);
  CHECK(std::vector<uint8_t>(out.begin() + 70, out.end()) == inner);
}

TEST_CASE("encap options: ttl, tos, df, udp-csum, dstport, inherit", "[vxlan][encap]") {
  Fixture f;
  TunnelSpec s = f.Vxlan("t", false, 7);
  SECTION("fixed values") {
    s.ttl = 9;
    s.tos = 0xB8;
    s.df = DfMode::kClear;
    s.dstport = 8472;
    s.udp_csum = true;
    REQUIRE(f.writer->AddTunnel(s).ok());
    REQUIRE(f.writer->AddXconnect(1, 0, "t").ok());
    std::vector<uint8_t> out = Encap(f, InnerUdp4(1, 2));
    CHECK(out[22] == 9);
    CHECK(out[15] == 0xB8);
    CHECK((Get16(out, 20) & 0x4000) == 0);
    CHECK(Get16(out, 36) == 8472);
    CHECK(Get16(out, 40) != 0);
    rte_mbuf* m = MbufFrom(out);
    CHECK(rte_ipv4_udptcp_cksum_verify(rte_pktmbuf_mtod_offset(m, const rte_ipv4_hdr*, 14),
                                       rte_pktmbuf_mtod_offset(m, const void*, 34)) == 0);
    CHECK(rte_ipv4_cksum(rte_pktmbuf_mtod_offset(m, const rte_ipv4_hdr*, 14)) == 0);
    rte_pktmbuf_free(m);
  }
  SECTION("inherit copies the inner TOS, TTL and DF") {
    s.ttl_inherit = true;
    s.tos_inherit = true;
    s.df = DfMode::kInherit;
    REQUIRE(f.writer->AddTunnel(s).ok());
    REQUIRE(f.writer->AddXconnect(1, 0, "t").ok());
    std::vector<uint8_t> out = Encap(f, InnerUdp4(1, 2, 18, /*tos=*/0x2E, /*ttl=*/17, /*df=*/true));
    CHECK(out[15] == 0x2E);
    CHECK(out[22] == 17);
    CHECK((Get16(out, 20) & 0x4000) == 0x4000);
    CHECK(rte_ipv4_cksum(reinterpret_cast<const rte_ipv4_hdr*>(&out[14])) == 0);
    out = Encap(f, InnerUdp4(1, 2, 18, 0, 200, /*df=*/false));
    CHECK((Get16(out, 20) & 0x4000) == 0);
    CHECK(out[22] == 200);
  }
}

TEST_CASE("VLAN attachments strip on encap and push back on decap", "[vxlan][vlan]") {
  Fixture f;
  REQUIRE(f.writer->AddTunnel(f.Vxlan("t10", false, 10)).ok());
  REQUIRE(f.writer->AddXconnect(1, 10, "t10").ok());
  std::vector<uint8_t> plain = InnerUdp4(5, 6);
  std::vector<uint8_t> tagged(plain.begin(), plain.begin() + 12);
  PutBytes(tagged, {0x81, 0x00, 0x20, 0x0A});  // PCP 1, VID 10
  tagged.insert(tagged.end(), plain.begin() + 12, plain.end());
  std::vector<uint8_t> out = Encap(f, tagged);
  REQUIRE(!out.empty());
  CHECK(std::vector<uint8_t>(out.begin() + 50, out.end()) == plain);
  std::vector<uint8_t> back = Decap(f, Mirror(out));
  REQUIRE(back.size() == tagged.size());
  CHECK(Get16(back, 12) == 0x8100);
  CHECK((Get16(back, 14) & 0x0FFF) == 10);
  CHECK(std::vector<uint8_t>(back.begin() + 16, back.end()) ==
        std::vector<uint8_t>(plain.begin() + 12, plain.end()));
  SECTION("another VLAN with no attachment is dropped") {
    tagged[15] = 11;
    CHECK(Encap(f, tagged).empty());
    CHECK(f.PortDrops(1, DropReason::kNoAttachment) == 1);
  }
}

TEST_CASE("decap round trip and every drop reason", "[vxlan][decap]") {
  Fixture f;
  REQUIRE(f.writer->AddTunnel(f.Vxlan("t1", false, 100)).ok());
  REQUIRE(f.writer->AddTunnel(f.Vxlan("t6", true, 100)).ok());
  REQUIRE(f.writer->AddXconnect(1, 0, "t1").ok());
  const std::vector<uint8_t> inner = InnerUdp4(1000, 2000);
  const std::vector<uint8_t> outer = Mirror(Encap(f, inner));
  REQUIRE(!outer.empty());
  CHECK(Decap(f, outer) == inner);
  for (int r = 0; r < kNumDropReasons; ++r) {
    INFO(DropReasonName(static_cast<DropReason>(r)));
    CHECK(f.counters->ports[0].drops[r].Get() == 0);
  }
  CHECK(f.counters->tunnels[1].decap_packets.Get() == 1);

  SECTION("ethernet padding is trimmed") {
    std::vector<uint8_t> padded = outer;
    padded.resize(padded.size() + 6, 0);
    CHECK(Decap(f, padded) == inner);
  }
  SECTION("wrong VNI") {
    std::vector<uint8_t> p = outer;
    p[48] = 101;
    CHECK(Decap(f, p).empty());
    CHECK(f.PortDrops(0, DropReason::kUnknownVni) == 1);
  }
  SECTION("wrong remote") {
    std::vector<uint8_t> p = outer;
    p[29] = 3;  // source 192.0.2.3 (mirrored: the source is at 26..29)
    p[24] = p[25] = 0;
    const uint16_t ck = rte_ipv4_cksum(reinterpret_cast<const rte_ipv4_hdr*>(&p[14]));
    p[24] = ck & 0xFF;  // rte_ipv4_cksum returns the value in memory order
    p[25] = ck >> 8;
    CHECK(Decap(f, p).empty());
    CHECK(f.PortDrops(0, DropReason::kRemoteMismatch) == 1);
    CHECK(f.counters->tunnels[1].drops[TunnelDropSlot(DropReason::kRemoteMismatch)].Get() == 1);
  }
  SECTION("I flag clear") {
    std::vector<uint8_t> p = outer;
    p[42] = 0;
    CHECK(Decap(f, p).empty());
    CHECK(f.PortDrops(0, DropReason::kBadFlags) == 1);
  }
  SECTION("reserved VXLAN bits are ignored") {
    std::vector<uint8_t> p = outer;
    p[42] = 0xFF;
    p[43] = 0xFF;
    p[49] = 0xFF;
    CHECK(Decap(f, p) == inner);
  }
  SECTION("wrong UDP port") {
    std::vector<uint8_t> p = outer;
    p[37] = 0xB6;  // 4790
    CHECK(Decap(f, p).empty());
    CHECK(f.PortDrops(0, DropReason::kUnknownPort) == 1);
  }
  SECTION("bad IPv4 checksum") {
    std::vector<uint8_t> p = outer;
    p[24] ^= 0x55;
    CHECK(Decap(f, p).empty());
    CHECK(f.PortDrops(0, DropReason::kBadIpChecksum) == 1);
  }
  SECTION("not our MAC") {
    std::vector<uint8_t> p = outer;
    p[5] = 0x77;
    CHECK(Decap(f, p).empty());
    CHECK(f.PortDrops(0, DropReason::kNotForUs) == 1);
  }
  SECTION("tunnel without attachment") {
    REQUIRE(f.writer->DelXconnect(1, 0).ok());
    CHECK(Decap(f, outer).empty());
    CHECK(f.PortDrops(0, DropReason::kNoAttachment) == 1);
  }
  SECTION("every truncation is a counted drop, never a read past the end") {
    for (size_t len = 0; len < outer.size(); ++len) {
      const std::vector<uint8_t> cut(outer.begin(), outer.begin() + len);
      CHECK(Decap(f, cut).empty());
    }
    uint64_t drops = 0;
    for (int r = 0; r < kNumDropReasons; ++r) drops += f.counters->ports[0].drops[r].Get();
    CHECK(drops == outer.size());
    // Inner frames shorter than Ethernet and cuts inside headers are "truncated".
    CHECK(f.PortDrops(0, DropReason::kTruncated) == outer.size());
  }
}

TEST_CASE("IPv6 underlay decap checks the UDP checksum", "[vxlan][decap][ipv6]") {
  Fixture f;
  REQUIRE(f.writer->AddTunnel(f.Vxlan("t6", true, 5)).ok());
  REQUIRE(f.writer->AddXconnect(1, 0, "t6").ok());
  const std::vector<uint8_t> inner = InnerUdp4(3, 4);
  const std::vector<uint8_t> outer = Mirror(Encap(f, inner));
  REQUIRE(!outer.empty());
  CHECK(Decap(f, outer) == inner);
  std::vector<uint8_t> zero = outer;
  zero[60] = zero[61] = 0;
  CHECK(Decap(f, zero).empty());
  std::vector<uint8_t> wrong = outer;
  wrong[61] ^= 1;
  CHECK(Decap(f, wrong).empty());
  CHECK(f.PortDrops(0, DropReason::kBadUdpChecksum) == 2);
}

TEST_CASE("encap drops: no neighbor, MTU, no attachment, truncated", "[vxlan][encap]") {
  Fixture f;
  REQUIRE(f.writer->AddTunnel(f.Vxlan("t1", false, 1)).ok());
  REQUIRE(f.writer->AddXconnect(1, 0, "t1").ok());
  SECTION("no neighbor") {
    REQUIRE(f.writer->DelNeighbor(*IpAddress::Parse("192.0.2.2")).ok());
    CHECK(Encap(f, InnerUdp4(1, 2)).empty());
    CHECK(f.PortDrops(1, DropReason::kNoNeighbor) == 1);
  }
  SECTION("MTU: 1450 inner bytes of IP fit a 1500 uplink, 1451 do not") {
    CHECK(!Encap(f, InnerUdp4(1, 2, 1450 - 28)).empty());
    CHECK(Encap(f, InnerUdp4(1, 2, 1451 - 28)).empty());
    CHECK(f.PortDrops(1, DropReason::kMtuExceeded) == 1);
  }
  SECTION("short frame") {
    CHECK(Encap(f, std::vector<uint8_t>(13, 0)).empty());
    CHECK(f.PortDrops(1, DropReason::kTruncated) == 1);
  }
}

}  // namespace
}  // namespace tundra::testing
