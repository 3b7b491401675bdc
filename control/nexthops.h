// The underlay as tundra resolves it itself (tables.h rule 11 is the dataplane side).
//
// Each tunnel (and each remote VTEP of a segment) refers to a path: its remote as
// reached from its uplink, shared by every tunnel with that remote. A path goes through
// a next hop: the remote itself when it is on the uplink's subnet (or has a static
// `neigh`), else the gateway of the longest underlay route (`route add <prefix> via
// <gw>`) that covers it. A next hop is a neighbor whose MAC the control thread resolves
// with ARP requests / neighbor solicitations sent on the uplink; workers hand the
// replies over (dataplane/neighbor_input.h).
//
// Neighbor states, like the kernel's (RFC 4861 §7.3), driven by the clock:
//   incomplete  no MAC: broadcast probes at once, then after retrans, 2×, 4×, ... (capped
//               at max_backoff): bounded work for a neighbor that never answers.
//               Packets towards it are dropped and counted (no-neighbor): no queue.
//   reachable   an answer to our probe came within reachable_ms. From 3/4 of that on a
//               unicast probe goes out every retrans, so a live neighbor is confirmed
//               before its entry expires and traffic never sees it unresolved.
//   stale       the MAC is still used, but unconfirmed: reachable expired, or the MAC
//               came unasked (gratuitous ARP, unsolicited NA, the neighbor's own request).
//               Probed every retrans; after `probes` unanswered ones it is withdrawn
//               (incomplete).
//   static      `neigh add`: never probed, never expires, wins over anything learned.
//   multicast   a multicast group (a segment's `group`): its MAC is the group's own
//               (RFC 1112 §6.4, RFC 2464 §7), never probed, never learned, never routed
//               through a gateway. The uplink joins it: an IGMPv3 / MLDv2 report
//               (dataplane/membership_report.h) at once and again after 1 s, then one
//               every 60 s (routers forget a member after 260 s, RFC 3376 §8.4), and a
//               leave when the last path goes. Queries are not answered: the periodic
//               reports stand for the answers.
// A next hop no path uses any more is forgotten (unless static).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <queue>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "control/port_config.h"
#include "dataplane/proto/address.h"
#include "dataplane/tables.h"

namespace tundra {

enum class NeighborState : uint8_t { kIncomplete, kReachable, kStale, kStatic, kMulticast };
std::string_view NeighborStateName(NeighborState s);

struct NeighborTiming {
  uint32_t reachable_ms = 30000;
  uint32_t retrans_ms = 1000;
  uint32_t probes = 3;
  uint32_t max_backoff_ms = 60000;
};

// A neighbor on an uplink, by port and address.
struct PortAddress {
  uint16_t port = 0;
  IpAddress ip;
  bool operator==(const PortAddress&) const = default;
  template <typename H>
  friend H AbslHashValue(H h, const PortAddress& k) {
    return H::combine(std::move(h), k.port, k.ip.family,
                      std::string_view(reinterpret_cast<const char*>(k.ip.bytes.data()), 16));
  }
};

struct UnderlayNeighbor {
  PortAddress key;
  uint32_t id = 0;  // its next-hop id
  NeighborState state = NeighborState::kIncomplete;
  MacAddress mac;           // meaningful unless incomplete
  uint64_t updated_ms = 0;  // when its MAC was last learned or confirmed (its age)
  uint64_t reachable_until_ms = 0;
  uint32_t unanswered = 0;      // probes since the last answer
  uint64_t probes_sent = 0;     // over its life (a group's: membership reports)
  uint32_t paths = 0;           // paths through it
  uint64_t schedule = 0;        // generation of its pending probe (ProbeQueue)
  bool failure_logged = false;  // "does not answer" logged; "answers" is next
};

struct UnderlayRoute {
  IpPrefix prefix;
  IpAddress gateway;
};

// Longest-prefix match over a few (prefix → gateway) routes, for the control thread:
// one hash map per prefix length, searched from the longest length in use.
class UnderlayRouteTable {
 public:
  // Inserts or replaces.
  void Set(const IpPrefix& prefix, const IpAddress& gateway);
  bool Erase(const IpPrefix& prefix);
  const UnderlayRoute* Lookup(const IpAddress& ip) const;
  const UnderlayRoute* Find(const IpPrefix& prefix) const;
  size_t size() const { return size_; }

 private:
  struct Family {
    absl::flat_hash_map<IpAddress, UnderlayRoute, AbslIpHash> by_len[129];
    uint32_t count[129] = {};
  };
  Family v4_, v6_;
  size_t size_ = 0;
};

class NextHops {
 public:
  // A group's joins (state-change reports) and their spacing, and the interval of its
  // current-state reports after them.
  static constexpr uint32_t kUnsolicitedReports = 2;
  static constexpr uint64_t kUnsolicitedReportMs = 1000;
  static constexpr uint64_t kReportRefreshMs = 60000;

