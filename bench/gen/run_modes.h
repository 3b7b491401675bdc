// The measurement modes on top of single trials: mrr (one trial at full offered load),
// fixed (one trial at --rate), ndr / pdr / ndrpdr (binary searches, rate_search.h).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "bench/gen/trial_runner.h"

namespace tundra::gen {

struct ModeOptions {
  std::string mode = "mrr";
  double rate_mpps = 0;
  TrialConfig trial;
  double pdr_loss_ratio = 0.005;
  double precision = 0.01;
  int max_trials = 12;
  double lower_mpps = 0;
  double upper_mpps = 0;
};

struct ModeOutcome {
  std::vector<TrialResult> trials;
  int reported = -1;  // index into trials of the one to report
  std::optional<double> ndr_mpps;
  std::optional<double> pdr_mpps;
};

// Runs the mode; `on_trial(index, result, pass)` is called after each trial.
absl::StatusOr<ModeOutcome> RunMode(
    TrialRunner& runner, const ModeOptions& opt,
    const std::function<void(int, const TrialResult&, bool)>& on_trial);

}  // namespace tundra::gen
