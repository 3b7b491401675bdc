// One scenario template over every tunnel type × underlay: encap, mirror (what the
// remote would send back), decap → the original frame; then each protocol's own
// rules: GENEVE critical options and the O bit, GRE keys, sequence numbers and
// checksums, and RFC 6040 ECN.
#include <rte_ip.h>

#include <algorithm>

#include "dataplane/decap.h"
#include "dataplane/encap.h"
#include "dataplane/inner_ip.h"
#include "test_util.h"

namespace tundra::testing {
namespace {

struct Case {
  TunnelType type;
  bool v6;
};

TunnelSpec SpecFor(const Fixture& f, const Case& c) {
  TunnelSpec s = f.Vxlan("t", c.v6, 4242);
  s.type = c.type;
  if (c.type == TunnelType::kGeneve) {
    s.options.push_back({0x0102, 0x80, {1, 2, 3, 4}});
    s.options.push_back({0xFFFF, 0x01, std::vector<uint8_t>(124, 0xAB)});
  }
  if (c.type == TunnelType::kGretap) {
    s.has_key = true;
    s.key = 77;
    s.seq = true;
    s.csum = true;
  }
  return s;
}

TEST_CASE("every L2 tunnel type round-trips over v4 and v6", "[protocols]") {
  for (TunnelType type : {TunnelType::kVxlan, TunnelType::kGeneve, TunnelType::kGretap}) {
    for (bool v6 : {false, true}) {
      Fixture f;
      const Case c{type, v6};
      INFO(TunnelTypeName(type) << (v6 ? " over IPv6" : " over IPv4"));
      REQUIRE(f.writer->AddTunnel(SpecFor(f, c)).ok());
      REQUIRE(f.writer->AddXconnect(1, 0, "t").ok());
      const std::vector<uint8_t> inner = InnerUdp4(1000, 2000, 100);
      const std::vector<uint8_t> out = Encap(f, inner);
      REQUIRE(!out.empty());
      CHECK(std::equal(inner.rbegin(), inner.rend(), out.rbegin()));
      CHECK(Decap(f, Mirror(out)) == inner);
      CHECK(f.counters->tunnels[1].decap_packets.Get() == 1);
    }
  }
}

TEST_CASE("GENEVE: header fields, critical options and the O bit", "[protocols][geneve]") {
  Fixture f;
  TunnelSpec s = SpecFor(f, {TunnelType::kGeneve, false});
  REQUIRE(f.writer->AddTunnel(s).ok());
  REQUIRE(f.writer->AddXconnect(1, 0, "t").ok());
  const std::vector<uint8_t> inner = InnerUdp4(1, 2);
  std::vector<uint8_t> out = Encap(f, inner);
  REQUIRE(!out.empty());
  const size_t g = 42;  // GENEVE after Ethernet, IPv4, UDP
  CHECK(Get16(out, 36) == 6081);
  CHECK(out[g] == (8 + 128) / 4);      // version 0, Opt Len in words
  CHECK(out[g + 1] == 0x40);           // C: a critical option is present; O clear
  CHECK(Get16(out, g + 2) == 0x6558);  // Ethernet payload
  CHECK(out[g + 4] == 0);
  CHECK(Get16(out, g + 5) == 4242);
  CHECK(out[g + 7] == 0);
  CHECK(Get16(out, g + 8) == 0x0102);  // first option: class, type, length
  CHECK(out[g + 10] == 0x80);
  CHECK(out[g + 11] == 1);
  const std::vector<uint8_t> back = Mirror(out);

  SECTION("an option the tunnel configured is understood") { CHECK(Decap(f, back) == inner); }
  SECTION("an unknown critical option drops; a known one passes") {
    std::vector<uint8_t> p = back;
    p[g + 9] = 0x03;  // class 0x0103: not configured
    CHECK(Decap(f, p).empty());
    CHECK(f.PortDrops(0, DropReason::kUnknownCriticalOption) == 1);
    REQUIRE(f.writer->AddKnownGeneveOption(0x0103, 0x80).ok());
    CHECK(Decap(f, p) == inner);
  }
  SECTION("an unknown non-critical option is ignored") {
    std::vector<uint8_t> p = back;
    p[g + 9] = 0x03;
    p[g + 10] = 0x00;
    CHECK(Decap(f, p) == inner);
  }
  SECTION("O bit: punted, not forwarded") {
    std::vector<uint8_t> p = back;
    p[g + 1] |= 0x80;
    CHECK(Decap(f, p).empty());
    CHECK(f.counters->ports[0].punted.Get() == 1);
    CHECK(f.counters->tunnels[1].oam_packets.Get() == 1);
  }
  SECTION("version, option length, protocol") {
    std::vector<uint8_t> p = back;
    p[g] |= 0x40;  // version 1
    CHECK(Decap(f, p).empty());
    CHECK(f.PortDrops(0, DropReason::kBadVersion) == 1);
    p = back;
    p[g + 11] = 2;  // first option claims 8 bytes of data: overlaps the next header
    p[g + 4 + 8 + 4 + 3] = 31;
    CHECK(Decap(f, p).empty());
    p = back;
    p[g + 3] = 0x00;  // protocol 0x6500
    CHECK(Decap(f, p).empty());
    CHECK(f.PortDrops(0, DropReason::kBadPayloadType) == 1);
  }
}

TEST_CASE("GRE: key, sequence numbers and checksum", "[protocols][gre]") {
  Fixture f;
  TunnelSpec s = SpecFor(f, {TunnelType::kGretap, false});
  SECTION("fields on the wire") {
    REQUIRE(f.writer->AddTunnel(s).ok());
    REQUIRE(f.writer->AddXconnect(1, 0, "t").ok());
    const std::vector<uint8_t> a = Encap(f, InnerUdp4(1, 2));
    const std::vector<uint8_t> b = Encap(f, InnerUdp4(1, 2));
    REQUIRE(a.size() == 14 + 20 + 16 + 60);
    CHECK(a[23] == 47);
    CHECK(Get16(a, 34) == 0xB000);  // C, K, S; version 0
    CHECK(Get16(a, 36) == 0x6558);
    CHECK(Get16(a, 40) == 0);  // reserved1
    CHECK(Get16(a, 42) == 0);  // key
    CHECK(Get16(a, 44) == 77);
    CHECK(Get16(a, 46) == 0);  // first sequence number
    CHECK(Get16(a, 48) == 0);
    CHECK(Get16(b, 48) == 1);                                      // then one more
    CHECK(rte_raw_cksum(a.data() + 34, a.size() - 34) == 0xFFFF);  // RFC 1071 over GRE+payload
  }
  SECTION("sequence numbers: counted, or dropped with seq-check drop") {
    s.seq_drop = true;
    REQUIRE(f.writer->AddTunnel(s).ok());
    REQUIRE(f.writer->AddXconnect(1, 0, "t").ok());
    std::vector<std::vector<uint8_t>> pkts;
    for (int i = 0; i < 3; ++i) pkts.push_back(Mirror(Encap(f, InnerUdp4(1, 2))));
    CHECK(!Decap(f, pkts[0]).empty());
    CHECK(!Decap(f, pkts[2]).empty());
    CHECK(Decap(f, pkts[1]).empty());  // older
    CHECK(Decap(f, pkts[2]).empty());  // repeated
    CHECK(f.counters->tunnels[1].seq_out_of_order.Get() == 1);
    CHECK(f.counters->tunnels[1].seq_duplicate.Get() == 1);
    CHECK(f.PortDrops(0, DropReason::kSeqOutOfOrder) == 1);
    CHECK(f.PortDrops(0, DropReason::kSeqDuplicate) == 1);
  }
  SECTION("wrong key, bad checksum, reserved bits, version") {
    REQUIRE(f.writer->AddTunnel(s).ok());
    REQUIRE(f.writer->AddXconnect(1, 0, "t").ok());
    const std::vector<uint8_t> good = Mirror(Encap(f, InnerUdp4(1, 2)));
    std::vector<uint8_t> p = good;
    p[45] = 78;  // key 78; fix the checksum so only the key is wrong
    p[38] = p[39] = 0;
    uint16_t ck = static_cast<uint16_t>(~rte_raw_cksum(p.data() + 34, p.size() - 34));
    std::memcpy(&p[38], &ck, 2);
    CHECK(Decap(f, p).empty());
    CHECK(f.PortDrops(0, DropReason::kUnknownVni) == 1);
    p = good;
    p[p.size() - 1] ^= 0xFF;
    CHECK(Decap(f, p).empty());
    CHECK(f.PortDrops(0, DropReason::kBadGreChecksum) == 1);
    p = good;
    p[34] |= 0x40;
    CHECK(Decap(f, p).empty());
    CHECK(f.PortDrops(0, DropReason::kBadFlags) == 1);
    p = good;
    p[35] |= 0x01;
    CHECK(Decap(f, p).empty());
    CHECK(f.PortDrops(0, DropReason::kBadVersion) == 1);
  }
}

TEST_CASE("RFC 6040 decapsulation table, normal mode", "[ecn]") {
  // Rows: inner Not-ECT, ECT(0), ECT(1), CE; columns: outer Not-ECT, ECT(0), ECT(1), CE.
  constexpr int kTable[4][4] = {
      {kEcnNotEct, kEcnNotEct, kEcnNotEct, -1},
      {kEcnEct0, kEcnEct0, kEcnEct1, kEcnCe},
      {kEcnEct1, kEcnEct1, kEcnEct1, kEcnCe},
      {kEcnCe, kEcnCe, kEcnCe, kEcnCe},
  };
  constexpr uint8_t kCodepoint[4] = {kEcnNotEct, kEcnEct0, kEcnEct1, kEcnCe};
  for (int in = 0; in < 4; ++in) {
    for (int out = 0; out < 4; ++out) {
      CHECK(DecapEcn(kCodepoint[out], kCodepoint[in]) == kTable[in][out]);
    }
  }
}

TEST_CASE("ECN through a tunnel: copied on encap, combined on decap", "[ecn]") {
  Fixture f;
  REQUIRE(f.writer->AddTunnel(f.Vxlan("t", false, 1)).ok());
  REQUIRE(f.writer->AddXconnect(1, 0, "t").ok());
  const std::vector<uint8_t> ect0 = InnerUdp4(1, 2, 18, /*tos=*/0xB8 | kEcnEct0);
  std::vector<uint8_t> out = Encap(f, ect0);
  CHECK((out[15] & 3) == kEcnEct0);  // copied
  CHECK((out[15] & 0xFC) == 0);      // DSCP from the tunnel (tos 0)
  CHECK(rte_ipv4_cksum(reinterpret_cast<const rte_ipv4_hdr*>(&out[14])) == 0);
  std::vector<uint8_t> back = Mirror(out);
  back[15] |= kEcnCe;  // congestion on the way
  back[24] = back[25] = 0;
  const uint16_t ck = rte_ipv4_cksum(reinterpret_cast<const rte_ipv4_hdr*>(&back[14]));
  std::memcpy(&back[24], &ck, 2);
  const std::vector<uint8_t> inner = Decap(f, back);
  REQUIRE(!inner.empty());
  CHECK((inner[15] & 3) == kEcnCe);
  CHECK((inner[15] & 0xFC) == 0xB8);
  CHECK(rte_ipv4_cksum(reinterpret_cast<const rte_ipv4_hdr*>(&inner[14])) == 0);
  // CE over a Not-ECT inner packet is dropped.
  out = Encap(f, InnerUdp4(1, 2));
  back = Mirror(out);
  back[15] |= kEcnCe;
  back[24] = back[25] = 0;
  const uint16_t ck2 = rte_ipv4_cksum(reinterpret_cast<const rte_ipv4_hdr*>(&back[14]));
  std::memcpy(&back[24], &ck2, 2);
  CHECK(Decap(f, back).empty());
  CHECK(f.PortDrops(0, DropReason::kEcnNotEct) == 1);
}

}  // namespace
}  // namespace tundra::testing

