// Multicast listener reports: IGMPv3 (RFC 3376 §4.2) and MLDv2 (RFC 3810 §5.2), as a
// VTEP sends them for the groups its segments flood to.
#pragma once

#include <cstdint>

#include "dataplane/proto/endian.h"

namespace tundra {

inline constexpr uint8_t kIpProtoIgmp = 2;
inline constexpr uint8_t kIpv6HopByHop = 0;

// IGMPv3 Membership Report (RFC 3376 §4.2); `records` group records follow.
struct __attribute__((packed)) Igmpv3ReportHdr {
  uint8_t type;  // 0x22
  uint8_t reserved1;
  Be16 checksum;
  Be16 reserved2;
  Be16 records;
};

// MLDv2 Multicast Listener Report (RFC 3810 §5.2); `records` records follow.
struct __attribute__((packed)) Mldv2ReportHdr {
  uint8_t type;  // 143
  uint8_t reserved1;
  Be16 checksum;
  Be16 reserved2;
  Be16 records;
};

// A group record without sources (RFC 3376 §4.2.4, RFC 3810 §5.2.4); the group
// address (4 or 16 bytes) follows.
struct __attribute__((packed)) GroupRecordHdr {
  uint8_t type;
  uint8_t aux_len;  // 32-bit words of auxiliary data: 0
  Be16 sources;
};

inline constexpr uint8_t kIgmpv3Report = 0x22;
inline constexpr uint8_t kMldv2Report = 143;

// Group record types (RFC 3376 §4.2.12, RFC 3810 §5.2.12). With no sources:
// MODE_IS_EXCLUDE says "listening" (current state), CHANGE_TO_EXCLUDE_MODE "started
// listening" (join), CHANGE_TO_INCLUDE_MODE "stopped listening" (leave).
inline constexpr uint8_t kModeIsExclude = 2;
inline constexpr uint8_t kChangeToIncludeMode = 3;
inline constexpr uint8_t kChangeToExcludeMode = 4;

// The IPv4 Router Alert option (RFC 2113), which every IGMPv3 message carries, and the
// IPv6 hop-by-hop header with Router Alert for MLD (RFC 2711, value 0) and PadN.
inline constexpr uint8_t kIpv4RouterAlert[4] = {0x94, 0x04, 0x00, 0x00};
inline constexpr uint8_t kIpv6RouterAlertMld[6] = {0x05, 0x02, 0x00, 0x00, 0x01, 0x00};

}  // namespace tundra
