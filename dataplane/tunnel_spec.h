// The validated configuration of one tunnel, as the control plane fills it from a
// `tunnel add` command, and the underlay facts a template needs. Building the worker's
// entry from these is a pure function (header_template.h), so it is unit-testable
// without ports or tables.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dataplane/proto/address.h"
#include "dataplane/tunnel.h"

namespace tundra {

enum class DfMode : uint8_t { kSet, kClear, kInherit };

struct GeneveOption {
  uint16_t option_class = 0;
  uint8_t type = 0;
  std::vector<uint8_t> data;  // a multiple of 4 bytes, at most 124
};

struct TunnelSpec {
  std::string name;
  TunnelType type = TunnelType::kVxlan;
  IpAddress local;
  IpAddress remote;
  uint32_t vni = 0;      // VXLAN/GENEVE
  bool has_key = false;  // GRE
  uint32_t key = 0;
  bool seq = false;       // GRE sequence numbers
  bool csum = false;      // GRE checksum
  bool seq_drop = false;  // drop out-of-order/duplicate sequence numbers on decap
  bool fragment = false;  // gre: fragment oversized inner IPv4 without DF
  uint16_t dstport = 0;   // 0: the protocol's IANA port
  uint8_t ttl = 64;
  bool ttl_inherit = false;
  uint8_t tos = 0;
  bool tos_inherit = false;
  DfMode df = DfMode::kSet;
  bool udp_csum = false;  // IPv4 underlay only; IPv6 always computes it (RFC 6935 off)
  std::vector<GeneveOption> options;
};

struct Underlay {
  uint16_t port = 0;                     // egress uplink
  MacAddress src_mac;                    // the uplink's MAC
  MacAddress dst_mac;                    // the template's; encap writes the path's
  uint32_t path = 0;                     // tables.h rule 11
  uint16_t mtu = 1500;                   // uplink MTU (largest outer IP packet)
  bool tx_ip_checksum_offload = false;   // the uplink computes IPv4 header checksums
  bool tx_udp_checksum_offload = false;  // the uplink computes UDP checksums
  bool tx_outer_offload = false;         // ... and does so for tunnel packets (outer_*)
  // Critical GENEVE options registered with `geneve option known` (GeneveOptionId).
  std::vector<uint32_t> known_options;
};

}  // namespace tundra
