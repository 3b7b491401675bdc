#include "control/table_writer.h"

#include <algorithm>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "control/absl_view.h"
#include "control/log.h"
#include "control/writer_util.h"
#include "dataplane/header_template.h"
#include "dataplane/proto/geneve.h"

namespace tundra {

DecapKey MakeDecapKey(const TunnelSpec& spec) {
  DecapKey key;
  key.type = static_cast<uint8_t>(spec.type);
  key.family = spec.local.family;
  const size_t len = spec.local.is_v4() ? 4 : 16;
  std::memcpy(key.local, spec.local.bytes.data(), len);
  if (IsGreTunnel(spec.type)) {
    // GRE is point-to-point: the remote and the key (if any) select the tunnel.
    std::memcpy(key.remote, spec.remote.bytes.data(), len);
    if (spec.has_key) {
      key.flags = kDecapKeyHasKey;
      key.vni_or_key = spec.key;
    }
  } else {
    key.vni_or_key = spec.vni;
  }
  return key;
}

TableWriter::TableWriter(Tables& tables, uint16_t nb_ports)
    : tables_(tables), ports_(nb_ports), nexthops_(tables, ports_) {
  for (uint16_t p = 0; p < nb_ports; ++p) PublishPortView(p);
}

absl::Status TableWriter::CheckPort(uint16_t p) const {
  if (p >= ports_.size()) {
    return absl::NotFoundError(absl::StrCat("port ", p, " does not exist (", ports_.size(),
                                            " ports: 0..", ports_.size() - 1, ")"));
  }
  return absl::OkStatus();
}

absl::Status TableWriter::SetPortRole(uint16_t p, PortRole role) {
  if (absl::Status s = CheckPort(p); !s.ok()) return s;
  PortConfig& pc = ports_[p];
  if (pc.role == role) return absl::OkStatus();
  if (pc.role == PortRole::kAccess) {
    for (const auto& [key, name] : xconnects_) {
      if (key >> 16 == p) {
        return absl::FailedPreconditionError(absl::StrCat(
            "port ", p, " is cross-connected to tunnel '", name, "': delete the xconnect first"));
      }
    }
  }
  if (pc.role == PortRole::kUplink) {
    for (const auto& [name, rec] : tunnels_) {
      if (rec.uplink == p) {
        return absl::FailedPreconditionError(
            absl::StrCat("port ", p, " carries tunnel '", name, "': delete the tunnel first"));
      }
    }
  }
  pc.role = role;
  PublishPortView(p);
  nexthops_.PortChanged(p);
  return absl::OkStatus();
}

absl::Status TableWriter::SetPortAddress(uint16_t p, const IpPrefix& prefix) {
  if (absl::Status s = CheckPort(p); !s.ok()) return s;
  PortConfig& pc = ports_[p];
  if (pc.role == PortRole::kNone) {
    return absl::FailedPreconditionError(
        absl::StrCat("port ", p, " has no role: 'port config ", p, " role uplink|access' first"));
  }
  if (pc.role == PortRole::kAccess) {
    for (const auto& [key, name] : xconnects_) {
      if (key >> 16 == p) {
        return absl::FailedPreconditionError(
            absl::StrCat("port ", p, " is cross-connected to tunnel '", name,
                         "'; a routed access port (with an address) carries no xconnects"));
      }
    }
  }
  std::optional<IpPrefix>& slot = prefix.addr.is_v4() ? pc.v4 : pc.v6;
  if (slot && slot->addr != prefix.addr) {
    for (const auto& [name, rec] : tunnels_) {
      if (rec.spec.local == slot->addr) {
        return absl::FailedPreconditionError(absl::StrCat(
            "address ", slot->addr.ToString(), " is the local end of tunnel '", name, "'"));
      }
    }
  }
  for (uint16_t q = 0; q < ports_.size(); ++q) {
    const std::optional<IpPrefix>& other = prefix.addr.is_v4() ? ports_[q].v4 : ports_[q].v6;
    if (q != p && other && other->addr == prefix.addr) {
      return absl::AlreadyExistsError(
          absl::StrCat("address ", prefix.addr.ToString(), " is already on port ", q));
    }
  }
  slot = prefix;
  PublishPortView(p);
  nexthops_.PortChanged(p);
  return absl::OkStatus();
}

absl::Status TableWriter::SetPortMac(uint16_t p, const MacAddress& mac) {
  if (absl::Status s = CheckPort(p); !s.ok()) return s;
  if (mac.bytes[0] & 1) {
    return absl::InvalidArgumentError(absl::StrCat("'", mac.ToString(), "' is a multicast MAC"));
  }
  ports_[p].mac = mac;
  PublishPortView(p);
  RebuildTunnelsOn(p);
  return absl::OkStatus();
}

absl::Status TableWriter::SetPortMtu(uint16_t p, uint16_t mtu) {
  if (absl::Status s = CheckPort(p); !s.ok()) return s;
  ports_[p].mtu = mtu;
  RebuildTunnelsOn(p);
  return absl::OkStatus();
}

void TableWriter::SetPortOffloads(uint16_t p, bool ip_checksum, bool udp_checksum, bool outer) {
  ports_[p].tx_ip_checksum_offload = ip_checksum;
  ports_[p].tx_udp_checksum_offload = udp_checksum;
  ports_[p].tx_outer_offload = outer;
  PublishPortView(p);
  RebuildTunnelsOn(p);
}

absl::Status TableWriter::AddNeighbor(const IpAddress& ip, const MacAddress& mac, uint16_t p) {
  if (absl::Status s = CheckPort(p); !s.ok()) return s;
  if (ports_[p].role == PortRole::kNone) {
    return absl::FailedPreconditionError(absl::StrCat("port ", p, " has no role"));
  }
  if (mac.bytes[0] & 1 || mac.is_zero()) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", mac.ToString(), "' is not a unicast MAC for a neighbor"));
  }
  // An address is a host of a routed access port or an underlay neighbor, not both.
  if (ports_[p].role == PortRole::kUplink) {
    if (auto it = neighbors_.find(ip); it != neighbors_.end()) {
      tables_.DeleteHost(ip.family, ip.bytes.data());
      neighbors_.erase(it);
    }
    return nexthops_.AddStatic(ip, mac, p);
  }
  (void)nexthops_.DelStatic(ip);
  const Neighbor n{mac, p, false};
  SetHost(ip, n);
  neighbors_[ip] = n;
  return absl::OkStatus();
}

