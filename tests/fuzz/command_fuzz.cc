// libFuzzer target for the command grammar and config files: the real command engine with
// every real registration (RegisterAllCommands) over a real App on three net_null ports
// (probed, never started), as main() wires them.
//
// Input: bytes, split into lines at '\n' as std::getline does (at most kMaxLines; the
// rest is ignored). Lines whose first token is `start` or `sleep` are left out:
//   * `start` configures and starts the ports and launches the workers, which then
//     forward (net_null receives endlessly) and change counters while we compare;
//   * `sleep <ms>` blocks up to an hour by design, which libFuzzer would call a hang.
// Every other command runs for real: with the ports never started, `stop` is a no-op,
// `wait idle` returns at once, and `quit` only asks the command sources to end (the
// config-file pass below stops there, as main()'s does).
//
// Each input runs twice, each time on a fresh App:
//   1. line by line through CommandEngine::Execute (and Complete, the prompt's
//      completion), App::Poll() after each line as main() does. The rule: a line that
//      returns an error changes nothing — the snapshot after it is the snapshot before;
//   2. as a config file through RunConfigFile, which must stop at the first line that
//      failed in pass 1 with an error naming the file and that line (or after the first
//      `quit`, or at the end) and leave the state pass 1 had there; then the lines after
//      that which succeeded in pass 1, without the ones that failed: each must succeed
//      again and leave the state pass 1 had after it. This catches a failing line whose
//      change only shows later (a tunnel id or table slot it kept, say).
// The snapshot is what the `show ... json` commands print (ports, tunnels with their
// cross-connects, routes, neighbors), run through the same engine: the rule judges the
// observable state, not internal structures.
// Besides: no crash, no sanitizer report, no leak (LeakSanitizer; and DPDK's heap is back
// to its size before the input once the Apps are gone), no hang (libFuzzer -timeout).
//
// Environment: TUNDRA_FUZZ_VERBOSE=1 prints every line with its result (and keeps the
// config-file pass's output on stdout, otherwise sent to /dev/null).
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_malloc.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "control/app.h"
#include "control/command_engine.h"
#include "control/commands.h"
#include "control/config_file.h"
#include "control/eal_runtime_dir.h"

