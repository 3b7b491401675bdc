#include "control/commands.h"

namespace tundra {

namespace {

uint16_t Port(const cli::Args& a) { return static_cast<uint16_t>(a.Number("port")); }
// 0 (untagged) when no `vlan` was given.
uint16_t Vlan(const cli::Args& a) { return static_cast<uint16_t>(a.Number("vlan")); }

}  // namespace

absl::Status RegisterXconnectCommands(cli::CommandEngine& engine, App& app) {
  return engine.AddAll({
      {"xconnect add <port:port> [vlan <vlan:1..4094>] tunnel <tunnel:name>",
       "Cross-connect an access port (or one VLAN of it: the tag is stripped on encap and "
       "pushed back on decap) with a tunnel.",
       [&app](const cli::Args& a, std::string&) {
         return app.writer().AddXconnect(Port(a), Vlan(a), a.Word("tunnel"));
       }},
      {"xconnect del <port:port> [vlan <vlan:1..4094>]", "Remove a cross-connect.",
       [&app](const cli::Args& a, std::string&) {
         return app.writer().DelXconnect(Port(a), Vlan(a));
       }},
  });
}

}  // namespace tundra
