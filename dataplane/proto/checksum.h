// Internet checksum arithmetic (RFC 1071) and incremental updates (RFC 1624).
// Sums are kept unfolded in 32 bits over 16-bit words as they lie in memory, so a
// field stored in network order is added as-is and the result is stored as-is.
#pragma once

#include <emmintrin.h>
#include <rte_ip.h>
#include <tmmintrin.h>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>

namespace tundra {

// Folds a 32-bit sum to 16 bits with end-around carry: the top half of sum + (sum rotated
// by 16) is hi + lo plus the carry out of the bottom half's lo + hi (Linux's csum_fold).
inline uint16_t FoldChecksum(uint32_t sum) {
  return static_cast<uint16_t>((sum + std::rotr(sum, 16)) >> 16);
}

// Whether a one's-complement sum (unfolded, of 16-bit words) folds to 0xFFFF: what a
// correct header checksum sums to. Folding keeps a value's residue mod 0xFFFF (2^16 ≡ 1)
// and maps a nonzero value into [1, 0xFFFF], so for a nonzero sum it folds to 0xFFFF
// exactly when 0xFFFF divides it, which the compiler tests with one multiply and one
// compare instead of four folds.
inline bool SumIsAllOnes(uint64_t sum) { return sum != 0 && sum % 0xFFFF == 0; }
inline bool SumIsAllOnes(uint32_t sum) { return sum != 0 && sum % 0xFFFF == 0; }

namespace checksum_internal {

// kTailShuffle[r] moves the last r bytes of a 16-byte load to its front and zeroes the
// rest (PSHUFB: an index with the top bit set gives zero).
struct TailShuffle {
  alignas(16) uint8_t index[16][16];
};
constexpr TailShuffle MakeTailShuffle() {
  TailShuffle t{};
  for (int r = 0; r < 16; ++r) {
    for (int j = 0; j < 16; ++j) t.index[r][j] = j < r ? static_cast<uint8_t>(16 - r + j) : 0x80;
  }
  return t;
}
inline constexpr TailShuffle kTailShuffle = MakeTailShuffle();

// The sum of `len` bytes below 16, in memory order, as 16-bit words (below 2^19); the
// odd byte is the first of a zero-padded word.
inline uint32_t SumShort(const uint8_t* p, size_t len) {
  uint32_t sum = 0;
  auto add32 = [&](const uint8_t* q) {
    uint32_t w;
    std::memcpy(&w, q, 4);
    sum += (w & 0xFFFF) + (w >> 16);
  };
  if (len >= 8) {
    add32(p);
    add32(p + 4);
    p += 8;
    len -= 8;
  }
  if (len >= 4) {
    add32(p);
    p += 4;
    len -= 4;
  }
  if (len >= 2) {
    uint16_t w;
    std::memcpy(&w, p, 2);
    sum += w;
    p += 2;
    len -= 2;
  }
  if (len != 0) sum += *p;
  return sum;
}

// The sum of `len` bytes, 16 <= len < 65536 + 16, as 16-bit words in memory order,
// unfolded; below 2^32 (at most 32776 words). Blocks of 16 bytes are summed by PMADDWD,
// which adds pairs of signed 16-bit words into 32-bit lanes: each word w goes in as
// w ^ 0x8000, which as a signed number is w - 0x8000, and the 0x8000 of each word is
// added back at the end. That is four instructions a block (load, xor, madd, add)
// against two 64-bit add-with-carry chains' eight, and no carries to count. A lane gains
// at most 2^16 a block, so the four lanes' sum of at most 4097 blocks cannot overflow.
// The last 1-15 bytes are one more block: the 16 bytes that end the data, shuffled down
// to the front with zeros after them (as if zero-padded, which adds nothing), so no
// branch per size and no read outside the data.
__attribute__((always_inline)) inline uint32_t SumBlocks(const uint8_t* p, size_t len) {
  const __m128i bias = _mm_set1_epi16(INT16_MIN);
  const __m128i ones = _mm_set1_epi16(1);
  auto block = [&](__m128i w) { return _mm_madd_epi16(_mm_xor_si128(w, bias), ones); };
  auto load = [](const uint8_t* q) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(q)); };
  size_t blocks = len / 16;
  const size_t tail = len % 16;
  // Two blocks a step: half the loop's own instructions.
  __m128i a = _mm_setzero_si128();
  for (const uint8_t* const pairs_end = p + (blocks & ~size_t{1}) * 16; p != pairs_end; p += 32) {
    a = _mm_add_epi32(_mm_add_epi32(a, block(load(p))), block(load(p + 16)));
  }
  if (blocks & 1) {
    a = _mm_add_epi32(a, block(load(p)));
    p += 16;
  }
  if (tail != 0) {
    const __m128i idx = _mm_load_si128(reinterpret_cast<const __m128i*>(kTailShuffle.index[tail]));
    a = _mm_add_epi32(a, block(_mm_shuffle_epi8(load(p + tail - 16), idx)));
    ++blocks;
  }
  a = _mm_add_epi32(a, _mm_shuffle_epi32(a, _MM_SHUFFLE(1, 0, 3, 2)));
  a = _mm_add_epi32(a, _mm_shuffle_epi32(a, _MM_SHUFFLE(2, 3, 0, 1)));
  // The true sum is below 2^32, so modulo 2^32 is exact: adding the 2^15 a word back
  // wraps the biased (negative) lanes' sum to it.
  return static_cast<uint32_t>(_mm_cvtsi128_si32(a)) + static_cast<uint32_t>(blocks << 18);
}

}  // namespace checksum_internal

