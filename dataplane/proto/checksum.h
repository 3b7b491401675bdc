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

// Sum of `len` bytes as 16-bit words in memory order (partly folded: below 2^17, so a
// caller may add a few more words before FoldChecksum). The one's-complement sum does
// not depend on the word size (RFC 1071 §2(B)), so it adds sixteen bytes a step: eight
// 16-bit lanes widened to 32 bits, instead of __rte_raw_cksum's one 16-bit word a step
// (a 1500-byte IPv6 UDP checksum is ~8x fewer instructions). The 32-bit lanes cannot
// overflow below 256 KiB, far above any packet.
inline uint32_t RawSum(const void* data, size_t len) {
  const auto* p = static_cast<const uint8_t*>(data);
  const __m128i zero = _mm_setzero_si128();
  __m128i acc = zero;
  for (; len >= 16; p += 16, len -= 16) {
    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    acc = _mm_add_epi32(acc, _mm_unpacklo_epi16(x, zero));
    acc = _mm_add_epi32(acc, _mm_unpackhi_epi16(x, zero));
  }
  acc = _mm_add_epi32(acc, _mm_srli_si128(acc, 8));
  acc = _mm_add_epi32(acc, _mm_srli_si128(acc, 4));
  uint64_t sum = static_cast<uint32_t>(_mm_cvtsi128_si32(acc));
  for (; len >= 4; p += 4, len -= 4) {
    uint32_t w;
    std::memcpy(&w, p, 4);
    sum += w;
  }
  if (len >= 2) {
    uint16_t w;
    std::memcpy(&w, p, 2);
    sum += w;
    p += 2;
    len -= 2;
  }
  if (len != 0) sum += *p;  // the odd byte is the first of a zero-padded word (memory order)
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
  sum = (sum & 0xFFFFFFFF) + (sum >> 32);
  sum = (sum & 0xFFFFFFFF) + (sum >> 32);
  return FoldChecksum(static_cast<uint32_t>(sum)) == 0xFFFF;
}

// RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), for one 16-bit field changing m → m'.
inline uint16_t UpdateChecksum16(uint16_t checksum, uint16_t old_raw, uint16_t new_raw) {
  uint32_t sum = static_cast<uint16_t>(~checksum) + static_cast<uint16_t>(~old_raw) + new_raw;
  return static_cast<uint16_t>(~FoldChecksum(sum));
}

}  // namespace tundra
