#include "control/commands.h"

namespace tundra {

namespace {

uint16_t Port(const cli::Args& a) { return static_cast<uint16_t>(a.Number("port")); }

}  // namespace

absl::Status RegisterPortCommands(cli::CommandEngine& engine, App& app) {
  return engine.AddAll({
      {"port config <port:port> role <role:uplink|access>",
       "Make a port an uplink (tunnel side, has VTEP addresses) or an access port (tenant side).",
       [&app](const cli::Args& a, std::string&) {
         const PortRole role = a.Word("role") == "uplink" ? PortRole::kUplink : PortRole::kAccess;
         return app.writer().SetPortRole(Port(a), role);
       }},
      {"port config <port:port> address <address:prefix>",
       "Set an uplink's local VTEP address (one IPv4 and one IPv6 per port).",
       [&app](const cli::Args& a, std::string&) {
         return app.writer().SetPortAddress(Port(a), a.Prefix("address"));
       }},
      {"port config <port:port> mac <mac:mac>", "Set the MAC the port sends from and answers to.",
       [&app](const cli::Args& a, std::string&) { return app.SetPortMac(Port(a), a.Mac("mac")); }},
      {"port config <port:port> mtu <mtu:68..9600>",
       "Set the port's MTU (largest IP packet); encap drops what exceeds it.",
       [&app](const cli::Args& a, std::string&) {
         return app.SetPortMtu(Port(a), static_cast<uint16_t>(a.Number("mtu")));
       }},
  });
}

}  // namespace tundra