// Sum of `len` bytes as 16-bit words in memory order, plus `initial` (a sum of other
// words, below 2^62), unfolded. In chunks of 64 KiB (an mbuf segment's most), each
// summed by SumBlocks.
__attribute__((always_inline)) inline uint64_t SumWords(const void* data, size_t len,
                                                        uint64_t initial = 0) {
  const auto* p = static_cast<const uint8_t*>(data);
  if (len < 16) return initial + checksum_internal::SumShort(p, len);
  uint64_t sum = initial;
  constexpr size_t kChunk = 65536;
  for (; len >= kChunk + 16; len -= kChunk, p += kChunk) {
    sum += checksum_internal::SumBlocks(p, kChunk);
  }
  return sum + checksum_internal::SumBlocks(p, len);
}

// The same for at most 64 KiB - 1 (an mbuf segment's data), in 32 bits: `initial` below
// 2^31 (the data's sum is below 2^31).
__attribute__((always_inline)) inline uint32_t SumWords16(const void* data, uint16_t len,
                                                          uint32_t initial = 0) {
  const auto* p = static_cast<const uint8_t*>(data);
  return initial +
         (len < 16 ? checksum_internal::SumShort(p, len) : checksum_internal::SumBlocks(p, len));
}

// A sum of 16-bit words partly folded: below 2^17, so a caller may add a few more words
// before FoldChecksum.
inline uint32_t FoldWide(uint64_t sum) {
  sum = (sum & 0xFFFFFFFF) + (sum >> 32);
  sum = (sum & 0xFFFF) + (sum >> 16);
  sum = (sum & 0xFFFF) + (sum >> 16);
  return static_cast<uint32_t>(sum);
}

// A 64-bit sum of 16-bit words folded to 16 bits.
inline uint16_t FoldChecksum64(uint64_t sum) {
  // To 32 bits with end-around carry: the carry out of the add is at most 1.
  const uint64_t t = (sum & 0xFFFFFFFF) + (sum >> 32);
  return FoldChecksum(static_cast<uint32_t>(t) + static_cast<uint32_t>(t >> 32));
}

inline uint32_t RawSum(const void* data, size_t len, uint64_t initial = 0) {
  return FoldWide(SumWords(data, len, initial));
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
