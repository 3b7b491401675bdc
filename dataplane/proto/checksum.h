// Internet checksum arithmetic (RFC 1071) and incremental updates (RFC 1624).
// Sums are kept unfolded in 32 bits over 16-bit words as they lie in memory, so a
// field stored in network order is added as-is and the result is stored as-is.
#pragma once

#include <rte_ip.h>

#include <cstdint>

namespace tundra {

inline uint16_t FoldChecksum(uint32_t sum) {
  sum = (sum & 0xFFFF) + (sum >> 16);
  sum = (sum & 0xFFFF) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}

// Sum of `len` bytes as 16-bit words in memory order (unfolded).
inline uint32_t RawSum(const void* data, size_t len) { return __rte_raw_cksum(data, len, 0); }

// RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), for one 16-bit field changing m → m'.
inline uint16_t UpdateChecksum16(uint16_t checksum, uint16_t old_raw, uint16_t new_raw) {
  uint32_t sum = static_cast<uint16_t>(~checksum) + static_cast<uint16_t>(~old_raw) + new_raw;
  return static_cast<uint16_t>(~FoldChecksum(sum));
}

}  // namespace tundra
