// TableWriter's segments and their FDB (table_writer.h; the dataplane side is
// dataplane/segment.h and dataplane/fdb.h).
#include <algorithm>
#include <cstring>
#include <memory>

#include "absl/strings/str_cat.h"
#include "control/absl_view.h"
#include "control/log.h"
#include "control/table_writer.h"
#include "control/writer_util.h"
#include "dataplane/header_template.h"

namespace tundra {

namespace {

// The decap key of a segment's remote: the segment's key with the remote's address.
DecapKey RemoteKey(const TunnelSpec& spec, const IpAddress& remote) {
  TunnelSpec s = spec;
  s.remote = remote;
  DecapKey k = MakeDecapKey(s);
  std::memset(k.remote, 0, sizeof(k.remote));
  std::memcpy(k.remote, remote.bytes.data(), remote.is_v4() ? 4 : 16);
  return k;
}

// The decap key of a segment's anchor: its key with no remote.
DecapKey AnchorKey(const TunnelSpec& spec) {
  DecapKey k = MakeDecapKey(spec);
  std::memset(k.remote, 0, sizeof(k.remote));
  return k;
}

// How old a learned entry's stamp may grow before a frame from its MAC refreshes it: a
// tenth of the ageing time, so an entry ages at most that much early, and at most every
// 30 s, so a million busy MACs cost the control thread tens of thousands of refreshes a
// second, not millions.
uint16_t RefreshSeconds(uint32_t ageing_s) {
  if (ageing_s == 0) return 0;
  return static_cast<uint16_t>(std::clamp<uint32_t>(ageing_s / 10, 1, 30));
}

bool IsMember(const SegmentRecord& seg, uint16_t p, uint16_t vlan) {
  return std::any_of(seg.members.begin(), seg.members.end(),
                     [&](const SegmentMember& m) { return m.port == p && m.vlan == vlan; });
}

}  // namespace

const SegmentRemoteRecord* SegmentRecord::Remote(const IpAddress& ip) const {
  for (const SegmentRemoteRecord& r : remotes) {
    if (r.ip == ip) return &r;
  }
  return nullptr;
}

const SegmentRemoteRecord* SegmentRecord::RemoteById(uint32_t id) const {
  for (const SegmentRemoteRecord& r : remotes) {
    if (r.id == id) return &r;
  }
  return nullptr;
}

const SegmentRecord* TableWriter::FindSegment(std::string_view name) const {
  auto it = segments_.find(name);
  return it == segments_.end() ? nullptr : &it->second;
}

absl::StatusOr<SegmentRecord*> TableWriter::SegmentNamed(std::string_view name) {
  auto it = segments_.find(name);
  if (it == segments_.end()) {
    return absl::NotFoundError(absl::StrCat("no segment '", AsAbsl(name), "'"));
  }
  return &it->second;
}

absl::Status TableWriter::CheckAttachmentFree(uint16_t p, uint16_t vlan) const {
  if (const TunnelRecord* other = XconnectAt(p, vlan)) {
    return absl::AlreadyExistsError(absl::StrCat(
        PortVlan(p, vlan), " is already cross-connected to tunnel '", other->spec.name, "'"));
  }
  if (auto it = members_.find(XconnectKey(p, vlan)); it != members_.end()) {
    return absl::AlreadyExistsError(
        absl::StrCat(PortVlan(p, vlan), " is already a member of segment '", it->second, "'"));
  }
  return absl::OkStatus();
}

void TableWriter::PublishSegment(const SegmentRecord& seg) {
  auto s = std::make_unique<Segment>();
  s->id = seg.id;
  s->refresh_s = RefreshSeconds(seg.ageing_s);
  s->learn_unknown_remote = seg.learn_unknown_remote;
  s->suppress = seg.suppress;
  s->members = seg.members;
  if (seg.group) {
    s->remotes.push_back(seg.group->id);  // the remotes are reached through the group
  } else {
    for (const SegmentRemoteRecord& r : seg.remotes) {
      if (!r.learned) s->remotes.push_back(r.id);
    }
  }
  tables_.PublishSegment(std::move(s));
}

void TableWriter::PublishSegmentTunnel(const SegmentRecord& seg,
                                       const SegmentRemoteRecord* remote) {
  TunnelSpec spec = seg.spec;
  // The anchor sends nothing; its template is built towards the local address only so
  // that it is a complete entry.
  spec.remote = remote != nullptr ? remote->ip : seg.spec.local;
  auto t = std::make_unique<Tunnel>();
  BuildTunnel(spec, UnderlayFor(seg.uplink, remote != nullptr ? remote->path : 0),
              remote != nullptr ? remote->id : seg.anchor, Attachment{}, *t);
  t->segment = seg.id;
  t->segment_anchor = remote == nullptr;
  t->decap_key = remote != nullptr ? remote->key : seg.anchor_key;
  if (remote != nullptr && remote->protection) ApplyProtection(*remote->protection, *t);
  tables_.PublishTunnel(std::move(t));
}

void TableWriter::RepublishSegmentTunnels(uint16_t uplink, const IpAddress* remote,
                                          bool geneve_only) {
  for (const auto& [name, seg] : segments_) {
    if (uplink != UINT16_MAX && seg.uplink != uplink) continue;
    if (geneve_only && seg.spec.type != TunnelType::kGeneve) continue;
    if (remote == nullptr) PublishSegmentTunnel(seg, nullptr);
    for (const SegmentRemoteRecord& r : seg.remotes) {
      if (remote == nullptr || r.ip == *remote) PublishSegmentTunnel(seg, &r);
    }
    if (seg.group && (remote == nullptr || seg.group->ip == *remote)) {
      PublishSegmentTunnel(seg, &*seg.group);
    }
  }
}

absl::Status TableWriter::AddSegment(const TunnelSpec& spec) {
  if (segments_.contains(spec.name)) {
    return absl::AlreadyExistsError(absl::StrCat("segment '", spec.name, "' already exists"));
  }
  absl::StatusOr<uint16_t> uplink = CheckUnderlaySpec(spec);
  if (!uplink.ok()) return uplink.status();
  const bool udp = IsUdpTunnel(spec.type);
  const uint16_t udp_port = TunnelUdpPort(spec);
  SegmentRecord rec;
  rec.spec = spec;
  rec.spec.remote = IpAddress{};
  rec.anchor_key = AnchorKey(spec);
  if (absl::Status s = CheckDecapKeyFree(rec.spec, rec.anchor_key); !s.ok()) return s;
  rec.uplink = *uplink;
  rec.anchor = tables_.AllocateTunnelId();
  if (rec.anchor == kNoTunnel) {
    return log::TableFull(
        absl::StrCat("all ", tables_.max_tunnels(), " tunnels are in use (raise --max_tunnels)"));
  }
  rec.id = tables_.AllocateSegmentId();
  if (rec.id == 0) {
    tables_.RemoveTunnel(rec.anchor);
    return log::TableFull(absl::StrCat("all ", tables_.max_segments(),
                                       " segments are in use (raise --max_segments)"));
  }
  tables_.ResetTunnelState(rec.anchor);
  PublishSegment(rec);
  PublishSegmentTunnel(rec, nullptr);
  if (absl::Status s = tables_.AddDecapKey(rec.anchor_key, rec.anchor); !s.ok()) {
    tables_.RemoveTunnel(rec.anchor);
    tables_.RemoveSegment(rec.id);
    return s;
  }
  if (udp) RefUdpPort(udp_port, spec.type, +1);
  names_by_key_.emplace(KeyBytes(rec.anchor_key), absl::StrCat("segment '", spec.name, "'"));
  segment_names_[rec.id] = spec.name;
  segments_.emplace(spec.name, std::move(rec));
  return absl::OkStatus();
}

absl::Status TableWriter::DelSegment(std::string_view name) {
  absl::StatusOr<SegmentRecord*> found = SegmentNamed(name);
  if (!found.ok()) return found.status();
  SegmentRecord& seg = **found;
  for (const SegmentRemoteRecord& r : seg.remotes) {
    if (r.protection) return ProtectedRemoteError(name, r.ip);
  }
  // Nothing leads into the segment any more, then nothing is left of it.
  for (const SegmentMember& m : seg.members) {
    tables_.SetAttachment(m.port, m.vlan, kNoTunnel);
    members_.erase(XconnectKey(m.port, m.vlan));
  }
  (void)tables_.DeleteDecapKey(seg.anchor_key);
  names_by_key_.erase(KeyBytes(seg.anchor_key));
  for (const auto& [mac, rec] : seg.fdb) {
    tables_.DeleteFdb(MakeFdbKey(seg.id, MacOfKey(mac).bytes.data()));
  }
  fdb_entries_ -= static_cast<uint32_t>(seg.fdb.size());
  seg.fdb.clear();
  for (const auto& [ip, h] : seg.hosts)
    tables_.DeleteSegmentHost(seg.id, ip.family, ip.bytes.data());
  seg.hosts.clear();
  while (!seg.remotes.empty()) RemoveRemoteTunnel(seg, seg.remotes.size() - 1);
  if (seg.group) ReleaseGroup(*seg.group, seg.group_key);
  tables_.RemoveTunnel(seg.anchor);
  tables_.RemoveSegment(seg.id);
  if (IsUdpTunnel(seg.spec.type)) RefUdpPort(TunnelUdpPort(seg.spec), seg.spec.type, -1);
  segment_names_.erase(seg.id);
  segments_.erase(segments_.find(name));
  return absl::OkStatus();
}

absl::Status TableWriter::AddSegmentMember(std::string_view name, uint16_t p, uint16_t vlan) {
  absl::StatusOr<SegmentRecord*> found = SegmentNamed(name);
  if (!found.ok()) return found.status();
  if (absl::Status s = CheckPort(p); !s.ok()) return s;
  if (ports_[p].role != PortRole::kAccess) {
    return absl::FailedPreconditionError(absl::StrCat(
        "port ", p, " is not an access port: 'port config ", p, " role access' first"));
  }
  if (ports_[p].v4 || ports_[p].v6) {
    return absl::FailedPreconditionError(
        absl::StrCat("port ", p,
                     " is a routed access port (it has an address); segment "
                     "members bridge frames"));
  }
  if (absl::Status s = CheckAttachmentFree(p, vlan); !s.ok()) return s;
  SegmentRecord& seg = **found;
  seg.members.push_back(SegmentMember{p, vlan});
  // The member is in the flood list before frames from it arrive.
  PublishSegment(seg);
  tables_.SetAttachment(p, vlan, kAttachSegment | seg.id);
  members_[XconnectKey(p, vlan)] = seg.spec.name;
  return absl::OkStatus();
}

absl::Status TableWriter::DelSegmentMember(std::string_view name, uint16_t p, uint16_t vlan) {
  absl::StatusOr<SegmentRecord*> found = SegmentNamed(name);
  if (!found.ok()) return found.status();
  SegmentRecord& seg = **found;
  auto it = std::find_if(seg.members.begin(), seg.members.end(),
                         [&](const SegmentMember& m) { return m.port == p && m.vlan == vlan; });
  if (it == seg.members.end()) {
    return absl::NotFoundError(
        absl::StrCat(PortVlan(p, vlan), " is not a member of segment '", AsAbsl(name), "'"));
  }
  tables_.SetAttachment(p, vlan, kNoTunnel);
  members_.erase(XconnectKey(p, vlan));
  seg.members.erase(it);
  PublishSegment(seg);
  // Its MACs, static ones included, as the kernel's bridge forgets a port's.
  const FdbPlace place = LocalPlace(p, vlan);
  EraseFdbWhere(seg, [place](uint64_t e) { return EntryPlace(e) == place; });
  return absl::OkStatus();
}

absl::Status TableWriter::BuildRemoteTunnel(const SegmentRecord& seg, SegmentRemoteRecord& r) {
  r.id = tables_.AllocateTunnelId();
  if (r.id == kNoTunnel) {
    return log::TableFull(
        absl::StrCat("all ", tables_.max_tunnels(), " tunnels are in use (raise --max_tunnels)"));
  }
  absl::StatusOr<uint32_t> path = nexthops_.AcquirePath(seg.uplink, r.ip);
  if (!path.ok()) {
    tables_.RemoveTunnel(r.id);
    return path.status();
  }
  r.path = *path;
  tables_.ResetTunnelState(r.id);
  PublishSegmentTunnel(seg, &r);
  return absl::OkStatus();
}

void TableWriter::FreeRemoteTunnel(const SegmentRemoteRecord& r) {
  tables_.RemoveTunnel(r.id);
  nexthops_.ReleasePath(r.path);
}

absl::StatusOr<uint32_t> TableWriter::AddRemoteTunnel(SegmentRecord& seg, const IpAddress& ip,
                                                      bool learned) {
  SegmentRemoteRecord r;
  r.ip = ip;
  r.learned = learned;
  r.key = RemoteKey(seg.spec, ip);
  TunnelSpec spec = seg.spec;
  spec.remote = ip;
  if (absl::Status s = CheckDecapKeyFree(spec, r.key); !s.ok()) return s;
  if (absl::Status s = BuildRemoteTunnel(seg, r); !s.ok()) return s;
  if (absl::Status s = tables_.AddDecapKey(r.key, r.id); !s.ok()) {
    FreeRemoteTunnel(r);
    return s;
  }
  names_by_key_.emplace(KeyBytes(r.key), absl::StrCat("segment '", seg.spec.name, "'"));
  seg.remotes.push_back(r);
  return r.id;
}

void TableWriter::RemoveRemoteTunnel(SegmentRecord& seg, size_t index) {
  const SegmentRemoteRecord r = seg.remotes[index];
  seg.remotes.erase(seg.remotes.begin() + static_cast<ptrdiff_t>(index));
  (void)tables_.DeleteDecapKey(r.key);
  names_by_key_.erase(KeyBytes(r.key));
  FreeRemoteTunnel(r);
}

absl::Status TableWriter::AddSegmentRemote(std::string_view name, const IpAddress& ip) {
  absl::StatusOr<SegmentRecord*> found = SegmentNamed(name);
  if (!found.ok()) return found.status();
  SegmentRecord& seg = **found;
  if (ip.family != seg.spec.local.family) {
    return absl::InvalidArgumentError(absl::StrCat("remote ", ip.ToString(), " and local ",
                                                   seg.spec.local.ToString(),
                                                   " are of different IP versions"));
  }
  if (ip == seg.spec.local) {
    return absl::InvalidArgumentError(
        absl::StrCat("remote ", ip.ToString(), " is the segment's own local address"));
  }
  if (ip.is_multicast()) {
    return absl::InvalidArgumentError(absl::StrCat("remote ", ip.ToString(),
                                                   " is a multicast address: 'segment ",
                                                   AsAbsl(name), " group ", ip.ToString(), "'"));
  }
  for (SegmentRemoteRecord& r : seg.remotes) {
    if (r.ip != ip) continue;
    if (!r.learned) {
      return absl::AlreadyExistsError(
          absl::StrCat("remote ", ip.ToString(), " is already in segment '", AsAbsl(name), "'"));
    }
    r.learned = false;  // a learned remote becomes a configured one
    PublishSegment(seg);
    return absl::OkStatus();
  }
  absl::StatusOr<uint32_t> id = AddRemoteTunnel(seg, ip, false);
  if (!id.ok()) return id.status();
  PublishSegment(seg);
  return absl::OkStatus();
}

absl::Status TableWriter::DelSegmentRemote(std::string_view name, const IpAddress& ip) {
  absl::StatusOr<SegmentRecord*> found = SegmentNamed(name);
  if (!found.ok()) return found.status();
  SegmentRecord& seg = **found;
  const SegmentRemoteRecord* r = seg.Remote(ip);
  if (r == nullptr || r->learned) {
    return absl::NotFoundError(
        absl::StrCat(ip.ToString(), " is not a remote of segment '", AsAbsl(name), "'"));
  }
  if (r->protection) return ProtectedRemoteError(name, ip);
  const uint32_t id = r->id;
  const size_t index = static_cast<size_t>(r - seg.remotes.data());
  RemoveRemoteTunnel(seg, index);
  PublishSegment(seg);
  const FdbPlace place = RemotePlace(id);
  EraseFdbWhere(seg, [place](uint64_t e) { return EntryPlace(e) == place; });
  return absl::OkStatus();
}

void TableWriter::ReleaseGroup(const SegmentRemoteRecord& group, const DecapKey& key) {
  (void)tables_.DeleteDecapKey(key);
  names_by_key_.erase(KeyBytes(key));
  FreeRemoteTunnel(group);
}

absl::Status TableWriter::SetSegmentGroup(std::string_view name,
                                          const std::optional<IpAddress>& group) {
  absl::StatusOr<SegmentRecord*> found = SegmentNamed(name);
  if (!found.ok()) return found.status();
  SegmentRecord& seg = **found;
  if (!group) {
    if (!seg.group) {
      return absl::NotFoundError(absl::StrCat("segment '", AsAbsl(name), "' has no group"));
    }
    // The remotes are the flood list again before the group's tunnel goes.
    const SegmentRemoteRecord old = *seg.group;
    seg.group.reset();
    PublishSegment(seg);
    ReleaseGroup(old, seg.group_key);
    seg.group_key = DecapKey{};
    return absl::OkStatus();
  }
  const IpAddress& ip = *group;
  for (const SegmentRemoteRecord& r : seg.remotes) {
    if (r.protection) {
      return absl::FailedPreconditionError(
          absl::StrCat("remote ", r.ip.ToString(), " of segment '", AsAbsl(name),
                       "' is protected by ESP, and BUM to a group would leave in clear"));
    }
  }
  if (!ip.is_multicast()) {
    return absl::InvalidArgumentError(
        absl::StrCat("group ", ip.ToString(), " is not a multicast address"));
  }
  if (ip.family != seg.spec.local.family) {
    return absl::InvalidArgumentError(absl::StrCat("group ", ip.ToString(), " and local ",
                                                   seg.spec.local.ToString(),
                                                   " are of different IP versions"));
  }
  if (seg.group && seg.group->ip == ip) return absl::OkStatus();
  DecapKey key = seg.anchor_key;
  std::memset(key.local, 0, sizeof(key.local));
  std::memcpy(key.local, ip.bytes.data(), ip.is_v4() ? 4 : 16);
  if (absl::Status s = CheckDecapKeyFree(seg.spec, key); !s.ok()) return s;
  SegmentRemoteRecord r;
  r.ip = ip;
  if (absl::Status s = BuildRemoteTunnel(seg, r); !s.ok()) return s;
  if (absl::Status s = tables_.AddDecapKey(key, seg.anchor); !s.ok()) {
    FreeRemoteTunnel(r);
    return s;
  }
  // The new group is in place (decap accepts it, its tunnel is built) before the old
  // one goes: BUM leaves by one or the other, never by neither.
  std::optional<SegmentRemoteRecord> old = seg.group;
  const DecapKey old_key = seg.group_key;
  seg.group = r;
  seg.group_key = key;
  PublishSegment(seg);
  names_by_key_.emplace(KeyBytes(key), absl::StrCat("segment '", seg.spec.name, "'"));
  if (old) ReleaseGroup(*old, old_key);
  return absl::OkStatus();
}

absl::Status TableWriter::SetSegmentAgeing(std::string_view name, uint32_t seconds) {
  absl::StatusOr<SegmentRecord*> found = SegmentNamed(name);
  if (!found.ok()) return found.status();
  (*found)->ageing_s = seconds;
  PublishSegment(**found);
  return absl::OkStatus();
}

absl::Status TableWriter::SetSegmentMaxMacs(std::string_view name, uint32_t max_macs) {
  absl::StatusOr<SegmentRecord*> found = SegmentNamed(name);
  if (!found.ok()) return found.status();
  (*found)->max_macs = max_macs;
  return absl::OkStatus();
}

absl::Status TableWriter::SetSegmentUnknownRemote(std::string_view name, bool learn) {
  absl::StatusOr<SegmentRecord*> found = SegmentNamed(name);
  if (!found.ok()) return found.status();
  SegmentRecord& seg = **found;
  seg.learn_unknown_remote = learn;
  PublishSegment(seg);
  if (!learn) {
    // What was learned from unknown remotes goes, and with it those remotes.
    EraseFdbWhere(seg, [&seg](uint64_t e) {
      const FdbPlace place = EntryPlace(e);
      const SegmentRemoteRecord* r =
          IsRemotePlace(place) ? seg.RemoteById(PlaceTunnel(place)) : nullptr;
      return r != nullptr && r->learned;
    });
  }
  return absl::OkStatus();
}

absl::Status TableWriter::SetSegmentSuppress(std::string_view name, bool on) {
  absl::StatusOr<SegmentRecord*> found = SegmentNamed(name);
  if (!found.ok()) return found.status();
  (*found)->suppress = on;
  PublishSegment(**found);
  return absl::OkStatus();
}

void TableWriter::SetHostBinding(SegmentRecord& seg, const IpAddress& ip, const MacAddress& mac,
                                 bool is_static, uint32_t now_s) {
  auto it = seg.hosts.find(ip);
  if (it != seg.hosts.end() && it->second.is_static && !is_static) return;  // static wins
  if (it == seg.hosts.end() || it->second.mac != mac) {
    if (!tables_.SetSegmentHost(seg.id, ip.family, ip.bytes.data(), mac.bytes.data()).ok()) return;
  }
  seg.hosts[ip] = HostBindingRecord{mac, is_static, now_s};
}

void TableWriter::EraseHostBinding(SegmentRecord& seg, const IpAddress& ip) {
  tables_.DeleteSegmentHost(seg.id, ip.family, ip.bytes.data());
  seg.hosts.erase(ip);
}

void TableWriter::EraseFdbWhere(SegmentRecord& seg,
                                const std::function<bool(uint64_t entry)>& pred) {
  std::vector<uint64_t> gone;
  for (const auto& [mac, rec] : seg.fdb) {
    if (pred(rec.entry)) gone.push_back(mac);
  }
  for (uint64_t mac : gone) EraseFdb(seg, mac);
}

void TableWriter::EraseFdb(SegmentRecord& seg, uint64_t mac) {
  auto it = seg.fdb.find(mac);
  if (it == seg.fdb.end()) return;
  const uint64_t entry = it->second.entry;
  tables_.DeleteFdb(MakeFdbKey(seg.id, MacOfKey(mac).bytes.data()));
  seg.fdb.erase(it);
  --fdb_entries_;
  if (EntryStatic(entry)) {
    // Its `ip` bindings were given with it.
    const MacAddress m = MacOfKey(mac);
    std::vector<IpAddress> gone;
    for (const auto& [ip, h] : seg.hosts) {
      if (h.is_static && h.mac == m) gone.push_back(ip);
    }
    for (const IpAddress& ip : gone) EraseHostBinding(seg, ip);
    return;
  }
  --seg.learned_macs;
  ReleaseLearnedRemote(seg, EntryPlace(entry));
}

void TableWriter::ReleaseLearnedRemote(SegmentRecord& seg, FdbPlace place) {
  if (!IsRemotePlace(place)) return;
  for (size_t i = 0; i < seg.remotes.size(); ++i) {
    SegmentRemoteRecord& r = seg.remotes[i];
    if (r.id != PlaceTunnel(place) || !r.learned) continue;
    if (--r.fdb_refs == 0) RemoveRemoteTunnel(seg, i);
    return;
  }
}

absl::Status TableWriter::AddFdb(std::string_view segment, const MacAddress& mac, uint16_t p,
                                 uint16_t vlan, const std::optional<IpAddress>& remote,
                                 const std::optional<IpAddress>& ip) {
  absl::StatusOr<SegmentRecord*> found = SegmentNamed(segment);
  if (!found.ok()) return found.status();
  SegmentRecord& seg = **found;
  if (mac.bytes[0] & 1 || mac.is_zero()) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", mac.ToString(), "' is not a unicast MAC for an FDB entry"));
  }
  FdbPlace place;
  if (remote) {
    const SegmentRemoteRecord* r = seg.Remote(*remote);
    if (r == nullptr || r->learned) {
      return absl::FailedPreconditionError(
          absl::StrCat(remote->ToString(), " is not a remote of segment '", AsAbsl(segment),
                       "': 'segment ", AsAbsl(segment), " remote ", remote->ToString(), "' first"));
    }
    place = RemotePlace(r->id);
  } else {
    if (!IsMember(seg, p, vlan)) {
      return absl::FailedPreconditionError(
          absl::StrCat(PortVlan(p, vlan), " is not a member of segment '", AsAbsl(segment), "'"));
    }
    place = LocalPlace(p, vlan);
  }
  if (ip) {
    if (auto h = seg.hosts.find(*ip);
        h != seg.hosts.end() && h->second.is_static && h->second.mac != mac) {
      return absl::AlreadyExistsError(absl::StrCat(ip->ToString(), " is already bound to ",
                                                   h->second.mac.ToString(), " in segment '",
                                                   AsAbsl(segment), "'"));
    }
  }
  const uint64_t key = MacKey(mac.bytes.data());
  const bool replaces = seg.fdb.contains(key);
  if (!replaces && fdb_entries_ >= tables_.max_fdb_entries()) {
    return log::TableFull(absl::StrCat("the FDB is full (", tables_.max_fdb_entries(),
                                       " entries; raise --max_fdb_entries)"));
  }
  const uint32_t now = tables_.fdb_now_s();
  const uint64_t entry = FdbEntry(place, true, now);
  if (absl::Status s = tables_.SetFdb(MakeFdbKey(seg.id, mac.bytes.data()), entry, replaces);
      !s.ok()) {
    return s;
  }
  if (replaces) {
    // Keep the learned-entry bookkeeping right: erase the old shadow entry's effects,
    // without deleting the table entry just written.
    FdbRecord& old = seg.fdb[key];
    if (!EntryStatic(old.entry)) {
      --seg.learned_macs;
      ReleaseLearnedRemote(seg, EntryPlace(old.entry));
    }
  } else {
    ++fdb_entries_;
  }
  seg.fdb[key] = FdbRecord{entry, now};
  if (ip) SetHostBinding(seg, *ip, mac, true, now);
  return absl::OkStatus();
}

