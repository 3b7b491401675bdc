#include "bench/gen/run_modes.h"

#include "absl/strings/str_cat.h"
#include "bench/gen/rate_search.h"

namespace tundra::gen {
namespace {

TrialOutcome Outcome(const TrialResult& t) {
  return TrialOutcome{t.offered_mpps, t.totals.sent, t.totals.lost};
}

}  // namespace

absl::StatusOr<ModeOutcome> RunMode(
    TrialRunner& runner, const ModeOptions& opt,
    const std::function<void(int, const TrialResult&, bool)>& on_trial) {
  const std::string& mode = opt.mode;
  if (mode != "mrr" && mode != "fixed" && mode != "ndr" && mode != "pdr" && mode != "ndrpdr") {
    return absl::InvalidArgumentError(
        absl::StrCat("--mode: '", mode, "' is not mrr|ndr|pdr|ndrpdr|fixed"));
  }
  ModeOutcome out;
  auto trial = [&](double rate, double max_loss) -> const TrialResult& {
    TrialConfig cfg = opt.trial;
    cfg.rate_mpps = rate;
    out.trials.push_back(runner.Run(cfg));
    const TrialResult& t = out.trials.back();
    on_trial(static_cast<int>(out.trials.size()), t, TrialPasses(Outcome(t), max_loss));
    return t;
  };

  if (mode == "mrr" || mode == "fixed") {
    trial(mode == "fixed" ? opt.rate_mpps : 0, 0);
    out.reported = 0;
    return out;
  }

  // Search: the upper bound is what the generator and DUT manage flat out.
  double upper = opt.upper_mpps;
  if (upper <= 0) upper = trial(0, 0).offered_mpps;
  auto search = [&](double max_loss, double lower) {
    SearchConfig cfg;
    cfg.max_loss_ratio = max_loss;
    cfg.lower_mpps = lower;
    cfg.upper_mpps = upper;
    cfg.precision = opt.precision;
    cfg.max_trials = opt.max_trials;
    int best = -1;
    const SearchResult r = SearchRate(cfg, [&](double target) {
      const TrialResult& t = trial(target, max_loss);
      const TrialOutcome o = Outcome(t);
      if (TrialPasses(o, max_loss) &&
          (best < 0 || o.offered_mpps > out.trials[best].offered_mpps)) {
        best = static_cast<int>(out.trials.size()) - 1;
      }
      return o;
    });
    if (best >= 0) out.reported = best;
    return r.found ? r.rate_mpps : 0.0;
  };
  if (mode == "ndr" || mode == "ndrpdr") out.ndr_mpps = search(0, opt.lower_mpps);
  if (mode == "pdr" || mode == "ndrpdr") {
    out.pdr_mpps = search(opt.pdr_loss_ratio, out.ndr_mpps.value_or(opt.lower_mpps));
  }
  if (out.reported < 0) out.reported = static_cast<int>(out.trials.size()) - 1;
  return out;
}

}  // namespace tundra::gen
