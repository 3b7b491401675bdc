#include "control/stats.h"

namespace tundra {

uint64_t PortTotals::total_drops() const {
  uint64_t sum = 0;
  for (uint64_t d : drops) sum += d;
  return sum;
}

uint64_t TunnelTotals::total_drops() const {
  uint64_t sum = 0;
  for (uint64_t d : drops) sum += d;
  return sum;
}

Stats::Stats(std::vector<const WorkerCounters*> workers, uint16_t nb_ports, uint32_t max_tunnels)
    : workers_(std::move(workers)),
      port_base_(nb_ports),
      tunnel_base_(max_tunnels + 1),
      worker_base_(workers_.size()) {}

PortTotals Stats::RawPort(uint16_t p) const {
  PortTotals t;
  for (const WorkerCounters* w : workers_) {
    const PortCounters& c = w->ports[p];
    t.rx_packets += c.rx_packets.Get();
    t.rx_bytes += c.rx_bytes.Get();
    t.tx_packets += c.tx_packets.Get();
    t.tx_bytes += c.tx_bytes.Get();
    t.nd_replies += c.nd_replies.Get();
    t.punted += c.punted.Get();
    for (int r = 0; r < kNumDropReasons; ++r) t.drops[r] += c.drops[r].Get();
  }
  return t;
}

TunnelTotals Stats::RawTunnel(uint32_t id) const {
  TunnelTotals t;
  for (const WorkerCounters* w : workers_) {
    const TunnelCounters& c = w->tunnels[id];
    t.encap_packets += c.encap_packets.Get();
    t.encap_bytes += c.encap_bytes.Get();
    t.decap_packets += c.decap_packets.Get();
    t.decap_bytes += c.decap_bytes.Get();
    t.oam_packets += c.oam_packets.Get();
    t.seq_out_of_order += c.seq_out_of_order.Get();
    t.seq_duplicate += c.seq_duplicate.Get();
    t.icmp_errors += c.icmp_errors.Get();
    t.fragments += c.fragments.Get();
    for (int r = 0; r < kNumTunnelDrops; ++r) t.drops[r] += c.drops[r].Get();
  }
  return t;
}

WorkerTotals Stats::RawWorker(size_t w) const {
  const WorkerCounters& c = *workers_[w];
  return WorkerTotals{c.packets.Get(), c.busy_cycles.Get(), c.bursts.Get()};
}

PortTotals Stats::Port(uint16_t p) const {
  PortTotals t = RawPort(p);
  const PortTotals& b = port_base_[p];
  t.rx_packets -= b.rx_packets;
  t.rx_bytes -= b.rx_bytes;
  t.tx_packets -= b.tx_packets;
  t.tx_bytes -= b.tx_bytes;
  t.nd_replies -= b.nd_replies;
  t.punted -= b.punted;
  for (int r = 0; r < kNumDropReasons; ++r) t.drops[r] -= b.drops[r];
  return t;
}

TunnelTotals Stats::Tunnel(uint32_t id) const {
  TunnelTotals t = RawTunnel(id);
  const TunnelTotals& b = tunnel_base_[id];
  t.encap_packets -= b.encap_packets;
  t.encap_bytes -= b.encap_bytes;
  t.decap_packets -= b.decap_packets;
  t.decap_bytes -= b.decap_bytes;
  t.oam_packets -= b.oam_packets;
  t.seq_out_of_order -= b.seq_out_of_order;
  t.seq_duplicate -= b.seq_duplicate;
  t.icmp_errors -= b.icmp_errors;
  t.fragments -= b.fragments;
  for (int r = 0; r < kNumTunnelDrops; ++r) t.drops[r] -= b.drops[r];
  return t;
}

WorkerTotals Stats::Worker(size_t w) const {
  WorkerTotals t = RawWorker(w);
  t.packets -= worker_base_[w].packets;
  t.busy_cycles -= worker_base_[w].busy_cycles;
  t.bursts -= worker_base_[w].bursts;
  return t;
}

uint64_t Stats::TotalRxPackets() const {
  uint64_t sum = 0;
  for (const WorkerCounters* w : workers_) sum += w->packets.Get();
  return sum;
}

void Stats::Clear() {
  for (uint16_t p = 0; p < port_base_.size(); ++p) port_base_[p] = RawPort(p);
  for (uint32_t id = 0; id < tunnel_base_.size(); ++id) tunnel_base_[id] = RawTunnel(id);
  for (size_t w = 0; w < worker_base_.size(); ++w) worker_base_[w] = RawWorker(w);
}

void Stats::ClearTunnel(uint32_t id) { tunnel_base_[id] = RawTunnel(id); }

}  // namespace tundra
