// The ESP anti-replay window (RFC 4303 §3.4.3), with extended sequence numbers
// (Appendix A2): a bitmap of the last W sequence numbers below the highest one seen.
//
// tundra keeps its own window rather than relying on librte_ipsec's: DPDK 22.11 (and
// DPDK main as of 2026) records a received sequence number with
//   uint32_t bit = (uint64_t)1 << (sqn & 63);
// in esn_inb_update_sqn (lib/ipsec/ipsec_sqn.h), which truncates the bit for every
// sequence number whose low six bits are 32 or more: half of all packets are never
// recorded, and a replay of any of them is accepted. librte_ipsec's window still
// reconstructs ESN high bits and decrypts; this one decides what is a replay.
#pragma once

#include <cstdint>
#include <vector>

namespace tundra {

class ReplayWindow {
 public:
  // size 0: anti-replay off (every sequence number accepted, none recorded).
  // `top`: the highest sequence number taken as seen already (0 for a new SA).
  ReplayWindow(uint32_t size, bool esn, uint64_t top = 0);

  // The 64-bit sequence number a received low 32 bits stand for: with ESN, the high
  // half that puts it nearest the window (RFC 4303 Appendix A2.2), else 0.
  uint64_t Reconstruct(uint32_t low) const;
  // Whether `seq` may be new: above the window, or inside it and not yet seen.
  bool Check(uint64_t seq) const;
  // Records `seq` after its ICV checked; false when it was seen already (a duplicate
  // that passed Check in the same burst) or fell behind.
  bool Update(uint64_t seq);

  uint64_t top() const { return top_; }

 private:
  uint64_t& Word(uint64_t seq) { return bits_[(seq >> 6) & word_mask_]; }
  uint64_t Word(uint64_t seq) const { return bits_[(seq >> 6) & word_mask_]; }

  uint32_t size_;
  bool esn_;
  uint64_t top_ = 0;            // the highest sequence number accepted
  std::vector<uint64_t> bits_;  // a ring of 64-bit words, one more than the window needs
  uint64_t word_mask_ = 0;
};

}  // namespace tundra