absl::Status TableWriter::DelFdb(std::string_view segment, const MacAddress& mac) {
  absl::StatusOr<SegmentRecord*> found = SegmentNamed(segment);
  if (!found.ok()) return found.status();
  const uint64_t key = MacKey(mac.bytes.data());
  if (!(*found)->fdb.contains(key)) {
    return absl::NotFoundError(
        absl::StrCat("no FDB entry for ", mac.ToString(), " in segment '", AsAbsl(segment), "'"));
  }
  EraseFdb(**found, key);
  return absl::OkStatus();
}

absl::Status TableWriter::FlushFdb(std::string_view segment, bool learned_only) {
  absl::StatusOr<SegmentRecord*> found = SegmentNamed(segment);
  if (!found.ok()) return found.status();
  SegmentRecord& seg = **found;
  EraseFdbWhere(seg, [learned_only](uint64_t e) { return !learned_only || !EntryStatic(e); });
  return absl::OkStatus();
}

void TableWriter::LearnFdb(const FdbLearnEvent& e, uint32_t now_s) {
  auto name = segment_names_.find(e.segment);
  if (name == segment_names_.end()) return;  // deleted since
  SegmentRecord& seg = segments_.find(name->second)->second;
  if (e.kind == FdbLearnKind::kHost) {
    if (!seg.suppress || (e.family != 4 && e.family != 6)) return;
    MacAddress mac;
    std::copy(e.mac, e.mac + 6, mac.bytes.begin());
    SetHostBinding(seg, e.family == 4 ? IpAddress::FromV4Bytes(e.ip) : IpAddress::FromV6Bytes(e.ip),
                   mac, false, now_s);
    return;
  }
  const uint64_t key = MacKey(e.mac);
  auto it = seg.fdb.find(key);
  if (it != seg.fdb.end() && EntryStatic(it->second.entry)) return;
  const bool is_new = it == seg.fdb.end();
  if (is_new && ((seg.max_macs != 0 && seg.learned_macs >= seg.max_macs) ||
                 fdb_entries_ >= tables_.max_fdb_entries())) {
    ++seg.limit_dropped;
    return;
  }
  // Where the MAC is now; the event may be older than a change of the segment.
  FdbPlace place = e.place;
  if (place == kFdbUnknownRemote) {
    if (!seg.learn_unknown_remote || (e.family != 4 && e.family != 6)) return;
    const IpAddress ip =
        e.family == 4 ? IpAddress::FromV4Bytes(e.ip) : IpAddress::FromV6Bytes(e.ip);
    if (ip.family != seg.spec.local.family) return;
    if (const SegmentRemoteRecord* r = seg.Remote(ip)) {
      place = RemotePlace(r->id);
    } else {
      absl::StatusOr<uint32_t> id = AddRemoteTunnel(seg, ip, true);
      if (!id.ok()) return;
      place = RemotePlace(*id);
      it = seg.fdb.find(key);  // AddRemoteTunnel left the FDB as it was
    }
  } else if (IsRemotePlace(place) ? seg.RemoteById(PlaceTunnel(place)) == nullptr
                                  : !IsMember(seg, PlacePort(place), PlaceVlan(place))) {
    return;
  }
  const uint64_t entry = FdbEntry(place, false, now_s);
  // A move changes what workers may have cached; a refresh only renews the stamp.
  const bool moves = !is_new && EntryPlace(it->second.entry) != place;
  if (!tables_.SetFdb(MakeFdbKey(seg.id, e.mac), entry, moves).ok()) {
    ++seg.limit_dropped;
    return;
  }
  const auto take_ref = [&](FdbPlace p) {
    for (SegmentRemoteRecord& r : seg.remotes) {
      if (IsRemotePlace(p) && r.id == PlaceTunnel(p) && r.learned) ++r.fdb_refs;
    }
  };
  if (is_new) {
    ++fdb_entries_;
    ++seg.learned_macs;
    ++seg.learned;
    take_ref(place);
    seg.fdb[key] = FdbRecord{entry, now_s};
    return;
  }
  const FdbPlace old_place = EntryPlace(it->second.entry);
  it->second = FdbRecord{entry, now_s};
  if (old_place == place) return;  // a refresh
  ++seg.moved;
  take_ref(place);
  ReleaseLearnedRemote(seg, old_place);
}

