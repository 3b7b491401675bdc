// The multi-worker queue layout (drivers/queue_layout.h) and the lock on a shared tx
// queue (WorkerContext::FlushPort): two threads sending on the one tx queue of a
// net_ring port, whose ring is single-producer, lose or duplicate nothing.
#include "drivers/queue_layout.h"

#include <pthread.h>
#include <rte_dev.h>
#include <rte_ethdev.h>
#include <sched.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "test_util.h"

namespace tundra::testing {
namespace {

using drivers::PlanQueueLayout;
using drivers::PortQueueLayout;
using U16s = std::vector<uint16_t>;

TEST_CASE("a queue per worker: nothing shared", "[queue_layout]") {
  const std::vector<PortQueueLayout> l = PlanQueueLayout(2, {{2, 2}, {2, 2}});
  REQUIRE(l.size() == 2);
  for (const PortQueueLayout& p : l) {
    CHECK(p.rx_worker == U16s{0, 1});
    CHECK(p.tx_users == std::vector<U16s>{{0}, {1}});
    CHECK(p.TxQueueOf(0) == 0);
    CHECK(p.TxQueueOf(1) == 1);
    CHECK_FALSE(p.AnyTxQueueShared());
  }
  CHECK(drivers::DescribeTxLayout(l[0]) == "q0: worker 0, q1: worker 1");
}

TEST_CASE("single-queue ports: rx dealt round-robin across ports, tx shared", "[queue_layout]") {
  const std::vector<PortQueueLayout> l = PlanQueueLayout(2, {{1, 1}, {1, 1}});
  CHECK(l[0].rx_worker == U16s{0});
  CHECK(l[1].rx_worker == U16s{1});  // the second port's queue goes to the other worker
  for (const PortQueueLayout& p : l) {
    CHECK(p.tx_users == std::vector<U16s>{{0, 1}});
    CHECK(p.TxQueueShared(0));
  }
  CHECK(drivers::DescribeRxLayout(l[1]) == "q0: worker 1");
  CHECK(drivers::DescribeTxLayout(l[0]) == "q0: workers 0,1 (shared, locked)");
}

TEST_CASE("three workers, two tx queues: only the queue two workers use is shared",
          "[queue_layout]") {
  const PortQueueLayout p = PlanQueueLayout(3, {{3, 2}})[0];
  CHECK(p.rx_worker == U16s{0, 1, 2});
  CHECK(p.tx_users == std::vector<U16s>{{0, 2}, {1}});
  CHECK(p.TxQueueOf(2) == 0);
  CHECK(p.TxQueueShared(0));
  CHECK_FALSE(p.TxQueueShared(1));
  CHECK(p.AnyTxQueueShared());
}

TEST_CASE("one worker: every queue its own", "[queue_layout]") {
  const std::vector<PortQueueLayout> l = PlanQueueLayout(1, {{1, 1}, {1, 1}, {1, 1}});
  for (const PortQueueLayout& p : l) {
    CHECK(p.rx_worker == U16s{0});
    CHECK_FALSE(p.AnyTxQueueShared());
  }
}

// A net_ring port with one rx and one tx queue on the same ring (loopback). The ring
// PMD creates its rings single-producer, so tx_burst from two threads at once without
// the lock corrupts the ring: what comes out differs from what was counted as sent.
class RingPort {
 public:
  RingPort() {
    REQUIRE(rte_eal_hotplug_add("vdev", kName, "") == 0);
    REQUIRE(rte_eth_dev_get_port_by_name(kName, &port_) == 0);
    rte_eth_conf conf = {};
    REQUIRE(rte_eth_dev_configure(port_, 1, 1, &conf) == 0);
    REQUIRE(rte_eth_rx_queue_setup(port_, 0, 1024, SOCKET_ID_ANY, nullptr, Pool()) == 0);
    REQUIRE(rte_eth_tx_queue_setup(port_, 0, 1024, SOCKET_ID_ANY, nullptr) == 0);
    REQUIRE(rte_eth_dev_start(port_) == 0);
  }
  ~RingPort() {
    rte_eth_dev_stop(port_);
    rte_eth_dev_close(port_);
    rte_eal_hotplug_remove("vdev", kName);
  }
  uint16_t port() const { return port_; }

