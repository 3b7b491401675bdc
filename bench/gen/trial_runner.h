// One trial on DPDK ports: send the templates for a duration (flat out, or paced by
// TSC in bursts of 32), receive on the rx ports at the same time, drain, and count
// per stream. Runs on the calling lcore: tx and rx interleave in one loop, which
// keeps the generator to one core on small machines.
#pragma once

#include <rte_mempool.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "bench/gen/frame_builder.h"
#include "bench/gen/latency_histogram.h"
#include "bench/gen/payload.h"
#include "bench/gen/stream_tracker.h"

namespace tundra::gen {

struct TrialConfig {
  double rate_mpps = 0;  // 0: as fast as the tx ports take packets
  double duration_s = 1;
  double drain_ms = 100;  // receive this long after the last packet was sent
};

struct TrialResult {
  double target_mpps = 0;
  double offered_mpps = 0;  // sent / tx time
  double rx_mpps = 0;       // unique received / tx time
  double tx_seconds = 0;
  RxTotals totals;
  uint64_t rx_other = 0;        // packets without our payload (or an unknown stream)
  uint64_t port_rx_missed = 0;  // imissed + rx_nombuf on our rx ports: our own drops
  uint64_t tx_retries = 0;      // tx_burst calls that took less than offered
  std::unique_ptr<LatencyHistogram> latency = std::make_unique<LatencyHistogram>();
  std::vector<uint64_t> stream_sent;
  std::vector<StreamRx> stream_rx;
};

class TrialRunner {
 public:
  TrialRunner(std::vector<FrameTemplate> templates, uint32_t streams, uint32_t sizes,
              std::vector<uint16_t> tx_ports, std::vector<uint16_t> rx_ports, rte_mempool* pool,
              TunnelPorts tunnel_ports);

  TrialResult Run(const TrialConfig& cfg);

 private:
  std::vector<FrameTemplate> templates_;
  uint32_t streams_;
  uint32_t sizes_;
  std::vector<uint16_t> tx_ports_;
  std::vector<uint16_t> rx_ports_;
  rte_mempool* pool_;
  TunnelPorts tunnel_ports_;
  std::vector<uint64_t> next_seq_;  // per stream, across trials
};

}  // namespace tundra::gen
