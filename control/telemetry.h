// tundra's DPDK telemetry endpoints, read by dpdk-telemetry.py or any collector of the
// telemetry socket (/var/run/dpdk/<prefix>/dpdk_telemetry.v2) beside the standard
// /ethdev/... ones:
//
//   /tundra/info                 ports, workers, tunnels, segments
//   /tundra/ports[,<port>]       the port ids; one port's counters as `show port stats`
//   /tundra/workers[,<worker>]   the worker indexes; one worker's as `show fwd stats`
//   /tundra/tunnels[,<name>]     the tunnel names; one tunnel's as `show tunnel stats`
//   /tundra/segments[,<name>]    the segment names; one segment's as `show segment`
//   /tundra/fdb,<segment>        a segment's FDB: counts and its first entries
//   /tundra/drops                every drop reason summed over the ports
//
// DPDK calls the endpoints on its telemetry thread; the tables and counters belong to the
// control thread. So a callback hands its request to the control thread and waits (at
// most kTelemetryWait) for it to be answered there, between commands, by the same
// writers as `show ... json` (control/stats_writers.h).
#pragma once

#include <chrono>
#include <memory>

#include "absl/status/statusor.h"
#include "control/app.h"

namespace tundra {

inline constexpr std::chrono::milliseconds kTelemetryWait{2000};

class Telemetry {
 public:
  // Registers the endpoints (once per process; DPDK cannot unregister them, so after
  // this object is gone they answer -ENODEV).
  static absl::StatusOr<std::unique_ptr<Telemetry>> Register(const App& app);
  ~Telemetry();
  Telemetry(const Telemetry&) = delete;
  Telemetry& operator=(const Telemetry&) = delete;

  // Readable (poll) while a request waits for Service().
  int fd() const { return event_fd_; }
  // On the control thread: answers the waiting request, if any.
  void Service();

 private:
  explicit Telemetry(const App& app) : app_(app) {}

  const App& app_;
  int event_fd_ = -1;
};

}  // namespace tundra
