#include "control/commands.h"

namespace tundra {

absl::Status RegisterPortCommands(cli::CommandEngine& engine, App& app) {
  absl::Status s = engine.Add(
      "port config <port:port> role <role:uplink|access>",
      "Make a port an uplink (tunnel side, has VTEP addresses) or an access port (tenant side).",
      [&app](const cli::Args& a, std::string&) {
        const PortRole role = a.Word("role") == "uplink" ? PortRole::kUplink : PortRole::kAccess;
        return app.writer().SetPortRole(static_cast<uint16_t>(a.Number("port")), role);
      });
  if (!s.ok()) return s;
  s = engine.Add("port config <port:port> address <address:prefix>",
                 "Set an uplink's local VTEP address (one IPv4 and one IPv6 per port).",
                 [&app](const cli::Args& a, std::string&) {
                   return app.writer().SetPortAddress(static_cast<uint16_t>(a.Number("port")),
                                                      a.Prefix("address"));
                 });
  if (!s.ok()) return s;
  s = engine.Add("port config <port:port> mac <mac:mac>",
                 "Set the MAC the port sends from and answers to.",
                 [&app](const cli::Args& a, std::string&) {
                   return app.SetPortMac(static_cast<uint16_t>(a.Number("port")), a.Mac("mac"));
                 });
  if (!s.ok()) return s;
  return engine.Add("port config <port:port> mtu <mtu:68..9600>",
                    "Set the port's MTU (largest IP packet); encap drops what exceeds it.",
                    [&app](const cli::Args& a, std::string&) {
                      return app.SetPortMtu(static_cast<uint16_t>(a.Number("port")),
                                            static_cast<uint16_t>(a.Number("mtu")));
                    });
}

}  // namespace tundra
