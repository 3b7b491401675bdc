#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "control/commands.h"
#include "control/json.h"

namespace tundra {

absl::Status RegisterRouteCommands(cli::CommandEngine& engine, App& app) {
  absl::Status s =
      engine.Add("route add <prefix:prefix> tunnel <tunnel:name>",
                 "Route a destination prefix from routed access ports into an L3 (gre) tunnel.",
                 [&app](const cli::Args& a, std::string&) {
                   return app.writer().AddRoute(a.Prefix("prefix"), a.Word("tunnel"));
                 });
  if (!s.ok()) return s;
  s = engine.Add("route del <prefix:prefix>", "Delete a route.",
                 [&app](const cli::Args& a, std::string&) {
                   return app.writer().DelRoute(a.Prefix("prefix"));
                 });
  if (!s.ok()) return s;
  s = engine.Add(
      "show route [json]", "Routes of routed access ports.",
      [&app](const cli::Args& a, std::string& out) {
        JsonWriter j;
        j.BeginObject().BeginArray("routes");
        for (const auto& [text, route] : app.writer().routes()) {
          if (a.Has("json")) {
            j.BeginObject().Field("prefix", text).Field("tunnel", route.second).EndObject();
          } else {
            absl::StrAppendFormat(&out, "%-43s via tunnel %s\n", text, route.second);
          }
        }
        j.EndArray().EndObject();
        if (a.Has("json")) out += j.Finish();
        return absl::OkStatus();
      });
  if (!s.ok()) return s;
  return engine.Add("show neigh [json]",
                    "Underlay neighbors and hosts of routed access ports (static or learned).",
                    [&app](const cli::Args& a, std::string& out) {
                      JsonWriter j;
                      j.BeginObject().BeginArray("neighbors");
                      std::map<std::string, const Neighbor*> sorted;
                      for (const auto& [ip, n] : app.writer().neighbors()) {
                        sorted[ip.ToString()] = &n;
                      }
                      for (const auto& [ip, n] : sorted) {
                        if (a.Has("json")) {
                          j.BeginObject()
                              .Field("ip", ip)
                              .Field("mac", n->mac.ToString())
                              .Field("port", n->port)
                              .Field("learned", n->learned)
                              .EndObject();
                        } else {
                          absl::StrAppendFormat(&out, "%-40s %s port %u %s\n", ip,
                                                n->mac.ToString(), n->port,
                                                n->learned ? "learned" : "static");
                        }
                      }
                      j.EndArray().EndObject();
                      if (a.Has("json")) out += j.Finish();
                      return absl::OkStatus();
                    });
}

}  // namespace tundra
