// The control thread's single entry point for changing what workers see. Every change
// is validated completely before anything is written, so a refused command leaves the
// tables as they were. It keeps the control-side shadow state (ports, neighbors,
// tunnels, cross-connects) in ordinary containers and publishes immutable entries into
// Tables (dataplane/tables.h explains the concurrency rules).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "control/nexthops.h"
#include "control/port_config.h"
#include "dataplane/esp.h"
#include "dataplane/fdb.h"
#include "dataplane/proto/address.h"
#include "dataplane/segment.h"
#include "dataplane/tables.h"
#include "dataplane/tunnel_spec.h"

namespace tundra {

struct Neighbor {
  MacAddress mac;
  uint16_t port = 0;
  bool learned = false;  // from ARP/ND on a routed access port, not `neigh add`
};

// A tunnel's ESP protection (`tunnel <name> protect`): the SAs by name and their
// runtime objects, which App owns (they outlive any binding: see App::ProtectTunnel).
struct TunnelProtection {
  std::string out_name;
  EspSa* out = nullptr;
  std::vector<std::string> in_names;  // one or two (a rekey accepts both)
  std::vector<EspSa*> in;
};

// Makes `t` (just built) carry `protection`'s outbound SA: ESP encrypts the UDP/GRE
// header and payload after the push, so no checksum offload can see them (software sums
// first), the general push variant (the one that protects), and room within the MTU for
// ESP's header, IV, padding, trailer and ICV.
void ApplyProtection(const TunnelProtection& protection, Tunnel& t);

struct TunnelRecord {
  TunnelSpec spec;
  uint32_t id = 0;
  uint16_t uplink = 0;
  Attachment attachment;
  DecapKey key;
  uint32_t path = 0;  // control/nexthops.h
  std::optional<TunnelProtection> protection;
};

// One remote VTEP of a segment: a tunnel of its own (dataplane/segment.h).
struct SegmentRemoteRecord {
  IpAddress ip;
  uint32_t id = 0;  // its tunnel
  uint32_t path = 0;
  DecapKey key;
  // Learned from an unknown remote (`unknown-remote learn`): not in the flood list, and
  // removed with the last FDB entry that sends to it.
  bool learned = false;
  uint32_t fdb_refs = 0;
  // ESP (`segment <name> remote <ip> protect`): configured remotes of a segment without
  // a group only.
  std::optional<TunnelProtection> protection;
};

// One FDB entry as the control thread keeps it.
struct FdbRecord {
  uint64_t entry = 0;   // the published value (fdb.h)
  uint32_t seen_s = 0;  // FDB clock when learned or last refreshed
};

struct HostBindingRecord {
  MacAddress mac;
  bool is_static = false;
  uint32_t seen_s = 0;
};

struct SegmentRecord {
  TunnelSpec spec;  // name, type, local, vni/key and options; no remote
  uint32_t id = 0;
  uint32_t anchor = 0;  // the tunnel id decap finds the VNI/key under
  DecapKey anchor_key;
  uint16_t uplink = 0;
  std::vector<SegmentMember> members;
  std::vector<SegmentRemoteRecord> remotes;  // in the order added, learned ones after
  // `group` (RFC 7348 §4.2): BUM leaves once, by the group's own tunnel, instead of to
  // each remote; decap finds the anchor under group_key too (the anchor's key with the
  // group as the local address). The group's tunnel has no decap key of its own.
  std::optional<SegmentRemoteRecord> group;
  DecapKey group_key;
  uint32_t ageing_s = 300;  // 0: off
  uint32_t max_macs = 0;    // learned entries at most; 0: no limit
  bool learn_unknown_remote = false;
  bool suppress = false;
  absl::flat_hash_map<uint64_t, FdbRecord> fdb;  // MAC (48 bits) → entry
  // Tenant IP → MAC bindings for ARP/ND suppression: static ones (`fdb add ... ip`) go
  // with their FDB entry, snooped ones age like learned MACs.
  absl::flat_hash_map<IpAddress, HostBindingRecord, AbslIpHash> hosts;
  uint32_t learned_macs = 0;
  // What the control thread counts (the workers' counts are in SegmentCounters).
  uint64_t learned = 0;
  uint64_t moved = 0;
  uint64_t aged = 0;
  uint64_t limit_dropped = 0;