namespace tundra::testing {
namespace {

TEST_CASE("an inner checksum the rx port left partial is completed before encap", "[checksum]") {
  Fixture f;
  REQUIRE(f.writer->AddTunnel(f.Vxlan("t", false, 1)).ok());
  REQUIRE(f.writer->AddXconnect(1, 0, "t").ok());
  std::vector<uint8_t> inner = InnerUdp4(1234, 53, 77);
  // CHECKSUM_PARTIAL style: the field holds only the pseudo-header sum.
  const uint16_t seed = rte_ipv4_phdr_cksum(reinterpret_cast<const rte_ipv4_hdr*>(&inner[14]), 0);
  std::memcpy(&inner[14 + 20 + 6], &seed, 2);
  rte_mbuf* m = MbufFrom(inner);
  m->ol_flags = RTE_MBUF_F_RX_L4_CKSUM_NONE;
  EncapBurst(f.ctx, 1, &m, 1);
  f.FreeDrops();
  const std::vector<uint8_t> out = Take(f, 0);
  REQUIRE(out.size() == inner.size() + 50);
  const uint8_t* ip = out.data() + 50 + 14;
  CHECK(Get16(out, 50 + 14 + 20 + 6) != 0);
  CHECK(rte_ipv4_udptcp_cksum_verify(reinterpret_cast<const rte_ipv4_hdr*>(ip), ip + 20) == 0);
}

}  // namespace
}  // namespace tundra::testing
