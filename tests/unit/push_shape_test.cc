// The fixed push variants (push_shape.h) are the general push with some of the tunnel's
// fields taken as constants, so they must write exactly what the general push writes,
// for every tunnel they are chosen for and every kind of inner frame; and a tunnel that
// needs per-packet work they leave out must never be given one.
#include <rte_mbuf.h>

#include "dataplane/encap_push.h"
#include "dataplane/header_template.h"
#include "dataplane/worker.h"
#include "test_util.h"

namespace tundra::testing {
namespace {

template <size_t... I>
rte_mbuf* PushFixed(PushVariant v, const Tunnel& t, rte_mbuf* m, uint32_t seq, uint64_t nh,
                    std::index_sequence<I...>) {
  rte_mbuf* out = nullptr;
  const auto push = [&]<size_t J>() {
    if (kFixedPushes[J].variant == v) out = PushTunnelHeader<kFixedPushes[J]>(t, m, seq, nh);
  };
  (push.template operator()<I>(), ...);
  return out;
}

// The push of variant `v`, every entry of kFixedPushes included.
rte_mbuf* PushWith(PushVariant v, const Tunnel& t, rte_mbuf* m, uint32_t seq, uint64_t nh) {
  if (v == PushVariant::kGeneral) return PushTunnelHeader<kGeneralPush>(t, m, seq, nh);
  return PushFixed(v, t, m, seq, nh, std::make_index_sequence<std::size(kFixedPushes)>());
}

std::unique_ptr<Tunnel> Build(const TunnelSpec& spec, const Underlay& u = Underlay{}) {
  auto t = std::make_unique<Tunnel>();
  BuildTunnel(spec, u, 1, Attachment{1, 0, true}, *t);
  return t;
}

TunnelSpec Spec(TunnelType type) {
  TunnelSpec s;
  s.name = "t";
  s.type = type;
  s.local = *IpAddress::Parse("192.0.2.1");
  s.remote = *IpAddress::Parse("192.0.2.2");
  s.vni = 0x123456;
  if (!IsUdpTunnel(type)) {
    s.has_key = true;
    s.key = 0xA1B2C3D4;
  }
  return s;
}

struct InnerCase {
  const char* name;
  std::vector<uint8_t> bytes;
  uint64_t ol_flags = 0;
};

std::vector<InnerCase> InnerCases() {
  std::vector<InnerCase> cases;
  for (uint8_t ecn = 0; ecn < 4; ++ecn) {
    cases.push_back({"ipv4 udp ecn", InnerUdp4(4000, 53, 18, static_cast<uint8_t>(0xB8 | ecn))});
  }
  cases.push_back({"ipv4 udp df", InnerUdp4(1, 2, 300, 0, 7, true)});
  std::vector<uint8_t> tcp = InnerUdp4(80, 443, 40);
  tcp[23] = 6;
  cases.push_back({"ipv4 tcp", tcp});
  std::vector<uint8_t> icmp = InnerUdp4(0, 0, 10);
  icmp[23] = 1;
  cases.push_back({"ipv4 icmp", icmp});
  std::vector<uint8_t> frag = InnerUdp4(5, 6, 100);
  frag[20] = 0x20;  // MF
  cases.push_back({"ipv4 first fragment", frag});
  frag[20] = 0x00;
  frag[21] = 0x10;  // offset
  cases.push_back({"ipv4 later fragment", frag});
  std::vector<uint8_t> truncated = InnerUdp4(5, 6, 0);
  truncated.resize(14 + 22);  // the ports cut off
  cases.push_back({"ipv4 header only", truncated});
  std::vector<uint8_t> not_v4 = InnerUdp4(5, 6);
  not_v4[14] = 0x65;  // EtherType IPv4, version 6
  cases.push_back({"ipv4 type, other version", not_v4});
  std::vector<uint8_t> tagged = InnerUdp4(7, 8, 30, 0x03);
  const uint8_t tag[4] = {0x81, 0x00, 0x00, 0x64};
  tagged.insert(tagged.begin() + 12, tag, tag + 4);
  cases.push_back({"802.1Q ipv4", tagged});
  std::vector<uint8_t> v6 = {0x02, 0,    0,    0,    0,    2, 0x02, 0, 0, 0,  0,
                             1,    0x86, 0xDD, 0x6A, 0xB0, 0, 0,    0, 8, 17, 9};
  for (int i = 0; i < 32; ++i) v6.push_back(static_cast<uint8_t>(i));
  const uint8_t udp6[8] = {0x10, 0x00, 0x00, 0x35, 0x00, 0x08, 0x00, 0x00};
  v6.insert(v6.end(), udp6, udp6 + 8);
  cases.push_back({"ipv6 udp", v6});
  std::vector<uint8_t> arp = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02, 0, 0, 0, 0, 1, 0x08, 0x06};
  for (int i = 0; i < 28; ++i) arp.push_back(static_cast<uint8_t>(i));
  cases.push_back({"arp", arp});
  cases.push_back({"ethernet header only", std::vector<uint8_t>(arp.begin(), arp.begin() + 14)});
  InnerCase rss{"ipv4 with an rx RSS hash", InnerUdp4(9, 10), RTE_MBUF_F_RX_RSS_HASH};
  cases.push_back(rss);
  cases.push_back({"ipv4 with its L4 checksum left to complete", InnerUdp4(11, 12, 64),
                   RTE_MBUF_F_RX_L4_CKSUM_NONE});
  return cases;
}

struct Pushed {
  std::vector<uint8_t> bytes;
  uint64_t ol_flags;
  uint64_t tx_offload;
  uint32_t pkt_len;
};

Pushed Push(PushVariant v, const Tunnel& t, const InnerCase& c, uint32_t seq) {
  rte_mbuf* m = MbufFrom(c.bytes);
  m->ol_flags = c.ol_flags;
  m->hash.rss = 0x9E3779B9;
  const uint8_t mac[6] = {0x02, 0, 0, 0, 0, 0x22};
  m = PushWith(v, t, m, seq, PackNextHop(mac));
  REQUIRE(m != nullptr);
  Pushed p{BytesOf(m), m->ol_flags, m->tx_offload, rte_pktmbuf_pkt_len(m)};
  rte_pktmbuf_free(m);
  return p;
}

TEST_CASE("every fixed push variant writes what the general push writes", "[encap][push]") {
  Fixture f;
  struct TunnelCase {
    const char* name;
    TunnelSpec spec;
    PushVariant want;
  };
  std::vector<TunnelCase> tunnels;
  tunnels.push_back({"vxlan", Spec(TunnelType::kVxlan), PushVariant::kUdpIpv4});
  TunnelSpec vxlan_tos = Spec(TunnelType::kVxlan);
  vxlan_tos.tos = 0xB8;
  vxlan_tos.ttl = 3;
  vxlan_tos.df = DfMode::kClear;
  vxlan_tos.dstport = 8472;
  tunnels.push_back({"vxlan tos ttl df port", vxlan_tos, PushVariant::kUdpIpv4});
  tunnels.push_back({"geneve", Spec(TunnelType::kGeneve), PushVariant::kUdpIpv4});
  for (int n : {1, 2, 5, 12}) {
    TunnelSpec g = Spec(TunnelType::kGeneve);
    for (int i = 0; i < n; ++i) {
      g.options.push_back({0x0102, static_cast<uint8_t>(i), {1, 2, 3, static_cast<uint8_t>(i)}});
    }
    tunnels.push_back({"geneve options", g, PushVariant::kUdpOptionsIpv4});
  }
  tunnels.push_back({"gretap key", Spec(TunnelType::kGretap), PushVariant::kGretapIpv4});
  TunnelSpec seq = Spec(TunnelType::kGretap);
  seq.seq = true;
  tunnels.push_back({"gretap key seq", seq, PushVariant::kGretapSequenceIpv4});
  for (TunnelType type : {TunnelType::kVxlan, TunnelType::kGeneve}) {
    TunnelSpec v6 = Spec(type);
    v6.local = *IpAddress::Parse("2001:db8::1");
    v6.remote = *IpAddress::Parse("2001:db8::2");
    v6.tos = 0x20;
    tunnels.push_back({"udp over ipv6", v6, PushVariant::kUdpIpv6});
    // IPv6 has no DF bit: inheriting it is no per-packet work.
    v6.df = DfMode::kInherit;
    tunnels.push_back({"udp over ipv6, df inherit", v6, PushVariant::kUdpIpv6});
  }
  auto over_ipv6 = [](TunnelSpec s) {
    s.local = *IpAddress::Parse("2001:db8::1");
    s.remote = *IpAddress::Parse("2001:db8::2");
    return s;
  };
  for (int n : {1, 3}) {
    TunnelSpec g = over_ipv6(Spec(TunnelType::kGeneve));
    for (int i = 0; i < n; ++i) g.options.push_back({0x0102, 1, {1, 2, 3, 4}});
    tunnels.push_back({"geneve options over ipv6", g, PushVariant::kUdpOptionsIpv6});
  }
  tunnels.push_back(
      {"gretap key over ipv6", over_ipv6(Spec(TunnelType::kGretap)), PushVariant::kGretapIpv6});
  tunnels.push_back({"gretap key seq over ipv6", over_ipv6(seq), PushVariant::kGretapSequenceIpv6});
  TunnelSpec keyless = over_ipv6(Spec(TunnelType::kGretap));
  keyless.has_key = false;
  tunnels.push_back({"gretap over ipv6", keyless, PushVariant::kGretapIpv6});
  keyless.seq = true;
  tunnels.push_back({"gretap seq over ipv6", keyless, PushVariant::kGretapSequenceIpv6});

  const std::vector<InnerCase> inners = InnerCases();
  for (const TunnelCase& tc : tunnels) {
    const auto t = Build(tc.spec);
    INFO(tc.name << " (" << tc.spec.options.size() << " options)");
    REQUIRE(t->push_variant == tc.want);
    for (const InnerCase& c : inners) {
      INFO(c.name);
      const Pushed general = Push(PushVariant::kGeneral, *t, c, 0x01020304);
      const Pushed fixed = Push(t->push_variant, *t, c, 0x01020304);
      CHECK(fixed.bytes == general.bytes);
      CHECK(fixed.ol_flags == general.ol_flags);
      CHECK(fixed.tx_offload == general.tx_offload);
      CHECK(fixed.pkt_len == general.pkt_len);
    }
  }
}

TEST_CASE("tunnels with per-packet work take the general push", "[encap][push]") {
  std::vector<std::pair<const char*, TunnelSpec>> specs;
  TunnelSpec s;
  for (TunnelType type : {TunnelType::kVxlan, TunnelType::kGeneve, TunnelType::kGretap}) {
    s = Spec(type);
    s.ttl_inherit = true;
    specs.push_back({"ttl inherit", s});
    s = Spec(type);
    s.tos_inherit = true;
    specs.push_back({"tos inherit", s});
    s = Spec(type);
    s.df = DfMode::kInherit;
    specs.push_back({"df inherit", s});
    s = Spec(type);
    s.ttl_inherit = true;
    s.local = *IpAddress::Parse("2001:db8::1");
    s.remote = *IpAddress::Parse("2001:db8::2");
    specs.push_back({"ipv6 underlay, hop limit inherit", s});
  }
  s = Spec(TunnelType::kGretap);
  s.local = *IpAddress::Parse("2001:db8::1");
  s.remote = *IpAddress::Parse("2001:db8::2");
  s.csum = true;
  specs.push_back({"gre checksum over ipv6", s});
  s = Spec(TunnelType::kVxlan);
  s.udp_csum = true;
  specs.push_back({"udp checksum", s});
  s = Spec(TunnelType::kGretap);
  s.csum = true;
  specs.push_back({"gre checksum", s});
  s = Spec(TunnelType::kGretap);
  s.has_key = false;
  specs.push_back({"gretap without a key", s});
  s = Spec(TunnelType::kGretap);
  s.has_key = false;
  s.seq = true;
  specs.push_back({"gretap sequence without a key", s});
  s = Spec(TunnelType::kGre);
  specs.push_back({"gre (L3)", s});
  for (const auto& [name, spec] : specs) {
    INFO(name << " " << TunnelTypeName(spec.type));
    CHECK(Build(spec)->push_variant == PushVariant::kGeneral);
  }
  // An uplink's checksum offload the tunnel uses: the variants write no offload flags.
  // (UDP checksum offload alone is unused when the tunnel sends no UDP checksum.)
  for (int mode = 0; mode < 3; ++mode) {
    Underlay u;
    u.tx_ip_checksum_offload = mode == 0 || mode == 2;
    u.tx_udp_checksum_offload = mode >= 1;
    u.tx_outer_offload = mode == 2;
    INFO("offload mode " << mode);
    const auto t = Build(Spec(TunnelType::kVxlan), u);
    CHECK(t->push_variant == (t->tx_ol_flags != 0 ? PushVariant::kGeneral : PushVariant::kUdpIpv4));
    CHECK((mode == 1) == (t->tx_ol_flags == 0));
  }
}

// One burst through the push stage, frames of tunnels of different variants and drops
// interleaved: every frame leaves in order, each with its own tunnel's header, and each
// tunnel counts its own.
TEST_CASE("the push stage keeps order across variants and drops", "[encap][push]") {
  Fixture f;
  TunnelSpec fixed = f.Vxlan("fixed", false, 1);
  TunnelSpec general = f.Vxlan("general", false, 2);
  general.ttl_inherit = true;
  TunnelSpec seq = Spec(TunnelType::kGretap);
  seq.name = "seq";
  seq.seq = true;
  REQUIRE(f.writer->AddTunnel(fixed).ok());
  REQUIRE(f.writer->AddTunnel(general).ok());
  REQUIRE(f.writer->AddTunnel(seq).ok());
  const Tunnel* t[3];
  uint32_t id[3];
  const char* names[3] = {"fixed", "general", "seq"};
  for (int i = 0; i < 3; ++i) {
    id[i] = f.writer->tunnels().at(names[i]).id;
    REQUIRE(id[i] != kNoTunnel);
    t[i] = f.tables->tunnel(id[i]);
  }
  REQUIRE(t[0]->push_variant == PushVariant::kUdpIpv4);
  REQUIRE(t[1]->push_variant == PushVariant::kGeneral);
  REQUIRE(t[2]->push_variant == PushVariant::kGretapSequenceIpv4);

  // Tunnel index per frame; -1: dropped before the push.
  const int plan[] = {0, 0, 1, 2, 2, -1, 2, 0, 1, 1, -1, 0, 2};
  constexpr int kN = sizeof(plan) / sizeof(plan[0]);
  EncapPacket batch[kN];
  for (int i = 0; i < kN; ++i) {
    rte_mbuf* m = MbufFrom(InnerUdp4(static_cast<uint16_t>(1000 + i), 53, 18, 0, 9));
    const int k = plan[i];
    batch[i] = k < 0 ? EncapPacket{m, nullptr, kNoTunnel, 0, DropReason::kNoAttachment}
                     : EncapPacket{m, t[k], id[k], rte_pktmbuf_pkt_len(m), DropReason::kNone};
  }
  for (int round = 0; round < 2; ++round) {
    if (round == 1) {
      for (int i = 0; i < kN; ++i) {
        batch[i].m = MbufFrom(InnerUdp4(static_cast<uint16_t>(1000 + i), 53, 18, 0, 9));
      }
    }
    PushStage(f.ctx, 1, batch, kN);
    TxBuffer& tx = f.ctx.tx[0];
    int sent = 0;
    uint32_t next_seq = round * 4;  // tunnel "seq" has 4 frames per burst
    for (int i = 0; i < kN; ++i) {
      if (plan[i] < 0) continue;
      INFO("round " << round << " frame " << i);
      REQUIRE(sent < tx.count);
      const std::vector<uint8_t> out = BytesOf(tx.pkts[sent++]);
      // The inner frame's UDP source port says which frame this is.
      const size_t inner = plan[i] == 2 ? 14 + 20 + 12 : 14 + 20 + 8 + 8;
      CHECK(Get16(out, inner + 14 + 20) == 1000 + i);
      if (plan[i] == 2) {
        CHECK(out[23] == 47);
        const uint32_t s = (uint32_t{out[42]} << 24) | (out[43] << 16) | (out[44] << 8) | out[45];
        CHECK(s == next_seq++);
      } else {
        CHECK(out[23] == 17);
        CHECK(out[14 + 20 + 8 + 6] == plan[i] + 1);  // the VNI's low byte
        CHECK(out[22] == (plan[i] == 1 ? 9 : 64));   // ttl: inherited, or the tunnel's
      }
    }
    CHECK(sent == tx.count);
    rte_pktmbuf_free_bulk(tx.pkts, tx.count);
    tx.count = 0;
    f.FreeDrops();
  }
  for (int k = 0; k < 3; ++k) {
    int want = 0;
    for (int p : plan) want += p == k;
    CHECK(f.ctx.counters->tunnels[id[k]].encap_packets.Get() == 2u * want);
  }
  CHECK(f.PortDrops(1, DropReason::kNoAttachment) == 4);
}

}  // namespace
}  // namespace tundra::testing
