// The decap same-shape match (dataplane/decap_shape.h) must change no verdict: a burst
// of packets that repeat one tunnel's outer headers with one field varied at a time
// must give exactly what the same packets give one by one (each single-packet burst
// goes through the full parser).
#include <catch2/catch.hpp>

#include "tests/unit/test_util.h"

namespace tundra::testing {
namespace {

struct Outcome {
  std::vector<std::vector<uint8_t>> delivered;  // in order
  std::vector<uint64_t> drops;                  // per reason, uplink port
  uint64_t decap_packets = 0;
};

// Rewrites the IPv4 header checksum at `l3` after a field change.
void FixIpv4Checksum(std::vector<uint8_t>& p, size_t l3) {
  p[l3 + 10] = p[l3 + 11] = 0;
  uint32_t sum = 0;
  for (size_t i = l3; i < l3 + 20; i += 2) sum += (p[i] << 8) | p[i + 1];
  while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
  p[l3 + 10] = static_cast<uint8_t>(~sum >> 8);
  p[l3 + 11] = static_cast<uint8_t>(~sum);
}

void Set16(std::vector<uint8_t>& p, size_t off, uint16_t v) {
  p[off] = static_cast<uint8_t>(v >> 8);
  p[off + 1] = static_cast<uint8_t>(v);
}

Outcome Collect(Fixture& f, uint32_t id) {
  Outcome o;
  TxBuffer& b = f.ctx.tx[1];
  for (uint16_t i = 0; i < b.count; ++i) o.delivered.push_back(BytesOf(b.pkts[i]));
  rte_pktmbuf_free_bulk(b.pkts, b.count);
  b.count = 0;
  b.bytes = 0;
  f.ctx.tx_pending = 0;
  f.FreeDrops();
  for (int r = 0; r < kNumDropReasons; ++r) o.drops.push_back(f.PortDrops(0, DropReason(r)));
  o.decap_packets = f.counters->tunnels[id].decap_packets.Get();
  return o;
}

// Runs `packets` as one burst on one fixture and one by one on another.
void CheckSameVerdicts(Fixture& burst, Fixture& single, uint32_t id,
                       const std::vector<std::vector<uint8_t>>& packets) {
  REQUIRE(packets.size() <= kBurstSize);
  const uint64_t decap_before = burst.counters->tunnels[id].decap_packets.Get();
  std::vector<rte_mbuf*> mbufs;
  for (const auto& p : packets) mbufs.push_back(MbufFrom(p));
  DecapBurst(burst.ctx, 0, mbufs.data(), static_cast<uint16_t>(mbufs.size()));
  const Outcome a = Collect(burst, id);
  Outcome b;
  for (const auto& p : packets) {
    rte_mbuf* m = MbufFrom(p);
    DecapBurst(single.ctx, 0, &m, 1);
    Outcome one = Collect(single, id);
    b.delivered.insert(b.delivered.end(), one.delivered.begin(), one.delivered.end());
    b.drops = one.drops;
    b.decap_packets = one.decap_packets;
  }
  CHECK(a.delivered.size() == b.delivered.size());
  CHECK(a.delivered == b.delivered);
  for (int r = 0; r < kNumDropReasons; ++r) {
    INFO("drop reason " << DropReasonName(DropReason(r)));
    CHECK(a.drops[r] == b.drops[r]);
  }
  CHECK(a.decap_packets == b.decap_packets);
  // The variants must include both outcomes, or the test proves little.
  CHECK(a.decap_packets - decap_before > 0);
  CHECK(a.decap_packets - decap_before < packets.size());
}

}  // namespace

TEST_CASE("decap fast path: a burst gives the verdicts of single packets, IPv4", "[decap][cache]") {
  for (bool udp_csum : {false, true}) {
    DYNAMIC_SECTION("udp-csum " << (udp_csum ? "on" : "off")) {
      Fixture f1, f2;
      uint32_t id = 0;
      for (Fixture* f : {&f1, &f2}) {
        TunnelSpec s = f->Vxlan("t", false, 100);
        s.udp_csum = udp_csum;
        REQUIRE(f->writer->AddTunnel(s).ok());
        REQUIRE(f->writer->AddXconnect(1, 0, "t").ok());
        id = f->writer->tunnels().at("t").id;
      }
      const std::vector<uint8_t> good = Mirror(Encap(f1, InnerUdp4(7, 9)));
      REQUIRE(good.size() == 14 + 20 + 8 + 8 + 60);
      std::vector<std::vector<uint8_t>> v{good};
      auto variant = [&](auto change) {
        std::vector<uint8_t> p = good;
        change(p);
        v.push_back(good);  // the reference the variant is compared against
        v.push_back(p);
      };
      variant([](auto& p) { p[24] ^= 1; });                                    // bad IP checksum
      variant([](auto& p) { Set16(p, 18, 0x1234), FixIpv4Checksum(p, 14); });  // IP id
      variant([](auto& p) { p[22] = 3, FixIpv4Checksum(p, 14); });             // TTL
      variant([](auto& p) { p[22] = 1, p[20] |= 0x20, FixIpv4Checksum(p, 14); });  // MF
      variant([](auto& p) { Set16(p, 16, Get16(p, 16) + 1), FixIpv4Checksum(p, 14); });
      variant([](auto& p) { Set16(p, 16, Get16(p, 16) - 1), FixIpv4Checksum(p, 14); });
      variant([](auto& p) { p.push_back(0), p.push_back(0); });  // Ethernet padding
      variant([](auto& p) { p.pop_back(); });                    // truncated
      variant([](auto& p) { Set16(p, 38, Get16(p, 38) + 1); });  // UDP length
      variant([](auto& p) { Set16(p, 40, 0x1234); });  // a wrong (or a first) UDP checksum
      variant([](auto& p) { p[49] ^= 1; });            // another VNI
      variant([](auto& p) { p[29] ^= 1, FixIpv4Checksum(p, 14); });  // another remote
      variant([](auto& p) { p[29] ^= 1; });              // another remote, its checksum left wrong
      variant([](auto& p) { p[49] ^= 1, p[29] ^= 1; });  // and another VNI
      variant([](auto& p) { p[15] |= 3, FixIpv4Checksum(p, 14); });  // outer CE
      variant([](auto& p) { p[42] = 0; });                           // VXLAN I flag clear
      variant([](auto& p) { p[0] ^= 2; });                           // not our MAC
      // At most a burst at a time, each starting from a reference.
      for (size_t at = 1; at < v.size(); at += kBurstSize - 1) {
        std::vector<std::vector<uint8_t>> burst{good};
        burst.insert(burst.end(), v.begin() + at,
                     v.begin() + std::min(v.size(), at + kBurstSize - 1));
        CheckSameVerdicts(f1, f2, id, burst);
      }
    }
  }
}

TEST_CASE("decap fast path: a burst gives the verdicts of single packets, IPv6",
          "[decap][cache][ipv6]") {
  Fixture f1, f2;
  uint32_t id = 0;
  for (Fixture* f : {&f1, &f2}) {
    REQUIRE(f->writer->AddTunnel(f->Vxlan("t", true, 100)).ok());
    REQUIRE(f->writer->AddXconnect(1, 0, "t").ok());
    id = f->writer->tunnels().at("t").id;
  }
  const std::vector<uint8_t> good = Mirror(Encap(f1, InnerUdp4(7, 9)));
  REQUIRE(good.size() == 14 + 40 + 8 + 8 + 60);
  std::vector<std::vector<uint8_t>> v{good};
  auto variant = [&](auto change) {
    std::vector<uint8_t> p = good;
    change(p);
    v.push_back(good);
    v.push_back(p);
  };
  variant([](auto& p) { p[16] ^= 0x55; });                   // flow label
  variant([](auto& p) { p[21] = 7; });                       // hop limit
  variant([](auto& p) { Set16(p, 18, Get16(p, 18) + 1); });  // payload length
  variant([](auto& p) { p.push_back(0); });                  // padding
  variant([](auto& p) { p[61] ^= 1; });                      // UDP checksum
  variant([](auto& p) { Set16(p, 60, 0); });                 // zero UDP checksum
  variant([](auto& p) { p[69] ^= 1; });                      // another VNI
  variant([](auto& p) { p[14] |= 0x03; });                   // outer ECN CE
  CheckSameVerdicts(f1, f2, id, v);
}

TEST_CASE("decap fast path: GRE sequence numbers stay per packet", "[decap][cache][gre]") {
  Fixture f1, f2;
  uint32_t id = 0;
  for (Fixture* f : {&f1, &f2}) {
    TunnelSpec s = f->Vxlan("t", false, 0);
    s.type = TunnelType::kGretap;
    s.vni = 0;
    s.has_key = true;
    s.key = 5;
    s.seq = true;
    s.seq_drop = true;
    REQUIRE(f->writer->AddTunnel(s).ok());
    REQUIRE(f->writer->AddXconnect(1, 0, "t").ok());
    id = f->writer->tunnels().at("t").id;
  }
  const std::vector<uint8_t> first = Mirror(Encap(f1, InnerUdp4(7, 9)));
  // Ethernet 14 + IPv4 20 + GRE 4 + key 4 + seq 4.
  REQUIRE(first.size() == 14 + 20 + 12 + 60);
  std::vector<std::vector<uint8_t>> v;
  for (uint32_t seq : {10u, 11u, 11u, 12u, 9u, 13u, 20u, 14u, 21u}) {
    std::vector<uint8_t> p = first;
    Set16(p, 42, static_cast<uint16_t>(seq >> 16));
    Set16(p, 44, static_cast<uint16_t>(seq));
    v.push_back(p);
  }
  CheckSameVerdicts(f1, f2, id, v);
  CHECK(f1.PortDrops(0, DropReason::kSeqDuplicate) == 1);
  CHECK(f1.PortDrops(0, DropReason::kSeqOutOfOrder) == 2);
}

}  // namespace tundra::testing