  const SegmentRemoteRecord* Remote(const IpAddress& ip) const;
  const SegmentRemoteRecord* RemoteById(uint32_t id) const;
};

inline uint64_t MacKey(const uint8_t mac[6]) {
  uint64_t v = 0;
  for (int i = 0; i < 6; ++i) v = (v << 8) | mac[i];
  return v;
}
inline MacAddress MacOfKey(uint64_t v) {
  MacAddress m;
  for (int i = 5; i >= 0; --i, v >>= 8) m.bytes[i] = static_cast<uint8_t>(v);
  return m;
}

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
  // On an uplink, a next hop's (nexthops.h); `confirmed`: an answer to our probe.
  void LearnNeighbor(const IpAddress& ip, const MacAddress& mac, uint16_t p,
                     bool confirmed = false);

  // `geneve option known <class>:<type>`: a critical option every GENEVE tunnel accepts.
  absl::Status AddKnownGeneveOption(uint16_t option_class, uint8_t type);
  const std::vector<uint32_t>& known_geneve_options() const { return known_options_; }

  // `replace`: an existing route to the prefix is pointed at `tunnel` (else refused).
  absl::Status AddRoute(const IpPrefix& prefix, std::string_view tunnel, bool replace = false);
  absl::Status DelRoute(const IpPrefix& prefix);
  bool HasRoute(const IpPrefix& prefix) const {
    return routes_.contains(NormalizePrefix(prefix).ToString());
  }
  // Routes by prefix text, with their tunnel names.
  const std::map<std::string, std::pair<IpPrefix, std::string>>& routes() const { return routes_; }

  absl::Status AddTunnel(const TunnelSpec& spec);
  absl::Status DelTunnel(std::string_view name);
  // Protects a tunnel with ESP, replacing its SAs at once (the new entry carries the
  // outbound SA; the inbound table has exactly the new inbound SAs), or with nullopt
  // removes its protection. The SAs must suit the tunnel's outer family (App checks).
  absl::Status SetTunnelProtection(std::string_view name,
                                   std::optional<TunnelProtection> protection);
  // The outer IP version (4 or 6) of a point-to-point tunnel.
  absl::StatusOr<uint8_t> TunnelOuterFamily(std::string_view name) const;

  absl::Status AddXconnect(uint16_t p, uint16_t vlan, std::string_view tunnel);
  absl::Status DelXconnect(uint16_t p, uint16_t vlan);

  // Segments (segment_writer.cc). The spec's remote is not used.
  absl::Status AddSegment(const TunnelSpec& spec);
  absl::Status DelSegment(std::string_view name);
  absl::Status AddSegmentMember(std::string_view name, uint16_t p, uint16_t vlan);
  absl::Status DelSegmentMember(std::string_view name, uint16_t p, uint16_t vlan);
  absl::Status AddSegmentRemote(std::string_view name, const IpAddress& ip);
  absl::Status DelSegmentRemote(std::string_view name, const IpAddress& ip);
  absl::Status SetSegmentAgeing(std::string_view name, uint32_t seconds);
  absl::Status SetSegmentMaxMacs(std::string_view name, uint32_t max_macs);
  absl::Status SetSegmentUnknownRemote(std::string_view name, bool learn);
  absl::Status SetSegmentSuppress(std::string_view name, bool on);
  // `segment <name> group <ip>` replaces the group; `no group` (nullopt) removes it.
  absl::Status SetSegmentGroup(std::string_view name, const std::optional<IpAddress>& group);
  // SetTunnelProtection for one configured remote of a segment (its own tunnel); nullopt
  // removes it. Refused for a segment with a group: its BUM would leave in clear.
  absl::Status SetSegmentRemoteProtection(std::string_view name, const IpAddress& remote,
                                          std::optional<TunnelProtection> protection);
  // The outer IP version of a configured remote of a segment.
  absl::StatusOr<uint8_t> SegmentRemoteFamily(std::string_view name, const IpAddress& remote) const;
  // A static FDB entry towards a member (p, vlan) or a remote (`remote` set).
  // `ip`: also a static IP → MAC binding for ARP/ND suppression.
  absl::Status AddFdb(std::string_view segment, const MacAddress& mac, uint16_t p, uint16_t vlan,
                      const std::optional<IpAddress>& remote,
                      const std::optional<IpAddress>& ip = std::nullopt);
  absl::Status DelFdb(std::string_view segment, const MacAddress& mac);
  absl::Status FlushFdb(std::string_view segment, bool learned_only);
  // What a worker saw (fdb.h); `now_s` is the FDB clock.
  void LearnFdb(const FdbLearnEvent& e, uint32_t now_s);
  // Removes learned entries not refreshed within their segment's ageing time.
  void AgeFdb(uint32_t now_s);
  // `clear stats`: the control thread's per-segment counts (learned, moved, ...) to zero.
  void ClearSegmentCounts();
  const std::map<std::string, SegmentRecord, std::less<>>& segments() const { return segments_; }
  const SegmentRecord* FindSegment(std::string_view name) const;

