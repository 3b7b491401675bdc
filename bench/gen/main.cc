// tundra-gen: a tunnel-aware DPDK traffic generator. Wires flags, EAL, ports and the
// trial runner together; the logic lives in the files named in README.md.
//
//   tundra-gen [EAL options] -- [flags]        (see --help)
#include <gflags/gflags.h>
#include <poll.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "bench/gen/frame_builder.h"
#include "bench/gen/gen_flags.h"
#include "bench/gen/pcap_export.h"
#include "bench/gen/report.h"
#include "bench/gen/run_modes.h"
#include "bench/gen/trial_runner.h"
#include "drivers/port.h"

namespace tundra::gen {
namespace {

int Fail(const absl::Status& st) {
  std::fprintf(stderr, "tundra-gen: %s\n", std::string(st.message()).c_str());
  return 1;
}

absl::Status StartPorts(const std::vector<uint16_t>& ports, rte_mempool* pool) {
  for (uint16_t p : ports) {
    if (!rte_eth_dev_is_valid_port(p)) {
      return absl::InvalidArgumentError(
          absl::StrCat("port ", p, " does not exist (", rte_eth_dev_count_avail(),
                       " ports: add --vdev or PCI devices to the EAL options)"));
    }
    auto caps = drivers::ProbePort(p);
    if (!caps.ok()) return caps.status();
    drivers::PortSetup setup;
    setup.pool = pool;
    setup.mtu = 0;
    setup.enable_tx_checksum_offload = false;  // templates carry their checksums
    if (auto st = drivers::ConfigureAndStartPort(p, *caps, setup); !st.ok()) return st.status();
  }
  // A memif server's link comes up when the peer connects: wait for every port.
  const uint64_t deadline = rte_get_timer_cycles() + FLAGS_link_wait_s * rte_get_timer_hz();
  for (uint16_t p : ports) {
    rte_eth_link link{};
    while (rte_eth_link_get_nowait(p, &link) == 0 && link.link_status != RTE_ETH_LINK_UP) {
      if (rte_get_timer_cycles() > deadline) {
        return absl::DeadlineExceededError(absl::StrCat("port ", p, " link is down after ",
                                                        FLAGS_link_wait_s, " s (--link_wait_s)"));
      }
      rte_delay_ms(10);
    }
  }
  return absl::OkStatus();
}

// --wait_stdin_eof: returns once stdin reaches EOF, or after max_s seconds. DPDK
// 22.11's memif unmaps the shared rings as soon as the peer disconnects, without
// waiting for a rx/tx burst the peer's worker may be in, which then faults; so a
// script first stops the peer's polling, then closes our stdin, and only then do we
// close the ports.
void WaitStdinEof(uint32_t max_s) {
  std::printf("tundra-gen: done; ports stay open until stdin closes\n");
  std::fflush(stdout);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(max_s);
  char buf[256];
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                          deadline - std::chrono::steady_clock::now())
                          .count();
    if (left <= 0) {
      std::fprintf(stderr, "tundra-gen: stdin still open after %u s (--hold_max_s)\n", max_s);
      return;
    }
    pollfd pfd = {STDIN_FILENO, POLLIN, 0};
    const int ready = poll(&pfd, 1, static_cast<int>(std::min<int64_t>(left, 1000)));
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) return;
    if (ready == 0) continue;
    const ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // EOF (or a dead stdin)
  }
}

void PrintStreams(const TrialResult& t, uint32_t n) {
  n = std::min<uint32_t>(n, static_cast<uint32_t>(t.stream_rx.size()));
  for (uint32_t s = 0; s < n; ++s) {
    const StreamRx& rx = t.stream_rx[s];
    const uint64_t sent = t.stream_sent[s];
    std::printf("  stream %u: sent %llu received %llu lost %llu reordered %llu duplicated %llu\n",
                s, static_cast<unsigned long long>(sent),
                static_cast<unsigned long long>(rx.received()),
                static_cast<unsigned long long>(sent > rx.received() ? sent - rx.received() : 0),
                static_cast<unsigned long long>(rx.reordered()),
                static_cast<unsigned long long>(rx.duplicated()));
  }
}

