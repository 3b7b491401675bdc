// UDP wire format (RFC 768) and the port range tunnels draw source ports from.
#pragma once

#include <rte_udp.h>

#include <cstdint>

#include "dataplane/proto/endian.h"

namespace tundra {

struct __attribute__((packed)) UdpHdr {
  Be16 src_port;
  Be16 dst_port;
  Be16 length;
  Be16 checksum;
};
static_assert(sizeof(UdpHdr) == sizeof(rte_udp_hdr));

inline constexpr uint16_t kUdpHdrLen = 8;

// RFC 7348 §5 and RFC 6335: tunnel source ports come from the dynamic/private range
// 49152-65535, which is exactly the values with the top two bits set.
inline constexpr uint16_t kEphemeralPortBase = 0xC000;
inline constexpr uint16_t kEphemeralPortMask = 0x3FFF;

}  // namespace tundra
