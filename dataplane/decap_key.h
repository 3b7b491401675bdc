// The decap lookup key and its hash: what identifies a tunnel on receive.
#pragma once

#include <smmintrin.h>

#include <cstdint>
#include <cstring>

namespace tundra {

// The decap lookup key. `remote` is zero for protocols that are not point-to-point
// (VXLAN, GENEVE: the remote is checked after the lookup, to tell a wrong VNI apart
// from a wrong source).
// 48 bytes, not 40: rte_hash compares 48-byte keys with vector instructions and falls
// back to memcmp for other sizes; the hash below reads it as six 64-bit words.
struct alignas(16) DecapKey {
  uint8_t type = 0;         // TunnelType
  uint8_t family = 0;       // 4 or 6
  uint16_t flags = 0;       // kDecapKeyHasKey: a GRE key is present
  uint32_t vni_or_key = 0;  // the VXLAN/GENEVE VNI or the GRE key
  uint8_t local[16] = {};
  uint8_t remote[16] = {};
  uint8_t pad[8] = {};

  // Three 16-byte compares (the key is 16-byte aligned).
  bool operator==(const DecapKey& o) const {
    const auto* a = reinterpret_cast<const __m128i*>(this);
    const auto* b = reinterpret_cast<const __m128i*>(&o);
    const __m128i d =
        _mm_or_si128(_mm_or_si128(_mm_xor_si128(_mm_load_si128(a), _mm_load_si128(b)),
                                  _mm_xor_si128(_mm_load_si128(a + 1), _mm_load_si128(b + 1))),
                     _mm_xor_si128(_mm_load_si128(a + 2), _mm_load_si128(b + 2)));
    return _mm_testz_si128(d, d);
  }
};
static_assert(sizeof(DecapKey) == 48);

// CRC32-C over the key's six words: a few instructions instead of rte_hash_crc's loop.
inline uint32_t DecapKeyHash(const void* key, uint32_t /*len*/, uint32_t init) {
  const auto* w = static_cast<const uint64_t*>(key);
  // Two independent chains, unrolled: half the latency, no loop.
  const uint64_t a = __builtin_ia32_crc32di(
      __builtin_ia32_crc32di(__builtin_ia32_crc32di(init, w[0]), w[1]), w[2]);
  const uint64_t b = __builtin_ia32_crc32di(
      __builtin_ia32_crc32di(__builtin_ia32_crc32di(init ^ 0x9E3779B9u, w[3]), w[4]), w[5]);
  return static_cast<uint32_t>(a ^ (b << 1) ^ (b >> 31));
}

inline constexpr uint16_t kDecapKeyHasKey = 1;

}  // namespace tundra
