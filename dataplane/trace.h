// Pipeline trace (`trace add <N> [port <P>]`, as VPP's `trace add`): a worker records
// the next N packets it receives — which port and queue, the headers as received, which
// path (decap, encap, route), the tunnel and segment they went through, the drop reason
// and the stage that dropped them, or each copy sent with its port, queue and headers.
//
// With no trace armed, a burst pays one load and one predictable branch (DispatchBurst).
// An armed worker runs the burst one packet at a time through the same stages and reads
// what each packet did off its own counters and tx buffers: the stages themselves carry
// no trace code. Records hold raw header bytes; the control thread formats them.
#pragma once

#include <rte_mbuf.h>

#include <atomic>
#include <cstdint>
#include <memory>

#include "dataplane/counters.h"
#include "dataplane/tunnel.h"

namespace tundra {

struct WorkerContext;

enum class TracePath : uint8_t { kNone, kDecap, kEncap, kRoute };

struct TraceFrame {
  static constexpr uint16_t kBytes = 96;
  uint16_t port = 0;
  uint16_t queue = 0;
  uint32_t length = 0;  // the whole frame
  uint16_t copied = 0;  // bytes in `bytes`
  uint8_t bytes[kBytes];
};

struct TraceRecord {
  static constexpr int kShownOutputs = 4;
  uint64_t tsc = 0;
  uint32_t seq = 0;  // per worker, from 0
  TracePath path = TracePath::kNone;
  DropReason drop = DropReason::kNone;
  bool punted = false;
  uint32_t tunnel = kNoTunnel;  // the tunnel whose counters it moved, if any
  uint32_t segment = 0;         // the segment's, if any
  uint16_t outputs = 0;         // frames sent for it (copies included)
  uint16_t shown = 0;           // of which `out` holds the first
  TraceFrame in;                // port, queue: where it was received
  TraceFrame out[kShownOutputs];
};

// One worker's trace, written by that worker only, read by the control thread up to
// `count` (release/acquire). Replaced only after a grace period (App::AddTrace).
struct TraceBuffer {
  int32_t port = -1;  // trace only packets received on this port; -1: any
  uint32_t remaining = 0;
  uint32_t capacity = 0;
  std::atomic<uint32_t> count{0};
  uint32_t tunnel_limit = 0;   // tunnel ids below this are looked at for a change
  uint32_t segment_limit = 0;  // segment ids likewise
  std::unique_ptr<TraceRecord[]> records;
  // Counter snapshots around a traced packet, allocated with the buffer so the worker
  // allocates nothing: [tunnel_limit] and [segment_limit].
  std::unique_ptr<uint64_t[]> tunnel_snapshot;
  std::unique_ptr<uint64_t[]> segment_snapshot;
};

// The burst of DispatchBurst, with `trace` armed (ctx.trace).
void TraceBurst(WorkerContext& ctx, TraceBuffer& trace, uint16_t port, rte_mbuf** pkts, uint16_t n);

// Where in the pipeline a drop reason is decided: "parse", "classify", "check",
// "segment", "encap" or "tx".
const char* DropStage(DropReason reason);

}  // namespace tundra