int Main(int argc, char** argv) {
  // EAL options before "--", tundra-gen flags after it (as testpmd).
  int split = 0;
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--") {
      split = i;
      break;
    }
  }
  std::vector<char*> flag_argv = {argv[0]};
  for (int i = split ? split + 1 : 1; i < argc; ++i) flag_argv.push_back(argv[i]);
  int flag_argc = static_cast<int>(flag_argv.size());
  char** flag_ptr = flag_argv.data();
  gflags::SetUsageMessage("tundra-gen [EAL options] -- [flags]: tunnel traffic generator");
  gflags::ParseCommandLineFlags(&flag_argc, &flag_ptr, true);
  if (flag_argc > 1)
    return Fail(
        absl::InvalidArgumentError(absl::StrCat("unexpected argument '", flag_ptr[1], "'")));

  auto spec = SpecFromFlags();
  if (!spec.ok()) return Fail(spec.status());
  auto templates = BuildTemplates(*spec);
  if (!templates.ok()) return Fail(templates.status());

  if (!FLAGS_write_pcap.empty()) {  // no EAL needed
    if (auto st = WritePcapTraffic(*spec, *templates, FLAGS_write_pcap, FLAGS_count); !st.ok()) {
      return Fail(st);
    }
    std::printf("wrote %llu packets (%s) to %s\n", static_cast<unsigned long long>(FLAGS_count),
                DescribeSpec(*spec).c_str(), FLAGS_write_pcap.c_str());
    return 0;
  }

  auto tx_ports = ParsePortList("tx_port", FLAGS_tx_port);
  if (!tx_ports.ok()) return Fail(tx_ports.status());
  auto rx_ports = ParsePortList("rx_port", FLAGS_rx_port);
  if (!rx_ports.ok()) return Fail(rx_ports.status());

  if (rte_eal_init(split ? split : 1, argv) < 0) {
    return Fail(absl::InternalError(absl::StrCat("EAL init failed: ", rte_strerror(rte_errno))));
  }
  std::vector<uint16_t> all_ports = *tx_ports;
  all_ports.insert(all_ports.end(), rx_ports->begin(), rx_ports->end());
  std::sort(all_ports.begin(), all_ports.end());
  all_ports.erase(std::unique(all_ports.begin(), all_ports.end()), all_ports.end());

  int rc = 0;
  auto pool = drivers::CreateMbufPool("gen_pool", FLAGS_mbufs, static_cast<int>(rte_socket_id()));
  if (!pool.ok()) {
    rc = Fail(pool.status());
  } else if (auto st = StartPorts(all_ports, *pool); !st.ok()) {
    rc = Fail(st);
  } else {
    TunnelPorts tports;
    if (spec->dstport != 0) {
      (spec->proto == GenProto::kGeneve ? tports.geneve : tports.vxlan) = spec->dstport;
    }
    const auto sizes = static_cast<uint32_t>(spec->sizes.size());
    TrialRunner runner(*std::move(templates), spec->streams(), sizes, *tx_ports, *rx_ports, *pool,
                       tports);
    ModeOptions opt;
    opt.mode = FLAGS_mode;
    opt.rate_mpps = FLAGS_rate;
    opt.trial.duration_s = FLAGS_duration;
    opt.trial.drain_ms = FLAGS_drain_ms;
    opt.pdr_loss_ratio = FLAGS_pdr_loss_pct / 100;
    opt.precision = FLAGS_precision_pct / 100;
    opt.max_trials = FLAGS_max_trials;
    opt.lower_mpps = FLAGS_lower_mpps;
    opt.upper_mpps = FLAGS_upper_mpps;
    std::printf("tundra-gen: %s, tx %s rx %s, %.1f s trials\n", DescribeSpec(*spec).c_str(),
                FLAGS_tx_port.c_str(), FLAGS_rx_port.c_str(), FLAGS_duration);
    auto outcome = RunMode(runner, opt, [](int i, const TrialResult& t, bool pass) {
      std::printf("%s\n", FormatTrialLine(i, t, pass).c_str());
      std::fflush(stdout);
    });
    if (!outcome.ok()) {
      rc = Fail(outcome.status());
    } else {
      RunReport report;
      report.mode = FLAGS_mode;
      report.spec = DescribeSpec(*spec);
      report.trial = &outcome->trials[outcome->reported];
      report.tsc_hz = static_cast<double>(rte_get_tsc_hz());
      report.ndr_mpps = outcome->ndr_mpps;
      report.pdr_mpps = outcome->pdr_mpps;
      report.trials = static_cast<int>(outcome->trials.size());
      std::printf("%s", FormatSummary(report).c_str());
      if (FLAGS_per_stream) PrintStreams(*report.trial, FLAGS_per_stream);
      std::printf("%s\n", FormatJson(report).c_str());
    }
  }
  std::fflush(stdout);
  if (FLAGS_wait_stdin_eof) WaitStdinEof(FLAGS_hold_max_s);
  for (uint16_t p : all_ports) {
    if (rte_eth_dev_is_valid_port(p)) (void)drivers::StopAndClosePort(p);
  }
  rte_eal_cleanup();
  return rc;
}

}  // namespace
}  // namespace tundra::gen

int main(int argc, char** argv) { return tundra::gen::Main(argc, argv); }
