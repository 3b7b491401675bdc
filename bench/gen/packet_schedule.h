// Which template each packet is sent from: the streams of one tx port in turn; for
// IMIX the packet at position p of round r takes pattern slot (p + r) % sizes, so
// consecutive packets follow the pattern and every stream cycles through every size
// (exactly 7:4:1 per stream over 12 rounds).
#pragma once

#include <cstdint>

namespace tundra::gen {

class PacketSchedule {
 public:
  // Streams first, first + step, ... below `streams`; `sizes` templates per stream.
  PacketSchedule(uint32_t first, uint32_t step, uint32_t streams, uint32_t sizes)
      : first_(first), step_(step), streams_(streams), sizes_(sizes), stream_(first) {}

  bool empty() const { return first_ >= streams_; }

  // The next packet's stream; `*template_index` gets stream * sizes + size slot.
  uint32_t Next(uint32_t* template_index) {
    const uint32_t s = stream_;
    *template_index = s * sizes_ + size_;
    stream_ += step_;
    if (++size_ == sizes_) size_ = 0;
    if (stream_ >= streams_) {  // next round: start one slot further than this one did
      stream_ = first_;
      if (++round_ == sizes_) round_ = 0;
      size_ = round_;
    }
    return s;
  }

 private:
  uint32_t first_;
  uint32_t step_;
  uint32_t streams_;
  uint32_t sizes_;
  uint32_t stream_;
  uint32_t size_ = 0;
  uint32_t round_ = 0;
};

}  // namespace tundra::gen
