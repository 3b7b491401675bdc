// VXLAN wire format (RFC 7348 §5).
#pragma once

#include <rte_vxlan.h>

#include <cstdint>

#include "dataplane/proto/endian.h"

namespace tundra {

inline constexpr uint16_t kVxlanDefaultPort = 4789;
inline constexpr uint16_t kVxlanHdrLen = 8;
inline constexpr uint32_t kMaxVni = 0xFFFFFF;

struct __attribute__((packed)) VxlanHdr {
  uint8_t flags;  // R R R R I R R R: only I (0x08) is defined; the rest are reserved
  uint8_t reserved1[3];
  Be32 vni_reserved;  // VNI(24) reserved(8)

  static constexpr uint8_t kFlagI = 0x08;

  bool vni_valid() const { return (flags & kFlagI) != 0; }
  uint32_t vni() const { return vni_reserved.host() >> 8; }
  void set_vni(uint32_t vni) { vni_reserved = Be32(vni << 8); }
};
static_assert(sizeof(VxlanHdr) == sizeof(rte_vxlan_hdr));

}  // namespace tundra
