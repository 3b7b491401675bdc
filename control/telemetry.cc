#include "control/telemetry.h"

#include <rte_telemetry.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "control/command_engine.h"
#include "control/stats_writers.h"
#include "control/telemetry_writer.h"

namespace tundra {
namespace {

// Entries of a name list or an FDB listing, within what one reply holds.
constexpr size_t kMaxListed = 256;

// One request from the telemetry thread, answered on the control thread.
struct Request {
  std::string_view cmd;
  std::string_view params;
  rte_tel_data* d = nullptr;
  int rc = 0;
  bool done = false;
};

// DPDK's callbacks take no context: the live Telemetry object and the request slot are
// process-wide. One request at a time; others wait their turn (each telemetry client has
// its own thread).
absl::Mutex g_mu;
Telemetry* g_telemetry ABSL_GUARDED_BY(g_mu) = nullptr;
Request* g_request ABSL_GUARDED_BY(g_mu) = nullptr;
bool g_registered = false;  // control thread only

int OnRequest(const char* cmd, const char* params, rte_tel_data* d) {
  Request req{cmd, params != nullptr ? std::string_view(params) : std::string_view(), d};
  absl::MutexLock lock(&g_mu);
  const absl::Time deadline = absl::Now() + absl::FromChrono(kTelemetryWait);
  auto slot_free = [] { return g_telemetry == nullptr || g_request == nullptr; };
  if (!g_mu.AwaitWithDeadline(absl::Condition(&slot_free), deadline) || g_telemetry == nullptr) {
    return g_telemetry == nullptr ? -ENODEV : -EBUSY;
  }
  g_request = &req;
  const uint64_t one = 1;
  (void)!write(g_telemetry->fd(), &one, sizeof(one));
  if (!g_mu.AwaitWithDeadline(absl::Condition(&req.done), deadline)) {
    // The control thread is busy with a long command: withdraw the request. It is not
    // being answered (that happens under g_mu), so `d` is untouched.
    g_request = nullptr;
    return -EBUSY;
  }
  return req.rc;
}

// One FDB entry as "<mac> <where> static|learned" into the array; false when it is full.
bool WriteFdbEntry(rte_tel_data* entries, const SegmentRecord& seg, uint64_t mac,
                   const FdbRecord& rec) {
  const std::string text =
      absl::StrCat(MacOfKey(mac).ToString(), " ", FdbPlaceText(seg, EntryPlace(rec.entry)), " ",
                   EntryStatic(rec.entry) ? "static" : "learned");
  return rte_tel_data_add_array_string(entries, text.c_str()) == 0;
}

template <typename Map>
int ListNames(const Map& map, rte_tel_data* d) {
  rte_tel_data_start_array(d, RTE_TEL_STRING_VAL);
  size_t n = 0;
  for (const auto& [name, rec] : map) {
    if (n++ == kMaxListed) break;
    rte_tel_data_add_array_string(d, name.c_str());
  }
  return 0;
}

std::optional<uint64_t> Index(std::string_view params, uint64_t limit) {
  const std::optional<uint64_t> i = cli::ParseNumber(params);
  return i && *i < limit ? i : std::nullopt;
}

int Answer(const App& app, std::string_view cmd, std::string_view params, rte_tel_data* d) {
  if (cmd == "/tundra/info") {
    TelemetryWriter j(d);
    j.BeginObject()
        .Field("ports", app.nb_ports())
        .Field("workers", static_cast<uint64_t>(app.worker_lcores().size()))
        .Field("tunnels", static_cast<uint64_t>(app.writer().tunnels().size()))
        .Field("segments", static_cast<uint64_t>(app.writer().segments().size()))
        .Field("running", app.running())
        .EndObject();
    return 0;
  }
  if (cmd == "/tundra/ports" || cmd == "/tundra/workers") {
    const bool ports = cmd == "/tundra/ports";
    const uint64_t count = ports ? app.nb_ports() : app.worker_lcores().size();
    if (params.empty()) {
      rte_tel_data_start_array(d, RTE_TEL_INT_VAL);
      for (uint64_t i = 0; i < std::min<uint64_t>(count, kMaxListed); ++i) {
        rte_tel_data_add_array_int(d, static_cast<int>(i));
      }
      return 0;
    }
    const std::optional<uint64_t> i = Index(params, count);
    if (!i) return -EINVAL;
    TelemetryWriter j(d);
    if (ports) {
      WritePortStats(j, app, static_cast<uint16_t>(*i));
    } else {
      WriteWorkerStats(j, app, *i);
    }
    return 0;
  }
  if (cmd == "/tundra/tunnels" || cmd == "/tundra/segments") {
    const bool tunnels = cmd == "/tundra/tunnels";
    if (params.empty()) {
      return tunnels ? ListNames(app.writer().tunnels(), d) : ListNames(app.writer().segments(), d);
    }
    TelemetryWriter j(d);
    if (tunnels) {
      const auto it = app.writer().tunnels().find(params);
      if (it == app.writer().tunnels().end()) return -EINVAL;
      WriteTunnel(j, app, it->first, it->second);
    } else {
      const auto it = app.writer().segments().find(params);
      if (it == app.writer().segments().end()) return -EINVAL;
      WriteSegment(j, app, it->first, it->second);
    }
    return 0;
  }
  if (cmd == "/tundra/fdb") {
    const SegmentRecord* seg = app.writer().FindSegment(params);
    if (seg == nullptr) return -EINVAL;
    rte_tel_data* entries = rte_tel_data_alloc();
    if (entries == nullptr) return -ENOMEM;
    rte_tel_data_start_array(entries, RTE_TEL_STRING_VAL);
    size_t listed = 0;
    for (const auto& [mac, rec] : seg->fdb) {
      if (listed == kMaxListed || !WriteFdbEntry(entries, *seg, mac, rec)) break;
      ++listed;
    }
    TelemetryWriter j(d);
    j.BeginObject()
        .Field("segment", params)
        .Field("macs", static_cast<uint64_t>(seg->fdb.size()))
        .Field("learned_macs", seg->learned_macs)
        .Field("static_macs", static_cast<uint64_t>(seg->fdb.size() - seg->learned_macs))
        .Field("listed", static_cast<uint64_t>(listed))
        .EndObject();
    rte_tel_data_add_dict_container(d, "entries", entries, 0);
    return 0;
  }
  if (cmd == "/tundra/drops") {
    PortTotals sum;
    for (uint16_t p = 0; p < app.nb_ports(); ++p) {
      const PortTotals t = app.stats().Port(p);
      for (int r = 0; r < kNumDropReasons; ++r) sum.drops[r] += t.drops[r];
    }
    TelemetryWriter j(d);
    j.BeginObject().Field("total", sum.total_drops());
    for (int r = 0; r < kNumDropReasons; ++r) {
      j.Field(DropReasonName(static_cast<DropReason>(r)), sum.drops[r]);
    }
    j.EndObject();
    return 0;
  }
  return -EINVAL;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Telemetry>> Telemetry::Register(const App& app) {
  std::unique_ptr<Telemetry> t(new Telemetry(app));
  t->event_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (t->event_fd_ < 0) return absl::InternalError("eventfd for telemetry failed");
  if (!g_registered) {
    struct Endpoint {
      const char* cmd;
      const char* help;
    };
    for (const Endpoint& e : {
             Endpoint{"/tundra/info", "tundra: counts of ports, workers, tunnels, segments"},
             Endpoint{"/tundra/ports", "tundra: port ids; with a port id, its counters"},
             Endpoint{"/tundra/workers", "tundra: worker indexes; with one, its counters"},
             Endpoint{"/tundra/tunnels", "tundra: tunnel names; with a name, its counters"},
             Endpoint{"/tundra/segments", "tundra: segment names; with a name, its state"},
             Endpoint{"/tundra/fdb", "tundra: a segment's FDB. Parameters: segment name"},
             Endpoint{"/tundra/drops", "tundra: drops by reason, summed over the ports"},
         }) {
      if (rte_telemetry_register_cmd(e.cmd, OnRequest, e.help) != 0) {
        return absl::InternalError(absl::StrCat("cannot register telemetry endpoint ", e.cmd));
      }
    }
    g_registered = true;
  }
  absl::MutexLock lock(&g_mu);
  g_telemetry = t.get();
  return t;
}

Telemetry::~Telemetry() {
  {
    absl::MutexLock lock(&g_mu);
    if (g_request != nullptr) {
      g_request->rc = -ENODEV;
      g_request->done = true;
      g_request = nullptr;
    }
    g_telemetry = nullptr;
  }
  if (event_fd_ >= 0) close(event_fd_);
}

void Telemetry::Service() {
  uint64_t n;
  (void)!read(event_fd_, &n, sizeof(n));
  absl::MutexLock lock(&g_mu);
  if (g_request == nullptr) return;
  g_request->rc = Answer(app_, g_request->cmd, g_request->params, g_request->d);
  g_request->done = true;
  g_request = nullptr;
}

}  // namespace tundra
