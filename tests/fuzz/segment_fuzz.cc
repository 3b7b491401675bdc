// libFuzzer target for segments: arbitrary frames into a segment from its members (access
// ports 1 and 2) and from the uplink (decap towards a segment's VNI/key), through the
// worker's own DispatchBurst, with the control thread's side run in between: every learn
// event the workers produce is applied by TableWriter::LearnFdb, and the FDB is aged now
// and then, so learning, moves, max-macs, learned remotes, ARP/ND snooping and
// suppression all meet arbitrary input.
//
// Input: byte 0 control (bits 0-1: 0 = access port 1, 1 = access port 2, 2-3 = uplink;
// bit 2: one frame per burst; bit 3: age the FDB after the input by bits 4-7 seconds),
// then frame records [length: 2 bytes big endian][bytes], clamped as in decap_fuzz.
//
// Invariants (a violation prints what failed and traps):
//   * a frame out of port 1 carries the tag of one of port 1's member VLANs (10, 20, 30);
//   * a packet out of the uplink is an IPv4 packet from our VTEP address 192.0.2.1 to a
//     remote VTEP of a segment (configured or learned), never to ourselves, or our ARP
//     reply for that address;
//   * learn events apply without breaking the writer's books: a segment's learned MACs
//     never exceed its max-macs, the FDB never exceeds its capacity;
//   * after each input, every mbuf is back in its pool (copies and indirect tails too).
//
// Configuration:
//   port 0 uplink 02:00:00:00:00:01 192.0.2.1/24; neighbors 192.0.2.2 → :02, .3 → :03
//   s1 vxlan vni 100: port 1 vlan 10, port 2; remotes .2 .3; suppress on;
//      unknown-remote learn; ageing 2; fdb 02:00:00:00:0a:01 at port 2 ip 10.9.0.1
//   s2 geneve vni 200: port 1 vlan 20; remote .2; max-macs 4
//   s3 gretap key 7 seq on: port 1 vlan 30; remote .3
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "control/eal_runtime_dir.h"
#include "control/table_writer.h"
#include "dataplane/worker.h"

