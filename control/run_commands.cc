#include "absl/strings/str_cat.h"
#include "control/commands.h"

namespace tundra {

namespace {

// A handler that runs one of the app's steps and, when it succeeds, says so ("started").
cli::Handler Step(App& app, absl::Status (App::*step)(), const char* done) {
  return [&app, step, done](const cli::Args&, std::string& out) -> absl::Status {
    absl::Status s = (app.*step)();
    if (s.ok()) absl::StrAppend(&out, done, "\n");
    return s;
  };
}

}  // namespace

absl::Status RegisterRunCommands(cli::CommandEngine& engine, App& app) {
  return engine.AddAll({
      {"start", "Configure and start the ports (first time) and the workers.",
       Step(app, &App::Start, "started")},
      {"stop", "Stop the workers (ports stay up; tables stay as they are).",
       Step(app, &App::Stop, "stopped")},
      {"quit", "Stop, close every port (pcap files are flushed) and exit.",
       [&app](const cli::Args&, std::string&) {
         app.Quit();
         return absl::OkStatus();
       }},
      {"wait idle <ms:1..3600000>",
       "Return once no port has received a packet for <ms> milliseconds.",
       [&app](const cli::Args& a, std::string&) {
         app.WaitIdle(static_cast<uint32_t>(a.Number("ms")));
         return absl::OkStatus();
       }},
      {"sleep <ms:0..3600000>", "Pause the command stream for <ms> milliseconds.",
       [&app](const cli::Args& a, std::string&) {
         app.Sleep(static_cast<uint32_t>(a.Number("ms")));
         return absl::OkStatus();
       }},
  });
}

}  // namespace tundra
