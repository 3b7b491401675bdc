// Sums the workers' counters for `show` and keeps the "clear stats" baselines. Workers
// never see a write from here: clearing records the current sums and later reads
// subtract them.
#pragma once

#include <cstdint>
#include <vector>

#include "dataplane/counters.h"

namespace tundra {

// The sums of the counters the .def lists name, member for member.
struct PortTotals {
#define X(member, name, text, meaning) uint64_t member = 0;
#include "dataplane/port_counters.def"
#undef X
  uint64_t drops[kNumDropReasons] = {};
  uint64_t total_drops() const;
};

struct TunnelTotals {
#define X(member, name, text, meaning) uint64_t member = 0;
#include "dataplane/tunnel_counters.def"
#undef X
  uint64_t drops[kNumTunnelDrops] = {};
  uint64_t total_drops() const;
};

struct SegmentTotals {
#define X(member, name, text, meaning) uint64_t member = 0;
#include "dataplane/segment_counters.def"
#undef X
  uint64_t drops[kNumSegmentDrops] = {};
  uint64_t total_drops() const;
};

struct WorkerTotals {
#define X(member, name, text, meaning) uint64_t member = 0;
#include "dataplane/worker_counters.def"
#undef X
};

class Stats {
 public:
  Stats(std::vector<const WorkerCounters*> workers, uint16_t nb_ports, uint32_t max_tunnels,
        uint32_t max_segments = 0);

  PortTotals Port(uint16_t p) const;
  TunnelTotals Tunnel(uint32_t id) const;
  SegmentTotals Segment(uint32_t id) const;
  WorkerTotals Worker(size_t w) const;
  size_t nb_workers() const { return workers_.size(); }
  // Packets received by all workers since start (no baseline): for `wait idle`.
  uint64_t TotalRxPackets() const;

  // `clear stats`: everything reads zero from now on.
  void Clear();
  // A tunnel id being (re)used starts from zero.
  void ClearTunnel(uint32_t id);
  void ClearSegment(uint32_t id);

 private:
  PortTotals RawPort(uint16_t p) const;
  TunnelTotals RawTunnel(uint32_t id) const;
  SegmentTotals RawSegment(uint32_t id) const;
  WorkerTotals RawWorker(size_t w) const;

  std::vector<const WorkerCounters*> workers_;
  std::vector<PortTotals> port_base_;
  std::vector<TunnelTotals> tunnel_base_;
  std::vector<SegmentTotals> segment_base_;
  std::vector<WorkerTotals> worker_base_;
};

}  // namespace tundra
