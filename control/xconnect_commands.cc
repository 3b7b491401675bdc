#include "control/commands.h"

namespace tundra {

absl::Status RegisterXconnectCommands(cli::CommandEngine& engine, App& app) {
  absl::Status s = engine.Add(
      "xconnect add <port:port> [vlan <vlan:1..4094>] tunnel <tunnel:name>",
      "Cross-connect an access port (or one VLAN of it: the tag is stripped on encap and "
      "pushed back on decap) with a tunnel.",
      [&app](const cli::Args& a, std::string&) {
        const uint16_t vlan = a.Has("vlan") ? static_cast<uint16_t>(a.Number("vlan")) : 0;
        return app.writer().AddXconnect(static_cast<uint16_t>(a.Number("port")), vlan,
                                        a.Word("tunnel"));
      });
  if (!s.ok()) return s;
  return engine.Add(
      "xconnect del <port:port> [vlan <vlan:1..4094>]", "Remove a cross-connect.",
      [&app](const cli::Args& a, std::string&) {
        const uint16_t vlan = a.Has("vlan") ? static_cast<uint16_t>(a.Number("vlan")) : 0;
        return app.writer().DelXconnect(static_cast<uint16_t>(a.Number("port")), vlan);
      });
}

}  // namespace tundra