void TableWriter::SetHost(const IpAddress& ip, const Neighbor& n) {
  (void)tables_.SetHost(ip.family, ip.bytes.data(), PackHost(n.mac.bytes.data(), n.port));
}

void TableWriter::LearnNeighbor(const IpAddress& ip, const MacAddress& mac, uint16_t p,
                                bool confirmed) {
  if (p >= ports_.size()) return;
  if (ports_[p].role == PortRole::kUplink) {
    nexthops_.Learn(p, ip, mac, confirmed);
    return;
  }
  if (ports_[p].role != PortRole::kAccess) return;
  auto it = neighbors_.find(ip);
  if (it != neighbors_.end() &&
      (!it->second.learned || (it->second.mac == mac && it->second.port == p))) {
    return;
  }
  const Neighbor n{mac, p, true};
  neighbors_[ip] = n;
  SetHost(ip, n);
}

absl::Status TableWriter::DelNeighbor(const IpAddress& ip) {
  auto it = neighbors_.find(ip);
  if (it == neighbors_.end()) return nexthops_.DelStatic(ip);
  tables_.DeleteHost(ip.family, ip.bytes.data());
  neighbors_.erase(it);
  return absl::OkStatus();
}

std::optional<uint16_t> TableWriter::UplinkOwning(const IpAddress& local) const {
  for (uint16_t p = 0; p < ports_.size(); ++p) {
    const PortConfig& pc = ports_[p];
    if (pc.role != PortRole::kUplink) continue;
    const std::optional<IpPrefix>& a = local.is_v4() ? pc.v4 : pc.v6;
    if (a && a->addr == local) return p;
  }
  return std::nullopt;
}

