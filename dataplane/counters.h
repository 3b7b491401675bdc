// Per-worker counters. Each worker owns its block and increments it with plain
// (relaxed load + store) updates: no atomic read-modify-write, no shared cache lines.
// The control thread reads every worker's block and sums; "clear stats" is a baseline
// it subtracts, so workers never see a write from another thread.
#pragma once

#include <rte_common.h>
#include <rte_config.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>

#include "dataplane/huge_array.h"
#include "dataplane/segment.h"

namespace tundra {

// Why a packet was dropped; kNone, after the list, is "not dropped": the value a stage
// leaves in a packet's verdict while the packet goes on. It has no counter.
enum class DropReason : uint8_t {
#define X(enumerator, name, why) enumerator,
#include "dataplane/drop_reasons.def"
#undef X
  kNone,
};

inline constexpr int kNumDropReasons = 0
#define X(enumerator, name, why) +1
#include "dataplane/drop_reasons.def"
#undef X
    ;

const char* DropReasonName(DropReason reason);
const char* DropReasonHelp(DropReason reason);

// A counter one thread writes and others may read at any time.
class Counter {
 public:
  void Add(uint64_t n) {
    v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  void Inc() { Add(1); }
  uint64_t Get() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

// The named counters and what they mean are listed in port_counters.def,
// tunnel_counters.def and worker_counters.def; `show`, its JSON and README follow them.
struct PortCounters {
#define X(member, name, text, meaning) Counter member;
#include "dataplane/port_counters.def"
#undef X
  Counter drops[kNumDropReasons];
};

// The drop reasons that belong to one tunnel, so `show tunnel stats` can break them out
// without a full reason array per tunnel (1M tunnels × every reason would not fit).
#define TUNDRA_TUNNEL_DROPS(X) \
  X(kRemoteMismatch)           \
  X(kNoAttachment)             \
  X(kNoUnderlayRoute)          \
  X(kNoNeighbor)               \
  X(kMtuExceeded)              \
  X(kNoHeadroom)               \
  X(kUnknownCriticalOption)    \
  X(kSeqOutOfOrder)            \
  X(kSeqDuplicate)             \
  X(kEcnNotEct)                \
  X(kTtlExceeded)              \
  X(kBadGreChecksum)

inline constexpr int kNumTunnelDrops = 0
#define X(r) +1
    TUNDRA_TUNNEL_DROPS(X)
#undef X
    ;

// Slot of `reason` in `reasons`, or -1 when it is not there.
template <size_t N>
constexpr int DropSlotIn(const DropReason (&reasons)[N], DropReason reason) {
  for (size_t slot = 0; slot < N; ++slot) {
    if (reasons[slot] == reason) return static_cast<int>(slot);
  }
  return -1;
}

#define TUNDRA_DROP_REASON_ENTRY(r) DropReason::r,
inline constexpr DropReason kTunnelDropReasons[] = {TUNDRA_TUNNEL_DROPS(TUNDRA_DROP_REASON_ENTRY)};

// Slot of `reason` in TunnelCounters::drops, or -1 when it is not a per-tunnel reason.
constexpr int TunnelDropSlot(DropReason reason) { return DropSlotIn(kTunnelDropReasons, reason); }

// TunnelDropSlot for every reason, as a table the hot path indexes.
inline constexpr auto kTunnelDropSlots = [] {
  std::array<int8_t, kNumDropReasons + 1> slots{};
  for (int r = 0; r <= kNumDropReasons; ++r) {
    slots[r] = static_cast<int8_t>(TunnelDropSlot(static_cast<DropReason>(r)));
  }
  return slots;
}();

struct TunnelCounters {
#define X(member, name, text, meaning) Counter member;
#include "dataplane/tunnel_counters.def"
#undef X
  Counter drops[kNumTunnelDrops];
};

// The drop reasons `show segment` breaks out per segment.
#define TUNDRA_SEGMENT_DROPS(X) \
  X(kUnknownRemote)             \
  X(kSplitHorizon)              \
  X(kHairpin)                   \
  X(kNoUnderlayRoute)           \
  X(kNoNeighbor)                \
  X(kMtuExceeded)               \
  X(kNoHeadroom)                \
  X(kNoMbuf)

inline constexpr int kNumSegmentDrops = 0
#define X(r) +1
    TUNDRA_SEGMENT_DROPS(X)
#undef X
    ;

inline constexpr DropReason kSegmentDropReasons[] = {
    TUNDRA_SEGMENT_DROPS(TUNDRA_DROP_REASON_ENTRY)};
#undef TUNDRA_DROP_REASON_ENTRY

// Slot of `reason` in SegmentCounters::drops, or -1 when it is not a per-segment reason.
constexpr int SegmentDropSlot(DropReason reason) { return DropSlotIn(kSegmentDropReasons, reason); }

struct SegmentCounters {
#define X(member, name, text, meaning) Counter member;
#include "dataplane/segment_counters.def"
#undef X
  Counter drops[kNumSegmentDrops];
};

struct alignas(RTE_CACHE_LINE_SIZE) WorkerCounters {
  // Counters for segment ids up to kDefaultMaxSegments unless told otherwise, so a worker
  // never counts past the end of the array.
  WorkerCounters(uint32_t max_tunnels, uint32_t max_segments = kDefaultMaxSegments + 1)
      : tunnels(MakeHugeArray<TunnelCounters>(max_tunnels)),
        segments(MakeHugeArray<SegmentCounters>(max_segments)) {}

  PortCounters ports[RTE_MAX_ETHPORTS];
#define X(member, name, text, meaning) Counter member;
#include "dataplane/worker_counters.def"
#undef X
  HugeArray<TunnelCounters> tunnels;
  HugeArray<SegmentCounters> segments;  // [segment id]
};

}  // namespace tundra
