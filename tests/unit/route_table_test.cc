// Routes change in place (Tables rule 7): one rte_lpm under the LPM library's RCU, two
// rte_lpm6 copies that take every change one grace period apart. Checked against a
// brute-force longest-prefix model, with the two IPv6 copies compared to each other,
// the refusals of a full table, and a reader thread that looks up while routes change.
#include <pthread.h>
#include <rte_lpm.h>
#include <rte_lpm6.h>
#include <rte_rcu_qsbr.h>
#include <sched.h>

#include <atomic>
#include <chrono>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "control/table_writer.h"
#include "test_util.h"

namespace tundra::testing {
namespace {

// The tunnel id a worker's lookup finds for `addr` in `view`, or kNoTunnel.
uint32_t LookupIn(const RouteTable* view, const IpAddress& addr) {
  if (view == nullptr) return kNoTunnel;
  if (addr.is_v4()) {
    uint32_t a;
    std::memcpy(&a, addr.bytes.data(), 4);
    uint32_t hop = 0;
    return rte_lpm_lookup(view->v4, rte_be_to_cpu_32(a), &hop) == 0 ? hop : kNoTunnel;
  }
  uint32_t hop = 0;
  return rte_lpm6_lookup(view->v6, addr.bytes.data(), &hop) == 0 ? hop : kNoTunnel;
}

uint32_t Lookup(const Tables& t, const std::string& addr) {
  return LookupIn(t.routes(), *IpAddress::Parse(addr));
}

// Both IPv6 copies answer `addr` alike; returns that answer.
uint32_t LookupBothV6(const Tables& t, const IpAddress& addr) {
  const uint32_t a = LookupIn(t.route_copy(0), addr);
  const uint32_t b = LookupIn(t.route_copy(1), addr);
  CHECK(a == b);
  return a;
}

IpPrefix Prefix(const std::string& s) { return *IpPrefix::Parse(s); }

// Routed-access fixture: gre tunnels g1..gN.
struct RouteFixture : Fixture {
  explicit RouteFixture(uint32_t max_routes = 4096, int tunnels = 3)
      : Fixture(/*max_tunnels=*/64, max_routes) {
    for (int i = 1; i <= tunnels; ++i) {
      TunnelSpec s = Vxlan("g" + std::to_string(i), false, 0);
      s.type = TunnelType::kGre;
      s.has_key = true;
      s.key = static_cast<uint32_t>(i);
      REQUIRE(writer->AddTunnel(s).ok());
    }
  }
  uint32_t Id(int i) const { return writer->tunnels().at("g" + std::to_string(i)).id; }
};

TEST_CASE("routes are added, replaced and deleted in place", "[route]") {
  RouteFixture f;
  CHECK(f.tables->routes() == nullptr);  // nothing allocated before the first route
  REQUIRE(f.writer->AddRoute(Prefix("10.2.0.0/16"), "g1").ok());
  REQUIRE(f.writer->AddRoute(Prefix("fd00:2::/32"), "g1").ok());
  const RouteTable* view = f.tables->routes();
  REQUIRE(view != nullptr);
  rte_lpm* const lpm4 = view->v4;
  CHECK(Lookup(*f.tables, "10.2.3.4") == f.Id(1));
  CHECK(Lookup(*f.tables, "fd00:2:1::9") == f.Id(1));
  CHECK(Lookup(*f.tables, "10.3.0.1") == kNoTunnel);

  SECTION("add refuses an existing prefix; replace moves it in one step") {
    const absl::Status again = f.writer->AddRoute(Prefix("10.2.7.7/16"), "g2");
    CHECK(again.code() == absl::StatusCode::kAlreadyExists);
    CHECK(Lookup(*f.tables, "10.2.3.4") == f.Id(1));
    REQUIRE(f.writer->AddRoute(Prefix("10.2.0.0/16"), "g2", /*replace=*/true).ok());
    REQUIRE(f.writer->AddRoute(Prefix("fd00:2::/32"), "g2", /*replace=*/true).ok());
    CHECK(Lookup(*f.tables, "10.2.3.4") == f.Id(2));
    CHECK(LookupBothV6(*f.tables, *IpAddress::Parse("fd00:2:1::9")) == f.Id(2));
    CHECK(f.writer->routes().at("10.2.0.0/16").second == "g2");
    CHECK(f.writer->routes().size() == 2);
    // Replacing with the tunnel it already has is no change, and no error.
    CHECK(f.writer->AddRoute(Prefix("10.2.0.0/16"), "g2", true).ok());
    CHECK(f.writer->AddRoute(Prefix("fd00:2::/32"), "g2", true).ok());
    // A replace of a missing prefix adds it.
    REQUIRE(f.writer->AddRoute(Prefix("10.9.0.0/16"), "g3", true).ok());
    CHECK(Lookup(*f.tables, "10.9.1.1") == f.Id(3));
  }
  SECTION("delete removes exactly the route") {
    REQUIRE(f.writer->DelRoute(Prefix("10.2.0.0/16")).ok());
    REQUIRE(f.writer->DelRoute(Prefix("fd00:2::/32")).ok());
    CHECK(Lookup(*f.tables, "10.2.3.4") == kNoTunnel);
    CHECK(LookupBothV6(*f.tables, *IpAddress::Parse("fd00:2:1::9")) == kNoTunnel);
    CHECK(f.writer->DelRoute(Prefix("10.2.0.0/16")).code() == absl::StatusCode::kNotFound);
    CHECK(f.writer->DelRoute(Prefix("fd00:2::/32")).code() == absl::StatusCode::kNotFound);
    CHECK(f.writer->routes().empty());
  }
  // The IPv4 table is never rebuilt: every view keeps the one rte_lpm.
  CHECK(f.tables->routes()->v4 == lpm4);
  CHECK(f.tables->route_copy(0)->v4 == lpm4);
  CHECK(f.tables->route_copy(1)->v4 == lpm4);
  CHECK(f.tables->route_copy(0)->v6 != f.tables->route_copy(1)->v6);
}

TEST_CASE("a deleted more-specific route falls back to the covering one", "[route]") {
  RouteFixture f;
  for (const auto& [p, t] :
       std::vector<std::pair<std::string, std::string>>{{"10.2.0.0/16", "g1"},
                                                        {"10.2.5.0/24", "g2"},
                                                        {"10.2.5.128/25", "g3"},
                                                        {"10.2.5.130/32", "g1"},
                                                        {"fd00:2::/32", "g1"},
                                                        {"fd00:2:5::/48", "g2"},
                                                        {"fd00:2:5:1::/64", "g3"},
                                                        {"fd00:2:5:1::7/128", "g1"}}) {
    REQUIRE(f.writer->AddRoute(Prefix(p), t).ok());
  }
  CHECK(Lookup(*f.tables, "10.2.5.130") == f.Id(1));
  CHECK(Lookup(*f.tables, "10.2.5.131") == f.Id(3));
  CHECK(Lookup(*f.tables, "10.2.5.1") == f.Id(2));
  CHECK(LookupBothV6(*f.tables, *IpAddress::Parse("fd00:2:5:1::7")) == f.Id(1));
  CHECK(LookupBothV6(*f.tables, *IpAddress::Parse("fd00:2:5:1::8")) == f.Id(3));

  REQUIRE(f.writer->DelRoute(Prefix("10.2.5.128/25")).ok());
  CHECK(Lookup(*f.tables, "10.2.5.131") == f.Id(2));  // the /24 again
  CHECK(Lookup(*f.tables, "10.2.5.130") == f.Id(1));  // the /32 stays
  REQUIRE(f.writer->DelRoute(Prefix("10.2.5.0/24")).ok());
  CHECK(Lookup(*f.tables, "10.2.5.131") == f.Id(1));  // the /16
  CHECK(Lookup(*f.tables, "10.2.5.1") == f.Id(1));
  REQUIRE(f.writer->DelRoute(Prefix("10.2.5.130/32")).ok());
  REQUIRE(f.writer->DelRoute(Prefix("10.2.0.0/16")).ok());
  CHECK(Lookup(*f.tables, "10.2.5.130") == kNoTunnel);

  REQUIRE(f.writer->DelRoute(Prefix("fd00:2:5:1::/64")).ok());
  CHECK(LookupBothV6(*f.tables, *IpAddress::Parse("fd00:2:5:1::8")) == f.Id(2));
  CHECK(LookupBothV6(*f.tables, *IpAddress::Parse("fd00:2:5:1::7")) == f.Id(1));
  REQUIRE(f.writer->DelRoute(Prefix("fd00:2:5::/48")).ok());
  CHECK(LookupBothV6(*f.tables, *IpAddress::Parse("fd00:2:5:1::8")) == f.Id(1));
  REQUIRE(f.writer->DelRoute(Prefix("fd00:2::/32")).ok());
  CHECK(LookupBothV6(*f.tables, *IpAddress::Parse("fd00:2:5:1::8")) == kNoTunnel);
  CHECK(LookupBothV6(*f.tables, *IpAddress::Parse("fd00:2:5:1::7")) == f.Id(1));
}

// The longest route of `model` that covers `a`: the oracle.
uint32_t ModelLookup(const std::map<std::string, std::pair<IpPrefix, uint32_t>>& model,
                     const IpAddress& a) {
  int best_len = -1;
  uint32_t best = kNoTunnel;
  for (const auto& [text, r] : model) {
    const IpPrefix& p = r.first;
    if (p.addr.family != a.family || static_cast<int>(p.len) <= best_len) continue;
    bool match = true;
    for (int bit = 0; bit < p.len && match; ++bit) {
      const uint8_t mask = static_cast<uint8_t>(0x80 >> (bit % 8));
      match = (p.addr.bytes[bit / 8] & mask) == (a.bytes[bit / 8] & mask);
    }
    if (match) {
      best_len = p.len;
      best = r.second;
    }
  }
  return best;
}

TEST_CASE("random adds, replaces and deletes match a longest-prefix model", "[route]") {
  RouteFixture f(/*max_routes=*/4096, /*tunnels=*/5);
  std::mt19937 rng(20251);
  // Addresses from a small space, so prefixes nest and collide often.
  auto random_addr = [&](bool v4) {
    IpAddress a = *IpAddress::Parse(v4 ? "10.0.0.0" : "fd00::");
    if (v4) {
      a.bytes[1] = static_cast<uint8_t>(rng() % 4);
      a.bytes[2] = static_cast<uint8_t>(rng() % 4);
      a.bytes[3] = static_cast<uint8_t>(rng() % 256);
    } else {
      for (int b : {3, 5, 7, 15}) a.bytes[b] = static_cast<uint8_t>(rng() % 4);
    }
    return a;
  };
  auto prefix_of = [](IpAddress a, int len) {
    IpPrefix p;
    p.addr = a;
    p.len = static_cast<uint8_t>(len);
    for (int b = 0; b < 16; ++b) {
      const int keep = std::clamp(len - b * 8, 0, 8);
      p.addr.bytes[b] &= static_cast<uint8_t>(0xFF00 >> keep);
    }
    return p;
  };
  std::map<std::string, std::pair<IpPrefix, uint32_t>> model;
  for (int op = 0; op < 3000; ++op) {
    const bool v4 = rng() % 2 == 0;
    const int len = v4 ? 8 + static_cast<int>(rng() % 25) : 16 + static_cast<int>(rng() % 113);
    const IpPrefix p = prefix_of(random_addr(v4), len);
    const std::string text = p.ToString();
    if (model.contains(text) && rng() % 2 == 0) {
      REQUIRE(f.writer->DelRoute(p).ok());
      model.erase(text);
    } else {
      const int t = 1 + static_cast<int>(rng() % 5);
      REQUIRE(f.writer->AddRoute(p, "g" + std::to_string(t), /*replace=*/true).ok());
      model[text] = {p, f.Id(t)};
    }
    if (op % 100 == 99) {
      for (int probe = 0; probe < 200; ++probe) {
        const IpAddress a = random_addr(probe % 2 == 0);
        const uint32_t want = ModelLookup(model, a);
        if (a.is_v4()) {
          REQUIRE(LookupIn(f.tables->routes(), a) == want);
        } else {
          REQUIRE(LookupBothV6(*f.tables, a) == want);
        }
      }
    }
  }
  CHECK(f.writer->routes().size() == model.size());
}

TEST_CASE("a full route table refuses an add and changes nothing", "[route]") {
  SECTION("the rules: max_routes per family") {
    RouteFixture f(/*max_routes=*/16);
    for (int i = 0; i < 16; ++i) {
      REQUIRE(f.writer->AddRoute(Prefix("10.0." + std::to_string(i) + ".0/24"), "g1").ok());
      REQUIRE(f.writer->AddRoute(Prefix("fd00:" + std::to_string(i) + "::/32"), "g1").ok());
    }
    const absl::Status v4 = f.writer->AddRoute(Prefix("10.0.99.0/24"), "g2");
    const absl::Status v6 = f.writer->AddRoute(Prefix("fd00:99::/32"), "g2");
    CHECK(v4.code() == absl::StatusCode::kResourceExhausted);
    CHECK(v6.code() == absl::StatusCode::kResourceExhausted);
    CHECK(v4.message() ==
          "route table is full: 16 IPv4 routes or their tbl8 groups are in use "
          "(raise --max_routes)");
    CHECK(f.writer->routes().size() == 32);
    CHECK_FALSE(f.writer->routes().contains("10.0.99.0/24"));
    CHECK(Lookup(*f.tables, "10.0.99.1") == kNoTunnel);
    uint32_t hop = 0;
    for (int c = 0; c < 2; ++c) {
      const uint8_t* ip = Prefix("fd00:99::/32").addr.bytes.data();
      CHECK(rte_lpm6_is_rule_present(f.tables->route_copy(c)->v6, ip, 32, &hop) == 0);
      CHECK(LookupIn(f.tables->route_copy(c), *IpAddress::Parse("fd00:99::1")) == kNoTunnel);
    }
    // A full table still replaces: no new rule is needed.
    REQUIRE(f.writer->AddRoute(Prefix("10.0.3.0/24"), "g2", true).ok());
    REQUIRE(f.writer->AddRoute(Prefix("fd00:3::/32"), "g2", true).ok());
    CHECK(Lookup(*f.tables, "10.0.3.1") == f.Id(2));
    CHECK(LookupBothV6(*f.tables, *IpAddress::Parse("fd00:3::1")) == f.Id(2));
    // And a delete makes room for one more.
    REQUIRE(f.writer->DelRoute(Prefix("10.0.3.0/24")).ok());
    REQUIRE(f.writer->DelRoute(Prefix("fd00:3::/32")).ok());
    CHECK(f.writer->AddRoute(Prefix("10.0.99.0/24"), "g2").ok());
    CHECK(f.writer->AddRoute(Prefix("fd00:99::/32"), "g2").ok());
  }
  SECTION("the IPv6 tbl8 groups") {
    RouteFixture f(/*max_routes=*/8192);
    // Each /128 under its own /40 needs 11 new groups: 4096 of them run out after 372.
    std::vector<IpAddress> added;
    absl::Status s;
    for (int i = 0; i < 1000; ++i) {
      IpAddress a = *IpAddress::Parse("2001:db8::1");
      a.bytes[4] = static_cast<uint8_t>(i >> 8);
      a.bytes[5] = static_cast<uint8_t>(i);
      IpPrefix p;
      p.addr = a;
      p.len = 128;
      s = f.writer->AddRoute(p, "g1");
      if (!s.ok()) {
        CHECK(LookupBothV6(*f.tables, a) == kNoTunnel);
        uint32_t hop = 0;
        for (int c = 0; c < 2; ++c) {
          CHECK(rte_lpm6_is_rule_present(f.tables->route_copy(c)->v6, a.bytes.data(), 128, &hop) ==
                0);
        }
        break;
      }
      added.push_back(a);
    }
    CHECK(s.code() == absl::StatusCode::kResourceExhausted);
    CHECK(added.size() > 300);
    CHECK(f.writer->routes().size() == added.size());
    for (const IpAddress& a : added) CHECK(LookupBothV6(*f.tables, a) == f.Id(1));
  }
}

TEST_CASE("an IPv4 add waits out the grace period of tbl8 groups a delete freed", "[route][rcu]") {
  // max_routes 1024 → 256 tbl8 groups, one per /24 that holds a /32.
  RouteFixture f(/*max_routes=*/1024);
  auto host = [](int i) {
    return Prefix("10." + std::to_string(i / 256) + "." + std::to_string(i % 256) + ".1/32");
  };
  int n = 0;
  while (f.writer->AddRoute(host(n), "g1").ok()) ++n;
  REQUIRE(n == 256);
  rte_rcu_qsbr* q = f.tables->qsbr();
  // This thread's reader (RCU thread 0) is online and has not passed a quiescent state:
  // the group the delete frees stays in the LPM's defer queue.
  REQUIRE(rte_rcu_qsbr_thread_register(q, 0) == 0);
  rte_rcu_qsbr_thread_online(q, 0);
  REQUIRE(f.writer->DelRoute(host(0)).ok());
  std::atomic<bool> reported{false};
  std::thread reader([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    reported.store(true);
    rte_rcu_qsbr_quiescent(q, 0);
  });
  // Succeeds only by waiting for the reader: the group comes back after its report.
  CHECK(f.writer->AddRoute(host(n), "g2").ok());
  CHECK(reported.load());
  reader.join();
  rte_rcu_qsbr_thread_offline(q, 0);
  rte_rcu_qsbr_thread_unregister(q, 0);
  CHECK(Lookup(*f.tables, "10.1.0.1") == f.Id(2));
  CHECK(Lookup(*f.tables, "10.0.0.1") == kNoTunnel);
}

TEST_CASE("a reader sees every untouched route while others change", "[route][rcu]") {
  RouteFixture f;
  rte_rcu_qsbr* q = f.tables->qsbr();
  // Stable routes, and one prefix of each family that flips between g2 and g3.
  REQUIRE(f.writer->AddRoute(Prefix("10.1.0.0/16"), "g1").ok());
  REQUIRE(f.writer->AddRoute(Prefix("10.1.7.0/24"), "g1").ok());
  REQUIRE(f.writer->AddRoute(Prefix("fd00:1::/32"), "g1").ok());
  REQUIRE(f.writer->AddRoute(Prefix("fd00:1:7::/48"), "g1").ok());
  REQUIRE(f.writer->AddRoute(Prefix("10.9.0.0/16"), "g2").ok());
  REQUIRE(f.writer->AddRoute(Prefix("fd00:9::/32"), "g2").ok());
  const IpAddress stable[] = {*IpAddress::Parse("10.1.7.9"), *IpAddress::Parse("10.1.8.9"),
                              *IpAddress::Parse("fd00:1:7::9"), *IpAddress::Parse("fd00:1:8::9")};
  const IpAddress moving[] = {*IpAddress::Parse("10.9.5.5"), *IpAddress::Parse("fd00:9::5")};
  const uint32_t g1 = f.Id(1), g2 = f.Id(2), g3 = f.Id(3);
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> loops{0}, bad{0};
  std::thread reader = StartRcuReader(q, 1, stop, [&] {
    const RouteTable* view = f.tables->routes();
    for (const IpAddress& a : stable) bad += LookupIn(view, a) != g1;
    // A moving route is always there, with its old tunnel or its new one.
    for (const IpAddress& a : moving) {
      const uint32_t id = LookupIn(view, a);
      bad += id != g2 && id != g3;
    }
    loops.fetch_add(1);
  });
  for (int i = 0; i < 500; ++i) {
    const std::string t = i % 2 == 0 ? "g3" : "g2";
    REQUIRE(f.writer->AddRoute(Prefix("10.9.0.0/16"), t, true).ok());
    REQUIRE(f.writer->AddRoute(Prefix("fd00:9::/32"), t, true).ok());
    // Routes next to the stable ones come and go (tbl8 groups freed and reused).
    REQUIRE(f.writer->AddRoute(Prefix("10.1.7.128/25"), "g2").ok());
    REQUIRE(f.writer->AddRoute(Prefix("fd00:1:7:1::/64"), "g2").ok());
    REQUIRE(f.writer->DelRoute(Prefix("10.1.7.128/25")).ok());
    REQUIRE(f.writer->DelRoute(Prefix("fd00:1:7:1::/64")).ok());
  }
  stop.store(true);
  reader.join();
  CHECK(loops.load() > 0);
  CHECK(bad.load() == 0);
}

}  // namespace
}  // namespace tundra::testing
