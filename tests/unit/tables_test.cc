// Table add/del/lookup, the writer's validation (a refused change changes nothing), and
// RCU reclamation against a scripted reader (after DPDK's test_hash_rcu_qsbr).
#include <rte_rcu_qsbr.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "control/table_writer.h"
#include "test_util.h"

namespace tundra::testing {
namespace {

uint32_t Lookup(const Tables& t, const DecapKey& key) {
  const DecapKey* keys[1] = {&key};
  uint32_t id = 0;
  t.LookupDecap(keys, 1, &id);
  return id;
}

TEST_CASE("tunnel add/del/lookup", "[tables]") {
  Fixture f;
  const TunnelSpec s = f.Vxlan("t1", false, 9);
  REQUIRE(f.writer->AddTunnel(s).ok());
  const uint32_t id = f.writer->tunnels().at("t1").id;
  CHECK(Lookup(*f.tables, MakeDecapKey(s)) == id);
  CHECK(f.tables->tunnel(id) != nullptr);
  CHECK(f.tables->udp_tunnel_type(4789) == static_cast<uint8_t>(TunnelType::kVxlan));
  REQUIRE(f.writer->DelTunnel("t1").ok());
  CHECK(Lookup(*f.tables, MakeDecapKey(s)) == kNoTunnel);
  CHECK(f.tables->tunnel(id) == nullptr);
  CHECK(f.tables->udp_tunnel_type(4789) == 0);
}

TEST_CASE("the writer refuses bad changes and leaves the tables as they were", "[tables]") {
  Fixture f;
  REQUIRE(f.writer->AddTunnel(f.Vxlan("t1", false, 9)).ok());
  const size_t before = f.writer->tunnels().size();
  SECTION("duplicate name") { CHECK(!f.writer->AddTunnel(f.Vxlan("t1", false, 10)).ok()); }
  SECTION("duplicate VNI on the same local address") {
    CHECK(!f.writer->AddTunnel(f.Vxlan("t2", false, 9)).ok());
  }
  SECTION("local address not on an uplink") {
    TunnelSpec s = f.Vxlan("t2", false, 11);
    s.local = *IpAddress::Parse("198.51.100.1");
    CHECK(!f.writer->AddTunnel(s).ok());
  }
  SECTION("mixed address families") {
    TunnelSpec s = f.Vxlan("t2", false, 11);
    s.remote = *IpAddress::Parse("2001:db8::2");
    CHECK(!f.writer->AddTunnel(s).ok());
  }
  SECTION("xconnect to an uplink, unknown tunnel, or twice") {
    CHECK(!f.writer->AddXconnect(0, 0, "t1").ok());
    CHECK(!f.writer->AddXconnect(1, 0, "nope").ok());
    REQUIRE(f.writer->AddXconnect(1, 0, "t1").ok());
    CHECK(!f.writer->AddXconnect(1, 0, "t1").ok());
    CHECK(!f.writer->AddXconnect(1, 5, "t1").ok());
    CHECK(f.tables->attachment(1, 5) == kNoTunnel);
  }
  SECTION("an uplink carrying a tunnel keeps its role") {
    CHECK(!f.writer->SetPortRole(0, PortRole::kAccess).ok());
  }
  CHECK(f.writer->tunnels().size() == before);
}

TEST_CASE("a tunnel an xconnect uses is not deleted; the error names the xconnect", "[tables]") {
  Fixture f;
  const TunnelSpec s = f.Vxlan("t1", false, 9);
  REQUIRE(f.writer->AddTunnel(s).ok());
  REQUIRE(f.writer->AddXconnect(1, 10, "t1").ok());
  const uint32_t id = f.writer->tunnels().at("t1").id;

  const absl::Status refused = f.writer->DelTunnel("t1");
  CHECK(refused.code() == absl::StatusCode::kFailedPrecondition);
  CHECK(refused.message() == "tunnel 't1' is in use by xconnect 1 vlan 10; delete it first");
  // Nothing changed: the tunnel, its decap key and the attachment are all in place.
  REQUIRE(f.writer->tunnels().contains("t1"));
  CHECK(f.writer->XconnectAt(1, 10) == &f.writer->tunnels().at("t1"));
  CHECK(f.tables->attachment(1, 10) == id);
  CHECK(Lookup(*f.tables, MakeDecapKey(s)) == id);
  REQUIRE(f.tables->tunnel(id) != nullptr);
  CHECK(f.tables->tunnel(id)->attachment.valid);

  REQUIRE(f.writer->DelXconnect(1, 10).ok());
  CHECK(f.writer->DelTunnel("t1").ok());
  CHECK_FALSE(f.writer->tunnels().contains("t1"));
  CHECK(Lookup(*f.tables, MakeDecapKey(s)) == kNoTunnel);
}

TEST_CASE("a tunnel routes lead into is not deleted; the error names every user", "[tables]") {
  Fixture f;
  TunnelSpec gre = f.Vxlan("core", false, 0);
  gre.type = TunnelType::kGre;
  REQUIRE(f.writer->AddTunnel(gre).ok());
  auto route = [](absl::Status s) { return s.ok(); };
  REQUIRE(route(f.writer->AddRoute(*IpPrefix::Parse("10.2.0.0/16"), "core")));
  REQUIRE(route(f.writer->AddRoute(*IpPrefix::Parse("10.1.0.0/16"), "core")));
  REQUIRE(f.writer->AddXconnect(1, 0, "core").ok());

  CHECK(f.writer->DelTunnel("core").message() ==
        "tunnel 'core' is in use by xconnect 1, route 10.1.0.0/16 and route 10.2.0.0/16; "
        "delete those first");
  CHECK(f.writer->routes().size() == 2);
  REQUIRE(f.writer->DelXconnect(1, 0).ok());
  REQUIRE(route(f.writer->DelRoute(*IpPrefix::Parse("10.1.0.0/16"))));
  CHECK(f.writer->DelTunnel("core").message() ==
        "tunnel 'core' is in use by route 10.2.0.0/16; delete it first");
  REQUIRE(route(f.writer->DelRoute(*IpPrefix::Parse("10.2.0.0/16"))));
  CHECK(f.writer->DelTunnel("core").ok());
  CHECK(f.writer->tunnels().empty());
}

TEST_CASE("a replaced entry is freed only after the reader's grace period", "[tables][rcu]") {
  Fixture f(/*max_tunnels=*/1);
  rte_rcu_qsbr* q = f.tables->qsbr();
  // This thread plays a worker (RCU thread 0) that has not reported quiescence yet.
  REQUIRE(rte_rcu_qsbr_thread_register(q, 0) == 0);
  rte_rcu_qsbr_thread_online(q, 0);
  REQUIRE(f.writer->AddTunnel(f.Vxlan("t1", false, 1)).ok());
  const Tunnel* seen = f.tables->tunnel(1);  // the "reader" holds this pointer
  REQUIRE(seen != nullptr);
  REQUIRE(f.writer->DelTunnel("t1").ok());
  f.tables->Reclaim();
  // The only id is still held back: the reader may use the old entry.
  CHECK(f.writer->AddTunnel(f.Vxlan("t2", false, 2)).code() ==
        absl::StatusCode::kResourceExhausted);
  CHECK(seen->id == 1);  // still readable (ASan would flag a use-after-free)
  rte_rcu_qsbr_quiescent(q, 0);
  f.tables->Reclaim();
  CHECK(f.writer->AddTunnel(f.Vxlan("t2", false, 2)).ok());
  rte_rcu_qsbr_thread_offline(q, 0);
  rte_rcu_qsbr_thread_unregister(q, 0);
}

TEST_CASE("a reader thread and the writer run concurrently", "[tables][rcu]") {
  Fixture f(/*max_tunnels=*/8);
  rte_rcu_qsbr* q = f.tables->qsbr();
  const TunnelSpec s = f.Vxlan("t", false, 3);
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> hits{0}, loops{0};
  const DecapKey key = MakeDecapKey(s);
  std::thread reader = StartRcuReader(q, 1, stop, [&] {
    const uint32_t id = Lookup(*f.tables, key);
    if (id != kNoTunnel) {
      if (const Tunnel* t = f.tables->tunnel(id)) {
        // Every entry a reader can reach is complete.
        if (t->hdr_len == 50 && t->id == id) hits.fetch_add(1);
      }
    }
    loops.fetch_add(1);
  });
  for (int i = 0; i < 2000; ++i) {
    // Ids come back one grace period after a delete: wait for the reader, boundedly.
    absl::Status added = f.writer->AddTunnel(s);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (added.code() == absl::StatusCode::kResourceExhausted &&
           std::chrono::steady_clock::now() < deadline) {
      f.tables->Reclaim();
      added = f.writer->AddTunnel(s);
    }
    REQUIRE(added.ok());
    REQUIRE(f.writer->AddXconnect(1, 0, "t").ok());
    REQUIRE(f.writer->DelXconnect(1, 0).ok());
    REQUIRE(f.writer->DelTunnel("t").ok());
    f.tables->Reclaim();
  }
  stop.store(true);
  reader.join();
  CHECK(loops.load() > 0);
  f.tables->ReclaimAll();
  CHECK(f.tables->tunnels_in_use() == 0);
}

}  // namespace
}  // namespace tundra::testing
