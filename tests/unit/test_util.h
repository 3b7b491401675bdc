// Shared fixtures for the dataplane unit tests: a mempool, tables + writer configured
// with one uplink (port 0) and one access port (port 1), and byte-level frame builders
// written out field by field so the expected values are independent of tundra's code.
#pragma once

#include <pthread.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_rcu_qsbr.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "control/table_writer.h"
#include "dataplane/counters.h"
#include "dataplane/decap.h"
#include "dataplane/encap.h"
#include "dataplane/tables.h"
#include "dataplane/worker_context.h"

namespace tundra::testing {

inline rte_mempool* Pool() {
  static rte_mempool* pool =
      rte_pktmbuf_pool_create("unit_pool", 8191, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
  return pool;
}

inline rte_mbuf* MbufFrom(const std::vector<uint8_t>& bytes) {
  rte_mbuf* m = rte_pktmbuf_alloc(Pool());
  REQUIRE(m != nullptr);
  char* p = rte_pktmbuf_append(m, static_cast<uint16_t>(bytes.size()));
  REQUIRE(p != nullptr);
  if (!bytes.empty()) std::memcpy(p, bytes.data(), bytes.size());
  return m;
}

inline std::vector<uint8_t> BytesOf(const rte_mbuf* m) {
  std::vector<uint8_t> out(rte_pktmbuf_pkt_len(m));
  const void* p = rte_pktmbuf_read(m, 0, out.size(), out.data());
  if (p != out.data()) std::memcpy(out.data(), p, out.size());
  return out;
}

inline void Put16(std::vector<uint8_t>& v, uint16_t x) {
  v.push_back(x >> 8);
  v.push_back(x & 0xFF);
}

inline void PutBytes(std::vector<uint8_t>& v, std::initializer_list<uint8_t> b) {
  v.insert(v.end(), b);
}

// An Ethernet/IPv4/UDP frame (IPv4 checksum filled, UDP checksum 0).
inline std::vector<uint8_t> InnerUdp4(uint16_t sport, uint16_t dport, size_t payload = 18,
                                      uint8_t tos = 0, uint8_t ttl = 64, bool df = false) {
  std::vector<uint8_t> f;
  PutBytes(f, {0x02, 0, 0, 0, 0x0a, 0x02});  // dst MAC
  PutBytes(f, {0x02, 0, 0, 0, 0x0a, 0x01});  // src MAC
  Put16(f, 0x0800);
  const uint16_t total = static_cast<uint16_t>(20 + 8 + payload);
  f.push_back(0x45);
  f.push_back(tos);
  Put16(f, total);
  Put16(f, 0x1234);           // id
  Put16(f, df ? 0x4000 : 0);  // flags/offset
  f.push_back(ttl);
  f.push_back(17);
  Put16(f, 0);  // checksum, below
  PutBytes(f, {10, 0, 0, 1, 10, 0, 0, 2});
  uint32_t sum = 0;
  for (size_t i = 14; i < 34; i += 2) sum += (f[i] << 8) | f[i + 1];
  while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
  f[24] = static_cast<uint8_t>(~sum >> 8);
  f[25] = static_cast<uint8_t>(~sum);
  Put16(f, sport);
  Put16(f, dport);
  Put16(f, static_cast<uint16_t>(8 + payload));
  Put16(f, 0);
  for (size_t i = 0; i < payload; ++i) f.push_back(static_cast<uint8_t>(i));
  return f;
}

// Ports: 0 = uplink (192.0.2.1/24, 2001:db8::1/64, mac 02:..:01), 1 = access.
struct Fixture {
  // max_routes: small, so the route tables stay small in the unit tests' EAL memory.
  explicit Fixture(uint32_t max_tunnels = 64, uint32_t max_routes = 4096) {
    Tables::Config c;
    c.max_tunnels = max_tunnels;
    c.max_routes = max_routes;
    c.max_workers = 2;
    c.max_segments = kMaxSegments;
    c.max_fdb_entries = 4096;
    auto t = Tables::Create(c);
    REQUIRE(t.ok());
    tables = std::move(*t);
    writer = std::make_unique<TableWriter>(*tables, 2);
    counters = std::make_unique<WorkerCounters>(max_tunnels + 1, kMaxSegments + 1);
    ctx.tables = tables.get();
    ctx.counters = counters.get();
    REQUIRE(writer->SetPortRole(0, PortRole::kUplink).ok());
    REQUIRE(writer->SetPortRole(1, PortRole::kAccess).ok());
    REQUIRE(writer->SetPortMac(0, *MacAddress::Parse("02:00:00:00:00:01")).ok());
    REQUIRE(writer->SetPortAddress(0, *IpPrefix::Parse("192.0.2.1/24")).ok());
    REQUIRE(writer->SetPortAddress(0, *IpPrefix::Parse("2001:db8::1/64")).ok());
    REQUIRE(writer
                ->AddNeighbor(*IpAddress::Parse("192.0.2.2"),
                              *MacAddress::Parse("02:00:00:00:00:02"), 0)
                .ok());
    REQUIRE(writer
                ->AddNeighbor(*IpAddress::Parse("2001:db8::2"),
                              *MacAddress::Parse("02:00:00:00:00:02"), 0)
                .ok());
  }
  ~Fixture() {
    // Drop whatever the test left queued.
    for (auto& b : ctx.tx) {
      rte_pktmbuf_free_bulk(b.pkts, b.count);
      b.count = 0;
    }
    rte_pktmbuf_free_bulk(ctx.drops, ctx.drop_count);
  }

  // Burst functions queue drops for a bulk free at Flush(); tests free them here.
  void FreeDrops() {
    rte_pktmbuf_free_bulk(ctx.drops, ctx.drop_count);
    ctx.drop_count = 0;
  }

  TunnelSpec Vxlan(const std::string& name, bool v6, uint32_t vni) const {
    TunnelSpec s;
    s.name = name;
    s.type = TunnelType::kVxlan;
    s.local = *IpAddress::Parse(v6 ? "2001:db8::1" : "192.0.2.1");
    s.remote = *IpAddress::Parse(v6 ? "2001:db8::2" : "192.0.2.2");
    s.vni = vni;
    return s;
  }

  uint64_t PortDrops(uint16_t port, DropReason r) const {
    return counters->ports[port].drops[static_cast<int>(r)].Get();
  }

  static constexpr uint32_t kMaxSegments = 16;
  std::unique_ptr<Tables> tables;
  std::unique_ptr<TableWriter> writer;
  std::unique_ptr<WorkerCounters> counters;
  WorkerContext ctx;
};

inline uint16_t Get16(const std::vector<uint8_t>& v, size_t off) {
  return (v[off] << 8) | v[off + 1];
}

// What the remote would send back: an encap output with MACs and IP addresses swapped
// (checksums are sums, so they stay valid).
inline std::vector<uint8_t> Mirror(std::vector<uint8_t> p) {
  std::swap_ranges(p.begin(), p.begin() + 6, p.begin() + 6);
  if (Get16(p, 12) == 0x0800) {
    std::swap_ranges(p.begin() + 26, p.begin() + 30, p.begin() + 30);
  } else {
    std::swap_ranges(p.begin() + 22, p.begin() + 38, p.begin() + 38);
  }
  return p;
}

// Takes (and frees) what a burst queued on `port`; returns the first packet's bytes.
inline std::vector<uint8_t> Take(Fixture& f, uint16_t port) {
  TxBuffer& b = f.ctx.tx[port];
  if (b.count == 0) return {};
  std::vector<uint8_t> out = BytesOf(b.pkts[0]);
  rte_pktmbuf_free_bulk(b.pkts, b.count);
  b.count = 0;
  b.bytes = 0;
  f.ctx.tx_pending = 0;
  return out;
}

// Runs one frame through EncapBurst on access port 1; what uplink port 0 got.
inline std::vector<uint8_t> Encap(Fixture& f, const std::vector<uint8_t>& frame) {
  rte_mbuf* m = MbufFrom(frame);
  EncapBurst(f.ctx, 1, &m, 1);
  f.FreeDrops();
  CHECK(f.ctx.tx[0].count <= 1);  // one frame in, at most one packet out
  return Take(f, 0);
}

// Runs one packet through DecapBurst on uplink port 0; what access port 1 got.
inline std::vector<uint8_t> Decap(Fixture& f, const std::vector<uint8_t>& frame) {
  rte_mbuf* m = MbufFrom(frame);
  DecapBurst(f.ctx, 0, &m, 1);
  f.FreeDrops();
  return Take(f, 1);
}

// Runs `body` in a thread that plays a worker: RCU thread `id` of `q`, online, reporting
// a quiescent state after each run of `body`, until `stop`. Returns once the first run
// is done (bounded wait, no sleeps), so a test's writes meet a live reader.
inline std::thread StartRcuReader(rte_rcu_qsbr* q, unsigned int id, std::atomic<bool>& stop,
                                  std::function<void()> body) {
  auto loops = std::make_shared<std::atomic<uint64_t>>(0);
  std::thread reader([q, id, &stop, body = std::move(body), loops] {
    // EAL pinned the main thread to one CPU and threads inherit that: run beside the
    // writer, which may wait for this reader's grace period.
    cpu_set_t all;
    CPU_ZERO(&all);
    for (int c = 0; c < CPU_SETSIZE; ++c) CPU_SET(c, &all);
    (void)pthread_setaffinity_np(pthread_self(), sizeof(all), &all);
    rte_rcu_qsbr_thread_register(q, id);
    rte_rcu_qsbr_thread_online(q, id);
    while (!stop.load()) {
      body();
      rte_rcu_qsbr_quiescent(q, id);
      loops->fetch_add(1);
    }
    rte_rcu_qsbr_thread_offline(q, id);
    rte_rcu_qsbr_thread_unregister(q, id);
  });
  const auto started = std::chrono::steady_clock::now();
  while (loops->load() == 0 &&
         std::chrono::steady_clock::now() - started < std::chrono::seconds(10)) {
    std::this_thread::yield();
  }
  REQUIRE(loops->load() > 0);
  return reader;
}

}  // namespace tundra::testing
