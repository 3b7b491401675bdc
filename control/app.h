// The control thread's state: ports, workers, tables, counters, and the verbs the
// commands call (start, stop, wait idle, quit). main() wires it to the command engine.
#pragma once

#include <rte_mempool.h>
#include <rte_ring.h>

#include <atomic>
#include <csignal>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "control/capture.h"
#include "control/netlink_mirror.h"
#include "control/sa_table.h"
#include "control/stats.h"
#include "control/table_writer.h"
#include "control/xfrm_mirror.h"
#include "dataplane/counters.h"
#include "dataplane/esp.h"
#include "dataplane/tables.h"
#include "dataplane/trace.h"
#include "dataplane/worker.h"
#include "drivers/port.h"
#include "drivers/queue_layout.h"

namespace tundra {

struct AppOptions {
  uint32_t max_tunnels = 65536;
  uint32_t max_segments = 16384;
  uint32_t max_fdb_entries = 1u << 20;
  uint32_t max_routes = kDefaultMaxRoutes;  // per address family
  uint16_t rx_desc = 1024;
  uint16_t tx_desc = 1024;
  uint32_t mbufs = 0;  // 0: sized from the queues
  NeighborTiming neighbor_timing;
};

struct PortRuntime {
  drivers::PortCaps caps;
  drivers::PortState state;
  bool started = false;
  drivers::PortQueueLayout layout;  // set when the ports are configured
  // [q]: the lock of tx queue q when several workers share it, else null.
  std::vector<std::unique_ptr<TxQueueLock>> tx_locks;
  int link_up = -1;  // as last logged: -1 unknown, 0 down, 1 up
};

class App {
 public:
  // Needs EAL initialised. Probes every port and the worker lcores.
  static absl::StatusOr<std::unique_ptr<App>> Create(const AppOptions& options);
  ~App();

  absl::Status Start();
  absl::Status Stop();
  // Stops workers, stops and closes every port (pcap flushes), and asks the prompt to end.
  void Quit();
  // Returns once no worker received a packet for `ms` milliseconds.
  void WaitIdle(uint32_t ms);
  // Pauses the command stream for `ms` milliseconds, housekeeping (Poll) going on.
  void Sleep(uint32_t ms);
  bool running() const { return running_; }
  // Control-thread housekeeping, called often: drains what workers punted (GENEVE
  // control packets) and learned (hosts on routed access ports, segment MACs), advances
  // the FDB clock and ages FDB entries, reclaims retired table entries.
  void Poll();
  uint64_t punted_packets() const { return punted_; }
  bool quit_requested() const { return quit_.load(); }
  // A flag a signal handler sets: `wait idle` and `sleep` return early when it is.
  void SetInterrupt(const volatile std::sig_atomic_t* flag) { interrupt_ = flag; }

  TableWriter& writer() { return *writer_; }
  const TableWriter& writer() const { return *writer_; }
  Tables& tables() { return *tables_; }
  const Tables& tables() const { return *tables_; }
  Stats& stats() { return *stats_; }
  const Stats& stats() const { return *stats_; }
  uint16_t nb_ports() const { return static_cast<uint16_t>(ports_.size()); }
  const PortRuntime& port_runtime(uint16_t p) const { return ports_[p]; }
  const std::vector<unsigned>& worker_lcores() const { return worker_lcores_; }
  const std::vector<rte_mempool*>& pools() const { return pools_; }

  // Applies a MAC to the port (ethdev where it can) and to the dataplane.
  absl::Status SetPortMac(uint16_t p, const MacAddress& mac);
  absl::Status SetPortMtu(uint16_t p, uint16_t mtu);

  // `capture start`: at once when the port's queues exist, else from `start` on.
  absl::Status StartCapture(const CaptureRequest& request);
  absl::StatusOr<std::string> StopCapture() { return capture_->Stop(); }
  CaptureStatus capture_status() const { return capture_->status(); }
  // ESP security associations (`sa add`).
  SaTable& sas() { return sas_; }
  // An SA in use: its runtime object, made at its first binding and kept (with its
  // sequence number and window) until `sa del`, so rebinding never restarts a sequence
  // under the same key (AES-GCM must never reuse a nonce).
  // What ESP protects: a point-to-point tunnel, or one remote VTEP of a segment (its own
  // tunnel).
  struct ProtectedPath {
    std::string tunnel;   // or empty
    std::string segment;  // or empty; with `remote`
    IpAddress remote;
    bool empty() const { return tunnel.empty() && segment.empty(); }
    bool operator==(const ProtectedPath& o) const {
      return tunnel == o.tunnel && segment == o.segment && remote == o.remote;
    }
    // "tunnel 't1'", "segment 's1' remote 192.0.2.2"; unquoted: "tunnel t1", ...
    std::string ToString(bool quoted = true) const;
  };
  struct SaRuntime {
    std::unique_ptr<EspSa> sa;
    EspDirection direction = EspDirection::kOutbound;
    uint8_t family = 4;
    ProtectedPath protects;  // what it protects now, or empty
    bool expiry_logged = false;
  };
  const SaRuntime* sa_runtime(std::string_view name) const {
    auto it = sa_runtime_.find(name);
    return it == sa_runtime_.end() ? nullptr : &it->second;
  }
  // `tunnel <name> protect out <sa> in <sa> [in <sa>]` (and `segment <name> remote <ip>
  // protect ...`): at once for every packet (the tunnel entry and the inbound table are
  // each replaced whole). Unprotect: `... no protect`.
  absl::Status Protect(const ProtectedPath& path, std::string_view out,
                       const std::vector<std::string_view>& in);
  absl::Status Unprotect(const ProtectedPath& path);
  // `sa del`: refused while the SA protects a tunnel; its runtime object is freed after
  // the workers' grace period, its key wiped.
  absl::Status DeleteSa(std::string_view name);

