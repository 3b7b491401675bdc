#include "control/table_writer.h"

#include <memory>

#include "absl/strings/str_cat.h"
#include "dataplane/header_template.h"

namespace tundra {

namespace {

uint32_t XconnectKey(uint16_t p, uint16_t vlan) { return (uint32_t{p} << 16) | vlan; }

std::string PortVlan(uint16_t p, uint16_t vlan) {
  return vlan == kVlanUntagged ? absl::StrCat("port ", p)
                               : absl::StrCat("port ", p, " vlan ", vlan);
}

}  // namespace

DecapKey MakeDecapKey(const TunnelSpec& spec) {
  DecapKey key;
  key.type = static_cast<uint8_t>(spec.type);
  key.family = spec.local.family;
  key.vni = spec.vni;
  std::memcpy(key.local, spec.local.bytes.data(), spec.local.is_v4() ? 4 : 16);
  return key;
}

TableWriter::TableWriter(Tables& tables, uint16_t nb_ports) : tables_(tables), ports_(nb_ports) {
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
  return absl::OkStatus();
}

absl::Status TableWriter::SetPortAddress(uint16_t p, const IpPrefix& prefix) {
  if (absl::Status s = CheckPort(p); !s.ok()) return s;
  PortConfig& pc = ports_[p];
  if (pc.role != PortRole::kUplink) {
    return absl::FailedPreconditionError(
        absl::StrCat("port ", p, " is not an uplink: 'port config ", p, " role uplink' first"));
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

void TableWriter::SetPortOffloads(uint16_t p, bool ip_checksum, bool udp_checksum) {
  ports_[p].tx_ip_checksum_offload = ip_checksum;
  ports_[p].tx_udp_checksum_offload = udp_checksum;
  PublishPortView(p);
  RebuildTunnelsOn(p);
}

absl::Status TableWriter::AddNeighbor(const IpAddress& ip, const MacAddress& mac, uint16_t p) {
  if (absl::Status s = CheckPort(p); !s.ok()) return s;
  if (ports_[p].role != PortRole::kUplink) {
    return absl::FailedPreconditionError(absl::StrCat("port ", p, " is not an uplink"));
  }
  if (mac.bytes[0] & 1 || mac.is_zero()) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", mac.ToString(), "' is not a unicast MAC for a neighbor"));
  }
  neighbors_[ip] = Neighbor{mac, p};
  for (const auto& [name, rec] : tunnels_) {
    if (rec.spec.remote == ip) PublishTunnel(rec);
  }
  return absl::OkStatus();
}

absl::Status TableWriter::DelNeighbor(const IpAddress& ip) {
  if (neighbors_.erase(ip) == 0) {
    return absl::NotFoundError(absl::StrCat("no neighbor ", ip.ToString()));
  }
  for (const auto& [name, rec] : tunnels_) {
    if (rec.spec.remote == ip) PublishTunnel(rec);
  }
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

Underlay TableWriter::UnderlayFor(const TunnelSpec& spec, uint16_t uplink) const {
  const PortConfig& pc = ports_[uplink];
  Underlay u;
  u.port = uplink;
  u.src_mac = pc.mac;
  u.mtu = pc.mtu;
  u.tx_ip_checksum_offload = pc.tx_ip_checksum_offload;
  u.tx_udp_checksum_offload = pc.tx_udp_checksum_offload;
  auto it = neighbors_.find(spec.remote);
  if (it != neighbors_.end() && it->second.port == uplink) {
    u.dst_mac = it->second.mac;
    u.resolved = true;
  }
  return u;
}

void TableWriter::PublishTunnel(const TunnelRecord& rec) {
  auto t = std::make_unique<Tunnel>();
  BuildTunnel(rec.spec, UnderlayFor(rec.spec, rec.uplink), rec.id, rec.attachment, *t);
  tables_.PublishTunnel(std::move(t));
}

void TableWriter::RebuildTunnelsOn(uint16_t uplink) {
  for (const auto& [name, rec] : tunnels_) {
    if (rec.uplink == uplink) PublishTunnel(rec);
  }
}

void TableWriter::PublishPortView(uint16_t p) {
  const PortConfig& pc = ports_[p];
  auto v = std::make_unique<PortView>();
  v->role = pc.role;
  std::memcpy(v->mac, pc.mac.bytes.data(), 6);
  if (pc.v4) {
    v->has_v4 = true;
    std::memcpy(v->v4, pc.v4->addr.bytes.data(), 4);
  }
  if (pc.v6) {
    v->has_v6 = true;
    std::memcpy(v->v6, pc.v6->addr.bytes.data(), 16);
  }
  v->tx_ipv4_cksum = pc.tx_ip_checksum_offload;
  v->tx_udp_cksum = pc.tx_udp_checksum_offload;
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

absl::Status TableWriter::AddTunnel(const TunnelSpec& spec) {
  if (tunnels_.contains(spec.name)) {
    return absl::AlreadyExistsError(absl::StrCat("tunnel '", spec.name, "' already exists"));
  }
  if (spec.type != TunnelType::kVxlan) {
    return absl::UnimplementedError(
        absl::StrCat("tunnel type '", TunnelTypeName(spec.type), "' is not available yet"));
  }
  if (spec.local.family != spec.remote.family) {
    return absl::InvalidArgumentError(absl::StrCat("local ", spec.local.ToString(), " and remote ",
                                                   spec.remote.ToString(),
                                                   " are of different IP versions"));
  }
  std::optional<uint16_t> uplink = UplinkOwning(spec.local);
  if (!uplink) {
    return absl::FailedPreconditionError(
        absl::StrCat("local ", spec.local.ToString(),
                     " is not the address of an uplink port (port config <P> address ...)"));
  }
  const uint16_t udp_port = TunnelUdpPort(spec);
  if (auto it = udp_ports_.find(udp_port);
      it != udp_ports_.end() && it->second.first != spec.type) {
    return absl::FailedPreconditionError(absl::StrCat(
        "UDP port ", udp_port, " is used by ", TunnelTypeName(it->second.first), " tunnels"));
  }
  const DecapKey key = MakeDecapKey(spec);
  for (const auto& [name, rec] : tunnels_) {
    if (std::memcmp(&rec.key, &key, sizeof(key)) == 0) {
      return absl::AlreadyExistsError(absl::StrCat("vni ", spec.vni, " on ", spec.local.ToString(),
                                                   " is already used by tunnel '", name, "'"));
    }
  }
  const uint32_t id = tables_.AllocateTunnelId();
  if (id == kNoTunnel) {
    return absl::ResourceExhaustedError(
        absl::StrCat("all ", tables_.max_tunnels(), " tunnels are in use (raise --max_tunnels)"));
  }
  TunnelRecord rec{spec, id, *uplink, Attachment{}, key};
  PublishTunnel(rec);
  if (absl::Status s = tables_.AddDecapKey(key, id); !s.ok()) {
    tables_.RemoveTunnel(id);
    return s;
  }
  RefUdpPort(udp_port, spec.type, +1);
  tunnels_.emplace(spec.name, std::move(rec));
  return absl::OkStatus();
}

absl::Status TableWriter::DelTunnel(std::string_view name) {
  auto it = tunnels_.find(name);
  if (it == tunnels_.end()) {
    return absl::NotFoundError(absl::StrCat("no tunnel '", std::string(name), "'"));
  }
  const TunnelRecord& rec = it->second;
  if (rec.attachment.valid) {
    tables_.SetAttachment(rec.attachment.port, rec.attachment.vlan, kNoTunnel);
    xconnects_.erase(XconnectKey(rec.attachment.port, rec.attachment.vlan));
  }
  (void)tables_.DeleteDecapKey(rec.key);
  tables_.RemoveTunnel(rec.id);
  RefUdpPort(TunnelUdpPort(rec.spec), rec.spec.type, -1);
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
    return absl::NotFoundError(absl::StrCat("no tunnel '", std::string(tunnel), "'"));
  if (const TunnelRecord* other = XconnectAt(p, vlan)) {
    return absl::AlreadyExistsError(absl::StrCat(
        PortVlan(p, vlan), " is already cross-connected to tunnel '", other->spec.name, "'"));
  }
  TunnelRecord& rec = it->second;
  if (rec.attachment.valid) {
    return absl::AlreadyExistsError(
        absl::StrCat("tunnel '", std::string(tunnel), "' is already cross-connected to ",
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
