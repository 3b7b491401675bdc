#include "bench/gen/trial_runner.h"

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_memcpy.h>

#include <algorithm>

#include "bench/gen/packet_schedule.h"

namespace tundra::gen {
namespace {

constexpr uint16_t kBurst = 32;
// A paced sender that was descheduled catches up on at most this much lost time,
// back-to-back; beyond it the time is given up (the offered rate then reads lower
// than the target rather than the DUT seeing one huge burst).
constexpr double kMaxCatchUpSeconds = 0.001;

// Packets built but not yet taken by the port, with what is needed to re-stamp them.
struct TxQueue {
  uint16_t port = 0;
  PacketSchedule schedule;
  rte_mbuf* pkts[kBurst];
  uint32_t tmpl[kBurst];
  uint64_t seq[kBurst];
  uint16_t n = 0;
};

uint64_t PortMissed(uint16_t port) {
  rte_eth_stats st{};
  if (rte_eth_stats_get(port, &st) != 0) return 0;
  return st.imissed + st.rx_nombuf;
}

}  // namespace

TrialRunner::TrialRunner(std::vector<FrameTemplate> templates, uint32_t streams, uint32_t sizes,
                         std::vector<uint16_t> tx_ports, std::vector<uint16_t> rx_ports,
                         rte_mempool* pool, TunnelPorts tunnel_ports)
    : templates_(std::move(templates)),
      streams_(streams),
      sizes_(sizes),
      tx_ports_(std::move(tx_ports)),
      rx_ports_(std::move(rx_ports)),
      pool_(pool),
      tunnel_ports_(tunnel_ports),
      next_seq_(streams, 0) {}

TrialResult TrialRunner::Run(const TrialConfig& cfg) {
  TrialResult r;
  r.target_mpps = cfg.rate_mpps;
  r.stream_sent.assign(streams_, 0);
  r.stream_rx.reserve(streams_);
  for (uint32_t s = 0; s < streams_; ++s) r.stream_rx.emplace_back(next_seq_[s] & kStampMask);
  LatencyHistogram& hist = *r.latency;

  // Stream s leaves on tx port s % ports, so each stream keeps one path (and order).
  const auto ntx = static_cast<uint32_t>(tx_ports_.size());
  std::vector<TxQueue> txq;
  for (uint32_t j = 0; j < ntx; ++j) {
    txq.push_back(TxQueue{tx_ports_[j], PacketSchedule(j, ntx, streams_, sizes_), {}, {}, {}, 0});
  }
  uint64_t missed_before = 0;
  for (uint16_t p : rx_ports_) missed_before += PortMissed(p);

  const uint64_t hz = rte_get_tsc_hz();
  const uint64_t period =
      cfg.rate_mpps > 0
          ? static_cast<uint64_t>(kBurst * static_cast<double>(hz) / (cfg.rate_mpps * 1e6))
          : 0;
  const uint64_t start = rte_rdtsc();
  const uint64_t tx_end = start + static_cast<uint64_t>(cfg.duration_s * hz);
  const auto max_behind = static_cast<uint64_t>(kMaxCatchUpSeconds * static_cast<double>(hz));
  const uint64_t drain = static_cast<uint64_t>(cfg.drain_ms * 1e-3 * hz);
  uint64_t next_tick = start;
  uint64_t tick = 0;
  uint64_t total_sent = 0;
  uint64_t total_rx = 0;
  uint64_t tx_stopped = 0;  // TSC when sending ended, 0 while sending
  rte_mbuf* rx[kBurst];

  // Tops the queue up to a burst, stamps it and offers it to the port; what the port
  // does not take stays queued and is re-stamped on the next try.
  auto send_burst = [&](TxQueue& q) {
    if (q.schedule.empty()) return;
    if (q.n < kBurst && rte_pktmbuf_alloc_bulk(pool_, q.pkts + q.n, kBurst - q.n) == 0) {
      for (uint16_t i = q.n; i < kBurst; ++i) {
        const uint32_t s = q.schedule.Next(&q.tmpl[i]);
        q.seq[i] = next_seq_[s]++;
        const FrameTemplate& t = templates_[q.tmpl[i]];
        rte_mbuf* m = q.pkts[i];
        const auto len = static_cast<uint16_t>(t.bytes.size());
        rte_memcpy(rte_pktmbuf_mtod(m, uint8_t*), t.bytes.data(), len);
        m->data_len = len;
        m->pkt_len = len;
      }
      q.n = kBurst;
    }
    if (q.n == 0) return;
    const uint64_t tsc = rte_rdtsc();
    for (uint16_t i = 0; i < q.n; ++i) {
      StampFrame(templates_[q.tmpl[i]], rte_pktmbuf_mtod(q.pkts[i], uint8_t*), q.seq[i], tsc);
    }
    const uint16_t sent = rte_eth_tx_burst(q.port, 0, q.pkts, q.n);
    for (uint16_t i = 0; i < sent; ++i) ++r.stream_sent[templates_[q.tmpl[i]].stream];
    total_sent += sent;
    if (sent < q.n) {
      ++r.tx_retries;
      const uint16_t left = q.n - sent;
      std::copy_n(q.pkts + sent, left, q.pkts);
      std::copy_n(q.tmpl + sent, left, q.tmpl);
      std::copy_n(q.seq + sent, left, q.seq);
    }
    q.n -= sent;
  };

  for (;;) {
    uint64_t now = rte_rdtsc();
    if (tx_stopped == 0 && now >= tx_end) {
      tx_stopped = now;
      for (TxQueue& q : txq) {  // never sent: not counted, their numbers are skipped
        rte_pktmbuf_free_bulk(q.pkts, q.n);
        q.n = 0;
      }
    }
    if (tx_stopped == 0) {
      if (period == 0) {
        for (TxQueue& q : txq) send_burst(q);
      } else if (now >= next_tick) {
        if (now - next_tick > max_behind) next_tick = now - max_behind;
        next_tick += period;
        send_burst(txq[tick++ % ntx]);  // one burst per tick, ports in turn
      }
    }

    for (uint16_t port : rx_ports_) {
      const uint16_t n = rte_eth_rx_burst(port, 0, rx, kBurst);
      if (n == 0) continue;
      const uint64_t rx_tsc = rte_rdtsc();
      for (uint16_t i = 0; i < n; ++i) {
        const uint8_t* data = rte_pktmbuf_mtod(rx[i], const uint8_t*);
        const auto off = FindPayload(data, rte_pktmbuf_data_len(rx[i]), tunnel_ports_);
        PayloadFields f;
        if (off) f = ReadPayload(data + *off);
        if (!off || f.stream >= streams_) {
          ++r.rx_other;
          continue;
        }
        const StreamRx::Verdict v = r.stream_rx[f.stream].Receive(f.seq);
        if (v == StreamRx::Verdict::kDuplicate || v == StreamRx::Verdict::kStale) continue;
        ++total_rx;
        hist.Record((rx_tsc - f.tsc) & kStampMask);
      }
      rte_pktmbuf_free_bulk(rx, n);
    }

    if (tx_stopped != 0 && (total_rx >= total_sent || now - tx_stopped > drain)) break;
  }

  const uint64_t tx_cycles = (tx_stopped > start ? tx_stopped : tx_end) - start;
  r.tx_seconds = static_cast<double>(tx_cycles) / hz;
  r.totals = SumStreams(r.stream_rx, r.stream_sent);
  r.offered_mpps = r.totals.sent / r.tx_seconds / 1e6;
  r.rx_mpps = r.totals.received / r.tx_seconds / 1e6;
  uint64_t missed_after = 0;
  for (uint16_t p : rx_ports_) missed_after += PortMissed(p);
  r.port_rx_missed = missed_after - missed_before;
  return r;
}

}  // namespace tundra::gen