namespace {

using namespace tundra;

constexpr size_t kMaxLines = 128;
constexpr uint16_t kNumPorts = 3;
// Small, so "all tunnels are in use" is a few lines away.
constexpr uint32_t kMaxTunnels = 8;

bool g_verbose = false;
std::vector<rte_ether_addr> g_port_macs;  // each port's MAC at start, restored per App
size_t g_heap_baseline = 0;

#define FUZZ_CHECK(cond, ...)                                                \
  do {                                                                       \
    if (!(cond)) [[unlikely]] {                                              \
      std::fprintf(stderr, "command_fuzz: invariant failed: %s\n  ", #cond); \
      std::fprintf(stderr, __VA_ARGS__);                                     \
      std::fprintf(stderr, "\n");                                            \
      __builtin_trap();                                                      \
    }                                                                        \
  } while (0)

// The observable state, as `show ... json` prints it: ports' configuration (role, MAC,
// addresses, MTU), tunnels (with their cross-connects), routes, neighbors, segments and
// their FDBs. The
// counters (`show port stats`, `show fwd stats`, per-tunnel stats) and `show mempool`
// are left out: nothing moves them without traffic, and each show costs an engine pass.
constexpr const char* kSnapshotCommands[] = {
    "show port info all json", "show tunnel json",  "show route json",
    "show neigh json",         "show segment json", "show fdb json",
};

std::string Snapshot(cli::CommandEngine& engine) {
  std::string snap;
  for (const char* command : kSnapshotCommands) {
    std::string out;
    const absl::Status s = engine.Execute(command, out);
    FUZZ_CHECK(s.ok(), "'%s' failed: %s", command, std::string(s.message()).c_str());
    snap += command;
    snap += ":\n";
    snap += out;
    snap += "\n";
  }
  return snap;
}

// Where `a` and `b` first differ, with some context, for the report.
std::string FirstDifference(const std::string& a, const std::string& b, const char* a_is = "before",
                            const char* b_is = "after") {
  size_t i = 0;
  while (i < a.size() && i < b.size() && a[i] == b[i]) ++i;
  const size_t from = i > 160 ? i - 160 : 0;
  return std::string("  ") + a_is + ": ..." + a.substr(from, 320) + "\n  " + b_is + ": ..." +
         b.substr(from, 320);
}

// A fresh App with every command registered, as main() builds them.
struct Instance {
  std::unique_ptr<App> app;
  cli::CommandEngine engine;

  Instance() {
    // `port config <P> mac` reaches the ethdev: put back the MAC every App starts from.
    for (uint16_t p = 0; p < g_port_macs.size(); ++p) {
      (void)rte_eth_dev_default_mac_addr_set(p, &g_port_macs[p]);
    }
    AppOptions options;
    options.max_tunnels = kMaxTunnels;
    // Small tables: an App is made for every input, and a million-entry FDB costs time.
    options.max_segments = 64;
    options.max_fdb_entries = 4096;
    absl::StatusOr<std::unique_ptr<App>> a = App::Create(options);
    FUZZ_CHECK(a.ok(), "App::Create: %s", std::string(a.status().message()).c_str());
    app = std::move(*a);
    const absl::Status s = RegisterAllCommands(engine, *app);
    FUZZ_CHECK(s.ok(), "RegisterAllCommands: %s", std::string(s.message()).c_str());
  }

  // main()'s quit callback: housekeeping after every command, then "stop reading?".
  bool PollAndQuit() {
    app->Poll();
    return app->quit_requested();
  }
};

// The engine's tokens are separated by spaces, tabs, CR and LF (command_engine.h).
std::string_view FirstToken(std::string_view line) {
  const size_t b = line.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return {};
  const size_t e = line.find_first_of(" \t\r\n", b);
  return line.substr(b, e == std::string_view::npos ? std::string_view::npos : e - b);
}

std::vector<std::string> SplitLines(const uint8_t* data, size_t size) {
  std::vector<std::string> lines;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  size_t pos = 0;
  while (pos < text.size() && lines.size() < kMaxLines) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    std::string line(text.substr(pos, nl - pos));
    pos = nl + 1;
    const std::string_view first = FirstToken(line);
    if (first == "start" || first == "sleep") continue;
    lines.push_back(std::move(line));
  }
  return lines;
}

size_t HeapInUse() {
  rte_malloc_socket_stats st = {};
  size_t total = 0;
  for (int socket = 0; socket < RTE_MAX_NUMA_NODES; ++socket) {
    if (rte_malloc_get_socket_stats(socket, &st) == 0) total += st.heap_allocsz_bytes;
  }
  return total;
}

struct LineResult {
  absl::Status status;
  bool quit = false;  // App::quit_requested() after this line
  std::string after;  // the snapshot after this line
};

// Pass 1: line by line. Returns the snapshot before the first line.
std::string RunLines(const std::vector<std::string>& lines, std::vector<LineResult>& results) {
  Instance in;
  std::string before = Snapshot(in.engine);
  const std::string initial = before;
  for (size_t i = 0; i < lines.size(); ++i) {
    std::string out;
    LineResult r;
    r.status = in.engine.Execute(lines[i], out);
    (void)in.engine.Complete(lines[i]);
    r.quit = in.PollAndQuit();
    r.after = Snapshot(in.engine);
    if (g_verbose) {
      std::fprintf(stderr, "command_fuzz: %zu: '%s' -> %s\n", i + 1, lines[i].c_str(),
                   r.status.ok() ? "ok" : std::string(r.status.message()).c_str());
    }
    FUZZ_CHECK(r.status.ok() || r.after == before,
               "line %zu '%s' failed (%s) but changed the state:\n%s", i + 1, lines[i].c_str(),
               std::string(r.status.message()).c_str(), FirstDifference(before, r.after).c_str());
    before = r.after;
    results.push_back(std::move(r));
  }
  return initial;
}

// Pass 2: the same lines as a config file, then the lines after where it stopped that
// succeeded in pass 1.
void RunFileThenSucceeded(const std::vector<std::string>& lines,
                          const std::vector<LineResult>& results, const std::string& initial) {
  // Where pass 1 says the file must stop: at the first failing line, or after the first
  // `quit`, or at the end.
  size_t stop = lines.size();
  bool fails = false;
  for (size_t i = 0; i < results.size(); ++i) {
    if (!results[i].status.ok() || results[i].quit) {
      fails = !results[i].status.ok();
      stop = i;
      break;
    }
  }
  const size_t done = fails ? stop : std::min(stop + 1, lines.size());  // lines applied
  const std::string& expected = done == 0 ? initial : results[done - 1].after;

  const int fd = memfd_create("command_fuzz.cfg", MFD_CLOEXEC);
  FUZZ_CHECK(fd >= 0, "memfd_create failed");
  std::string text;
  for (const std::string& l : lines) text += l + "\n";
  for (size_t off = 0; off < text.size();) {
    const ssize_t n = write(fd, text.data() + off, text.size() - off);
    FUZZ_CHECK(n > 0, "write to memfd failed");
    off += static_cast<size_t>(n);
  }
  const std::string path = "/proc/self/fd/" + std::to_string(fd);

  Instance in;
  const absl::Status s = RunConfigFile(in.engine, path, [&in] { return in.PollAndQuit(); });
  close(fd);
  if (fails) {
    const std::string where = path + ":" + std::to_string(stop + 1) + ": ";
    FUZZ_CHECK(!s.ok() && std::string(s.message()).starts_with(where) &&
                   s.code() == results[stop].status.code(),
               "config file: '%s', expected an error at line %zu ('%s': %s)",
               std::string(s.message()).c_str(), stop + 1, lines[stop].c_str(),
               std::string(results[stop].status.message()).c_str());
  } else {
    FUZZ_CHECK(s.ok(), "config file failed: %s (every line up to %zu succeeded one by one)",
               std::string(s.message()).c_str(), done);
  }
  const std::string after_file = Snapshot(in.engine);
  FUZZ_CHECK(after_file == expected, "config file stopped after line %zu with another state:\n%s",
             done, FirstDifference(expected, after_file, "lines", "file").c_str());

  // The rest without the lines that failed: a failed line that changed something only
  // later visible (an id or a table slot it kept) shows here.
  for (size_t i = done; i < lines.size(); ++i) {
    if (!results[i].status.ok()) continue;
    std::string out;
    const absl::Status st = in.engine.Execute(lines[i], out);
    in.PollAndQuit();
    FUZZ_CHECK(st.ok(),
               "line %zu '%s' succeeded after the lines that failed, fails without "
               "them: %s",
               i + 1, lines[i].c_str(), std::string(st.message()).c_str());
    const std::string after = Snapshot(in.engine);
    FUZZ_CHECK(after == results[i].after,
               "after line %zu '%s' the state differs without the failed lines before it:\n%s",
               i + 1, lines[i].c_str(),
               FirstDifference(results[i].after, after, "with", "without").c_str());
  }
}

}  // namespace

