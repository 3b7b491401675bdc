#include "dataplane/trace.h"

#include <rte_cycles.h>

#include <algorithm>
#include <cstring>

#include "dataplane/tables.h"
#include "dataplane/worker.h"
#include "dataplane/worker_context.h"

namespace tundra {
namespace {

void CopyFrame(const rte_mbuf* m, uint16_t port, uint16_t queue, TraceFrame& f) {
  f.port = port;
  f.queue = queue;
  f.length = rte_pktmbuf_pkt_len(m);
  f.copied = static_cast<uint16_t>(std::min<uint32_t>(f.length, TraceFrame::kBytes));
  const void* p = rte_pktmbuf_read(m, 0, f.copied, f.bytes);
  if (p != nullptr && p != f.bytes) std::memcpy(f.bytes, p, f.copied);
}

TracePath PathOf(const WorkerContext& ctx, uint16_t port) {
  const PortView* view = ctx.tables->port(port);
  if (view == nullptr || view->role == PortRole::kNone) return TracePath::kNone;
  if (view->role == PortRole::kUplink) return TracePath::kDecap;
  return view->routed ? TracePath::kRoute : TracePath::kEncap;
}

// One packet through the untraced dispatch, with what it did read off the counters and
// the tx buffers around it.
void TraceOne(WorkerContext& ctx, TraceBuffer& trace, uint16_t port, rte_mbuf* m) {
  TraceRecord& r = trace.records[trace.count.load(std::memory_order_relaxed)];
  r = TraceRecord{};
  r.tsc = rte_rdtsc();
  r.seq = trace.count.load(std::memory_order_relaxed);
  r.path = PathOf(ctx, port);
  CopyFrame(m, port, ctx.rx_queue, r.in);

  WorkerCounters& c = *ctx.counters;
  uint64_t drops[kNumDropReasons];
  for (int d = 0; d < kNumDropReasons; ++d) drops[d] = c.ports[port].drops[d].Get();
  const uint64_t punted = c.ports[port].punted.Get();
  auto tunnel_moves = [&](uint32_t id) {
    uint64_t sum = c.tunnels[id].encap_packets.Get() + c.tunnels[id].decap_packets.Get();
    for (const Counter& d : c.tunnels[id].drops) sum += d.Get();
    return sum;
  };
  auto segment_moves = [&](uint32_t id) { return c.segments[id].rx_packets.Get(); };
  // Counters of every tunnel and segment in use: a trace is rare and short.
  uint64_t* tunnels = trace.tunnel_snapshot.get();
  uint64_t* segments = trace.segment_snapshot.get();
  for (uint32_t id = 0; id < trace.tunnel_limit; ++id) tunnels[id] = tunnel_moves(id);
  for (uint32_t id = 0; id < trace.segment_limit; ++id) segments[id] = segment_moves(id);

  ctx.Flush();  // the tx buffers hold only this packet's copies, below
  DispatchUntraced(ctx, port, &m, 1);

  for (int d = 0; d < kNumDropReasons; ++d) {
    if (c.ports[port].drops[d].Get() != drops[d]) r.drop = static_cast<DropReason>(d);
  }
  r.punted = c.ports[port].punted.Get() != punted;
  for (uint32_t id = 0; id < trace.tunnel_limit && r.tunnel == kNoTunnel; ++id) {
    if (tunnel_moves(id) != tunnels[id]) r.tunnel = id;
  }
  for (uint32_t id = 0; id < trace.segment_limit && r.segment == 0; ++id) {
    if (segment_moves(id) != segments[id]) r.segment = id;
  }
  for (uint64_t pending = ctx.tx_pending; pending != 0; pending &= pending - 1) {
    const uint16_t p = static_cast<uint16_t>(__builtin_ctzll(pending));
    for (uint16_t i = 0; i < ctx.tx[p].count; ++i, ++r.outputs) {
      if (r.shown < TraceRecord::kShownOutputs) {
        CopyFrame(ctx.tx[p].pkts[i], p, ctx.txq[p].queue, r.out[r.shown++]);
      }
    }
  }
  ctx.Flush();
  trace.count.store(r.seq + 1, std::memory_order_release);
  --trace.remaining;
}

}  // namespace

void TraceBurst(WorkerContext& ctx, TraceBuffer& trace, uint16_t port, rte_mbuf** pkts,
                uint16_t n) {
  const bool wanted = trace.port < 0 || trace.port == port;
  for (uint16_t i = 0; i < n; ++i) {
    if (wanted && trace.remaining > 0 &&
        trace.count.load(std::memory_order_relaxed) < trace.capacity) {
      TraceOne(ctx, trace, port, pkts[i]);
    } else {
      DispatchUntraced(ctx, port, &pkts[i], 1);
    }
  }
}

const char* DropStage(DropReason reason) {
  switch (reason) {
    case DropReason::kNoRole:
    case DropReason::kUnknownVni:
    case DropReason::kNoRoute:
      return "classify";
    case DropReason::kRemoteMismatch:
    case DropReason::kUnknownRemote:
    case DropReason::kNoAttachment:
    case DropReason::kUnknownCriticalOption:
    case DropReason::kBadGreChecksum:
    case DropReason::kSeqOutOfOrder:
    case DropReason::kSeqDuplicate:
    case DropReason::kEcnNotEct:
    case DropReason::kTtlExceeded:
      return "check";
    case DropReason::kSplitHorizon:
    case DropReason::kHairpin:
    case DropReason::kNoMbuf:
      return "segment";
    case DropReason::kNoUnderlayRoute:
    case DropReason::kNoNeighbor:
    case DropReason::kMtuExceeded:
    case DropReason::kNoHeadroom:
      return "encap";
    case DropReason::kTxFull:
      return "tx";
    default:
      return "parse";
  }
}

}  // namespace tundra