void TableWriter::AgeFdb(uint32_t now_s) {
  for (auto& [name, seg] : segments_) {
    if (seg.ageing_s == 0) continue;
    std::vector<uint64_t> gone;
    for (const auto& [mac, rec] : seg.fdb) {
      if (!EntryStatic(rec.entry) && now_s - rec.seen_s >= seg.ageing_s) gone.push_back(mac);
    }
    for (uint64_t mac : gone) EraseFdb(seg, mac);
    seg.aged += gone.size();
    std::vector<IpAddress> stale;
    for (const auto& [ip, h] : seg.hosts) {
      if (!h.is_static && now_s - h.seen_s >= seg.ageing_s) stale.push_back(ip);
    }
    for (const IpAddress& ip : stale) EraseHostBinding(seg, ip);
  }
}

void TableWriter::ClearSegmentCounts() {
  for (auto& [name, seg] : segments_) seg.learned = seg.moved = seg.aged = seg.limit_dropped = 0;
}

absl::StatusOr<SegmentRemoteRecord*> TableWriter::ConfiguredRemote(std::string_view name,
                                                                   const IpAddress& ip) {
  absl::StatusOr<SegmentRecord*> found = SegmentNamed(name);
  if (!found.ok()) return found.status();
  for (SegmentRemoteRecord& r : (*found)->remotes) {
    if (r.ip == ip && !r.learned) return &r;
  }
  return absl::NotFoundError(absl::StrCat(ip.ToString(), " is not a configured remote of segment '",
                                          AsAbsl(name), "' ('segment ", AsAbsl(name), " remote ",
                                          ip.ToString(), "' first)"));
}