  // Sends one frame out of `port`; false when it could not be queued.
  using SendFn = std::function<bool(uint16_t port, const uint8_t* frame, uint16_t len)>;

  NextHops(Tables& tables, const std::vector<PortConfig>& ports);
  void set_timing(const NeighborTiming& t) { timing_ = t; }
  void set_send(SendFn send) { send_ = std::move(send); }

  // The path of a tunnel towards `remote` from uplink `port`, shared by every tunnel with
  // the same two; one reference more. ResourceExhausted when all ids are in use.
  absl::StatusOr<uint32_t> AcquirePath(uint16_t port, const IpAddress& remote);
  void ReleasePath(uint32_t path);
  // Whether the path's next hop has a MAC (what `show tunnel` calls resolved).
  bool PathResolved(uint32_t path) const { return tables_.PathNextHop(path) != 0; }
  // The address the path goes through, when it has a route.
  std::optional<IpAddress> PathVia(uint32_t path) const;

  // `neigh add` on an uplink: replaces a static entry of `ip` on any uplink.
  absl::Status AddStatic(const IpAddress& ip, const MacAddress& mac, uint16_t port);
  // NotFound when `ip` has no static entry.
  absl::Status DelStatic(const IpAddress& ip);
  // What a worker saw on uplink `port` (neighbor_input.h); only next hops in use take it.
  void Learn(uint16_t port, const IpAddress& ip, const MacAddress& mac, bool confirmed);

  // `replace`: an existing route of `prefix` moves to `gateway` (else AlreadyExists).
  absl::Status AddRoute(const IpPrefix& prefix, const IpAddress& gateway, bool replace = false);
  absl::Status DelRoute(const IpPrefix& prefix);
  const std::map<std::string, UnderlayRoute>& routes() const { return route_list_; }
  bool HasRoute(const IpPrefix& prefix) const { return routes_.Find(prefix) != nullptr; }

  // A port's role, address or MAC changed: its paths are resolved again.
  void PortChanged(uint16_t port);

  // Advances the clock and sends the probes that are due (a bounded number per call).
  void Poll(uint64_t now_ms);
  // Every neighbor without a usable MAC is probed at the next Poll, its backoff reset
  // (the workers just started: earlier probes could not be sent).
  void ProbeUnresolvedNow();

  const absl::flat_hash_map<PortAddress, UnderlayNeighbor>& neighbors() const { return neighbors_; }
  uint64_t now_ms() const { return now_ms_; }
  uint64_t probes_sent() const { return probes_sent_; }
  uint64_t probes_unsent() const { return probes_unsent_; }

 private:
  struct Path {
    PortAddress key;  // uplink and remote
    uint32_t refs = 0;
    std::optional<PortAddress> via;  // its next hop
  };
  struct Due {
    uint64_t at_ms;
    PortAddress key;
    uint64_t schedule;
    bool operator>(const Due& o) const { return at_ms > o.at_ms; }
  };

  bool OnLink(uint16_t port, const IpAddress& ip) const;
  std::optional<PortAddress> NextHopFor(const PortAddress& path) const;
  // Points `path` at its current next hop (NextHopFor), taking and dropping references.
  void Resolve(uint32_t id, Path& path);
  // A reference to the next hop `key`, created (incomplete, probed at once) if needed.
  // Null when no next-hop id is left.
  UnderlayNeighbor* Use(const PortAddress& key);
  void Unuse(const PortAddress& key);
  void Publish(const UnderlayNeighbor& n);
  void Schedule(UnderlayNeighbor& n, uint64_t at_ms);
  void Probe(UnderlayNeighbor& n, bool unicast);
  // Sends a membership report with one record of `record_type` for a group.
  void Report(UnderlayNeighbor& n, uint8_t record_type);
  void Expire(UnderlayNeighbor& n);
  void ResolveWhere(const std::function<bool(const Path&)>& pred);

  Tables& tables_;
  const std::vector<PortConfig>& ports_;
  NeighborTiming timing_;
  SendFn send_;
  uint64_t now_ms_ = 0;
  absl::flat_hash_map<PortAddress, UnderlayNeighbor> neighbors_;
  absl::flat_hash_map<PortAddress, uint32_t> path_ids_;
  absl::flat_hash_map<uint32_t, Path> paths_;
  UnderlayRouteTable routes_;
  std::map<std::string, UnderlayRoute> route_list_;  // by prefix text, for `show`
  std::priority_queue<Due, std::vector<Due>, std::greater<Due>> due_;
  uint64_t next_schedule_ = 1;
  uint64_t probes_sent_ = 0;
  uint64_t probes_unsent_ = 0;
};

}  // namespace tundra