// ASan's default 256 MB quarantine makes every allocation touch fresh pages, and page
// faults then cost more than the commands (each input builds two Apps); 32 MB still
// holds everything one input frees. ASAN_OPTIONS overrides it.
extern "C" const char* __asan_default_options() { return "quarantine_size_mb=32"; }

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  (void)argc;
  g_verbose = std::getenv("TUNDRA_FUZZ_VERBOSE") != nullptr;
  std::string prefix = "--file-prefix=tundra_cmdfuzz_" + std::to_string(getpid());
  std::string prog = (*argv)[0];
  // Two lcores: App wants a worker lcore (never launched here). Every route change
  // builds new LPM tables (~130 MB for IPv4 and IPv6) before the old ones go.
  const char* args[] = {prog.c_str(),
                        "-l",
                        "0-1",
                        "--no-pci",
                        "--no-huge",
                        "-m",
                        "1024",
                        "--no-shconf",
                        "--no-telemetry",
                        "--log-level=error",
                        "--vdev=net_null0",
                        "--vdev=net_null1",
                        "--vdev=net_null2",
                        prefix.c_str()};
  std::vector<char*> eal;
  for (const char* a : args) eal.push_back(const_cast<char*>(a));
  eal.push_back(nullptr);
  if (rte_eal_init(static_cast<int>(eal.size() - 1), eal.data()) < 0) {
    std::fprintf(stderr, "command_fuzz: EAL init failed: %s\n", rte_strerror(rte_errno));
    std::abort();
  }
  tundra::RemoveEalRuntimeDirAtExit();
  if (rte_eth_dev_count_avail() != kNumPorts) {
    std::fprintf(stderr, "command_fuzz: expected %u net_null ports\n", kNumPorts);
    std::abort();
  }
  // Fixed MACs, so every run of an input sees the same state.
  for (uint16_t p = 0; p < kNumPorts; ++p) {
    rte_ether_addr mac = {{0x02, 0, 0, 0, 0x0f, static_cast<uint8_t>(p + 1)}};
    (void)rte_eth_dev_default_mac_addr_set(p, &mac);
    rte_eth_macaddr_get(p, &mac);
    g_port_macs.push_back(mac);
  }
  // The config-file pass prints command output on stdout, as tundra does.
  if (!g_verbose && std::freopen("/dev/null", "w", stdout) == nullptr) std::abort();
  // One App made and gone first: whatever DPDK allocates once for good is in the baseline.
  { Instance warm_up; }
  g_heap_baseline = HeapInUse();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<std::string> lines = SplitLines(data, size);
  std::vector<LineResult> results;
  const std::string initial = RunLines(lines, results);
  RunFileThenSucceeded(lines, results, initial);
  const size_t heap = HeapInUse();
  FUZZ_CHECK(heap == g_heap_baseline,
             "DPDK heap: %zu bytes in use after the input, %zu before (a table or ring not "
             "freed)",
             heap, g_heap_baseline);
  return 0;
}