Underlay TableWriter::UnderlayFor(uint16_t uplink, uint32_t path) const {
  const PortConfig& pc = ports_[uplink];
  Underlay u;
  u.port = uplink;
  u.path = path;
  u.src_mac = pc.mac;
  u.mtu = pc.mtu;
  u.tx_ip_checksum_offload = pc.tx_ip_checksum_offload;
  u.tx_udp_checksum_offload = pc.tx_udp_checksum_offload;
  u.tx_outer_offload = pc.tx_outer_offload;
  u.known_options = known_options_;
  return u;
}

void TableWriter::PublishTunnel(const TunnelRecord& rec) {
  auto t = std::make_unique<Tunnel>();
  BuildTunnel(rec.spec, UnderlayFor(rec.uplink, rec.path), rec.id, rec.attachment, *t);
  t->decap_key = rec.key;
  if (rec.protection) ApplyProtection(*rec.protection, *t);
  tables_.PublishTunnel(std::move(t));
}

void ApplyProtection(const TunnelProtection& protection, Tunnel& t) {
  t.esp_out = protection.out;
  t.flags |= kTunnelEsp;
  t.flags &= ~(kTunnelTxIpChecksumOffload | kTunnelTxUdpChecksumOffload | kTunnelTxOuterOffload);
  t.tx_ol_flags = 0;
  t.push_variant = PushVariant::kGeneral;
  t.max_l3_len = t.max_l3_len > kEspMaxOverhead ? t.max_l3_len - kEspMaxOverhead : 0;
}

void TableWriter::PublishEspInbound() {
  auto table = std::make_unique<EspInboundTable>();
  for (const auto& [name, rec] : tunnels_) {
    if (!rec.protection) continue;
    for (EspSa* sa : rec.protection->in) table->by_spi[sa->spi()] = EspInbound{sa, rec.id};
  }
  for (const auto& [name, seg] : segments_) {
    for (const SegmentRemoteRecord& r : seg.remotes) {
      if (!r.protection) continue;
      for (EspSa* sa : r.protection->in) table->by_spi[sa->spi()] = EspInbound{sa, r.id};
    }
  }
  tables_.PublishEspInbound(table->by_spi.empty() ? nullptr : std::move(table));
}

absl::Status TableWriter::SetTunnelProtection(std::string_view name,
                                              std::optional<TunnelProtection> protection) {
  auto it = tunnels_.find(name);
  if (it == tunnels_.end()) {
    return absl::NotFoundError(absl::StrCat("no tunnel '", AsAbsl(name), "'"));
  }
  it->second.protection = std::move(protection);
  // The entry first: from now on every packet leaves under the new outbound SA; then the
  // inbound table, which takes the new inbound SAs (and keeps a rekey's old one).
  PublishTunnel(it->second);
  PublishEspInbound();
  return absl::OkStatus();
}

absl::StatusOr<uint8_t> TableWriter::TunnelOuterFamily(std::string_view name) const {
  auto it = tunnels_.find(name);
  if (it == tunnels_.end()) {
    return absl::NotFoundError(absl::StrCat("no tunnel '", AsAbsl(name), "'"));
  }
  return it->second.spec.local.is_v4() ? uint8_t{4} : uint8_t{6};
}

void TableWriter::RebuildTunnelsOn(uint16_t uplink) {
  for (const auto& [name, rec] : tunnels_) {
    if (rec.uplink == uplink) PublishTunnel(rec);
  }
  RepublishSegmentTunnels(uplink, nullptr, false);
}

