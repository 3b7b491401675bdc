// One poll-mode worker: owns a set of (port, rx queue) pairs, sends on one tx queue per
// port (its own, or one shared under a lock: drivers/queue_layout.h), and runs parse → classify →
// encap/decap → checksum → tx to completion on each burst. Workers report an RCU quiescent state
// once per loop and go offline when they stop, so the control thread can reclaim table entries at
// any time.
#pragma once

#include <atomic>
#include <cstdint>
#include <vector>

#include "dataplane/counters.h"
#include "dataplane/tables.h"
#include "dataplane/worker_context.h"

namespace tundra {

// Runs a burst received on `port` through the port's path — decap (uplink), route
// (routed access port), encap (bridged access port) — or drops it (no role). The one
// place where a path is chosen, once per burst. Leaves the output queued in `ctx`.
void DispatchBurst(WorkerContext& ctx, uint16_t port, rte_mbuf** pkts, uint16_t n);
// DispatchBurst without the trace check: the stages of the port's role.
void DispatchUntraced(WorkerContext& ctx, uint16_t port, rte_mbuf** pkts, uint16_t n);

// Sends what the control thread queued on `ctx.tx_ring` (counted as the port's tx).
void SendControlFrames(WorkerContext& ctx);

struct RxQueue {
  uint16_t port;
  uint16_t queue;
};

class Worker {
 public:
  // `index` is the RCU thread id. `shared` supplies the tables, rings and pools;
  // `counters` are this worker's own; `tx_queues[p]` is where it sends on port p.
  Worker(uint32_t index, const WorkerContext& shared, WorkerCounters* counters,
         std::vector<RxQueue> rx_queues, const std::vector<TxQueueRef>& tx_queues);

  // rte_eal_remote_launch entry point; `arg` is the Worker.
  static int LcoreMain(void* arg);
  // Asks the loop to finish its current burst and return.
  void RequestStop() { stop_.store(true, std::memory_order_relaxed); }
  // Arms (or with null, disarms) the pipeline trace from the next burst on.
  void SetTrace(TraceBuffer* trace) {
    std::atomic_ref<TraceBuffer*>(ctx_.trace).store(trace, std::memory_order_release);
  }

  uint32_t index() const { return index_; }
  const std::vector<RxQueue>& rx_queues() const { return rx_queues_; }

  // Counts, dispatches and transmits one burst received on `port`.
  static void ProcessBurst(WorkerContext& ctx, uint16_t port, rte_mbuf** pkts, uint16_t n);

 private:
  void Run();

  const uint32_t index_;
  WorkerContext ctx_;
  std::vector<RxQueue> rx_queues_;
  std::atomic<bool> stop_{false};
};

}  // namespace tundra