namespace tundra {
namespace {

#define FUZZ_CHECK(cond, ...)                                   \
  do {                                                          \
    if (!(cond)) {                                              \
      std::fprintf(stderr, "segment_fuzz: invariant failed: "); \
      std::fprintf(stderr, __VA_ARGS__);                        \
      std::fprintf(stderr, "\n");                               \
      __builtin_trap();                                         \
    }                                                           \
  } while (0)

constexpr uint16_t kUplink = 0;
constexpr int kNumPorts = 3;
constexpr size_t kMaxFrames = 96;
constexpr size_t kMaxFrameLen = 2000;

struct Env {
  rte_mempool* pool = nullptr;
  rte_mempool* indirect = nullptr;
  rte_ring* ring = nullptr;
  std::unique_ptr<Tables> tables;
  std::unique_ptr<TableWriter> writer;
  std::unique_ptr<WorkerCounters> counters;
  WorkerContext ctx;
  unsigned baseline = 0;
  uint32_t now_s = 100;
};
Env* g_env = nullptr;

void Must(const char* what, const absl::Status& s) {
  if (!s.ok()) {
    std::fprintf(stderr, "segment_fuzz: %s: %s\n", what, std::string(s.message()).c_str());
    std::abort();
  }
}

TunnelSpec Spec(const char* name, TunnelType type, uint32_t vni_or_key) {
  TunnelSpec s;
  s.name = name;
  s.type = type;
  s.local = *IpAddress::Parse("192.0.2.1");
  if (type == TunnelType::kGretap) {
    s.has_key = true;
    s.key = vni_or_key;
    s.seq = true;
  } else {
    s.vni = vni_or_key;
  }
  return s;
}

void Configure(Env& e) {
  TableWriter& w = *e.writer;
  Must("roles", w.SetPortRole(0, PortRole::kUplink));
  Must("roles", w.SetPortRole(1, PortRole::kAccess));
  Must("roles", w.SetPortRole(2, PortRole::kAccess));
  Must("mac", w.SetPortMac(0, *MacAddress::Parse("02:00:00:00:00:01")));
  Must("address", w.SetPortAddress(0, *IpPrefix::Parse("192.0.2.1/24")));
  Must("neigh",
       w.AddNeighbor(*IpAddress::Parse("192.0.2.2"), *MacAddress::Parse("02:00:00:00:00:02"), 0));
  Must("neigh",
       w.AddNeighbor(*IpAddress::Parse("192.0.2.3"), *MacAddress::Parse("02:00:00:00:00:03"), 0));
  Must("s1", w.AddSegment(Spec("s1", TunnelType::kVxlan, 100)));
  Must("s1", w.AddSegmentMember("s1", 1, 10));
  Must("s1", w.AddSegmentMember("s1", 2, 0));
  Must("s1", w.AddSegmentRemote("s1", *IpAddress::Parse("192.0.2.2")));
  Must("s1", w.AddSegmentRemote("s1", *IpAddress::Parse("192.0.2.3")));
  Must("s1", w.SetSegmentSuppress("s1", true));
  Must("s1", w.SetSegmentUnknownRemote("s1", true));
  Must("s1", w.SetSegmentAgeing("s1", 2));
  Must("s1", w.AddFdb("s1", *MacAddress::Parse("02:00:00:00:0a:01"), 2, 0, std::nullopt,
                      *IpAddress::Parse("10.9.0.1")));
  Must("s2", w.AddSegment(Spec("s2", TunnelType::kGeneve, 200)));
  Must("s2", w.AddSegmentMember("s2", 1, 20));
  Must("s2", w.AddSegmentRemote("s2", *IpAddress::Parse("192.0.2.2")));
  Must("s2", w.SetSegmentMaxMacs("s2", 4));
  Must("s3", w.AddSegment(Spec("s3", TunnelType::kGretap, 7)));
  Must("s3", w.AddSegmentMember("s3", 1, 30));
  Must("s3", w.AddSegmentRemote("s3", *IpAddress::Parse("192.0.2.3")));
}

unsigned InUse(const Env& e) {
  return rte_mempool_in_use_count(e.pool) + rte_mempool_in_use_count(e.indirect);
}

// Whether `ip` (4 bytes) is a remote VTEP of some segment, configured or learned.
bool IsRemote(const Env& e, const uint8_t* ip) {
  const IpAddress a = IpAddress::FromV4Bytes(ip);
  for (const auto& [name, seg] : e.writer->segments()) {
    if (seg.Remote(a) != nullptr) return true;
  }
  return false;
}

void CheckOutputs(Env& e) {
  for (uint16_t p = 0; p < kNumPorts; ++p) {
    TxBuffer& b = e.ctx.tx[p];
    for (uint16_t i = 0; i < b.count; ++i) {
      rte_mbuf* m = b.pkts[i];
      const char* why = nullptr;
      FUZZ_CHECK(rte_mbuf_check(m, 1, &why) == 0, "port %u: bad mbuf: %s", p, why);
      std::vector<uint8_t> f(rte_pktmbuf_pkt_len(m));
      const void* d = rte_pktmbuf_read(m, 0, f.size(), f.data());
      if (d != f.data()) std::memcpy(f.data(), d, f.size());
      FUZZ_CHECK(f.size() >= 14, "port %u: a %zu-byte frame", p, f.size());
      if (p == 1) {
        const uint16_t vlan = f[12] == 0x81 && f[13] == 0 ? ((f[14] << 8 | f[15]) & 0xFFF) : 0;
        FUZZ_CHECK(vlan == 10 || vlan == 20 || vlan == 30, "port 1: frame on VLAN %u", vlan);
      } else if (p == kUplink) {
        const uint8_t local[4] = {192, 0, 2, 1};
        if (f[12] == 0x08 && f[13] == 0x06) {
          // Our answer to an underlay peer's ARP request for the VTEP address.
          FUZZ_CHECK(f.size() >= 42 && f[21] == 2 && std::memcmp(&f[28], local, 4) == 0,
                     "uplink: an ARP frame that is not our reply");
          continue;
        }
        FUZZ_CHECK(f.size() >= 34 && f[12] == 0x08 && f[13] == 0x00, "uplink: not IPv4");
        FUZZ_CHECK(std::memcmp(&f[26], local, 4) == 0, "uplink: not from our VTEP");
        FUZZ_CHECK(std::memcmp(&f[30], local, 4) != 0, "uplink: to ourselves");
        FUZZ_CHECK(IsRemote(e, &f[30]), "uplink: to %u.%u.%u.%u, no segment's remote", f[30], f[31],
                   f[32], f[33]);
      }
    }
    rte_pktmbuf_free_bulk(b.pkts, b.count);
    b.count = 0;
    b.bytes = 0;
  }
  e.ctx.tx_pending = 0;
  rte_pktmbuf_free_bulk(e.ctx.drops, e.ctx.drop_count);
  e.ctx.drop_count = 0;
}

// The control thread's turn: every learn event applied, the books checked.
void ControlTurn(Env& e) {
  FdbLearnEvent ev[64];
  unsigned n;
  while ((n = rte_ring_sc_dequeue_burst_elem(e.ring, ev, sizeof(ev[0]), 64, nullptr)) > 0) {
    for (unsigned i = 0; i < n; ++i) e.writer->LearnFdb(ev[i], e.now_s);
  }
  size_t total = 0;
  for (const auto& [name, seg] : e.writer->segments()) {
    FUZZ_CHECK(seg.max_macs == 0 || seg.learned_macs <= seg.max_macs, "%s: %u learned, max %u",
               name.c_str(), seg.learned_macs, seg.max_macs);
    total += seg.fdb.size();
  }
  FUZZ_CHECK(total <= e.tables->max_fdb_entries(), "FDB over capacity: %zu", total);
  e.tables->Reclaim();
}

}  // namespace
}  // namespace tundra

