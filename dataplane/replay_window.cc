#include "dataplane/replay_window.h"

#include <algorithm>
#include <bit>

namespace tundra {

ReplayWindow::ReplayWindow(uint32_t size, bool esn, uint64_t top)
    : size_(size), esn_(esn), top_(top) {
  if (size_ == 0) return;
  // Whole words for the window plus one, so advancing clears whole words (RFC 6479).
  const uint64_t words = std::bit_ceil(uint64_t{(size_ + 63) / 64 + 1});
  bits_.assign(words, 0);
  word_mask_ = words - 1;
}

uint64_t ReplayWindow::Reconstruct(uint32_t low) const {
  if (!esn_) return low;
  const uint32_t w = std::max(size_, 1u);
  const uint32_t tl = static_cast<uint32_t>(top_);
  uint32_t th = static_cast<uint32_t>(top_ >> 32);
  const uint32_t bottom = tl - w + 1;  // the window's lower edge, modulo 2^32
  if (tl >= w - 1) {
    // Case A: the window lies within one 2^32 subspace; below its edge means the next.
    if (low < bottom) ++th;
  } else if (th != 0 && low >= bottom) {
    // Case B: the window spans two subspaces; at or above the edge means the previous.
    --th;
  }
  return uint64_t{th} << 32 | low;
}

bool ReplayWindow::Check(uint64_t seq) const {
  if (seq == 0) return false;  // never sent: the first packet is 1
  if (size_ == 0 || seq > top_) return true;
  if (seq + size_ <= top_) return false;  // behind the window
  return (Word(seq) & (uint64_t{1} << (seq & 63))) == 0;
}

bool ReplayWindow::Update(uint64_t seq) {
  if (!Check(seq)) return false;
  if (size_ == 0) return true;
  if (seq > top_) {
    // Clear the words the window moves past (at most all of them).
    const uint64_t from = (top_ >> 6) + 1, to = seq >> 6;
    for (uint64_t k = from; k <= to && k - from <= word_mask_; ++k) bits_[k & word_mask_] = 0;
    top_ = seq;
  }
  Word(seq) |= uint64_t{1} << (seq & 63);
  return true;
}

}  // namespace tundra