void TableWriter::PublishPortView(uint16_t p) {
  const PortConfig& pc = ports_[p];
  auto v = std::make_unique<PortView>();
  v->role = pc.role;
  std::memcpy(v->mac, pc.mac.bytes.data(), 6);
  if (pc.v4) {
    v->has_v4 = true;
    v->v4_plen = pc.v4->len;
    std::memcpy(v->v4, pc.v4->addr.bytes.data(), 4);
  }
  if (pc.v6) {
    v->has_v6 = true;
    v->v6_plen = pc.v6->len;
    std::memcpy(v->v6, pc.v6->addr.bytes.data(), 16);
  }
  v->tx_ipv4_cksum = pc.tx_ip_checksum_offload;
  v->tx_udp_cksum = pc.tx_udp_checksum_offload;
  v->routed = pc.role == PortRole::kAccess && (pc.v4 || pc.v6);
  tables_.PublishPort(p, std::move(v));
}

void TableWriter::RefUdpPort(uint16_t port, TunnelType type, int delta) {
  auto& [t, refs] = udp_ports_[port];
  t = type;
  refs += delta;
  if (refs <= 0) {
    udp_ports_.erase(port);
    tables_.SetUdpTunnelType(port, 0);
  } else {
    tables_.SetUdpTunnelType(port, static_cast<uint8_t>(type));
  }
}

absl::StatusOr<uint16_t> TableWriter::CheckUnderlaySpec(const TunnelSpec& spec) const {
  if (GeneveOptionsLen(spec) > kGeneveMaxOptionsLen) {
    return absl::InvalidArgumentError(absl::StrCat("GENEVE options take ", GeneveOptionsLen(spec),
                                                   " bytes; at most ", kGeneveMaxOptionsLen,
                                                   " fit (RFC 8926 Opt Len)"));
  }
  std::optional<uint16_t> uplink = UplinkOwning(spec.local);
  if (!uplink) {
    return absl::FailedPreconditionError(
        absl::StrCat("local ", spec.local.ToString(),
                     " is not the address of an uplink port (port config <P> address ...)"));
  }
  const uint16_t udp_port = TunnelUdpPort(spec);
  if (auto it = udp_ports_.find(udp_port);
      IsUdpTunnel(spec.type) && it != udp_ports_.end() && it->second.first != spec.type) {
    return absl::FailedPreconditionError(absl::StrCat(
        "UDP port ", udp_port, " is used by ", TunnelTypeName(it->second.first), " tunnels"));
  }
  return *uplink;
}

absl::Status TableWriter::AddTunnel(const TunnelSpec& spec) {
  if (tunnels_.contains(spec.name)) {
    return absl::AlreadyExistsError(absl::StrCat("tunnel '", spec.name, "' already exists"));
  }
  if (spec.local.family != spec.remote.family) {
    return absl::InvalidArgumentError(absl::StrCat("local ", spec.local.ToString(), " and remote ",
                                                   spec.remote.ToString(),
                                                   " are of different IP versions"));
  }
  if (spec.remote.is_multicast()) {
    return absl::InvalidArgumentError(
        absl::StrCat("remote ", spec.remote.ToString(),
                     " is a multicast address: a tunnel is point-to-point (a segment can "
                     "flood to a group: 'segment <name> group <ip>')"));
  }
  absl::StatusOr<uint16_t> uplink = CheckUnderlaySpec(spec);
  if (!uplink.ok()) return uplink.status();
  const bool udp = IsUdpTunnel(spec.type);
  const uint16_t udp_port = TunnelUdpPort(spec);
  const DecapKey key = MakeDecapKey(spec);
  if (absl::Status s = CheckDecapKeyFree(spec, key); !s.ok()) return s;
  const uint32_t id = tables_.AllocateTunnelId();
  if (id == kNoTunnel) {
    return log::TableFull(
        absl::StrCat("all ", tables_.max_tunnels(), " tunnels are in use (raise --max_tunnels)"));
  }
  absl::StatusOr<uint32_t> path = nexthops_.AcquirePath(*uplink, spec.remote);
  if (!path.ok()) {
    tables_.RemoveTunnel(id);  // never published: gives the id back
    return path.status();
  }
  tables_.ResetTunnelState(id);
  TunnelRecord rec{spec, id, *uplink, Attachment{}, key, *path, std::nullopt};
  PublishTunnel(rec);
  if (absl::Status s = tables_.AddDecapKey(key, id); !s.ok()) {
    tables_.RemoveTunnel(id);
    nexthops_.ReleasePath(*path);
    return s;
  }
  if (udp) RefUdpPort(udp_port, spec.type, +1);
  names_by_key_.emplace(KeyBytes(key), absl::StrCat("tunnel '", spec.name, "'"));
  tunnels_.emplace(spec.name, std::move(rec));
  return absl::OkStatus();
}

