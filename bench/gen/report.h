// The results of a run, for people (a short summary) and for scripts (one JSON line
// that scripts/bench.sh parses; keys stay stable, new ones are only added).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "bench/gen/trial_runner.h"

namespace tundra::gen {

struct LatencySummaryUs {
  double min = 0, avg = 0, p50 = 0, p90 = 0, p99 = 0, p999 = 0, max = 0;
};

LatencySummaryUs SummarizeLatency(const LatencyHistogram& h, double tsc_hz);

struct RunReport {
  std::string mode;
  std::string spec;                    // DescribeSpec()
  const TrialResult* trial = nullptr;  // the reported trial (for ndr/pdr: at the found rate)
  double tsc_hz = 0;
  std::optional<double> ndr_mpps;
  std::optional<double> pdr_mpps;
  int trials = 0;
};

// One line per trial while searching: "trial 3  target 5.000 Mpps  offered ...".
std::string FormatTrialLine(int index, const TrialResult& t, bool pass);

// A few lines: rates, counts, latency.
std::string FormatSummary(const RunReport& r);

// {"mode":..,"offered_mpps":..,...,"latency_us":{...},"ndr_mpps":..,"pdr_mpps":..}
// with null for a search that was not run; ends without a newline.
std::string FormatJson(const RunReport& r);

}  // namespace tundra::gen