using tundra::g_env;

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  (void)argc;
  std::string prefix = "--file-prefix=tundra_segfuzz_" + std::to_string(getpid());
  std::string prog = (*argv)[0];
  const char* args[] = {prog.c_str(),  "-l",  "0",           "--no-pci",       "--no-huge",
                        "-m",          "256", "--no-shconf", "--no-telemetry", "--log-level=error",
                        prefix.c_str()};
  std::vector<char*> eal;
  for (const char* a : args) eal.push_back(const_cast<char*>(a));
  eal.push_back(nullptr);
  if (rte_eal_init(static_cast<int>(eal.size() - 1), eal.data()) < 0) {
    std::fprintf(stderr, "segment_fuzz: EAL init failed: %s\n", rte_strerror(rte_errno));
    std::abort();
  }
  tundra::RemoveEalRuntimeDirAtExit();
  auto* e = new tundra::Env();
  // No per-lcore caches, so the in-use counts are exact.
  e->pool =
      rte_pktmbuf_pool_create("segfuzz_pool", 8191, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
  e->indirect = rte_pktmbuf_pool_create("segfuzz_indirect", 8191, 0, 0, 0, SOCKET_ID_ANY);
  e->ring = rte_ring_create_elem("segfuzz_ring", sizeof(tundra::FdbLearnEvent), 1024, SOCKET_ID_ANY,
                                 RING_F_SC_DEQ);
  if (e->pool == nullptr || e->indirect == nullptr || e->ring == nullptr) {
    std::fprintf(stderr, "segment_fuzz: pools/ring: %s\n", rte_strerror(rte_errno));
    std::abort();
  }
  tundra::Tables::Config c;
  c.max_tunnels = 256;
  c.max_workers = 1;
  c.max_segments = 16;
  c.max_fdb_entries = 1024;
  auto t = tundra::Tables::Create(c);
  if (!t.ok()) std::abort();
  e->tables = std::move(*t);
  e->writer = std::make_unique<tundra::TableWriter>(*e->tables, tundra::kNumPorts);
  e->counters = std::make_unique<tundra::WorkerCounters>(c.max_tunnels + 1, c.max_segments + 1);
  e->ctx.tables = e->tables.get();
  e->ctx.counters = e->counters.get();
  e->ctx.fdb_ring = e->ring;
  e->ctx.indirect_pool = e->indirect;
  e->ctx.direct_pool = e->pool;
  tundra::Configure(*e);
  e->tables->SetFdbNow(e->now_s);
  e->tables->ReclaimAll();
  e->baseline = tundra::InUse(*e);
  g_env = e;
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tundra;
  if (size < 1) return 0;
  Env& e = *g_env;
  const uint8_t ctl = data[0];
  const uint16_t rx_port = (ctl & 3) == 0 ? 1 : (ctl & 3) == 1 ? 2 : kUplink;
  const size_t step = (ctl & 4) ? 1 : kBurstSize;
  std::vector<rte_mbuf*> mbufs;
  for (size_t i = 1; i + 2 <= size && mbufs.size() < kMaxFrames;) {
    const size_t want = (size_t{data[i]} << 8) | data[i + 1];
    i += 2;
    const size_t len = std::min({want, kMaxFrameLen, size - i});
    rte_mbuf* m = rte_pktmbuf_alloc(e.pool);
    FUZZ_CHECK(m != nullptr, "mempool exhausted");
    char* p = rte_pktmbuf_append(m, static_cast<uint16_t>(len));
    FUZZ_CHECK(p != nullptr, "no room for %zu bytes", len);
    if (len != 0) std::memcpy(p, data + i, len);
    m->port = rx_port;
    mbufs.push_back(m);
    i += len;
  }
  for (size_t b = 0; b < mbufs.size(); b += step) {
    const auto n = static_cast<uint16_t>(std::min(step, mbufs.size() - b));
    DispatchBurst(e.ctx, rx_port, mbufs.data() + b, n);
    CheckOutputs(e);
    ControlTurn(e);
  }
  if (ctl & 8) {
    e.now_s += ctl >> 4;
    e.tables->SetFdbNow(e.now_s);
    e.writer->AgeFdb(e.now_s);
  }
  e.tables->ReclaimAll();
  const unsigned in_use = InUse(e);
  FUZZ_CHECK(in_use == e.baseline, "mempool leak: %u mbufs in use after the input, %u before",
             in_use, e.baseline);
  return 0;
}
