// NDR/PDR search over the offered rate (RFC 2544 §26.1 throughput, with CSIT's PDR
// variant): a binary search between a lower and an upper bound, each trial at one
// offered rate, until the interval is narrower than `precision` of the upper bound or
// the trial budget runs out. Pure logic: the trial itself is a callback, so tests run
// it against a simulated device under test.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

namespace tundra::gen {

struct TrialOutcome {
  double offered_mpps = 0;  // what was actually sent (may fall short of the target)
  uint64_t sent = 0;
  uint64_t lost = 0;
  double loss_ratio() const { return sent ? static_cast<double>(lost) / sent : 1.0; }
};

struct SearchConfig {
  double max_loss_ratio = 0;  // 0: NDR; 0.005: PDR
  double lower_mpps = 0;      // known-good floor (0: none)
  double upper_mpps = 0;      // ceiling: usually the MRR trial's offered rate
  double precision = 0.01;    // stop when (hi - lo) <= precision * hi
  double min_width_mpps = 0.001;
  int max_trials = 20;
};

struct SearchStep {
  double target_mpps;
  TrialOutcome outcome;
  bool pass;
};

struct SearchResult {
  double rate_mpps = 0;  // highest passing offered rate (0: none passed)
  bool found = false;
  TrialOutcome at_rate;  // the trial that established it
  std::vector<SearchStep> steps;
};

// A trial passes when its loss ratio is at most cfg.max_loss_ratio (for NDR: no loss).
bool TrialPasses(const TrialOutcome& o, double max_loss_ratio);

// `trial(target_mpps)` runs one trial at that offered rate. The first trial is at
// the upper bound: if it passes, that is the answer.
SearchResult SearchRate(const SearchConfig& cfg,
                        const std::function<TrialOutcome(double target_mpps)>& trial);

}  // namespace tundra::gen
