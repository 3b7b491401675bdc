#include "absl/strings/str_format.h"
#include "control/commands.h"
#include "control/json.h"

namespace tundra {

namespace {

absl::Status ShowRoutes(const App& app, bool json, std::string& out) {
  JsonWriter j;
  j.BeginObject().BeginArray("routes");
  for (const auto& [text, route] : app.writer().routes()) {
    if (json) {
      j.BeginObject().Field("prefix", text).Field("tunnel", route.second).EndObject();
    } else {
      absl::StrAppendFormat(&out, "%-43s via tunnel %s\n", text, route.second);
    }
  }
  j.EndArray().EndObject();
  if (json) out += j.Finish();
  return absl::OkStatus();
}

// Underlay neighbors and routed-access hosts, sorted by address.
absl::Status ShowNeighbors(const App& app, bool json, std::string& out) {
  std::map<std::string, const Neighbor*> sorted;
  for (const auto& [ip, n] : app.writer().neighbors()) sorted[ip.ToString()] = &n;
  JsonWriter j;
  j.BeginObject().BeginArray("neighbors");
  for (const auto& [ip, n] : sorted) {
    if (json) {
      j.BeginObject()
          .Field("ip", ip)
          .Field("mac", n->mac.ToString())
          .Field("port", n->port)
          .Field("learned", n->learned)
          .EndObject();
    } else {
      absl::StrAppendFormat(&out, "%-40s %s port %u %s\n", ip, n->mac.ToString(), n->port,
                            n->learned ? "learned" : "static");
    }
  }
  j.EndArray().EndObject();
  if (json) out += j.Finish();
  return absl::OkStatus();
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
      {"route del <prefix:prefix>", "Delete a route.",
       [&app](const cli::Args& a, std::string&) {
         return app.writer().DelRoute(a.Prefix("prefix"));
       }},
      {"show route [json]", "Routes of routed access ports.",
       [&app](const cli::Args& a, std::string& out) {
         return ShowRoutes(app, a.Has("json"), out);
       }},
      {"show neigh [json]",
       "Underlay neighbors and hosts of routed access ports (static or learned).",
       [&app](const cli::Args& a, std::string& out) {
         return ShowNeighbors(app, a.Has("json"), out);
       }},
  });
}

}  // namespace tundra
