// An HDR-style log-linear histogram of latencies in TSC cycles: exact below 2^kSubBits,
// then 2^(kSubBits-1) linear sub-buckets per power of two, i.e. a relative error under
// 2^-(kSubBits-1) (0.8 %) at any magnitude, in a fixed 58 KiB array with O(1) record.
// Min, max and the sum are exact.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace tundra::gen {

class LatencyHistogram {
 public:
  static constexpr int kSubBits = 8;
  static constexpr uint64_t kSubCount = uint64_t{1} << kSubBits;
  static constexpr uint64_t kHalf = kSubCount / 2;
  static constexpr size_t kBuckets = (64 - kSubBits + 1) * kHalf + kHalf;

  void Record(uint64_t value) {
    ++counts_[Index(value)];
    ++count_;
    sum_ += value;
    if (value < min_) min_ = value;
    if (value > max_) max_ = value;
  }
  void Merge(const LatencyHistogram& other);
  void Clear() { *this = LatencyHistogram(); }

  uint64_t count() const { return count_; }
  uint64_t min() const { return count_ ? min_ : 0; }
  uint64_t max() const { return max_; }
  double mean() const { return count_ ? static_cast<double>(sum_) / count_ : 0; }

  // The value at or below which `q` (0..1) of the samples lie: the midpoint of that
  // sample's bucket, clamped to [min, max]. 0 when empty.
  uint64_t Quantile(double q) const;

  static size_t Index(uint64_t v) {
    if (v < kSubCount) return static_cast<size_t>(v);
    const int shift = 63 - __builtin_clzll(v) - kSubBits + 1;  // >= 1
    return static_cast<size_t>(shift * kHalf + (v >> shift));
  }
  // Lowest and highest value that map to bucket `i`.
  static uint64_t BucketLow(size_t i);
  static uint64_t BucketHigh(size_t i);

 private:
  std::array<uint64_t, kBuckets> counts_{};
  uint64_t count_ = 0;
  uint64_t sum_ = 0;
  uint64_t min_ = UINT64_MAX;
  uint64_t max_ = 0;
};

}  // namespace tundra::gen
