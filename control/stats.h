// Sums the workers' counters for `show` and keeps the "clear stats" baselines. Workers
// never see a write from here: clearing records the current sums and later reads
// subtract them.
#pragma once

#include <cstdint>
#include <vector>

#include "dataplane/counters.h"

namespace tundra {

struct PortTotals {
  uint64_t rx_packets = 0, rx_bytes = 0, tx_packets = 0, tx_bytes = 0, nd_replies = 0, punted = 0;
  uint64_t drops[kNumDropReasons] = {};
  uint64_t total_drops() const;
};

struct TunnelTotals {
  uint64_t encap_packets = 0, encap_bytes = 0, decap_packets = 0, decap_bytes = 0;
  uint64_t oam_packets = 0, seq_out_of_order = 0, seq_duplicate = 0, icmp_errors = 0, fragments = 0;
  uint64_t drops[kNumTunnelDrops] = {};
  uint64_t total_drops() const;
};

struct WorkerTotals {
  uint64_t packets = 0, busy_cycles = 0, bursts = 0;
};

class Stats {
 public:
  Stats(std::vector<const WorkerCounters*> workers, uint16_t nb_ports, uint32_t max_tunnels);

  PortTotals Port(uint16_t p) const;
  TunnelTotals Tunnel(uint32_t id) const;
  WorkerTotals Worker(size_t w) const;
  size_t nb_workers() const { return workers_.size(); }
  // Packets received by all workers since start (no baseline): for `wait idle`.
  uint64_t TotalRxPackets() const;

  // `clear stats`: everything reads zero from now on.
  void Clear();
  // A tunnel id being (re)used starts from zero.
  void ClearTunnel(uint32_t id);

 private:
  PortTotals RawPort(uint16_t p) const;
  TunnelTotals RawTunnel(uint32_t id) const;
  WorkerTotals RawWorker(size_t w) const;

  std::vector<const WorkerCounters*> workers_;
  std::vector<PortTotals> port_base_;
  std::vector<TunnelTotals> tunnel_base_;
  std::vector<WorkerTotals> worker_base_;
};

}  // namespace tundra
