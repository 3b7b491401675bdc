// A tunnel as the workers see it: an immutable entry holding everything the hot path
// needs, above all the precomputed outer header ("header template") that encap copies
// in front of each packet. Protocol differences live here, in data: the template's
// bytes, its offsets, and a few flags. The control thread builds an entry complete,
// publishes it, and never changes it again; a change is a new entry (see tables.h).
#pragma once

#include <rte_common.h>

#include <array>
#include <cstdint>

#include "dataplane/proto/address.h"

namespace tundra {

enum class TunnelType : uint8_t { kVxlan = 1, kGeneve = 2, kGre = 3, kGretap = 4 };

const char* TunnelTypeName(TunnelType type);

// Room for Ethernet + IPv6 + UDP + GENEVE with its 252 bytes of options (RFC 8926).
inline constexpr uint16_t kMaxTemplateLen = 336;

// Per-packet work the template cannot precompute. Tested as one word on the hot path,
// so a tunnel with none of these takes the straight-line fast path.
enum TunnelFlag : uint16_t {
  kTunnelTtlInherit = 1 << 0,
  kTunnelTosInherit = 1 << 1,
  kTunnelDfInherit = 1 << 2,
  kTunnelUdpChecksum = 1 << 3,  // compute the outer UDP checksum (always on over IPv6)
  // The egress port computes these checksums (its tx offload capabilities); otherwise
  // software does, with identical bytes on the wire.
  kTunnelTxIpChecksumOffload = 1 << 4,
  kTunnelTxUdpChecksumOffload = 1 << 5,
};
inline constexpr uint16_t kTunnelInheritMask =
    kTunnelTtlInherit | kTunnelTosInherit | kTunnelDfInherit;

// Where a decapsulated frame goes: an access port and optional VLAN.
struct Attachment {
  uint16_t port = 0;
  uint16_t vlan = 0;  // 0: untagged
  bool valid = false;
};

struct alignas(RTE_CACHE_LINE_SIZE) Tunnel {
  uint32_t id = 0;
  TunnelType type = TunnelType::kVxlan;
  uint8_t underlay = 4;      // outer IP version: 4 or 6
  uint16_t flags = 0;        // TunnelFlag
  bool resolved = false;     // template has the next hop's MAC; else encap drops
  uint16_t egress_port = 0;  // the uplink
  uint16_t hdr_len = 0;      // template bytes: Ethernet .. end of tunnel header
  uint16_t l3_len = 0;       // outer IP header bytes (20 or 40)
  uint16_t max_l3_len = 0;   // uplink MTU: largest outer IP packet we may send
  // IPv4: the one's-complement sum of the template's IP header with total_length and
  // checksum zero; per packet only the length is added (RFC 1624 style).
  uint32_t ip_sum = 0;
  Attachment attachment;  // decap target
  IpAddress remote;       // checked against the outer source on decap
  alignas(16) std::array<uint8_t, kMaxTemplateLen> hdr{};
};

}  // namespace tundra