 private:
  static constexpr const char* kName = "net_ring_txlock";
  uint16_t port_ = 0;
};

TEST_CASE("a shared tx queue under its lock: every packet out exactly once",
          "[queue_layout][txlock]") {
  // Rounds in which both senders start together and together send what the 1024-slot
  // ring holds, so nothing is refused for want of room: every packet must come out.
  constexpr int kWorkers = 2;
  constexpr uint32_t kPerRound = 500;  // per worker: 2 × 500 fit the ring
  constexpr uint32_t kRounds = 400;
  const long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
  if (ncpu < kWorkers) {
    WARN("only " << ncpu << " CPU: no concurrent senders to test");
    return;
  }
  RingPort ring;
  const uint16_t port = ring.port();
  const unsigned in_use_before = rte_mempool_in_use_count(Pool());
  TxQueueLock lock;

  std::atomic<uint32_t> round{0};     // the round the senders may start (1-based)
  std::atomic<uint32_t> finished{0};  // sender-rounds completed
  std::atomic<bool> starved{false};
  std::vector<std::unique_ptr<WorkerCounters>> counters;
  std::vector<std::thread> workers;
  for (int w = 0; w < kWorkers; ++w) {
    counters.push_back(std::make_unique<WorkerCounters>(1));
    workers.emplace_back([&, w] {
      // EAL pinned the main thread to CPU 0 and threads inherit that; left to the
      // scheduler, both often share one CPU anyway. The point is two CPUs at once.
      cpu_set_t cpu;
      CPU_ZERO(&cpu);
      CPU_SET(w % ncpu, &cpu);
      pthread_setaffinity_np(pthread_self(), sizeof(cpu), &cpu);
      WorkerContext ctx;
      ctx.counters = counters[w].get();
      ctx.txq[port] = TxQueueRef{0, &lock.lock};
      for (uint32_t r = 1; r <= kRounds; ++r) {
        while (round.load() < r) std::this_thread::yield();
        for (uint32_t i = 0; i < kPerRound && !starved.load(); ++i) {
          // The pool runs dry only if the ring lost mbufs (the race): stop, don't hang.
          rte_mbuf* m = rte_pktmbuf_alloc(Pool());
          if (m == nullptr) {
            starved.store(true);
            break;
          }
          // Each packet carries who sent it and its number.
          const uint32_t tag = (static_cast<uint32_t>(w) << 24) | ((r - 1) * kPerRound + i);
          std::memcpy(rte_pktmbuf_append(m, sizeof(tag)), &tag, sizeof(tag));
          ctx.Emit(port, m);
          if (i % 8 == 7) ctx.Flush();  // bursts of 8 and 32 (Emit flushes a full buffer)
        }
        ctx.Flush();
        finished.fetch_add(1);
      }
    });
  }

  // The single consumer of the ring: this thread, between rounds.
  constexpr uint32_t kPerWorker = kPerRound * kRounds;
  std::vector<uint8_t> seen(kWorkers * kPerWorker, 0);
  uint64_t received = 0, duplicates = 0, garbage = 0;
  auto drain = [&] {
    rte_mbuf* pkts[kBurstSize];
    uint16_t n;
    while ((n = rte_eth_rx_burst(port, 0, pkts, kBurstSize)) != 0) {
      for (uint16_t i = 0; i < n; ++i) {
        uint32_t tag = 0;
        if (rte_pktmbuf_pkt_len(pkts[i]) == sizeof(tag)) {
          std::memcpy(&tag, rte_pktmbuf_mtod(pkts[i], const void*), sizeof(tag));
        }
        const uint32_t w = tag >> 24, seq = tag & 0xFFFFFF;
        if (rte_pktmbuf_pkt_len(pkts[i]) != sizeof(tag) || w >= kWorkers || seq >= kPerWorker) {
          ++garbage;
        } else if (seen[w * kPerWorker + seq]++ != 0) {
          ++duplicates;
        }
        ++received;
      }
      rte_pktmbuf_free_bulk(pkts, n);
    }
  };
  for (uint32_t r = 1; r <= kRounds; ++r) {
    round.store(r);
    // Two senders and this thread may outnumber the CPUs: yield while they work.
    while (finished.load() < r * kWorkers) std::this_thread::yield();
    drain();
  }
  for (std::thread& t : workers) t.join();

  uint64_t sent = 0, tx_full = 0;
  for (const auto& c : counters) {
    sent += c->ports[port].tx_packets.Get();
    tx_full += c->ports[port].drops[static_cast<int>(DropReason::kTxFull)].Get();
  }
  INFO("sent " << sent << ", tx-full " << tx_full << ", received " << received);
  CHECK_FALSE(starved.load());
  CHECK(garbage == 0);
  CHECK(duplicates == 0);
  CHECK(tx_full == 0);
  CHECK(sent == uint64_t{kWorkers} * kPerWorker);
  CHECK(received == sent);  // what the PMD took came out of the ring, once
  CHECK(rte_mempool_in_use_count(Pool()) == in_use_before);
}

}  // namespace
}  // namespace tundra::testing
