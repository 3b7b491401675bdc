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

#include "dataplane/burst.h"
#include "dataplane/conversation_cache.h"
#include "dataplane/counters.h"
#include "dataplane/decap_batch.h"
#include "dataplane/decap_classify.h"
#include "dataplane/decap_shape.h"
#include "dataplane/fdb_cache.h"
#include "dataplane/host_cache.h"
#include "dataplane/tables.h"

namespace tundra {

// What a worker tells the control thread it learned: a host's IP and MAC seen in an
// ARP or neighbor discovery packet on a routed access port, or a neighbor's on an uplink
// (neighbor_input.h).
struct LearnEvent {
  uint8_t family;
  uint8_t mac[6];
  uint8_t flags;  // LearnFlag
  uint16_t port;
  uint16_t pad2;
  uint8_t ip[16];
};
static_assert(sizeof(LearnEvent) % 4 == 0);
// A reply to tundra's own probe (ARP reply, solicited NA): proof the neighbor is there.
inline constexpr uint8_t kLearnConfirmed = 1;

// Adds a run of packets of one tunnel or segment to its counters once, not packet by
// packet: `Sink::Add(counters, id, packets, bytes)` adds them. Ids start at 1.
template <typename Sink>
class RunTally {
 public:
  explicit RunTally(WorkerCounters& counters) : counters_(counters) {}
  ~RunTally() { Flush(); }
  RunTally(const RunTally&) = delete;
  RunTally& operator=(const RunTally&) = delete;

  __attribute__((always_inline)) void Add(uint32_t id, uint32_t bytes) {
    if (id != id_) [[unlikely]] {
      Flush();
      id_ = id;
    }
    ++packets_;
    bytes_ += bytes;
  }
  // A whole run of `packets` packets of `id` (none: no change).
  __attribute__((always_inline)) void Add(uint32_t id, uint32_t packets, uint64_t bytes) {
    if (id != id_) {
      Flush();
      id_ = id;
    }
    packets_ += packets;
    bytes_ += bytes;
  }
  void Flush() {
    if (packets_ == 0) return;
    Sink::Add(counters_, id_, packets_, bytes_);
    packets_ = 0;
    bytes_ = 0;
  }

 private:
  WorkerCounters& counters_;
  uint32_t id_ = 0;
  uint32_t packets_ = 0;
  uint64_t bytes_ = 0;
};

template <Counter TunnelCounters::*kPackets, Counter TunnelCounters::*kBytes>
struct TunnelSink {
  static void Add(WorkerCounters& counters, uint32_t id, uint32_t packets, uint64_t bytes) {
    TunnelCounters& c = counters.tunnels[id];
    (c.*kPackets).Add(packets);
    (c.*kBytes).Add(bytes);
  }
};
using EncapTally =
    RunTally<TunnelSink<&TunnelCounters::encap_packets, &TunnelCounters::encap_bytes>>;
using DecapTally =
    RunTally<TunnelSink<&TunnelCounters::decap_packets, &TunnelCounters::decap_bytes>>;

// Frames that went through a segment as known unicast (segment_unicast.h): in and out.
struct SegmentThroughSink {
  static void Add(WorkerCounters& counters, uint32_t id, uint32_t packets, uint64_t bytes) {
    SegmentCounters& c = counters.segments[id];
    c.rx_packets.Add(packets);
    c.rx_bytes.Add(bytes);
    c.tx_packets.Add(packets);
    c.tx_bytes.Add(bytes);
  }
};
using SegmentThroughTally = RunTally<SegmentThroughSink>;

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

struct TraceBuffer;

struct WorkerContext {
  const Tables* tables = nullptr;
  // The armed pipeline trace (trace.h), or null: read once per burst, set by the control
  // thread (std::atomic_ref), replaced only after a grace period.
  TraceBuffer* trace = nullptr;
  uint16_t rx_queue = 0;  // the queue of the burst being processed (for the trace)
  WorkerCounters* counters = nullptr;
  TxQueueRef txq[RTE_MAX_ETHPORTS];  // this worker's tx queue on each port
  uint64_t tx_pending = 0;           // bit p: tx[p] holds packets
  TxBuffer tx[RTE_MAX_ETHPORTS];
  uint16_t drop_count = 0;
  rte_mbuf* drops[kBurstSize];
  // Decap's batch (decap_batch.h), kept here so a burst does not construct it anew.
  DecapBatch decap;
  // Decap's same-shape match (decap_shape.h): its masks outlive a burst.
  DecapShape decap_shape;
  // The caches in front of shared tables: decap_classify.h, host_cache.h, fdb_cache.h,
  // conversation_cache.h.
  DecapCache decap_cache;
  HostCache host_cache;
  FdbCache fdb_cache;
  ConversationCache conversation_cache;
  // neighbor_solicit.cc: the host last solicited and when, so a stream of packets to an
  // unresolved host asks once, not once per packet.
  uint8_t last_solicit_ip[16] = {};
  uint64_t last_solicit_tsc = 0;
  // To the control thread: GENEVE control (O bit) packets, and learned hosts.
  rte_ring* punt_ring = nullptr;   // mbufs
  rte_ring* learn_ring = nullptr;  // LearnEvent elements
  rte_ring* fdb_ring = nullptr;    // FdbLearnEvent elements (fdb.h)
  // From the control thread: frames to send (its neighbor probes), m->port the port.
  rte_ring* tx_ring = nullptr;
  // segment_forward.cc: the learn events this worker may still send before the next
  // refill of its token bucket.
  uint32_t learn_tokens = 0;
  uint64_t learn_refill_tsc = 0;
  // For fragments and ICMP errors: mbufs with data, and data-less ones that point into
  // the original packet (DPDK's ip_frag library needs both).
  rte_mempool* direct_pool = nullptr;
  rte_mempool* indirect_pool = nullptr;

  // Queues `m` for transmission on `port`; a full buffer is sent at once (fragmenting
  // can turn one received packet into several).
  __attribute__((always_inline)) void Emit(uint16_t port, rte_mbuf* m) { Queue(Tx(port), port, m); }

  // For a run of packets to one port: its buffer, found once (and marked pending), then
  // Queue() per packet.
  __attribute__((always_inline)) TxBuffer& Tx(uint16_t port) {
    tx_pending |= uint64_t{1} << port;
    return tx[port];
  }
  __attribute__((always_inline)) void Queue(TxBuffer& b, uint16_t port, rte_mbuf* m) {
    if (b.count == kBurstSize) [[unlikely]]
      FlushPort(port);
    b.pkts[b.count++] = m;
    b.bytes += m->pkt_len;
  }

  // Counts a drop against the port it arrived on, and against tunnel `tunnel_id` when
  // the reason is one of a tunnel's; the mbuf is freed in bulk later.
  void Drop(uint16_t rx_port, rte_mbuf* m, DropReason reason, uint32_t tunnel_id = kNoTunnel) {
    counters->ports[rx_port].drops[static_cast<int>(reason)].Inc();
    const int slot = kTunnelDropSlots[static_cast<int>(reason)];
    if (tunnel_id != kNoTunnel && slot >= 0) counters->tunnels[tunnel_id].drops[slot].Inc();
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