absl::StatusOr<uint8_t> TableWriter::SegmentRemoteFamily(std::string_view name,
                                                         const IpAddress& remote) const {
  absl::StatusOr<SegmentRemoteRecord*> r =
      const_cast<TableWriter*>(this)->ConfiguredRemote(name, remote);
  if (!r.ok()) return r.status();
  return (*r)->ip.is_v4() ? uint8_t{4} : uint8_t{6};
}

absl::Status TableWriter::SetSegmentRemoteProtection(std::string_view name, const IpAddress& remote,
                                                     std::optional<TunnelProtection> protection) {
  absl::StatusOr<SegmentRemoteRecord*> found = ConfiguredRemote(name, remote);
  if (!found.ok()) return found.status();
  SegmentRemoteRecord& r = **found;
  SegmentRecord& seg = **SegmentNamed(name);
  if (protection && seg.group) {
    return absl::FailedPreconditionError(
        absl::StrCat("segment '", AsAbsl(name), "' floods to group ", seg.group->ip.ToString(),
                     ", in clear: ESP protects the remotes of a segment without a group"));
  }
  if (!protection && !r.protection) {
    return absl::FailedPreconditionError(absl::StrCat("remote ", remote.ToString(), " of segment '",
                                                      AsAbsl(name), "' is not protected"));
  }
  r.protection = std::move(protection);
  // As for a tunnel: the entry first, then the inbound table.
  PublishSegmentTunnel(seg, &r);
  PublishEspInbound();
  return absl::OkStatus();
}

absl::Status TableWriter::ProtectedRemoteError(std::string_view name, const IpAddress& ip) {
  return absl::FailedPreconditionError(absl::StrCat(
      "remote ", ip.ToString(), " of segment '", AsAbsl(name), "' is protected by ESP; 'segment ",
      AsAbsl(name), " remote ", ip.ToString(), " no protect' first"));
}

}  // namespace tundra
