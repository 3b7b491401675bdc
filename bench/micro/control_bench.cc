// What the control thread absorbs, without ports or workers (scripts/bench.sh reports it
// beside the segment cells):
//
//   learn    new MACs per second: learn events for distinct MACs of one segment go
//            through an rte_ring, as workers hand them over, and into the FDB
//            (TableWriter::LearnFdb, as App::PollFdb applies them): the rate a MAC flood
//            is learned at, once the workers' own per-burst dedupe and rate limit let it
//            through.
//   repoint  next-hop re-point for N tunnels behind one gateway (`route add ... via`):
//            the gateway's new MAC (a gratuitous ARP: one next-hop word written) and a
//            route moved to another gateway (`route replace`: one path word per tunnel),
//            each checked afterwards on every tunnel's path as a worker reads it.
//
//   control_bench [--macs=1000000] [--tunnels=100000] [--only=learn|repoint]
// One JSON line per measurement.
#include <gflags/gflags.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "control/eal_runtime_dir.h"
#include "control/table_writer.h"

DEFINE_uint32(macs, 1000000, "Distinct MACs learned in the learn case");
DEFINE_uint32(tunnels, 100000, "Tunnels behind one gateway in the repoint case");
DEFINE_string(only, "", "Run only this case: learn or repoint");