absl::Status TableWriter::CheckDecapKeyFree(const TunnelSpec& spec, const DecapKey& key) const {
  auto dup = names_by_key_.find(KeyBytes(key));
  if (dup == names_by_key_.end()) return absl::OkStatus();
  const std::string& user = dup->second;  // "tunnel 'x'" or "segment 'y'"
  if (IsUdpTunnel(spec.type)) {
    return absl::AlreadyExistsError(absl::StrCat("vni ", spec.vni, " on ", spec.local.ToString(),
                                                 " is already used by ", user));
  }
  if (spec.remote.family == 0) {  // a segment's key, with no one remote
    return absl::AlreadyExistsError(absl::StrCat("key ", spec.key, " on ", spec.local.ToString(),
                                                 " is already used by ", user));
  }
  return absl::AlreadyExistsError(
      absl::StrCat(user, " already joins ", spec.local.ToString(), " and ", spec.remote.ToString(),
                   spec.has_key ? " with that key" : "",
                   " (a gre and a gretap tunnel, or different keys, can share them)"));
}

absl::Status TableWriter::AddKnownGeneveOption(uint16_t option_class, uint8_t type) {
  const uint32_t oid = GeneveOptionId(option_class, type);
  if (std::find(known_options_.begin(), known_options_.end(), oid) != known_options_.end()) {
    return absl::OkStatus();
  }
  if (known_options_.size() + 1 > kMaxKnownOptions / 2) {
    return absl::ResourceExhaustedError(
        absl::StrCat("at most ", kMaxKnownOptions / 2, " known GENEVE options"));
  }
  known_options_.push_back(oid);
  for (const auto& [name, rec] : tunnels_) {
    if (rec.spec.type == TunnelType::kGeneve) PublishTunnel(rec);
  }
  RepublishSegmentTunnels(UINT16_MAX, nullptr, true);
  return absl::OkStatus();
}

absl::Status TableWriter::AddRoute(const IpPrefix& prefix, std::string_view tunnel, bool replace) {
  auto it = tunnels_.find(tunnel);
  if (it == tunnels_.end()) {
    return absl::NotFoundError(absl::StrCat("no tunnel '", AsAbsl(tunnel), "'"));
  }
  if (it->second.spec.type != TunnelType::kGre) {
    return absl::FailedPreconditionError(
        absl::StrCat("tunnel '", AsAbsl(tunnel), "' is ", TunnelTypeName(it->second.spec.type),
                     "; routes lead into L3 (type gre) tunnels, L2 tunnels use xconnect"));
  }
  const IpPrefix p = NormalizePrefix(prefix);
  const std::string text = p.ToString();
  auto existing = routes_.find(text);
  if (existing != routes_.end() && !replace) {
    return absl::AlreadyExistsError(absl::StrCat("route ", text, " already exists (via '",
                                                 existing->second.second,
                                                 "'; route replace changes its tunnel)"));
  }
  // In place (Tables rule 7): a replaced route changes its tunnel in one step for workers.
  if (absl::Status s = tables_.SetRoute(p, it->second.id); !s.ok()) return s;
  routes_[text] = {p, std::string(tunnel)};
  return absl::OkStatus();
}

absl::Status TableWriter::DelRoute(const IpPrefix& prefix) {
  const IpPrefix p = NormalizePrefix(prefix);
  auto it = routes_.find(p.ToString());
  if (it == routes_.end()) return absl::NotFoundError(absl::StrCat("no route ", p.ToString()));
  if (absl::Status s = tables_.DeleteRoute(p); !s.ok()) return s;
  routes_.erase(it);
  return absl::OkStatus();
}

