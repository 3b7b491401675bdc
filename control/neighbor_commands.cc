#include "control/commands.h"

namespace tundra {

absl::Status RegisterNeighborCommands(cli::CommandEngine& engine, App& app) {
  return engine.AddAll({
      {"neigh add <ip:ip> <mac:mac> port <port:port>",
       "Add (or replace) a static underlay neighbor: the MAC behind a tunnel remote.",
       [&app](const cli::Args& a, std::string&) {
         return app.writer().AddNeighbor(a.Ip("ip"), a.Mac("mac"),
                                         static_cast<uint16_t>(a.Number("port")));
       }},
      {"neigh del <ip:ip>", "Delete a static underlay neighbor.",
       [&app](const cli::Args& a, std::string&) { return app.writer().DelNeighbor(a.Ip("ip")); }},
  });
}

}  // namespace tundra
