// The per-worker state the burst functions share: the tables to read, the counters to
// bump, and one tx buffer per egress port. Owned by one worker; nothing here is shared
// but the locks of shared tx queues it points to (see TxQueueRef).
#pragma once

#include <rte_branch_prediction.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_spinlock.h>

#include <cstdint>
#include <memory>

#include "dataplane/counters.h"
#include "dataplane/decap_types.h"
#include "dataplane/tables.h"

namespace tundra {

// DPDK's customary burst: what rx_burst returns at most and what tx_burst is given.
inline constexpr uint16_t kBurstSize = 32;
// Packets ahead of the one being processed whose first cache line is prefetched.
inline constexpr uint16_t kPrefetchOffset = 3;

// What a worker tells the control thread it learned: a host's IP and MAC seen in an
// ARP or neighbor discovery packet on a routed access port.
struct LearnEvent {
  uint8_t family;
  uint8_t mac[6];
  uint8_t pad;
  uint16_t port;
  uint16_t pad2;
  uint8_t ip[16];
};
static_assert(sizeof(LearnEvent) % 4 == 0);

// One slot of a worker's decap lookup cache: a key and the tunnel id rte_hash gave.
struct alignas(64) DecapCacheEntry {
  DecapKey key;
  uint32_t id = 0;
};
// Direct-mapped, 256 KiB: the hot tunnels of a worker stay in its L2 cache.
inline constexpr uint32_t kDecapCacheSize = 4096;

struct TxBuffer {
  uint16_t count = 0;
  uint64_t bytes = 0;
  rte_mbuf* pkts[kBurstSize];
};

// Guards a tx queue that several workers send on (a port with fewer tx queues than
// workers, drivers/queue_layout.h): tx_burst on one queue is not thread-safe. A cache
// line of its own, so only the workers sharing that queue touch it.
struct alignas(RTE_CACHE_LINE_SIZE) TxQueueLock {
  rte_spinlock_t lock;
  TxQueueLock() { rte_spinlock_init(&lock); }
};

// Where a worker transmits on one port. `lock` is set only when the queue is shared, so
// a worker with a queue of its own pays one predictable branch per tx burst, no lock.
struct TxQueueRef {
  uint16_t queue = 0;
  rte_spinlock_t* lock = nullptr;
};

struct WorkerContext {
  const Tables* tables = nullptr;
  WorkerCounters* counters = nullptr;
  TxQueueRef txq[RTE_MAX_ETHPORTS];  // this worker's tx queue on each port
  uint64_t tx_pending = 0;           // bit p: tx[p] holds packets
  TxBuffer tx[RTE_MAX_ETHPORTS];
  uint16_t drop_count = 0;
  rte_mbuf* drops[kBurstSize];
  // DecapBurst's per-packet parse results, kept here so a burst does not construct
  // (zero) 32 of them on the stack every time.
  OuterParse decap_scratch[kBurstSize];
  // Decap lookups in front of the shared rte_hash (whose lock-free bulk lookup costs
  // ~180 instructions a key): key → id, checked against the tunnel entry's own key, so
  // a deleted tunnel or a reused id is a miss, never a wrong answer.
  std::unique_ptr<DecapCacheEntry[]> decap_cache =
      std::make_unique<DecapCacheEntry[]>(kDecapCacheSize);
  // Routed access: the host we last sent an ARP request / neighbor solicitation for,
  // so a stream of packets to an unresolved host asks once, not once per packet.
  uint8_t last_solicit_ip[16] = {};
  // Routed decap: the host last looked up, valid for one burst (0: none).
  uint8_t host_cache_family = 0;
  uint8_t host_cache_ip[16] = {};
  uint64_t host_cache_value = 0;
  uint64_t last_solicit_tsc = 0;
  // To the control thread: GENEVE control (O bit) packets, and learned hosts.
  rte_ring* punt_ring = nullptr;   // mbufs
  rte_ring* learn_ring = nullptr;  // LearnEvent elements
  // For fragments and ICMP errors: mbufs with data, and data-less ones that point into
  // the original packet (DPDK's ip_frag library needs both).
  rte_mempool* direct_pool = nullptr;
  rte_mempool* indirect_pool = nullptr;