absl::Status TableWriter::DelTunnel(std::string_view name) {
  auto it = tunnels_.find(name);
  if (it == tunnels_.end()) {
    return absl::NotFoundError(absl::StrCat("no tunnel '", AsAbsl(name), "'"));
  }
  const TunnelRecord& rec = it->second;
  // Deleting a tunnel that traffic is still sent into would turn that traffic into drops
  // without a word; the operator deletes what leads into it first, by name.
  std::vector<std::string> users;
  if (rec.attachment.valid) {
    users.push_back(absl::StrCat(
        "xconnect ", rec.attachment.port,
        rec.attachment.vlan == kVlanUntagged ? "" : absl::StrCat(" vlan ", rec.attachment.vlan)));
  }
  for (const auto& [text, route] : routes_) {
    if (route.second == name) users.push_back(absl::StrCat("route ", text));
  }
  if (!users.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("tunnel '", AsAbsl(name), "' is in use by ", JoinWithAnd(users), "; delete ",
                     users.size() == 1 ? "it" : "those", " first"));
  }
  if (rec.protection) {
    return absl::FailedPreconditionError(absl::StrCat("tunnel '", AsAbsl(name),
                                                      "' is protected by ESP; 'tunnel ",
                                                      AsAbsl(name), " no protect' first"));
  }
  (void)tables_.DeleteDecapKey(rec.key);
  names_by_key_.erase(KeyBytes(rec.key));
  tables_.RemoveTunnel(rec.id);
  nexthops_.ReleasePath(rec.path);
  if (IsUdpTunnel(rec.spec.type)) RefUdpPort(TunnelUdpPort(rec.spec), rec.spec.type, -1);
  tunnels_.erase(it);
  return absl::OkStatus();
}

const TunnelRecord* TableWriter::XconnectAt(uint16_t p, uint16_t vlan) const {
  auto it = xconnects_.find(XconnectKey(p, vlan));
  if (it == xconnects_.end()) return nullptr;
  return &tunnels_.find(it->second)->second;
}

absl::Status TableWriter::AddXconnect(uint16_t p, uint16_t vlan, std::string_view tunnel) {
  if (absl::Status s = CheckPort(p); !s.ok()) return s;
  if (ports_[p].role != PortRole::kAccess) {
    return absl::FailedPreconditionError(absl::StrCat(
        "port ", p, " is not an access port: 'port config ", p, " role access' first"));
  }
  auto it = tunnels_.find(tunnel);
  if (it == tunnels_.end())
    return absl::NotFoundError(absl::StrCat("no tunnel '", AsAbsl(tunnel), "'"));
  if (absl::Status s = CheckAttachmentFree(p, vlan); !s.ok()) return s;
  TunnelRecord& rec = it->second;
  if (rec.attachment.valid) {
    return absl::AlreadyExistsError(
        absl::StrCat("tunnel '", AsAbsl(tunnel), "' is already cross-connected to ",
                     PortVlan(rec.attachment.port, rec.attachment.vlan)));
  }
  rec.attachment = Attachment{p, vlan, true};
  PublishTunnel(rec);
  tables_.SetAttachment(p, vlan, rec.id);
  xconnects_[XconnectKey(p, vlan)] = rec.spec.name;
  return absl::OkStatus();
}

absl::Status TableWriter::DelXconnect(uint16_t p, uint16_t vlan) {
  if (absl::Status s = CheckPort(p); !s.ok()) return s;
  auto it = xconnects_.find(XconnectKey(p, vlan));
  if (it == xconnects_.end()) {
    return absl::NotFoundError(absl::StrCat("no xconnect on ", PortVlan(p, vlan)));
  }
  TunnelRecord& rec = tunnels_.find(it->second)->second;
  tables_.SetAttachment(p, vlan, kNoTunnel);
  rec.attachment = Attachment{};
  PublishTunnel(rec);
  xconnects_.erase(it);
  return absl::OkStatus();
}

}  // namespace tundra
