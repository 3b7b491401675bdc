// tundra [EAL options] -- [tundra flags]: wires EAL, the app, the command engine and the
// command sources (config file, prompt) together. Everything else lives elsewhere.
#include <gflags/gflags.h>
#include <poll.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_pdump.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>

#include "absl/strings/str_format.h"
#include "control/app.h"
#include "control/command_engine.h"
#include "control/commands.h"
#include "control/config_file.h"
#include "control/control_protocol.h"
#include "control/control_socket.h"
#include "control/log.h"
#include "control/prompt.h"
#include "control/telemetry.h"

DEFINE_string(config, "", "File of commands to run at start (one per line, '#' comments)");
DEFINE_bool(interactive, false,
            "Read commands from a 'tundra> ' prompt (or line by line when stdin is not a tty)");
DEFINE_uint32(stats_period, 0, "Print port and worker stats every S seconds (0: never)");
DEFINE_uint32(max_tunnels, 65536, "Capacity of the tunnel tables (1..16777216)");
DEFINE_uint32(max_segments, 16384, "Capacity of the segment table (1..2147483647)");
DEFINE_uint32(max_fdb_entries, 1u << 20,
              "Capacity of the FDB: MAC entries of every segment together (at least 8)");
DEFINE_uint32(max_routes, tundra::kDefaultMaxRoutes,
              "Routes of routed access ports per address family, IPv4 and IPv6 each "
              "(1..16777216); the tables are allocated at the first route");
DEFINE_uint32(rx_desc, 1024, "Rx descriptors per queue");
DEFINE_uint32(tx_desc, 1024, "Tx descriptors per queue");
DEFINE_uint32(neigh_reachable_ms, 30000,
              "How long an answered underlay neighbor stays reachable; it is re-probed from "
              "3/4 of that on (1..86400000)");
DEFINE_uint32(neigh_retrans_ms, 1000,
              "Interval between neighbor probes; unanswered resolution backs off doubling it, "
              "up to 60 s (1..60000)");
DEFINE_uint32(neigh_probes, 3,
              "Unanswered probes after which a stale underlay neighbor is withdrawn (1..100)");
DEFINE_string(socket, "",
              "Control socket path for tundra-ctl and scripts; 'none': no socket (default: "
              "/run/tundra/tundra.sock when run as root, none otherwise)");
DEFINE_uint32(socket_timeout_s, 60,
              "Close a control connection after this many seconds without a byte in or out "
              "(1..86400)");
DEFINE_uint32(mbufs, 0, "mbufs in the pool (0: sized from the ports' queues)");
DEFINE_bool(xfrm, false,
            "Mirror the kernel's IPsec SAs and policies (xfrm) of tundra's network namespace, "
            "as strongSwan or 'ip xfrm' installs them, into ESP on the tunnels they select");

