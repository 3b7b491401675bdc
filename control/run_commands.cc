#include <chrono>
#include <thread>

#include "control/commands.h"

namespace tundra {

absl::Status RegisterRunCommands(cli::CommandEngine& engine, App& app) {
  absl::Status s =
      engine.Add("start", "Configure and start the ports (first time) and the workers.",
                 [&app](const cli::Args&, std::string& out) -> absl::Status {
                   if (absl::Status st = app.Start(); !st.ok()) return st;
                   out += "started\n";
                   return absl::OkStatus();
                 });
  if (!s.ok()) return s;
  s = engine.Add("stop", "Stop the workers (ports stay up; tables stay as they are).",
                 [&app](const cli::Args&, std::string& out) -> absl::Status {
                   if (absl::Status st = app.Stop(); !st.ok()) return st;
                   out += "stopped\n";
                   return absl::OkStatus();
                 });
  if (!s.ok()) return s;
  s = engine.Add("quit", "Stop, close every port (pcap files are flushed) and exit.",
                 [&app](const cli::Args&, std::string&) {
                   app.Quit();
                   return absl::OkStatus();
                 });
  if (!s.ok()) return s;
  s = engine.Add("wait idle <ms:1..3600000>",
                 "Return once no port has received a packet for <ms> milliseconds.",
                 [&app](const cli::Args& a, std::string&) {
                   app.WaitIdle(static_cast<uint32_t>(a.Number("ms")));
                   return absl::OkStatus();
                 });
  if (!s.ok()) return s;
  return engine.Add("sleep <ms:0..3600000>", "Pause the command stream for <ms> milliseconds.",
                    [](const cli::Args& a, std::string&) {
                      std::this_thread::sleep_for(std::chrono::milliseconds(a.Number("ms")));
                      return absl::OkStatus();
                    });
}

}  // namespace tundra
