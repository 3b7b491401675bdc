// GRE wire format (RFC 2784, with the key and sequence number of RFC 2890).
#pragma once

#include <cstdint>

#include "dataplane/proto/endian.h"

namespace tundra {

struct __attribute__((packed)) GreHdr {
  Be16 flags_version;  // C(1) R(1) K(1) S(1) Reserved0(9) Ver(3)
  Be16 protocol;

  static constexpr uint16_t kChecksum = 0x8000;
  static constexpr uint16_t kKey = 0x2000;
  static constexpr uint16_t kSequence = 0x1000;
  // RFC 2784 bit 1 (RFC 1701's routing-present) and Reserved0 bits 4-12.
  static constexpr uint16_t kReservedMask = 0x4FF8;
  static constexpr uint16_t kVersionMask = 0x0007;
};
static_assert(sizeof(GreHdr) == 4);

inline constexpr uint16_t kGreHdrLen = 4;
inline constexpr uint16_t kGreOptionLen = 4;  // each of checksum(+reserved1), key, sequence

// Header length implied by the flags: base + one word per optional field present.
inline constexpr uint16_t GreHeaderLen(uint16_t flags) {
  return kGreHdrLen + ((flags & GreHdr::kChecksum) ? 4 : 0) + ((flags & GreHdr::kKey) ? 4 : 0) +
         ((flags & GreHdr::kSequence) ? 4 : 0);
}

}  // namespace tundra
