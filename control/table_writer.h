// The control thread's single entry point for changing what workers see. Every change
// is validated completely before anything is written, so a refused command leaves the
// tables as they were. It keeps the control-side shadow state (ports, neighbors,
// tunnels, cross-connects) in ordinary containers and publishes immutable entries into
// Tables (dataplane/tables.h explains the concurrency rules).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "dataplane/proto/address.h"
#include "dataplane/tables.h"
#include "dataplane/tunnel_spec.h"

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

struct Neighbor {
  MacAddress mac;
  uint16_t port = 0;
  bool learned = false;  // from ARP/ND on a routed access port, not `neigh add`
};

struct TunnelRecord {
  TunnelSpec spec;
  uint32_t id = 0;
  uint16_t uplink = 0;
  Attachment attachment;
  DecapKey key;
};

struct AbslIpHash {
  size_t operator()(const IpAddress& a) const {
    return absl::HashOf(
        a.family, std::string_view(reinterpret_cast<const char*>(a.bytes.data()), a.bytes.size()));
  }
};

class TableWriter {
 public:
  TableWriter(Tables& tables, uint16_t nb_ports);

  uint16_t nb_ports() const { return static_cast<uint16_t>(ports_.size()); }
  const PortConfig& port(uint16_t p) const { return ports_[p]; }
  absl::Status CheckPort(uint16_t p) const;

  absl::Status SetPortRole(uint16_t p, PortRole role);
  absl::Status SetPortAddress(uint16_t p, const IpPrefix& prefix);
  absl::Status SetPortMac(uint16_t p, const MacAddress& mac);
  absl::Status SetPortMtu(uint16_t p, uint16_t mtu);
  // Offloads the port enabled when it started; tunnels using it are rebuilt.
  void SetPortOffloads(uint16_t p, bool ip_checksum, bool udp_checksum, bool outer);

  absl::Status AddNeighbor(const IpAddress& ip, const MacAddress& mac, uint16_t p);
  absl::Status DelNeighbor(const IpAddress& ip);
  // A host a worker saw in ARP/ND on a routed access port; static entries win.
  void LearnNeighbor(const IpAddress& ip, const MacAddress& mac, uint16_t p);

  // `geneve option known <class>:<type>`: a critical option every GENEVE tunnel accepts.
  absl::Status AddKnownGeneveOption(uint16_t option_class, uint8_t type);
  const std::vector<uint32_t>& known_geneve_options() const { return known_options_; }

  absl::Status AddRoute(const IpPrefix& prefix, std::string_view tunnel);
  absl::Status DelRoute(const IpPrefix& prefix);
  // Routes by prefix text, with their tunnel names.
  const std::map<std::string, std::pair<IpPrefix, std::string>>& routes() const { return routes_; }

  absl::Status AddTunnel(const TunnelSpec& spec);
  absl::Status DelTunnel(std::string_view name);

  absl::Status AddXconnect(uint16_t p, uint16_t vlan, std::string_view tunnel);
  absl::Status DelXconnect(uint16_t p, uint16_t vlan);

  // Tunnels by name, in name order (for `show`).
  const std::map<std::string, TunnelRecord, std::less<>>& tunnels() const { return tunnels_; }
  const absl::flat_hash_map<IpAddress, Neighbor, AbslIpHash>& neighbors() const {
    return neighbors_;
  }
  // The tunnel cross-connected at (port, vlan), if any.
  const TunnelRecord* XconnectAt(uint16_t p, uint16_t vlan) const;

 private:
  void PublishPortView(uint16_t p);
  void PublishTunnel(const TunnelRecord& rec);
  void RebuildTunnelsOn(uint16_t uplink);
  Underlay UnderlayFor(const TunnelSpec& spec, uint16_t uplink) const;
  std::optional<uint16_t> UplinkOwning(const IpAddress& local) const;
  void RefUdpPort(uint16_t port, TunnelType type, int delta);
  absl::Status PublishRoutes();
  void SetHost(const IpAddress& ip, const Neighbor& n);

  Tables& tables_;
  std::vector<PortConfig> ports_;
  absl::flat_hash_map<IpAddress, Neighbor, AbslIpHash> neighbors_;
  std::map<std::string, TunnelRecord, std::less<>> tunnels_;
  // DecapKey bytes → tunnel name: the duplicate check of AddTunnel in O(1), so a
  // million tunnels load in seconds rather than hours.
  absl::flat_hash_map<std::string, std::string> names_by_key_;
  // (port << 16 | vlan) → tunnel name
  absl::flat_hash_map<uint32_t, std::string> xconnects_;
  // UDP port → (tunnel type, number of tunnels using it)
  absl::flat_hash_map<uint16_t, std::pair<TunnelType, int>> udp_ports_;
  std::vector<uint32_t> known_options_;
  std::map<std::string, std::pair<IpPrefix, std::string>> routes_;
};

DecapKey MakeDecapKey(const TunnelSpec& spec);

}  // namespace tundra