namespace tundra {
namespace {

void Require(const absl::Status& s, const char* what) {
  if (!s.ok()) {
    std::fprintf(stderr, "%s: %s\n", what, std::string(s.message()).c_str());
    std::exit(1);
  }
}

struct Setup {
  std::unique_ptr<Tables> tables;
  std::unique_ptr<TableWriter> writer;
};

Setup Make(uint32_t max_tunnels, uint32_t max_fdb) {
  Setup s;
  Tables::Config tc;
  tc.max_tunnels = max_tunnels;
  tc.max_fdb_entries = max_fdb;
  tc.max_workers = 1;
  auto tables = Tables::Create(tc);
  Require(tables.status(), "tables");
  s.tables = std::move(*tables);
  s.writer = std::make_unique<TableWriter>(*s.tables, 2);
  TableWriter& w = *s.writer;
  Require(w.SetPortRole(0, PortRole::kUplink), "uplink");
  Require(w.SetPortRole(1, PortRole::kAccess), "access");
  Require(w.SetPortMac(0, *MacAddress::Parse("02:00:00:00:00:01")), "mac");
  Require(w.SetPortAddress(0, *IpPrefix::Parse("192.0.2.1/24")), "address");
  return s;
}

double Seconds(uint64_t cycles) { return static_cast<double>(cycles) / rte_get_tsc_hz(); }

void Learn(uint32_t macs) {
  Setup s = Make(1024, macs + 1024);
  TableWriter& w = *s.writer;
  TunnelSpec spec;
  spec.name = "s";
  spec.type = TunnelType::kVxlan;
  spec.local = *IpAddress::Parse("192.0.2.1");
  spec.vni = 100;
  Require(w.AddSegment(spec), "segment");
  Require(w.AddSegmentMember("s", 1, 0), "member");
  Require(w.SetSegmentAgeing("s", 0), "ageing");
  const uint32_t segment = w.FindSegment("s")->id;
  rte_ring* ring = rte_ring_create_elem("bench_learn", sizeof(FdbLearnEvent), 4096, SOCKET_ID_ANY,
                                        RING_F_SC_DEQ);
  if (ring == nullptr) {
    std::fprintf(stderr, "ring: %s\n", rte_strerror(rte_errno));
    std::exit(1);
  }
  constexpr unsigned kBatch = 64;
  FdbLearnEvent batch[kBatch] = {};
  FdbLearnEvent got[kBatch];
  const uint64_t start = rte_get_tsc_cycles();
  for (uint32_t i = 0; i < macs; i += kBatch) {
    const unsigned n = std::min<uint32_t>(kBatch, macs - i);
    for (unsigned k = 0; k < n; ++k) {
      FdbLearnEvent& e = batch[k];
      const uint32_t m = i + k;
      e.segment = segment;
      e.kind = FdbLearnKind::kNew;
      e.place = LocalPlace(1, 0);
      const uint8_t mac[6] = {0x02,
                              0xBE,
                              static_cast<uint8_t>(m >> 24),
                              static_cast<uint8_t>(m >> 16),
                              static_cast<uint8_t>(m >> 8),
                              static_cast<uint8_t>(m)};
      std::copy(mac, mac + 6, e.mac);
    }
    rte_ring_mp_enqueue_burst_elem(ring, batch, sizeof(FdbLearnEvent), n, nullptr);
    const unsigned d =
        rte_ring_sc_dequeue_burst_elem(ring, got, sizeof(FdbLearnEvent), kBatch, nullptr);
    for (unsigned k = 0; k < d; ++k) w.LearnFdb(got[k], 0);
  }
  const uint64_t cycles = rte_get_tsc_cycles() - start;
  const uint32_t learned = w.FindSegment("s")->learned_macs;
  rte_ring_free(ring);
  if (learned != macs) {
    std::fprintf(stderr, "learned %u of %u MACs\n", learned, macs);
    std::exit(1);
  }
  std::printf("{\"case\":\"learn\",\"macs\":%u,\"seconds\":%.3f,\"macs_per_second\":%.0f}\n", macs,
              Seconds(cycles), macs / Seconds(cycles));
}

// Every measured tunnel's path as a worker reads it carries `mac`.
void CheckRepointed(const Setup& s, const MacAddress& mac, const char* what) {
  const uint64_t want = PackNextHop(mac.bytes.data());
  for (const auto& [name, rec] : s.writer->tunnels()) {
    if (name == "other") continue;  // keeps gw2 in use, behind it from the start
    const Tunnel* t = s.tables->tunnel(rec.id);
    if (t == nullptr || s.tables->PathNextHop(t->path) != want) {
      std::fprintf(stderr, "%s: tunnel %s not re-pointed\n", what, name.c_str());
      std::exit(1);
    }
  }
}

void Repoint(uint32_t tunnels) {
  Setup s = Make(tunnels + 1024, 1024);
  TableWriter& w = *s.writer;
  NextHops& nh = w.nexthops();
  const IpAddress gw1 = *IpAddress::Parse("192.0.2.254");
  const IpAddress gw2 = *IpAddress::Parse("192.0.2.253");
  Require(nh.AddRoute(*IpPrefix::Parse("10.0.0.0/8"), gw1), "route");
  // gw2 in use (and resolved) before the move: the move is what is timed.
  Require(nh.AddRoute(*IpPrefix::Parse("172.16.0.0/12"), gw2), "route 2");
  TunnelSpec spec;
  spec.type = TunnelType::kVxlan;
  spec.local = *IpAddress::Parse("192.0.2.1");
  for (uint32_t i = 0; i < tunnels; ++i) {
    spec.name = absl::StrCat("t", i);
    spec.remote = IpAddress::V4((10u << 24) | (i + 1));
    spec.vni = 100 + i;
    Require(w.AddTunnel(spec), "tunnel");
  }
  spec.name = "other";
  spec.remote = *IpAddress::Parse("172.16.0.1");
  spec.vni = 99;
  Require(w.AddTunnel(spec), "tunnel");
  const MacAddress m1 = *MacAddress::Parse("02:00:00:00:0e:01");
  const MacAddress m2 = *MacAddress::Parse("02:00:00:00:0e:02");
  const MacAddress m3 = *MacAddress::Parse("02:00:00:00:0e:03");
  nh.Learn(0, gw1, m1, true);
  nh.Learn(0, gw2, m3, true);
  CheckRepointed(s, m1, "resolve");

  uint64_t t0 = rte_get_tsc_cycles();
  nh.Learn(0, gw1, m2, false);  // a gratuitous ARP with a new MAC
  const uint64_t mac_cycles = rte_get_tsc_cycles() - t0;
  CheckRepointed(s, m2, "new MAC");
  t0 = rte_get_tsc_cycles();
  Require(nh.AddRoute(*IpPrefix::Parse("10.0.0.0/8"), gw2, true), "route replace");
  const uint64_t route_cycles = rte_get_tsc_cycles() - t0;
  CheckRepointed(s, m3, "route replace");
  std::printf("{\"case\":\"repoint-mac\",\"tunnels\":%u,\"us\":%.1f}\n", tunnels,
              Seconds(mac_cycles) * 1e6);
  std::printf("{\"case\":\"repoint-route\",\"tunnels\":%u,\"us\":%.1f}\n", tunnels,
              Seconds(route_cycles) * 1e6);
}

}  // namespace
}  // namespace tundra

int main(int argc, char** argv) {
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  const std::string prefix = "--file-prefix=tundra_cbench_" + std::to_string(getpid());
  const char* eal[] = {"control_bench", "-l",         "0",    "--no-pci",
                       "--no-huge",     "-m",         "2048", "--log-level=error",
                       prefix.c_str(),  "--no-shconf"};
  if (rte_eal_init(10, const_cast<char**>(eal)) < 0) {
    std::fprintf(stderr, "EAL init failed\n");
    return 1;
  }
  tundra::RemoveEalRuntimeDirAtExit();
  if (FLAGS_only.empty() || FLAGS_only == "learn") tundra::Learn(FLAGS_macs);
  if (FLAGS_only.empty() || FLAGS_only == "repoint") tundra::Repoint(FLAGS_tunnels);
  rte_eal_cleanup();
  return 0;
}