namespace {

volatile std::sig_atomic_t g_signal = 0;

void OnSignal(int sig) { g_signal = sig; }

// The control socket's path from --socket; empty for none.
std::string SocketPath() {
  if (FLAGS_socket == "none") return "";
  if (!FLAGS_socket.empty()) return FLAGS_socket;
  return geteuid() == 0 ? tundra::ctl::kDefaultSocketPath : "";
}

void PrintStats(tundra::cli::CommandEngine& engine) {
  std::string out;
  (void)engine.Execute("show port stats all", out);
  (void)engine.Execute("show fwd stats", out);
  std::fputs(out.c_str(), stdout);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  // First of all: SIGTERM/SIGINT at any moment from here on ends tundra cleanly (exit 0),
  // checked between the start-up steps below and by the control loop after them.
  struct sigaction on_signal = {};
  on_signal.sa_handler = OnSignal;
  sigemptyset(&on_signal.sa_mask);
  sigaction(SIGINT, &on_signal, nullptr);
  sigaction(SIGTERM, &on_signal, nullptr);

  const int eal_args = rte_eal_init(argc, argv);
  if (eal_args < 0) {
    std::fprintf(stderr, "error: EAL initialisation failed: %s\n", rte_strerror(rte_errno));
    return g_signal != 0 ? 0 : 1;
  }
  if (g_signal != 0) {
    rte_eal_cleanup();
    return 0;
  }
  argc -= eal_args;
  argv += eal_args;
  tundra::log::Init();
  // dpdk-dumpcap and dpdk-pdump (secondary processes) capture through this.
  const bool pdump = rte_pdump_init() == 0;
  gflags::SetUsageMessage("tundra [EAL options] -- [--config=FILE] [--interactive] ...");
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  if (argc > 1) {
    std::fprintf(stderr, "error: unexpected argument '%s' (tundra flags look like --flag=value)\n",
                 argv[1]);
    rte_eal_cleanup();
    return 1;
  }
  if (FLAGS_neigh_reachable_ms == 0 || FLAGS_neigh_reachable_ms > 86400000 ||
      FLAGS_neigh_retrans_ms == 0 || FLAGS_neigh_retrans_ms > 60000 || FLAGS_neigh_probes == 0 ||
      FLAGS_neigh_probes > 100) {
    std::fprintf(stderr,
                 "error: --neigh_reachable_ms must be within 1..86400000, --neigh_retrans_ms "
                 "within 1..60000 and --neigh_probes within 1..100\n");
    rte_eal_cleanup();
    return 1;
  }
  if (FLAGS_socket_timeout_s == 0 || FLAGS_socket_timeout_s > 86400) {
    std::fprintf(stderr, "error: --socket_timeout_s must be within 1..86400\n");
    rte_eal_cleanup();
    return 1;
  }
  if (FLAGS_rx_desc == 0 || FLAGS_rx_desc > 32768 || FLAGS_tx_desc == 0 || FLAGS_tx_desc > 32768) {
    std::fprintf(stderr, "error: --rx_desc and --tx_desc must be within 1..32768\n");
    rte_eal_cleanup();
    return 1;
  }

  // Claimed before the ports start, so a second tundra on the same path stops here.
  std::unique_ptr<tundra::ctl::ControlSocket> control_socket;
  if (const std::string path = SocketPath(); !path.empty()) {
    absl::StatusOr<std::unique_ptr<tundra::ctl::ControlSocket>> opened =
        tundra::ctl::ControlSocket::Open(
            {.path = path, .idle_timeout = std::chrono::seconds(FLAGS_socket_timeout_s)});
    if (!opened.ok()) {
      absl::FPrintF(stderr, "error: %s\n", opened.status().message());
      rte_eal_cleanup();
      return 1;
    }
    control_socket = *std::move(opened);
  }

  tundra::AppOptions options;
  options.max_tunnels = FLAGS_max_tunnels;
  options.max_segments = FLAGS_max_segments;
  options.max_fdb_entries = FLAGS_max_fdb_entries;
  options.max_routes = FLAGS_max_routes;
  options.rx_desc = static_cast<uint16_t>(FLAGS_rx_desc);
  options.tx_desc = static_cast<uint16_t>(FLAGS_tx_desc);
  options.mbufs = FLAGS_mbufs;
  options.neighbor_timing.reachable_ms = FLAGS_neigh_reachable_ms;
  options.neighbor_timing.retrans_ms = FLAGS_neigh_retrans_ms;
  options.neighbor_timing.probes = FLAGS_neigh_probes;
  absl::StatusOr<std::unique_ptr<tundra::App>> app = tundra::App::Create(options);
  if (!app.ok()) {
    absl::FPrintF(stderr, "error: %s\n", app.status().message());
    control_socket.reset();
    rte_eal_cleanup();
    return 1;
  }
  (*app)->SetInterrupt(&g_signal);
  if (FLAGS_xfrm) {
    if (absl::Status s = (*app)->StartXfrmMirror(); !s.ok()) {
      absl::FPrintF(stderr, "error: %s\n", s.message());
      return 1;
    }
  }
  tundra::cli::CommandEngine engine;
  if (absl::Status s = tundra::RegisterAllCommands(engine, **app); !s.ok()) {
    absl::FPrintF(stderr, "error: %s\n", s.message());
    return 1;
  }
  absl::StatusOr<std::unique_ptr<tundra::Telemetry>> telemetry = tundra::Telemetry::Register(**app);
  if (!telemetry.ok()) {
    absl::FPrintF(stderr, "error: %s\n", telemetry.status().message());
    return 1;
  }
  // Checked after every command and while the prompt waits: also the control thread's
  // housekeeping tick (punted packets, learned hosts, RCU reclamation).
  auto quit = [&app] {
    (*app)->Poll();
    return (*app)->quit_requested() || g_signal != 0;
  };
  // The same, and the control socket's requests served. Not while the config file runs:
  // a client sees tundra once it is configured.
  const tundra::ctl::RequestHandler handle = [&engine](std::string_view line, std::string& out) {
    return tundra::ctl::ExecuteRequest(engine, line, out);
  };
  auto serve_and_quit = [&] {
    if (quit()) return true;
    (*telemetry)->Service();
    if (control_socket == nullptr) return false;
    while (control_socket->Service(handle)) {
      if (quit()) return true;
      (*telemetry)->Service();
    }
    return quit();
  };
  // What the prompt and the batch loop wait on besides stdin: a socket request or a
  // telemetry request wakes them at once.
  const int wake_fd = epoll_create1(EPOLL_CLOEXEC);
  for (const int fd : {control_socket != nullptr ? control_socket->fd() : -1, (*telemetry)->fd()}) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    if (fd >= 0) epoll_ctl(wake_fd, EPOLL_CTL_ADD, fd, &ev);
  }

  int rc = 0;
  if (!FLAGS_config.empty() && !quit()) {
    if (absl::Status s = tundra::RunConfigFile(engine, FLAGS_config, quit); !s.ok()) {
      absl::FPrintF(stderr, "error: %s\n", s.message());
      rc = 1;
    }
  }
  if (rc == 0 && !quit()) {
    if (FLAGS_interactive) {
      tundra::cli::RunPrompt(engine, serve_and_quit, wake_fd);
    } else {
      // Batch runs without `quit` forward until a signal, printing stats if asked.
      auto next = std::chrono::steady_clock::now();
      while (!serve_and_quit()) {
        pollfd pfd = {wake_fd, POLLIN, 0};
        (void)poll(&pfd, wake_fd >= 0 ? 1 : 0, 50);
        if (FLAGS_stats_period != 0 && std::chrono::steady_clock::now() >= next) {
          PrintStats(engine);
          next = std::chrono::steady_clock::now() + std::chrono::seconds(FLAGS_stats_period);
        }
      }
    }
  }
  if (control_socket != nullptr) control_socket->Drain(std::chrono::milliseconds(500));
  control_socket.reset();
  telemetry->reset();
  close(wake_fd);
  app->reset();
  if (pdump) rte_pdump_uninit();
  rte_eal_cleanup();
  return rc;
}
