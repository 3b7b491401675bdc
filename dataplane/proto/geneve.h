// GENEVE wire format (RFC 8926 §3).
#pragma once

#include <cstdint>

#include "dataplane/proto/endian.h"

namespace tundra {

inline constexpr uint16_t kGeneveDefaultPort = 6081;
inline constexpr uint16_t kGeneveHdrLen = 8;
// Opt Len is 6 bits of 4-byte words.
inline constexpr uint16_t kGeneveMaxOptionsLen = 63 * 4;
// An option's Length is 5 bits of 4-byte words, after its 4-byte header.
inline constexpr uint16_t kGeneveMaxOptionDataLen = 31 * 4;

struct __attribute__((packed)) GeneveHdr {
  uint8_t ver_opt_len;  // Ver(2) Opt Len(6)
  uint8_t flags;        // O(1) C(1) Rsvd(6)
  Be16 protocol;        // 0x6558: Ethernet
  Be32 vni_reserved;    // VNI(24) Reserved(8)

  static constexpr uint8_t kFlagOam = 0x80;
  static constexpr uint8_t kFlagCritical = 0x40;

  uint8_t version() const { return ver_opt_len >> 6; }
  uint16_t options_len() const { return (ver_opt_len & 0x3F) * 4; }
  uint32_t vni() const { return vni_reserved.host() >> 8; }
};
static_assert(sizeof(GeneveHdr) == 8);

struct __attribute__((packed)) GeneveOptionHdr {
  Be16 option_class;
  uint8_t type;    // C(1) type(7): the high bit marks a critical option
  uint8_t length;  // R(3) Length(5), in 4-byte words of data
  static constexpr uint8_t kTypeCritical = 0x80;

  uint16_t data_len() const { return (length & 0x1F) * 4; }
};
static_assert(sizeof(GeneveOptionHdr) == 4);

// (class << 8 | type): how a configured or known option is identified.
inline constexpr uint32_t GeneveOptionId(uint16_t option_class, uint8_t type) {
  return (uint32_t{option_class} << 8) | type;
}

}  // namespace tundra
