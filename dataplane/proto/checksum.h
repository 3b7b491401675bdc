// Internet checksum arithmetic (RFC 1071) and incremental updates (RFC 1624).
// Sums are kept unfolded in 32 bits over 16-bit words as they lie in memory, so a
// field stored in network order is added as-is and the result is stored as-is.
#pragma once

#include <emmintrin.h>
#include <rte_ip.h>

#include <cstdint>
#include <cstring>

namespace tundra {

inline uint16_t FoldChecksum(uint32_t sum) {
  sum = (sum & 0xFFFF) + (sum >> 16);
  sum = (sum & 0xFFFF) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}

// Whether a one's-complement sum (unfolded, of 16-bit words) folds to 0xFFFF: what a
// correct header checksum sums to. Folding keeps a value's residue mod 0xFFFF (2^16 ≡ 1)
// and maps a nonzero value into [1, 0xFFFF], so for a nonzero sum it folds to 0xFFFF
// exactly when 0xFFFF divides it, which the compiler tests with one multiply and one
// compare instead of four folds.
inline bool SumIsAllOnes(uint64_t sum) { return sum != 0 && sum % 0xFFFF == 0; }

// Sum of `len` bytes as 16-bit words in memory order (partly folded: below 2^17, so a
// caller may add a few more words before FoldChecksum). The one's-complement sum does
// not depend on the word size (RFC 1071 §2(B)), so it adds 64-bit words and counts
// their carries apart (an ADD and an ADC a word, as Linux's csum_partial does) instead
// of __rte_raw_cksum's one 16-bit word a step, and folds at the end. `initial` (a sum
// of other words, below 2^63) is added in the same chain.
inline uint32_t RawSum(const void* data, size_t len, uint64_t initial = 0) {
  const auto* p = static_cast<const uint8_t*>(data);
  uint64_t sum = initial;
  uint64_t carries = 0;
  auto add = [&](uint64_t w) {
    sum += w;
    carries += sum < w;
  };
  auto load = [](const uint8_t* q) {
    uint64_t w;
    std::memcpy(&w, q, 8);
    return w;
  };
  for (; len >= 32; p += 32, len -= 32) {
    add(load(p));
    add(load(p + 8));
    add(load(p + 16));
    add(load(p + 24));
  }
  for (; len >= 8; p += 8, len -= 8) add(load(p));
  // The last 0-7 bytes as 16-bit words (2^16 ≡ 1 modulo 0xFFFF, so a word may be added
  // at any 16-bit position, here at the bottom); the odd byte is the first of a
  // zero-padded word (memory order).
  uint64_t tail = 0;
  if (len >= 4) {
    uint32_t w;
    std::memcpy(&w, p, 4);
    tail = w;
    p += 4;
    len -= 4;
  }
  if (len >= 2) {
    uint16_t w;
    std::memcpy(&w, p, 2);
    tail += w;
    p += 2;
    len -= 2;
  }
  if (len != 0) tail += *p;
  add(tail);
  // The carries, end around, and the one carry adding them can make (after which sum is
  // below the carries, so adding it cannot carry again).
  sum += carries;
  sum += sum < carries;
  sum = (sum & 0xFFFFFFFF) + (sum >> 32);
  sum = (sum & 0xFFFF) + (sum >> 16);
  sum = (sum & 0xFFFF) + (sum >> 16);
  return static_cast<uint32_t>(sum);
}

// Whether an IPv4 header (of `len` bytes, a multiple of 4) sums to all ones. The
// common 20-byte header is three 64-bit end-around-carry adds and a fold.
inline bool Ipv4HeaderChecksumOk(const void* hdr, uint16_t len) {
  const auto* p = static_cast<const uint8_t*>(hdr);
  uint64_t a, b;
  uint32_t c;
  std::memcpy(&a, p, 8);
  std::memcpy(&b, p + 8, 8);
  std::memcpy(&c, p + 16, 4);
  // One's-complement addition in 64 bits: add the carries back in.
  uint64_t sum;
  sum = a + b;
  sum += sum < a;
  const uint64_t t = sum + c;
  sum = t + (t < sum);
  for (uint16_t i = 20; i < len; i += 4) [[unlikely]] {
      uint32_t opt;
      std::memcpy(&opt, p + i, 4);
      const uint64_t u = sum + opt;
      sum = u + (u < sum);
    }
  return SumIsAllOnes(sum);
}

// RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), for one 16-bit field changing m → m'.
inline uint16_t UpdateChecksum16(uint16_t checksum, uint16_t old_raw, uint16_t new_raw) {
  uint32_t sum = static_cast<uint16_t>(~checksum) + static_cast<uint16_t>(~old_raw) + new_raw;
  return static_cast<uint16_t>(~FoldChecksum(sum));
}

}  // namespace tundra