  // Queues `m` for transmission on `port`; a full buffer is sent at once (fragmenting
  // can turn one received packet into several).
  __attribute__((always_inline)) void Emit(uint16_t port, rte_mbuf* m) {
    TxBuffer& b = tx[port];
    if (b.count == kBurstSize) [[unlikely]]
      FlushPort(port);
    b.pkts[b.count++] = m;
    b.bytes += m->pkt_len;
    tx_pending |= uint64_t{1} << port;
  }

  // Counts a drop against the port it arrived on; the mbuf is freed in bulk later.
  void Drop(uint16_t rx_port, rte_mbuf* m, DropReason reason) {
    counters->ports[rx_port].drops[static_cast<int>(reason)].Inc();
    if (drop_count == kBurstSize) [[unlikely]] {
      rte_pktmbuf_free_bulk(drops, drop_count);
      drop_count = 0;
    }
    drops[drop_count++] = m;
  }

  // Hands `m` to the control thread (counted as punted, not dropped).
  void Punt(uint16_t rx_port, rte_mbuf* m) {
    counters->ports[rx_port].punted.Inc();
    if (punt_ring == nullptr || rte_ring_mp_enqueue(punt_ring, m) != 0) rte_pktmbuf_free(m);
  }

  void Learn(const LearnEvent& e) {
    if (learn_ring != nullptr)
      rte_ring_mp_enqueue_elem(learn_ring, const_cast<LearnEvent*>(&e), sizeof(e));
  }

  __attribute__((noinline)) void FlushPort(uint16_t port) {
    TxBuffer& b = tx[port];
    const TxQueueRef& q = txq[port];
    uint16_t sent;
    if (q.lock == nullptr) {
      sent = rte_eth_tx_burst(port, q.queue, b.pkts, b.count);
    } else {
      // Held only around the PMD call: the counting and freeing below are this worker's.
      rte_spinlock_lock(q.lock);
      sent = rte_eth_tx_burst(port, q.queue, b.pkts, b.count);
      rte_spinlock_unlock(q.lock);
    }
    PortCounters& pc = counters->ports[port];
    uint64_t bytes = b.bytes;
    if (sent < b.count) [[unlikely]] {
      for (uint16_t i = sent; i < b.count; ++i) bytes -= b.pkts[i]->pkt_len;
      pc.drops[static_cast<int>(DropReason::kTxFull)].Add(b.count - sent);
      rte_pktmbuf_free_bulk(b.pkts + sent, b.count - sent);
    }
    pc.tx_packets.Add(sent);
    pc.tx_bytes.Add(bytes);
    b.count = 0;
    b.bytes = 0;
  }

  // Also counts a drop that belongs to a tunnel against that tunnel.
  void DropTunnel(uint16_t rx_port, rte_mbuf* m, DropReason reason, uint32_t tunnel_id) {
    counters->tunnels[tunnel_id].drops[TunnelDropSlot(reason)].Inc();
    Drop(rx_port, m, reason);
  }

  // Sends every queued packet and frees the dropped ones. Called once per rx burst.
  void Flush() {
    while (tx_pending != 0) {
      const uint16_t port = __builtin_ctzll(tx_pending);
      tx_pending &= tx_pending - 1;
      if (tx[port].count != 0) FlushPort(port);
    }
    if (drop_count != 0) {
      rte_pktmbuf_free_bulk(drops, drop_count);
      drop_count = 0;
    }
  }
};

static_assert(RTE_MAX_ETHPORTS <= 64, "tx_pending is a 64-bit port mask");

}  // namespace tundra
