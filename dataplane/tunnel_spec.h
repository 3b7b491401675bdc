// The validated configuration of one tunnel, as the control plane fills it from a
// `tunnel add` command, and the underlay facts a template needs. Building the worker's
// entry from these is a pure function (header_template.h), so it is unit-testable
// without ports or tables.
#pragma once

#include <cstdint>
#include <string>

#include "dataplane/proto/address.h"
#include "dataplane/tunnel.h"

namespace tundra {

enum class DfMode : uint8_t { kSet, kClear, kInherit };

struct TunnelSpec {
  std::string name;
  TunnelType type = TunnelType::kVxlan;
  IpAddress local;
  IpAddress remote;
  uint32_t vni = 0;
  uint16_t dstport = 0;  // 0: the protocol's IANA port
  uint8_t ttl = 64;
  bool ttl_inherit = false;
  uint8_t tos = 0;
  bool tos_inherit = false;
  DfMode df = DfMode::kSet;
  bool udp_csum = false;  // IPv4 underlay only; IPv6 always computes it (RFC 6935 off)
};

struct Underlay {
  uint16_t port = 0;                     // egress uplink
  MacAddress src_mac;                    // the uplink's MAC
  MacAddress dst_mac;                    // the remote's (next hop's) MAC
  bool resolved = false;                 // dst_mac known
  uint16_t mtu = 1500;                   // uplink MTU (largest outer IP packet)
  bool tx_ip_checksum_offload = false;   // the uplink computes IPv4 header checksums
  bool tx_udp_checksum_offload = false;  // the uplink computes UDP checksums
};

}  // namespace tundra
