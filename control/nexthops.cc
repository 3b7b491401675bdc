#include "control/nexthops.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "control/log.h"
#include "dataplane/membership_report.h"
#include "dataplane/neighbor_solicit.h"
#include "dataplane/proto/igmp.h"

namespace tundra {

std::string_view NeighborStateName(NeighborState s) {
  switch (s) {
    case NeighborState::kIncomplete:
      return "incomplete";
    case NeighborState::kReachable:
      return "reachable";
    case NeighborState::kStale:
      return "stale";
    case NeighborState::kStatic:
      return "static";
    case NeighborState::kMulticast:
      return "multicast";
  }
  return "?";
}

// ---- UnderlayRouteTable --------------------------------------------------------------

void UnderlayRouteTable::Set(const IpPrefix& prefix, const IpAddress& gateway) {
  Family& f = prefix.addr.is_v4() ? v4_ : v6_;
  const IpAddress net = MaskAddress(prefix.addr, prefix.len);
  auto [it, added] = f.by_len[prefix.len].insert_or_assign(net, UnderlayRoute{prefix, gateway});
  if (added) {
    ++f.count[prefix.len];
    ++size_;
  }
}

bool UnderlayRouteTable::Erase(const IpPrefix& prefix) {
  Family& f = prefix.addr.is_v4() ? v4_ : v6_;
  if (f.by_len[prefix.len].erase(MaskAddress(prefix.addr, prefix.len)) == 0) return false;
  --f.count[prefix.len];
  --size_;
  return true;
}

const UnderlayRoute* UnderlayRouteTable::Find(const IpPrefix& prefix) const {
  const Family& f = prefix.addr.is_v4() ? v4_ : v6_;
  auto it = f.by_len[prefix.len].find(MaskAddress(prefix.addr, prefix.len));
  return it == f.by_len[prefix.len].end() ? nullptr : &it->second;
}

const UnderlayRoute* UnderlayRouteTable::Lookup(const IpAddress& ip) const {
  const Family& f = ip.is_v4() ? v4_ : v6_;
  for (int len = ip.is_v4() ? 32 : 128; len >= 0; --len) {
    if (f.count[len] == 0) continue;
    auto it = f.by_len[len].find(MaskAddress(ip, static_cast<uint8_t>(len)));
    if (it != f.by_len[len].end()) return &it->second;
  }
  return nullptr;
}

// ---- NextHops ------------------------------------------------------------------------

NextHops::NextHops(Tables& tables, const std::vector<PortConfig>& ports)
    : tables_(tables), ports_(ports) {}

bool NextHops::OnLink(uint16_t port, const IpAddress& ip) const {
  if (port >= ports_.size() || ports_[port].role != PortRole::kUplink) return false;
  const std::optional<IpPrefix>& a = ip.is_v4() ? ports_[port].v4 : ports_[port].v6;
  return a && a->addr != ip && PrefixContains(*a, ip);
}

std::optional<PortAddress> NextHops::NextHopFor(const PortAddress& path) const {
  if (path.ip.is_multicast()) return path;  // sent to the group's own MAC
  const auto usable = [&](const IpAddress& ip) {
    auto it = neighbors_.find(PortAddress{path.port, ip});
    return (it != neighbors_.end() && it->second.state == NeighborState::kStatic) ||
           OnLink(path.port, ip);
  };
  if (usable(path.ip)) return path;
  const UnderlayRoute* r = routes_.Lookup(path.ip);
  if (r != nullptr && usable(r->gateway)) return PortAddress{path.port, r->gateway};
  return std::nullopt;
}

void NextHops::Publish(const UnderlayNeighbor& n) {
  tables_.SetNextHop(n.id,
                     n.state == NeighborState::kIncomplete ? 0 : PackNextHop(n.mac.bytes.data()));
}

void NextHops::Schedule(UnderlayNeighbor& n, uint64_t at_ms) {
  n.schedule = next_schedule_++;
  due_.push(Due{at_ms, n.key, n.schedule});
}

UnderlayNeighbor* NextHops::Use(const PortAddress& key) {
  auto it = neighbors_.find(key);
  if (it == neighbors_.end()) {
    const uint32_t id = tables_.AllocateNextHopId();
    if (id == 0) return nullptr;
    UnderlayNeighbor n;
    n.key = key;
    n.id = id;
    if (key.ip.is_multicast()) {
      n.state = NeighborState::kMulticast;
      n.mac = MulticastMac(key.ip);
      n.updated_ms = now_ms_;
      n.unanswered = kUnsolicitedReports;  // joins still to send
    }
    it = neighbors_.emplace(key, n).first;
    Publish(it->second);
    Schedule(it->second, now_ms_);  // resolved (or joined) before traffic needs it
  }
  ++it->second.paths;
  return &it->second;
}

void NextHops::Unuse(const PortAddress& key) {
  auto it = neighbors_.find(key);
  if (it == neighbors_.end()) return;
  if (--it->second.paths > 0 || it->second.state == NeighborState::kStatic) return;
  if (it->second.state == NeighborState::kMulticast) Report(it->second, kChangeToIncludeMode);
  tables_.ReleaseNextHopId(it->second.id);
  neighbors_.erase(it);  // its pending probe finds no entry and is skipped
}

void NextHops::Resolve(uint32_t id, Path& path) {
  std::optional<PortAddress> via = NextHopFor(path.key);
  if (via == path.via) return;
  UnderlayNeighbor* n = via ? Use(*via) : nullptr;
  if (path.via) Unuse(*path.via);
  path.via = n != nullptr ? via : std::nullopt;
  tables_.SetPath(id, n != nullptr ? n->id : 0);
}

void NextHops::ResolveWhere(const std::function<bool(const Path&)>& pred) {
  for (auto& [id, path] : paths_) {
    if (pred(path)) Resolve(id, path);
  }
}

absl::StatusOr<uint32_t> NextHops::AcquirePath(uint16_t port, const IpAddress& remote) {
  const PortAddress key{port, remote};
  if (auto it = path_ids_.find(key); it != path_ids_.end()) {
    ++paths_[it->second].refs;
    return it->second;
  }
  const uint32_t id = tables_.AllocatePathId();
  if (id == 0) {
    return log::TableFull(
        absl::StrCat("all ", tables_.max_tunnels(), " underlay paths are in use"));
  }
  Path& path = paths_[id];
  path.key = key;
  path.refs = 1;
  path_ids_.emplace(key, id);
  Resolve(id, path);
  return id;
}

void NextHops::ReleasePath(uint32_t id) {
  auto it = paths_.find(id);
  if (it == paths_.end() || --it->second.refs > 0) return;
  if (it->second.via) Unuse(*it->second.via);
  path_ids_.erase(it->second.key);
  paths_.erase(it);
  tables_.ReleasePathId(id);
}

std::optional<IpAddress> NextHops::PathVia(uint32_t id) const {
  auto it = paths_.find(id);
  if (it == paths_.end() || !it->second.via) return std::nullopt;
  return it->second.via->ip;
}

absl::Status NextHops::AddStatic(const IpAddress& ip, const MacAddress& mac, uint16_t port) {
  if (ip.is_multicast()) {
    return absl::InvalidArgumentError(absl::StrCat(
        ip.ToString(), " is a multicast address: its MAC is the group's own, not a neighbor's"));
  }
  // One static entry per address: moving it to another port drops the old one first.
  for (const auto& [key, n] : neighbors_) {
    if (key.ip == ip && key.port != port && n.state == NeighborState::kStatic) {
      if (absl::Status s = DelStatic(ip); !s.ok()) return s;
      break;
    }
  }
  const PortAddress key{port, ip};
  auto it = neighbors_.find(key);
  if (it == neighbors_.end()) {
    const uint32_t id = tables_.AllocateNextHopId();
    if (id == 0) return log::TableFull("all next-hop entries are in use");
    UnderlayNeighbor n;
    n.key = key;
    n.id = id;
    it = neighbors_.emplace(key, n).first;
  }
  UnderlayNeighbor& n = it->second;
  n.state = NeighborState::kStatic;
  n.mac = mac;
  n.updated_ms = now_ms_;
  n.unanswered = 0;
  n.schedule = 0;  // no probes
  Publish(n);
  // A remote with a static entry is reached directly, on-link or not.
  ResolveWhere([&](const Path& p) { return p.key == key || (p.via && p.via->ip == ip); });
  return absl::OkStatus();
}

absl::Status NextHops::DelStatic(const IpAddress& ip) {
  for (auto& [key, n] : neighbors_) {
    if (key.ip != ip || n.state != NeighborState::kStatic) continue;
    const PortAddress k = key;
    // What it leaves behind is an ordinary neighbor, resolved afresh, while paths use it.
    n.state = NeighborState::kIncomplete;
    n.unanswered = 0;
    Publish(n);
    Schedule(n, now_ms_);
    if (n.paths == 0) {
      tables_.ReleaseNextHopId(n.id);
      neighbors_.erase(k);
    }
    ResolveWhere([&](const Path& p) { return p.key == k || (p.via && *p.via == k); });
    return absl::OkStatus();
  }
  return absl::NotFoundError(absl::StrCat("no neighbor ", ip.ToString()));
}

void NextHops::Learn(uint16_t port, const IpAddress& ip, const MacAddress& mac, bool confirmed) {
  auto it = neighbors_.find(PortAddress{port, ip});
  if (it == neighbors_.end()) return;
  UnderlayNeighbor& n = it->second;
  if (n.state == NeighborState::kStatic || n.state == NeighborState::kMulticast) return;
  const bool changed = n.state == NeighborState::kIncomplete || n.mac != mac;
  if (n.failure_logged) {
    log::Emit(log::Type::kNeigh, RTE_LOG_NOTICE, "next hop %s on port %u answers: %s",
              ip.ToString(), port, mac.ToString());
    n.failure_logged = false;
  } else if (changed && n.state != NeighborState::kIncomplete) {
    log::Emit(log::Type::kNeigh, RTE_LOG_INFO, "next hop %s on port %u moved: %s -> %s",
              ip.ToString(), port, n.mac.ToString(), mac.ToString());
  }
  if (confirmed) {
    n.state = NeighborState::kReachable;
    n.mac = mac;
    n.updated_ms = now_ms_;
    n.reachable_until_ms = now_ms_ + timing_.reachable_ms;
    n.unanswered = 0;
    Schedule(n, now_ms_ + timing_.reachable_ms * 3 / 4);
  } else if (changed) {
    // Unasked (gratuitous ARP, unsolicited NA): used at once, confirmed by a probe.
    n.state = NeighborState::kStale;
    n.mac = mac;
    n.updated_ms = now_ms_;
    n.unanswered = 0;
    Schedule(n, now_ms_);
  }
  if (changed) Publish(n);
}

void NextHops::Probe(UnderlayNeighbor& n, bool unicast) {
  ++n.unanswered;
  const PortConfig& pc = ports_[n.key.port];
  const std::optional<IpPrefix>& src = n.key.ip.is_v4() ? pc.v4 : pc.v6;
  if (!src || pc.role != PortRole::kUplink) return;  // nothing to ask from
  uint8_t frame[kSolicitFrameMax];
  const uint16_t len =
      BuildSolicit(n.key.ip.family, pc.mac.bytes.data(), src->addr.bytes.data(),
                   n.key.ip.bytes.data(), unicast ? n.mac.bytes.data() : nullptr, frame);
  ++n.probes_sent;
  if (send_ && send_(n.key.port, frame, len)) {
    ++probes_sent_;
  } else {
    ++probes_unsent_;
  }
}

void NextHops::Report(UnderlayNeighbor& n, uint8_t record_type) {
  const PortConfig& pc = ports_[n.key.port];
  if (pc.role != PortRole::kUplink) return;
  uint8_t frame[kMembershipReportMax];
  const uint16_t len = BuildMembershipReport(n.key.ip.family, pc.mac.bytes.data(),
                                             pc.v4 ? pc.v4->addr.bytes.data() : nullptr,
                                             n.key.ip.bytes.data(), record_type, frame);
  ++n.probes_sent;
  if (send_ && send_(n.key.port, frame, len)) {
    ++probes_sent_;
  } else {
    ++probes_unsent_;
  }
}

void NextHops::Expire(UnderlayNeighbor& n) {
  const uint64_t now = now_ms_;
  switch (n.state) {
    case NeighborState::kStatic:
      return;
    case NeighborState::kMulticast:
      // Joined: the state-change report, repeated (RFC 3376 §5.1 / RFC 3810 §6.1, the
      // robustness variable), then the current state at an interval well inside the
      // routers' membership timeout, so membership lasts without answering queries.
      if (n.unanswered > 0) {
        --n.unanswered;
        Report(n, kChangeToExcludeMode);
        Schedule(n, now + (n.unanswered > 0 ? kUnsolicitedReportMs : kReportRefreshMs));
      } else {
        Report(n, kModeIsExclude);
        Schedule(n, now + kReportRefreshMs);
      }
      return;
    case NeighborState::kReachable:
      if (now < n.reachable_until_ms) {
        Probe(n, true);  // refresh before expiry
        Schedule(n, std::min(now + timing_.retrans_ms, n.reachable_until_ms));
        return;
      }
      n.state = NeighborState::kStale;
      n.unanswered = 0;
      [[fallthrough]];
    case NeighborState::kStale:
      if (n.unanswered < timing_.probes) {
        Probe(n, true);
        Schedule(n, now + timing_.retrans_ms);
        return;
      }
      n.state = NeighborState::kIncomplete;  // withdrawn: drops until it answers
      n.unanswered = 0;
      Publish(n);
      log::Emit(log::Type::kNeigh, RTE_LOG_WARNING,
                "next hop %s on port %u stopped answering (%u probes): withdrawn, packets to "
                "it are dropped (no-neighbor) until it answers",
                n.key.ip.ToString(), n.key.port, timing_.probes);
      n.failure_logged = true;
      [[fallthrough]];
    case NeighborState::kIncomplete: {
      Probe(n, false);
      if (!n.failure_logged && n.unanswered >= timing_.probes) {
        log::Emit(log::Type::kNeigh, RTE_LOG_WARNING,
                  "next hop %s on port %u does not answer (%u probes): packets to it are "
                  "dropped (no-neighbor) until it does; still trying, backing off",
                  n.key.ip.ToString(), n.key.port, n.unanswered);
        n.failure_logged = true;
      }
      const uint32_t shift = std::min<uint32_t>(n.unanswered - 1, 16);
      const uint64_t wait =
          std::min<uint64_t>(uint64_t{timing_.retrans_ms} << shift, timing_.max_backoff_ms);
      Schedule(n, now + wait);
      return;
    }
  }
}

void NextHops::Poll(uint64_t now_ms) {
  now_ms_ = now_ms;
  // Bounded per call, so ten thousand next hops appearing at once (a config with as
  // many tunnels) go out over a few calls instead of stalling the control thread.
  constexpr int kBudget = 256;
  for (int sent = 0; sent < kBudget && !due_.empty() && due_.top().at_ms <= now_ms;) {
    const Due d = due_.top();
    due_.pop();
    auto it = neighbors_.find(d.key);
    if (it == neighbors_.end() || it->second.schedule != d.schedule) continue;  // stale entry
    Expire(it->second);
    ++sent;
  }
}

void NextHops::ProbeUnresolvedNow() {
  for (auto& [key, n] : neighbors_) {
    if (n.state == NeighborState::kMulticast) {
      n.unanswered = kUnsolicitedReports;  // join again: the earlier reports may not have left
    } else if (n.state == NeighborState::kIncomplete) {
      n.unanswered = 0;
    } else {
      continue;
    }
    Schedule(n, now_ms_);
  }
}

absl::Status NextHops::AddRoute(const IpPrefix& prefix, const IpAddress& gateway, bool replace) {
  if (gateway.family != prefix.addr.family) {
    return absl::InvalidArgumentError(absl::StrCat("gateway ", gateway.ToString(), " and prefix ",
                                                   prefix.addr.ToString(), "/", prefix.len,
                                                   " are of different IP versions"));
  }
  if (gateway.is_multicast()) {
    return absl::InvalidArgumentError(
        absl::StrCat("gateway ", gateway.ToString(), " is a multicast address"));
  }
  bool reachable = false;
  for (uint16_t p = 0; p < ports_.size() && !reachable; ++p) {
    auto it = neighbors_.find(PortAddress{p, gateway});
    reachable = OnLink(p, gateway) ||
                (it != neighbors_.end() && it->second.state == NeighborState::kStatic);
  }
  if (!reachable) {
    return absl::FailedPreconditionError(
        absl::StrCat("gateway ", gateway.ToString(),
                     " is not on an uplink's subnet (and has no static neigh entry)"));
  }
  const IpPrefix net = NormalizePrefix(prefix);
  if (const UnderlayRoute* r = routes_.Find(net); r != nullptr && !replace) {
    return absl::AlreadyExistsError(absl::StrCat("underlay route ", net.ToString(), " via ",
                                                 r->gateway.ToString(), " exists ('route replace ",
                                                 net.ToString(), " via ...' moves it)"));
  }
  routes_.Set(net, gateway);
  route_list_[net.ToString()] = UnderlayRoute{net, gateway};
  ResolveWhere([&](const Path& p) { return PrefixContains(net, p.key.ip); });
  return absl::OkStatus();
}

absl::Status NextHops::DelRoute(const IpPrefix& prefix) {
  const IpPrefix net = NormalizePrefix(prefix);
  if (!routes_.Erase(net)) {
    return absl::NotFoundError(
        absl::StrCat("no underlay route ", net.addr.ToString(), "/", net.len));
  }
  route_list_.erase(net.ToString());
  ResolveWhere([&](const Path& p) { return PrefixContains(net, p.key.ip); });
  return absl::OkStatus();
}

void NextHops::PortChanged(uint16_t port) {
  ResolveWhere([&](const Path& p) { return p.key.port == port; });
}

}  // namespace tundra
