#include "dataplane/worker.h"

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_pause.h>
#include <rte_rcu_qsbr.h>

#include "dataplane/decap.h"
#include "dataplane/encap.h"
#include "dataplane/route_input.h"
#include "dataplane/trace.h"

namespace tundra {

Worker::Worker(uint32_t index, const WorkerContext& shared, WorkerCounters* counters,
               std::vector<RxQueue> rx_queues, const std::vector<TxQueueRef>& tx_queues)
    : index_(index), rx_queues_(std::move(rx_queues)) {
  ctx_.tables = shared.tables;
  ctx_.trace = shared.trace;
  ctx_.punt_ring = shared.punt_ring;
  ctx_.learn_ring = shared.learn_ring;
  ctx_.fdb_ring = shared.fdb_ring;
  ctx_.tx_ring = shared.tx_ring;
  ctx_.direct_pool = shared.direct_pool;
  ctx_.indirect_pool = shared.indirect_pool;
  ctx_.counters = counters;
  for (size_t p = 0; p < tx_queues.size() && p < RTE_MAX_ETHPORTS; ++p) ctx_.txq[p] = tx_queues[p];
}

int Worker::LcoreMain(void* arg) {
  static_cast<Worker*>(arg)->Run();
  return 0;
}

namespace {

// Out of line: the dispatch below is then only tail calls, with no registers to save.
__attribute__((noinline)) void DropNoRole(WorkerContext& ctx, uint16_t port, rte_mbuf** pkts,
                                          uint16_t n) {
  for (uint16_t i = 0; i < n; ++i) ctx.Drop(port, pkts[i], DropReason::kNoRole);
}

// The stages of the port's role; inlined into DispatchBurst, so an untraced burst pays
// no extra call.
__attribute__((always_inline)) inline void DispatchRole(WorkerContext& ctx, uint16_t port,
                                                        rte_mbuf** pkts, uint16_t n) {
  const PortView* view = ctx.tables->port(port);
  const PortRole role = view != nullptr ? view->role : PortRole::kNone;
  if (role == PortRole::kUplink) {
    DecapBurst(ctx, port, pkts, n);
  } else if (role == PortRole::kAccess && view->routed) {
    RouteBurst(ctx, port, pkts, n);
  } else if (role == PortRole::kAccess) {
    EncapBurst(ctx, port, pkts, n);
  } else {
    DropNoRole(ctx, port, pkts, n);
  }
}

}  // namespace

void DispatchUntraced(WorkerContext& ctx, uint16_t port, rte_mbuf** pkts, uint16_t n) {
  DispatchRole(ctx, port, pkts, n);
}

void DispatchBurst(WorkerContext& ctx, uint16_t port, rte_mbuf** pkts, uint16_t n) {
  if (TraceBuffer* trace = std::atomic_ref<TraceBuffer*>(ctx.trace).load(std::memory_order_acquire);
      trace != nullptr) [[unlikely]] {
    TraceBurst(ctx, *trace, port, pkts, n);
    return;
  }
  DispatchRole(ctx, port, pkts, n);
}

void SendControlFrames(WorkerContext& ctx) {
  rte_mbuf* frames[kBurstSize];
  const unsigned n =
      rte_ring_mc_dequeue_burst(ctx.tx_ring, reinterpret_cast<void**>(frames), kBurstSize, nullptr);
  for (unsigned i = 0; i < n; ++i) ctx.Emit(frames[i]->port, frames[i]);
  ctx.Flush();
}

void Worker::ProcessBurst(WorkerContext& ctx, uint16_t port, rte_mbuf** pkts, uint16_t n) {
  PortCounters& pc = ctx.counters->ports[port];
  uint64_t bytes = 0;
  for (uint16_t i = 0; i < n; ++i) bytes += rte_pktmbuf_pkt_len(pkts[i]);
  pc.rx_packets.Add(n);
  pc.rx_bytes.Add(bytes);
  DispatchBurst(ctx, port, pkts, n);
  ctx.Flush();
}

void Worker::Run() {
  rte_rcu_qsbr* qsbr = ctx_.tables->qsbr();
  rte_rcu_qsbr_thread_register(qsbr, index_);
  rte_rcu_qsbr_thread_online(qsbr, index_);
  WorkerCounters& wc = *ctx_.counters;
  rte_mbuf* pkts[kBurstSize];

  while (!stop_.load(std::memory_order_relaxed)) {
    bool idle = true;
    for (const RxQueue& q : rx_queues_) {
      // Busy cycles are counted as testpmd's --record-core-cycles does: from before
      // rx_burst to after tx, for bursts that received something.
      const uint64_t start = rte_rdtsc();
      const uint16_t n = rte_eth_rx_burst(q.port, q.queue, pkts, kBurstSize);
      if (n == 0) continue;
      idle = false;
      ctx_.rx_queue = q.queue;
      ProcessBurst(ctx_, q.port, pkts, n);
      wc.busy_cycles.Add(rte_rdtsc() - start);
      wc.packets.Add(n);
      wc.bursts.Inc();
    }
    // The control thread sends through whichever worker gets here first: it owns no tx
    // queue. Empty is the common case, one read of the ring's indexes.
    if (ctx_.tx_ring != nullptr && !rte_ring_empty(ctx_.tx_ring)) [[unlikely]]
      SendControlFrames(ctx_);
    rte_rcu_qsbr_quiescent(qsbr, index_);
    if (idle) rte_pause();
  }

  rte_rcu_qsbr_thread_offline(qsbr, index_);
  rte_rcu_qsbr_thread_unregister(qsbr, index_);
}

}  // namespace tundra
