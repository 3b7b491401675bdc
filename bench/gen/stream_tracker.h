// Receive-side accounting per stream: in-order, lost, reordered and duplicated packets
// from the sequence numbers, after RFC 4737's idea of a "next expected" number plus a
// small window of recently seen ones.
//
// Per stream: `next` is one past the highest sequence number seen. A packet with
//   seq == next        arrives in order;
//   seq >  next        arrives early: the numbers skipped are missing for now;
//   seq <  next        is late: reordered if the window says it was not seen yet, a
//                      duplicate if it was; older than the window it is counted
//                      reordered (its duplicate status can no longer be told).
// Packets from before the trial (seq < base, e.g. stragglers of the previous trial)
// are counted as stale and otherwise ignored. Lost = sent - received (unique), which
// is only meaningful after the drain.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace tundra::gen {

class StreamRx {
 public:
  static constexpr uint64_t kWindow = 256;  // sequence numbers remembered below `next`

  explicit StreamRx(uint64_t base = 0) : base_(base), next_(base) {}

  enum class Verdict : uint8_t { kInOrder, kEarly, kReordered, kDuplicate, kStale };

  Verdict Receive(uint64_t seq);

  uint64_t received() const { return received_; }  // unique packets of this trial
  uint64_t reordered() const { return reordered_; }
  uint64_t duplicated() const { return duplicated_; }
  uint64_t stale() const { return stale_; }
  uint64_t next() const { return next_; }

 private:
  bool Seen(uint64_t seq) const { return (bits_[Word(seq)] >> (seq % 64)) & 1; }
  void Mark(uint64_t seq) { bits_[Word(seq)] |= uint64_t{1} << (seq % 64); }
  static size_t Word(uint64_t seq) { return (seq % kWindow) / 64; }
  void Advance(uint64_t new_next);

  uint64_t base_;
  uint64_t next_;
  uint64_t received_ = 0;
  uint64_t reordered_ = 0;
  uint64_t duplicated_ = 0;
  uint64_t stale_ = 0;
  // Bit (seq % kWindow) is set when seq in [next - kWindow, next) was received.
  std::array<uint64_t, kWindow / 64> bits_{};
};

// What a trial counted, summed over streams.
struct RxTotals {
  uint64_t sent = 0;
  uint64_t received = 0;
  uint64_t lost = 0;  // sent - received, never negative
  uint64_t reordered = 0;
  uint64_t duplicated = 0;
  uint64_t stale = 0;
};

// Sums `rx` against per-stream `sent` counts (same indexing).
RxTotals SumStreams(const std::vector<StreamRx>& rx, const std::vector<uint64_t>& sent);

}  // namespace tundra::gen