  // `--xfrm`: from now on the kernel's xfrm SAs and policies of this network namespace
  // (strongSwan's, or `ip xfrm`'s) protect the tunnels they select (xfrm_mirror.h), as
  // SAs named xfrm-<spi in hex>. Tunnels protected by hand are left alone.
  absl::Status StartXfrmMirror();
  // What the mirror sees: null when it is off.
  const XfrmTables* xfrm_tables() const { return xfrm_.get(); }
  const NetlinkMirror* xfrm_mirror() const { return xfrm_mirror_.get(); }
  const std::map<std::string, std::string, std::less<>>& xfrm_bound() const { return xfrm_bound_; }
  const std::vector<std::string>& xfrm_waiting() const { return xfrm_waiting_; }

  // `trace add`: each worker records up to `n` more packets (received on `port`, or on
  // any port with -1). `clear trace` drops every record.
  absl::Status AddTrace(uint32_t n, int32_t port);
  void ClearTrace();
  // [worker]: its trace, or null.
  const std::vector<std::unique_ptr<TraceBuffer>>& traces() const { return traces_; }

 private:
  App(const AppOptions& options) : options_(options) {}
  absl::Status Init();
  absl::Status ConfigurePorts();
  void PollFdb();
  // Once a second: logs what changed since the last look (links, learn events lost).
  void LogEvents();
  // Queues `frame` for a worker to send on `port`; false when it cannot (not running,
  // no mbuf, ring full).
  bool SendFrame(uint16_t port, const uint8_t* frame, uint16_t len);

  AppOptions options_;
  std::vector<PortRuntime> ports_;
  std::vector<unsigned> worker_lcores_;
  // Before tables_: the SAs the tables retire free their sessions into its pool.
  std::unique_ptr<EspCrypto> esp_crypto_;
  std::unique_ptr<Tables> tables_;
  std::unique_ptr<TableWriter> writer_;
  std::map<std::string, SaRuntime, std::less<>> sa_runtime_;
  std::vector<std::unique_ptr<WorkerCounters>> counters_;
  std::unique_ptr<Stats> stats_;
  std::unique_ptr<Capture> capture_;
  SaTable sas_;
  void LogSaExpiry();
  // The mirror's view applied to the tunnels (after every change it saw).
  void ReconcileXfrm();
  absl::Status MirrorSa(const XfrmSa& sa, std::string& name);
  class XfrmHandler;
  std::unique_ptr<XfrmTables> xfrm_;
  std::unique_ptr<NetlinkMirror::Handler> xfrm_handler_;
  std::unique_ptr<NetlinkMirror> xfrm_mirror_;
  bool xfrm_dirty_ = false;
  std::map<std::string, std::string, std::less<>> xfrm_bound_;  // tunnel → its binding, as text
  std::vector<std::string> xfrm_waiting_;             // selected by a policy, no usable SA pair yet
  std::map<std::string, std::string> xfrm_errors_;    // tunnel → why it could not be protected
  std::vector<std::unique_ptr<TraceBuffer>> traces_;  // [worker]
  // Disarms every running worker's trace and waits until none is in TraceBurst.
  void DetachTraces();
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<rte_mempool*> pools_;
  rte_mempool* indirect_pool_ = nullptr;
  rte_ring* punt_ring_ = nullptr;
  rte_ring* learn_ring_ = nullptr;
  rte_ring* fdb_ring_ = nullptr;
  rte_ring* tx_ring_ = nullptr;  // control → workers: frames to send (m->port)
  uint64_t start_tsc_ = 0;       // the FDB clock's zero
  uint64_t next_log_tsc_ = 0;
  // Per segment id: learn_dropped and limit_dropped as last logged.
  absl::flat_hash_map<uint32_t, std::pair<uint64_t, uint64_t>> logged_learn_drops_;
  uint64_t punted_ = 0;
  bool ports_configured_ = false;
  bool ports_closed_ = false;
  bool running_ = false;
  std::atomic<bool> quit_{false};
  const volatile std::sig_atomic_t* interrupt_ = nullptr;
  bool interrupted() const { return interrupt_ != nullptr && *interrupt_ != 0; }
};

}  // namespace tundra
