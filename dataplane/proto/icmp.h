// ICMP (RFC 792) and ICMPv6 (RFC 4443) echo messages: the header both share.
#pragma once

#include <rte_icmp.h>

#include <cstdint>

#include "dataplane/proto/endian.h"

namespace tundra {

// Echo request and reply (RFC 792 p.14, RFC 4443 §4.1/§4.2); the data follows.
struct __attribute__((packed)) IcmpEchoHdr {
  uint8_t type;
  uint8_t code;
  Be16 checksum;
  Be16 identifier;
  Be16 sequence;
};
static_assert(sizeof(IcmpEchoHdr) == sizeof(rte_icmp_hdr));

inline constexpr uint8_t kIcmpEchoReply = 0;
inline constexpr uint8_t kIcmpEchoRequest = 8;
inline constexpr uint8_t kIcmpv6EchoRequest = 128;
inline constexpr uint8_t kIcmpv6EchoReply = 129;

}  // namespace tundra
