#include "bench/gen/rate_search.h"

#include <algorithm>

namespace tundra::gen {

bool TrialPasses(const TrialOutcome& o, double max_loss_ratio) {
  if (o.sent == 0) return false;
  if (max_loss_ratio <= 0) return o.lost == 0;
  return o.loss_ratio() <= max_loss_ratio;
}

SearchResult SearchRate(const SearchConfig& cfg, const std::function<TrialOutcome(double)>& trial) {
  SearchResult r;
  double lo = std::max(0.0, cfg.lower_mpps);
  double hi = cfg.upper_mpps;
  if (hi <= lo) return r;

  auto run = [&](double target) {
    const TrialOutcome o = trial(target);
    const bool pass = TrialPasses(o, cfg.max_loss_ratio);
    r.steps.push_back(SearchStep{target, o, pass});
    if (pass && (!r.found || o.offered_mpps > r.rate_mpps)) {
      r.found = true;
      // Report what was offered, but never more than was asked for.
      r.rate_mpps = std::min(o.offered_mpps, target);
      r.at_rate = o;
    }
    return pass;
  };

  if (run(hi)) return r;
  while (static_cast<int>(r.steps.size()) < cfg.max_trials) {
    const double width = hi - lo;
    if (width <= cfg.precision * hi || width <= cfg.min_width_mpps) break;
    const double mid = lo + width / 2;
    if (run(mid)) {
      lo = mid;
    } else {
      hi = mid;
    }
  }
  return r;
}

}  // namespace tundra::gen
