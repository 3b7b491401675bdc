// `capture start|stop` and `show capture` (control/capture.h).
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "control/commands.h"
#include "control/json.h"

namespace tundra {

absl::Status RegisterCaptureCommands(cli::CommandEngine& engine, App& app) {
  return engine.AddAll({
      {"capture start port <port:port> <dir:rx|tx|both> [count <count:1..1000000000>] "
       "[snaplen <snaplen:64..9728>] file <path:word>",
       "Write what the port receives and/or sends to a pcapng file, until 'capture stop' "
       "or <count> packets (snaplen: bytes kept of each, default 9728). Before 'start', "
       "it begins with the first packet. One capture at a time; dpdk-dumpcap also works "
       "on hugepages.",
       [&app](const cli::Args& a, std::string& out) -> absl::Status {
         CaptureRequest r;
         r.port = static_cast<uint16_t>(a.Number("port"));
         r.rx = a.Word("dir") != "tx";
         r.tx = a.Word("dir") != "rx";
         r.count = a.Number("count");
         r.snaplen =
             a.Has("snaplen") ? static_cast<uint32_t>(a.Number("snaplen")) : Capture::kMaxSnaplen;
         r.path = std::string(a.Word("path"));
         if (absl::Status s = app.StartCapture(r); !s.ok()) return s;
         absl::StrAppendFormat(&out, "capturing port %u %s into %s\n", r.port, a.Word("dir"),
                               r.path);
         return absl::OkStatus();
       }},
      {"capture stop", "Stop the capture and close its file; says how many packets it holds.",
       [&app](const cli::Args&, std::string& out) -> absl::Status {
         absl::StatusOr<std::string> summary = app.StopCapture();
         if (!summary.ok()) return summary.status();
         absl::StrAppend(&out, *summary, "\n");
         return absl::OkStatus();
       }},
      {"show capture [json]", "The running capture: port, direction, file, packets written.",
       [&app](const cli::Args& a, std::string& out) {
         const CaptureStatus c = app.capture_status();
         const char* dir = c.request.rx && c.request.tx ? "both" : c.request.rx ? "rx" : "tx";
         if (a.Has("json")) {
           JsonWriter j;
           j.BeginObject().BeginObject("capture").Field("active", c.active);
           if (c.active) {
             j.Field("port", c.request.port)
                 .Field("direction", dir)
                 .Field("file", c.request.path)
                 .Field("count", c.request.count)
                 .Field("snaplen", c.request.snaplen)
                 .Field("attached", c.attached)
                 .Field("written", c.written)
                 .Field("dropped", c.dropped);
           }
           j.EndObject().EndObject();
           out += j.Finish();
         } else if (!c.active) {
           out += "no capture running\n";
         } else {
           absl::StrAppendFormat(&out, "capture of port %u %s into %s: %u written, %u dropped%s\n",
                                 c.request.port, dir, c.request.path, c.written, c.dropped,
                                 c.attached ? "" : " (begins at start)");
         }
         return absl::OkStatus();
       }},
  });
}

}  // namespace tundra
