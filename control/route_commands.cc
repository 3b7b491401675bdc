#include "absl/strings/str_format.h"
#include "control/commands.h"
#include "control/json.h"

namespace tundra {

namespace {

absl::Status ShowRoutes(const App& app, bool json, std::string& out) {
  const NextHops& nh = app.writer().nexthops();
  JsonWriter j;
  j.BeginObject().BeginArray("routes");
  for (const auto& [text, route] : app.writer().routes()) {
    if (json) {
      j.BeginObject().Field("prefix", text).Field("tunnel", route.second).EndObject();
    } else {
      absl::StrAppendFormat(&out, "%-43s via tunnel %s\n", text, route.second);
    }
  }
  j.EndArray().BeginArray("underlay");
  for (const auto& [text, route] : nh.routes()) {
    if (json) {
      j.BeginObject().Field("prefix", text).Field("via", route.gateway.ToString()).EndObject();
    } else {
      absl::StrAppendFormat(&out, "%-43s via %s (underlay)\n", text, route.gateway.ToString());
    }
  }
  j.EndArray().EndObject();
  if (json) out += j.Finish();
  return absl::OkStatus();
}

// Underlay neighbors (next hops) and routed-access hosts, sorted by address.
absl::Status ShowNeighbors(const App& app, bool json, std::string& out) {
  const NextHops& nh = app.writer().nexthops();
  std::map<std::pair<std::string, uint16_t>, const UnderlayNeighbor*> underlay;
  for (const auto& [key, n] : nh.neighbors()) underlay[{key.ip.ToString(), key.port}] = &n;
  std::map<std::string, const Neighbor*> hosts;
  for (const auto& [ip, n] : app.writer().neighbors()) hosts[ip.ToString()] = &n;
  JsonWriter j;
  j.BeginObject().BeginArray("neighbors");
  for (const auto& [key, n] : underlay) {
    const bool has_mac = n->state != NeighborState::kIncomplete;
    const bool is_static =
        n->state == NeighborState::kStatic || n->state == NeighborState::kMulticast;
    const uint64_t age_s = is_static ? 0 : (nh.now_ms() - n->updated_ms) / 1000;
    const std::string mac = has_mac ? n->mac.ToString() : "";
    if (json) {
      j.BeginObject()
          .Field("ip", key.first)
          .Field("mac", mac)
          .Field("port", key.second)
          .Field("learned", !is_static)
          .Field("state", NeighborStateName(n->state))
          .Field("age", has_mac ? age_s : 0)
          .Field("probes", n->probes_sent)
          .Field("paths", n->paths)
          .EndObject();
    } else {
      absl::StrAppendFormat(&out, "%-40s %-17s port %u %s", key.first,
                            has_mac ? mac : "(incomplete)", key.second,
                            NeighborStateName(n->state));
      if (n->state == NeighborState::kMulticast) {
        absl::StrAppendFormat(&out, " reports %u", n->probes_sent);
      } else if (!is_static) {
        absl::StrAppendFormat(&out, " age %us probes %u", has_mac ? age_s : 0, n->probes_sent);
      }
      out += '\n';
    }
  }
  for (const auto& [ip, n] : hosts) {
    if (json) {
      j.BeginObject()
          .Field("ip", ip)
          .Field("mac", n->mac.ToString())
          .Field("port", n->port)
          .Field("learned", n->learned)
          .Field("state", n->learned ? "reachable" : "static")
          .Field("age", 0)
          .Field("probes", 0)
          .Field("paths", 0)
          .EndObject();
    } else {
      absl::StrAppendFormat(&out, "%-40s %-17s port %u %s\n", ip, n->mac.ToString(), n->port,
                            n->learned ? "learned" : "static");
    }
  }
  j.EndArray();
  j.Field("probes_sent", nh.probes_sent()).Field("probes_unsent", nh.probes_unsent());
  j.EndObject();
  if (json) out += j.Finish();
  return absl::OkStatus();
}

absl::Status DelRoute(App& app, const IpPrefix& prefix, std::string_view table) {
  TableWriter& w = app.writer();
  if (table == "via") return w.nexthops().DelRoute(prefix);
  if (table == "tunnel") return w.DelRoute(prefix);
  const bool access = w.HasRoute(prefix);
  const bool underlay = w.nexthops().HasRoute(prefix);
  if (access && underlay) {
    const std::string p = NormalizePrefix(prefix).ToString();
    return absl::FailedPreconditionError(
        absl::StrCat(p, " is both a route into a tunnel and an underlay route: 'route del ", p,
                     " tunnel' or 'route del ", p, " via' says which"));
  }
  return underlay ? w.nexthops().DelRoute(prefix) : w.DelRoute(prefix);
}

}  // namespace

absl::Status RegisterRouteCommands(cli::CommandEngine& engine, App& app) {
  return engine.AddAll({
      {"route add <prefix:prefix> tunnel <tunnel:name>",
       "Route a destination prefix from routed access ports into an L3 (gre) tunnel.",
       [&app](const cli::Args& a, std::string&) {
         return app.writer().AddRoute(a.Prefix("prefix"), a.Word("tunnel"));
       }},
      {"route replace <prefix:prefix> tunnel <tunnel:name>",
       "Add a route, or move an existing one to another tunnel in one step.",
       [&app](const cli::Args& a, std::string&) {
         return app.writer().AddRoute(a.Prefix("prefix"), a.Word("tunnel"), true);
       }},
      {"route add <prefix:prefix> via <gateway:ip>",
       "Underlay route: tunnel remotes in the prefix (not on an uplink's subnet) are reached "
       "through the gateway, which tundra resolves itself (0.0.0.0/0 and ::/0 are default "
       "routes).",
       [&app](const cli::Args& a, std::string&) {
         return app.writer().nexthops().AddRoute(a.Prefix("prefix"), a.Ip("gateway"));
       }},
      {"route replace <prefix:prefix> via <gateway:ip>",
       "Add an underlay route, or move an existing one to another gateway: every tunnel "
       "behind it is re-pointed at once.",
       [&app](const cli::Args& a, std::string&) {
         return app.writer().nexthops().AddRoute(a.Prefix("prefix"), a.Ip("gateway"), true);
       }},
      {"route del <prefix:prefix> [<table:tunnel|via>]",
       "Delete a route (into a tunnel, or an underlay route: 'tunnel'/'via' picks one when "
       "the prefix is both).",
       [&app](const cli::Args& a, std::string&) {
         return DelRoute(app, a.Prefix("prefix"), a.Word("table"));
       }},
      {"show route [json]", "Routes of routed access ports, then underlay routes.",
       [&app](const cli::Args& a, std::string& out) {
         return ShowRoutes(app, a.Has("json"), out);
       }},
      {"show neigh [json]",
       "Underlay next hops with their state (incomplete|reachable|stale|static), age and "
       "probes, then hosts of routed access ports.",
       [&app](const cli::Args& a, std::string& out) {
         return ShowNeighbors(app, a.Has("json"), out);
       }},
  });
}

}  // namespace tundra