namespace tundra::testing {

TEST_CASE("decap lookup cache: deleted tunnels and reused ids never hit", "[decap][cache]") {
  Fixture f;
  auto add = [&](const std::string& name, uint32_t vni, uint16_t vlan) {
    REQUIRE(f.writer->AddTunnel(f.Vxlan(name, false, vni)).ok());
    REQUIRE(f.writer->AddXconnect(1, vlan, name).ok());
    return f.writer->tunnels().at(name).id;
  };
  auto vlan_of = [&](const std::vector<uint8_t>& outer) -> int {
    const std::vector<uint8_t> out = Decap(f, outer);
    if (out.empty()) return -1;
    return Get16(out, 12) == 0x8100 ? (Get16(out, 14) & 0x0FFF) : 0;
  };
  const uint32_t a = add("a", 100, 1);
  add("b", 200, 2);
  // Build a packet for VNI 100 from b's encap output by patching the VNI.
  std::vector<uint8_t> tagged = InnerUdp4(1, 2);
  tagged.insert(tagged.begin() + 12, {0x81, 0x00, 0x00, 0x02});
  std::vector<uint8_t> outer = Mirror(Encap(f, tagged));
  REQUIRE(!outer.empty());
  auto with_vni = [&](uint32_t vni) {
    std::vector<uint8_t> p = outer;
    p[46] = static_cast<uint8_t>(vni >> 16), p[47] = static_cast<uint8_t>(vni >> 8);
    p[48] = static_cast<uint8_t>(vni);
    return p;
  };
  CHECK(vlan_of(with_vni(100)) == 1);  // fills the cache with a → id a
  CHECK(vlan_of(with_vni(200)) == 2);
  REQUIRE(f.writer->DelXconnect(1, 1).ok());
  REQUIRE(f.writer->DelTunnel("a").ok());
  f.tables->ReclaimAll();
  CHECK(vlan_of(with_vni(100)) == -1);  // the cached id is gone
  CHECK(f.PortDrops(0, DropReason::kUnknownVni) == 1);
  const uint32_t c = add("c", 300, 3);
  CHECK(c == a);                        // the id was reused...
  CHECK(vlan_of(with_vni(100)) == -1);  // ...but VNI 100 does not reach c
  CHECK(vlan_of(with_vni(300)) == 3);
  add("a2", 100, 4);
  CHECK(vlan_of(with_vni(100)) == 4);
}

}  // namespace tundra::testing
