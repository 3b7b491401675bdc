#include "bench/gen/latency_histogram.h"

#include <algorithm>
#include <cmath>

namespace tundra::gen {

void LatencyHistogram::Merge(const LatencyHistogram& other) {
  for (size_t i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  sum_ += other.sum_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
}

uint64_t LatencyHistogram::BucketLow(size_t i) {
  if (i < kSubCount) return i;
  // i = shift * half + sub with sub in [half, 2 * half): shift = i / half - 1.
  const uint64_t shift = i / kHalf - 1;
  const uint64_t sub = i - shift * kHalf;
  return sub << shift;
}

uint64_t LatencyHistogram::BucketHigh(size_t i) {
  if (i < kSubCount) return i;
  const uint64_t shift = i / kHalf - 1;
  const uint64_t sub = i - shift * kHalf;
  return ((sub + 1) << shift) - 1;
}

uint64_t LatencyHistogram::Quantile(double q) const {
  if (count_ == 0) return 0;
  q = std::clamp(q, 0.0, 1.0);
  // The rank of the sample (1-based) that q names: nearest-rank definition.
  uint64_t rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(count_)));
  rank = std::clamp<uint64_t>(rank, 1, count_);
  uint64_t seen = 0;
  for (size_t i = 0; i < kBuckets; ++i) {
    seen += counts_[i];
    if (seen >= rank) {
      const uint64_t mid = BucketLow(i) + (BucketHigh(i) - BucketLow(i)) / 2;
      return std::clamp(mid, min(), max_);
    }
  }
  return max_;
}

}  // namespace tundra::gen
