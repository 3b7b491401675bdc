// What the control thread keeps about a port, and a hash for addresses as map keys.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "absl/hash/hash.h"
#include "dataplane/proto/address.h"
#include "dataplane/tables.h"

namespace tundra {

struct PortConfig {
  PortRole role = PortRole::kNone;
  MacAddress mac;
  std::optional<IpPrefix> v4;
  std::optional<IpPrefix> v6;
  uint16_t mtu = 1500;
  bool tx_ip_checksum_offload = false;
  bool tx_udp_checksum_offload = false;
  bool tx_outer_offload = false;  // outer (tunnel) checksum offloads
};

struct AbslIpHash {
  size_t operator()(const IpAddress& a) const {
    return absl::HashOf(
        a.family, std::string_view(reinterpret_cast<const char*>(a.bytes.data()), a.bytes.size()));
  }
};

}  // namespace tundra
