#include "control/stats.h"

#include <iterator>
#include <numeric>

namespace tundra {

namespace {

// One named counter: where a worker keeps it and where the totals hold its sum.
template <typename Counters, typename Totals>
struct Field {
  Counter Counters::*counter;
  uint64_t Totals::*total;
};

#define X(member, name, text, meaning) {&PortCounters::member, &PortTotals::member},
constexpr Field<PortCounters, PortTotals> kPortFields[] = {
#include "dataplane/port_counters.def"
};
#undef X
#define X(member, name, text, meaning) {&TunnelCounters::member, &TunnelTotals::member},
constexpr Field<TunnelCounters, TunnelTotals> kTunnelFields[] = {
#include "dataplane/tunnel_counters.def"
};
#undef X
#define X(member, name, text, meaning) {&SegmentCounters::member, &SegmentTotals::member},
constexpr Field<SegmentCounters, SegmentTotals> kSegmentFields[] = {
#include "dataplane/segment_counters.def"
};
#undef X
#define X(member, name, text, meaning) {&WorkerCounters::member, &WorkerTotals::member},
constexpr Field<WorkerCounters, WorkerTotals> kWorkerFields[] = {
#include "dataplane/worker_counters.def"
};
#undef X

// t += one worker's counters, the drop counters by reason included.
template <typename Counters, typename Totals, size_t N>
void AddCounters(const Field<Counters, Totals> (&fields)[N], const Counters& c, Totals& t) {
  for (const auto& f : fields) t.*f.total += (c.*f.counter).Get();
  if constexpr (requires { t.drops; }) {
    for (size_t r = 0; r < std::size(t.drops); ++r) t.drops[r] += c.drops[r].Get();
  }
}

// t -= base, member for member: what reads as zero after `clear stats`.
template <typename Counters, typename Totals, size_t N>
Totals Since(const Field<Counters, Totals> (&fields)[N], Totals t, const Totals& base) {
  for (const auto& f : fields) t.*f.total -= base.*f.total;
  if constexpr (requires { t.drops; }) {
    for (size_t r = 0; r < std::size(t.drops); ++r) t.drops[r] -= base.drops[r];
  }
  return t;
}

template <size_t N>
uint64_t Sum(const uint64_t (&values)[N]) {
  return std::accumulate(std::begin(values), std::end(values), uint64_t{0});
}

}  // namespace

uint64_t PortTotals::total_drops() const { return Sum(drops); }
uint64_t TunnelTotals::total_drops() const { return Sum(drops); }
uint64_t SegmentTotals::total_drops() const { return Sum(drops); }

Stats::Stats(std::vector<const WorkerCounters*> workers, uint16_t nb_ports, uint32_t max_tunnels,
             uint32_t max_segments)
    : workers_(std::move(workers)),
      port_base_(nb_ports),
      tunnel_base_(max_tunnels + 1),
      segment_base_(max_segments + 1),
      worker_base_(workers_.size()) {}

PortTotals Stats::RawPort(uint16_t p) const {
  PortTotals t;
  for (const WorkerCounters* w : workers_) AddCounters(kPortFields, w->ports[p], t);
  return t;
}

TunnelTotals Stats::RawTunnel(uint32_t id) const {
  TunnelTotals t;
  for (const WorkerCounters* w : workers_) AddCounters(kTunnelFields, w->tunnels[id], t);
  return t;
}

SegmentTotals Stats::RawSegment(uint32_t id) const {
  SegmentTotals t;
  for (const WorkerCounters* w : workers_) AddCounters(kSegmentFields, w->segments[id], t);
  return t;
}

SegmentTotals Stats::Segment(uint32_t id) const {
  return Since(kSegmentFields, RawSegment(id), segment_base_[id]);
}

WorkerTotals Stats::RawWorker(size_t w) const {
  WorkerTotals t;
  AddCounters(kWorkerFields, *workers_[w], t);
  return t;
}

PortTotals Stats::Port(uint16_t p) const { return Since(kPortFields, RawPort(p), port_base_[p]); }

TunnelTotals Stats::Tunnel(uint32_t id) const {
  return Since(kTunnelFields, RawTunnel(id), tunnel_base_[id]);
}

WorkerTotals Stats::Worker(size_t w) const {
  return Since(kWorkerFields, RawWorker(w), worker_base_[w]);
}

uint64_t Stats::TotalRxPackets() const {
  uint64_t sum = 0;
  for (const WorkerCounters* w : workers_) sum += w->packets.Get();
  return sum;
}

void Stats::Clear() {
  for (uint16_t p = 0; p < port_base_.size(); ++p) port_base_[p] = RawPort(p);
  for (uint32_t id = 0; id < tunnel_base_.size(); ++id) tunnel_base_[id] = RawTunnel(id);
  for (uint32_t id = 0; id < segment_base_.size(); ++id) segment_base_[id] = RawSegment(id);
  for (size_t w = 0; w < worker_base_.size(); ++w) worker_base_[w] = RawWorker(w);
}

void Stats::ClearTunnel(uint32_t id) { tunnel_base_[id] = RawTunnel(id); }
void Stats::ClearSegment(uint32_t id) { segment_base_[id] = RawSegment(id); }

}  // namespace tundra
