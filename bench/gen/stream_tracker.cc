#include "bench/gen/stream_tracker.h"

namespace tundra::gen {

void StreamRx::Advance(uint64_t new_next) {
  // Forget what falls out of the window: the slots of next .. new_next - 1 are reused.
  if (new_next - next_ >= kWindow) {
    bits_.fill(0);
  } else {
    for (uint64_t s = next_; s < new_next; ++s) bits_[Word(s)] &= ~(uint64_t{1} << (s % 64));
  }
  next_ = new_next;
}

StreamRx::Verdict StreamRx::Receive(uint64_t seq) {
  if (seq < base_) {
    ++stale_;
    return Verdict::kStale;
  }
  if (seq >= next_) {
    const Verdict v = seq == next_ ? Verdict::kInOrder : Verdict::kEarly;
    Advance(seq + 1);
    Mark(seq);
    ++received_;
    return v;
  }
  if (next_ - seq > kWindow) {
    ++reordered_;
    ++received_;
    return Verdict::kReordered;
  }
  if (Seen(seq)) {
    ++duplicated_;
    return Verdict::kDuplicate;
  }
  Mark(seq);
  ++reordered_;
  ++received_;
  return Verdict::kReordered;
}

RxTotals SumStreams(const std::vector<StreamRx>& rx, const std::vector<uint64_t>& sent) {
  RxTotals t;
  for (size_t i = 0; i < rx.size(); ++i) {
    t.sent += i < sent.size() ? sent[i] : 0;
    t.received += rx[i].received();
    t.reordered += rx[i].reordered();
    t.duplicated += rx[i].duplicated();
    t.stale += rx[i].stale();
  }
  t.lost = t.sent > t.received ? t.sent - t.received : 0;
  return t;
}

}  // namespace tundra::gen