  // Tunnels by name, in name order (for `show`).
  const std::map<std::string, TunnelRecord, std::less<>>& tunnels() const { return tunnels_; }
  NextHops& nexthops() { return nexthops_; }
  const NextHops& nexthops() const { return nexthops_; }
  // Hosts of routed access ports (underlay neighbors are in nexthops()).
  const absl::flat_hash_map<IpAddress, Neighbor, AbslIpHash>& neighbors() const {
    return neighbors_;
  }
  // The tunnel cross-connected at (port, vlan), if any.
  const TunnelRecord* XconnectAt(uint16_t p, uint16_t vlan) const;

 private:
  void PublishPortView(uint16_t p);
  absl::StatusOr<SegmentRecord*> SegmentNamed(std::string_view name);
  // A remote added by `segment <name> remote <ip>` (not a learned one).
  absl::StatusOr<SegmentRemoteRecord*> ConfiguredRemote(std::string_view name, const IpAddress& ip);
  static absl::Status ProtectedRemoteError(std::string_view name, const IpAddress& ip);
  void PublishSegment(const SegmentRecord& seg);
  // Publishes the segment's tunnel towards `remote`, or its anchor when null.
  void PublishSegmentTunnel(const SegmentRecord& seg, const SegmentRemoteRecord* remote);
  void RepublishSegmentTunnels(uint16_t uplink, const IpAddress* remote, bool geneve_only);
  // A tunnel of the segment towards r.ip: its id, path and entry (r.id, r.path); no
  // decap key yet. FreeRemoteTunnel undoes it.
  absl::Status BuildRemoteTunnel(const SegmentRecord& seg, SegmentRemoteRecord& r);
  void FreeRemoteTunnel(const SegmentRemoteRecord& r);
  absl::StatusOr<uint32_t> AddRemoteTunnel(SegmentRecord& seg, const IpAddress& ip, bool learned);
  void RemoveRemoteTunnel(SegmentRecord& seg, size_t index);
  // Frees a group's tunnel, path and decap key (no longer in the flood list).
  void ReleaseGroup(const SegmentRemoteRecord& group, const DecapKey& key);
  // Removes one FDB entry of `seg` (table and shadow), releasing a learned remote.
  void EraseFdb(SegmentRecord& seg, uint64_t mac);
  // EraseFdb for every entry whose value (fdb.h) `pred` accepts.
  void EraseFdbWhere(SegmentRecord& seg, const std::function<bool(uint64_t entry)>& pred);
  void SetHostBinding(SegmentRecord& seg, const IpAddress& ip, const MacAddress& mac,
                      bool is_static, uint32_t now_s);
  void EraseHostBinding(SegmentRecord& seg, const IpAddress& ip);
  // An FDB entry towards `place` is gone: a learned remote loses a reference.
  void ReleaseLearnedRemote(SegmentRecord& seg, FdbPlace place);
  absl::Status CheckAttachmentFree(uint16_t p, uint16_t vlan) const;
  // What AddTunnel and AddSegment both check of a spec; returns its uplink.
  absl::StatusOr<uint16_t> CheckUnderlaySpec(const TunnelSpec& spec) const;
  absl::Status CheckDecapKeyFree(const TunnelSpec& spec, const DecapKey& key) const;
  void PublishTunnel(const TunnelRecord& rec);
  // Publishes every protected tunnel's inbound SAs by SPI (none: no table).
  void PublishEspInbound();
  void RebuildTunnelsOn(uint16_t uplink);
  Underlay UnderlayFor(uint16_t uplink, uint32_t path) const;
  std::optional<uint16_t> UplinkOwning(const IpAddress& local) const;
  void RefUdpPort(uint16_t port, TunnelType type, int delta);
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
  std::map<std::string, SegmentRecord, std::less<>> segments_;
  NextHops nexthops_;                                         // after ports_: it keeps a reference
  absl::flat_hash_map<uint32_t, std::string> segment_names_;  // segment id → name
  absl::flat_hash_map<uint32_t, std::string> members_;        // (port << 16 | vlan) → segment
  uint32_t fdb_entries_ = 0;
};

DecapKey MakeDecapKey(const TunnelSpec& spec);

}  // namespace tundra
