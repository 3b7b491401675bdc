#include "control/app.h"

#include <linux/xfrm.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_launch.h>
#include <rte_lcore.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "control/absl_view.h"
#include "control/log.h"
#include "dataplane/header_template.h"

namespace tundra {

absl::StatusOr<std::unique_ptr<App>> App::Create(const AppOptions& options) {
  std::unique_ptr<App> app(new App(options));
  if (absl::Status s = app->Init(); !s.ok()) return s;
  return app;
}

absl::Status App::Init() {
  unsigned lcore;
  RTE_LCORE_FOREACH_WORKER(lcore) { worker_lcores_.push_back(lcore); }
  if (worker_lcores_.empty()) {
    return absl::InvalidArgumentError(
        "tundra needs at least one worker lcore besides the main one (e.g. EAL option -l 0-1)");
  }
  const uint16_t nb_ports = rte_eth_dev_count_avail();
  uint16_t port_id;
  RTE_ETH_FOREACH_DEV(port_id) {
    if (port_id != ports_.size()) {
      return absl::InternalError("port ids are not contiguous; detach unused ports");
    }
    absl::StatusOr<drivers::PortCaps> caps = drivers::ProbePort(port_id);
    if (!caps.ok()) return caps.status();
    PortRuntime rt;
    rt.caps = *caps;
    ports_.push_back(std::move(rt));
  }
  (void)nb_ports;

  Tables::Config tc;
  tc.max_tunnels = options_.max_tunnels;
  tc.max_segments = options_.max_segments;
  tc.max_fdb_entries = options_.max_fdb_entries;
  tc.max_routes = options_.max_routes;
  tc.max_workers = static_cast<uint32_t>(worker_lcores_.size());
  tc.socket = static_cast<int>(rte_socket_id());
  absl::StatusOr<std::unique_ptr<Tables>> tables = Tables::Create(tc);
  if (!tables.ok()) return tables.status();
  tables_ = std::move(*tables);
  writer_ = std::make_unique<TableWriter>(*tables_, static_cast<uint16_t>(ports_.size()));
  capture_ = std::make_unique<Capture>(tables_->qsbr());
  for (uint16_t p = 0; p < ports_.size(); ++p) {
    absl::StatusOr<MacAddress> mac = drivers::PortMac(p);
    if (mac.ok()) (void)writer_->SetPortMac(p, *mac);
  }
  for (size_t w = 0; w < worker_lcores_.size(); ++w) {
    counters_.push_back(
        std::make_unique<WorkerCounters>(options_.max_tunnels + 1, options_.max_segments + 1));
  }
  // Workers hand the control thread punted packets and learned hosts through these
  // (multi-producer, single-consumer; a full ring drops, it never blocks a worker).
  punt_ring_ =
      rte_ring_create("tundra_punt", 1024, static_cast<int>(rte_socket_id()), RING_F_SC_DEQ);
  learn_ring_ = rte_ring_create_elem("tundra_learn", sizeof(LearnEvent), 1024,
                                     static_cast<int>(rte_socket_id()), RING_F_SC_DEQ);
  // Sized for a few milliseconds of new MACs at the rate the control thread absorbs.
  fdb_ring_ = rte_ring_create_elem("tundra_fdb", sizeof(FdbLearnEvent), 16384,
                                   static_cast<int>(rte_socket_id()), RING_F_SC_DEQ);
  // The other way: frames the control thread sends (neighbor probes) through a worker.
  tx_ring_ =
      rte_ring_create("tundra_ctrl_tx", 1024, static_cast<int>(rte_socket_id()), RING_F_SP_ENQ);
  start_tsc_ = rte_get_tsc_cycles();
  if (punt_ring_ == nullptr || learn_ring_ == nullptr || fdb_ring_ == nullptr ||
      tx_ring_ == nullptr) {
    return absl::ResourceExhaustedError("cannot create the worker↔control rings");
  }
  writer_->nexthops().set_timing(options_.neighbor_timing);
  writer_->nexthops().set_send([this](uint16_t port, const uint8_t* frame, uint16_t len) {
    return SendFrame(port, frame, len);
  });
  std::vector<const WorkerCounters*> views;
  for (const auto& c : counters_) views.push_back(c.get());
  stats_ = std::make_unique<Stats>(std::move(views), static_cast<uint16_t>(ports_.size()),
                                   options_.max_tunnels, options_.max_segments);
  return absl::OkStatus();
}

App::~App() {
  Quit();
  Poll();
  capture_.reset();
  writer_.reset();
  sa_runtime_.clear();  // workers are stopped: no grace period to wait for
  tables_.reset();
  rte_ring_free(punt_ring_);
  rte_ring_free(learn_ring_);
  rte_ring_free(fdb_ring_);
  if (tx_ring_ != nullptr) {
    rte_mbuf* m;
    while (rte_ring_sc_dequeue(tx_ring_, reinterpret_cast<void**>(&m)) == 0) rte_pktmbuf_free(m);
    rte_ring_free(tx_ring_);
  }
  for (rte_mempool* pool : pools_) rte_mempool_free(pool);  // the indirect pool included
}

void App::Poll() {
  rte_mbuf* punted[32];
  unsigned n;
  while (punt_ring_ != nullptr &&
         (n = rte_ring_sc_dequeue_burst(punt_ring_, reinterpret_cast<void**>(punted), 32,
                                        nullptr)) > 0) {
    // GENEVE control packets: counted (per port by the worker, here in total) and
    // consumed; tundra runs no GENEVE control protocol of its own.
    punted_ += n;
    rte_pktmbuf_free_bulk(punted, n);
  }
  LearnEvent events[32];
  while (learn_ring_ != nullptr &&
         (n = rte_ring_sc_dequeue_burst_elem(learn_ring_, events, sizeof(LearnEvent), 32,
                                             nullptr)) > 0) {
    for (unsigned i = 0; i < n; ++i) {
      const LearnEvent& e = events[i];
      const IpAddress ip =
          e.family == 4 ? IpAddress::FromV4Bytes(e.ip) : IpAddress::FromV6Bytes(e.ip);
      MacAddress mac;
      std::copy(e.mac, e.mac + 6, mac.bytes.begin());
      writer_->LearnNeighbor(ip, mac, e.port, (e.flags & kLearnConfirmed) != 0);
    }
  }
  // Null only when Init failed before creating the tables (the destructor still polls).
  if (tables_ != nullptr) {
    // Stopped, nothing can send a probe: the next hops' timers wait for `start`.
    if (running_) {
      writer_->nexthops().Poll((rte_get_tsc_cycles() - start_tsc_) * 1000 / rte_get_tsc_hz());
    }
    PollFdb();
    if (xfrm_mirror_ != nullptr) {
      xfrm_mirror_->Poll();
      if (xfrm_dirty_ && xfrm_mirror_->synced()) ReconcileXfrm();
    }
    tables_->Reclaim();
    if (const std::string summary = capture_->Poll(); !summary.empty()) {
      log::Emit(log::Type::kControl, RTE_LOG_NOTICE, "%s (its count reached)", summary);
    }
    if (rte_get_tsc_cycles() >= next_log_tsc_) {
      next_log_tsc_ = rte_get_tsc_cycles() + rte_get_tsc_hz();
      LogEvents();
      xfrm_dirty_ = true;  // tunnels added or changed since: looked at once a second
    }
  }
}

void App::LogSaExpiry() {
  for (auto& [name, rt] : sa_runtime_) {
    if (rt.expiry_logged || !rt.sa->expired()) continue;
    rt.expiry_logged = true;
    const EspStats st = rt.sa->stats();
    log::Emit(log::Type::kControl, RTE_LOG_WARNING,
              "SA %s (spi %u, %s%s%s) reached its lifetime after %u packets, %u bytes; no longer "
              "used",
              name, rt.sa->spi(), rt.direction == EspDirection::kOutbound ? "out" : "in",
              rt.protects.empty() ? "" : " of ", rt.protects.ToString(false), st.packets, st.bytes);
  }
}

std::string App::ProtectedPath::ToString(bool quoted) const {
  const char* q = quoted ? "'" : "";
  if (!tunnel.empty()) return absl::StrCat("tunnel ", q, tunnel, q);
  return absl::StrCat("segment ", q, segment, q, " remote ", remote.ToString());
}

absl::Status App::Protect(const ProtectedPath& path, std::string_view out,
                          const std::vector<std::string_view>& in) {
  absl::StatusOr<uint8_t> family = !path.tunnel.empty()
                                       ? writer_->TunnelOuterFamily(path.tunnel)
                                       : writer_->SegmentRemoteFamily(path.segment, path.remote);
  if (!family.ok()) return family.status();
  if (std::find(in.begin(), in.end(), out) != in.end() || (in.size() == 2 && in[0] == in[1])) {
    return absl::InvalidArgumentError(
        "an SA serves one direction of one tunnel: name different SAs for out and in");
  }
  // Every SA exists and is free for this use before anything changes.
  std::vector<std::pair<std::string_view, EspDirection>> uses = {{out, EspDirection::kOutbound}};
  for (std::string_view name : in) uses.push_back({name, EspDirection::kInbound});
  for (const auto& [name, dir] : uses) {
    if (sas_.Find(name) == nullptr) {
      return absl::NotFoundError(absl::StrCat("no SA '", AsAbsl(name), "'"));
    }
    auto it = sa_runtime_.find(name);
    if (it == sa_runtime_.end()) continue;
    const SaRuntime& rt = it->second;
    if (!rt.protects.empty() && !(rt.protects == path)) {
      return absl::FailedPreconditionError(
          absl::StrCat("SA '", AsAbsl(name), "' already protects ", rt.protects.ToString()));
    }
    if (rt.direction != dir || rt.family != *family) {
      return absl::FailedPreconditionError(absl::StrCat(
          "SA '", AsAbsl(name), "' was used ",
          rt.direction == EspDirection::kOutbound ? "outbound" : "inbound", " over IPv", rt.family,
          "; an SA keeps its direction and family (add another SA)"));
    }
  }
  if (esp_crypto_ == nullptr) {
    absl::StatusOr<std::unique_ptr<EspCrypto>> c =
        EspCrypto::Create(2 * SaConfig::kMaxReplayWindow, SOCKET_ID_ANY);
    if (!c.ok()) return c.status();
    esp_crypto_ = std::move(*c);
  }
  // Runtime objects for SAs used for the first time (nothing published yet).
  std::vector<std::string> created;
  for (const auto& [name, dir] : uses) {
    if (sa_runtime_.find(name) != sa_runtime_.end()) continue;
    const SaConfig& cfg = *sas_.Find(name);
    EspParams p;
    p.spi = cfg.spi;
    p.key = cfg.key.data();
    p.key_len = static_cast<uint8_t>(cfg.key.size());
    std::memcpy(p.salt, cfg.salt.data(), sizeof(p.salt));
    p.esn = cfg.esn;
    p.replay_window = cfg.replay_window;
    p.lifetime_bytes = cfg.lifetime_bytes;
    p.lifetime_packets = cfg.lifetime_packets;
    absl::StatusOr<std::unique_ptr<EspSa>> sa = EspSa::Create(*esp_crypto_, p, dir, *family);
    if (!sa.ok()) {
      for (const std::string& c : created) sa_runtime_.erase(c);
      return sa.status();
    }
    SaRuntime rt;
    rt.sa = std::move(*sa);
    rt.direction = dir;
    rt.family = *family;
    sa_runtime_.emplace(std::string(name), std::move(rt));
    created.emplace_back(name);
  }
  TunnelProtection prot;
  prot.out_name = std::string(out);
  prot.out = sa_runtime_.find(out)->second.sa.get();
  for (std::string_view name : in) {
    prot.in_names.emplace_back(name);
    prot.in.push_back(sa_runtime_.find(name)->second.sa.get());
  }
  absl::Status s = !path.tunnel.empty() ? writer_->SetTunnelProtection(path.tunnel, std::move(prot))
                                        : writer_->SetSegmentRemoteProtection(
                                              path.segment, path.remote, std::move(prot));
  if (!s.ok()) return s;
  for (auto& [name, rt] : sa_runtime_) {
    if (rt.protects == path) rt.protects = ProtectedPath{};
  }
  for (const auto& [name, dir] : uses) sa_runtime_.find(name)->second.protects = path;
  return absl::OkStatus();
}

absl::Status App::Unprotect(const ProtectedPath& path) {
  if (!path.tunnel.empty()) {
    auto it = writer_->tunnels().find(path.tunnel);
    if (it == writer_->tunnels().end()) {
      return absl::NotFoundError(absl::StrCat("no tunnel '", path.tunnel, "'"));
    }
    if (!it->second.protection) {
      return absl::FailedPreconditionError(
          absl::StrCat("tunnel '", path.tunnel, "' is not protected"));
    }
  }
  absl::Status s = !path.tunnel.empty() ? writer_->SetTunnelProtection(path.tunnel, std::nullopt)
                                        : writer_->SetSegmentRemoteProtection(
                                              path.segment, path.remote, std::nullopt);
  if (!s.ok()) return s;
  for (auto& [name, rt] : sa_runtime_) {
    if (rt.protects == path) rt.protects = ProtectedPath{};
  }
  return absl::OkStatus();
}

class App::XfrmHandler : public NetlinkMirror::Handler {
 public:
  explicit XfrmHandler(App& app) : app_(app) {}
  void Reset() override {
    app_.xfrm_->Clear();
    app_.xfrm_dirty_ = true;
  }
  void Message(const nlmsghdr& nlh) override { app_.xfrm_dirty_ |= app_.xfrm_->Apply(nlh); }
  void DumpDone() override { app_.xfrm_dirty_ = true; }

 private:
  App& app_;
};

absl::Status App::StartXfrmMirror() {
  if (xfrm_mirror_ != nullptr) return absl::OkStatus();
  xfrm_ = std::make_unique<XfrmTables>();
  xfrm_handler_ = std::make_unique<XfrmHandler>(*this);
  absl::StatusOr<std::unique_ptr<NetlinkMirror>> m =
      NetlinkMirror::Open(NETLINK_XFRM, {XFRMNLGRP_SA, XFRMNLGRP_POLICY, XFRMNLGRP_EXPIRE},
                          {XFRM_MSG_GETSA, XFRM_MSG_GETPOLICY}, *xfrm_handler_);
  if (!m.ok()) {
    xfrm_.reset();
    return absl::Status(m.status().code(), absl::StrCat("--xfrm: ", m.status().message()));
  }
  xfrm_mirror_ = std::move(*m);
  return absl::OkStatus();
}

absl::Status App::MirrorSa(const XfrmSa& sa, std::string& name) {
  name = absl::StrFormat("xfrm-%08x", sa.spi);
  if (sas_.Find(name) != nullptr) return absl::OkStatus();
  SaConfig c;
  c.name = name;
  c.spi = sa.spi;
  const size_t key_len = sa.keymat.size() - 4;
  c.aead = key_len == 16 ? EspAead::kAesGcm128 : EspAead::kAesGcm256;
  c.key = SecretBytes(key_len);
  std::memcpy(c.key.data(), sa.keymat.data(), key_len);
  c.salt = SecretBytes(4);
  std::memcpy(c.salt.data(), sa.keymat.data() + key_len, 4);
  c.esn = sa.esn && sa.replay_window != 0;
  c.replay_window = std::min<uint32_t>(sa.replay_window, SaConfig::kMaxReplayWindow);
  return sas_.Add(std::move(c));
}

void App::ReconcileXfrm() {
  xfrm_dirty_ = false;
  std::vector<XfrmTunnel> tunnels;
  for (const auto& [name, rec] : writer_->tunnels()) {
    // By hand is by hand: a tunnel protected with SAs of its own is not the mirror's.
    if (rec.protection && xfrm_bound_.find(name) == xfrm_bound_.end()) continue;
    XfrmTunnel t;
    t.name = name;
    t.local = rec.spec.local;
    t.remote = rec.spec.remote;
    t.proto = IsUdpTunnel(rec.spec.type) ? 17 : 47;
    t.dport = IsUdpTunnel(rec.spec.type) ? TunnelUdpPort(rec.spec) : 0;
    tunnels.push_back(t);
  }
  xfrm_waiting_.clear();
  const std::vector<XfrmBinding> bindings = xfrm_->Bindings(tunnels, &xfrm_waiting_);
  std::map<std::string, std::string, std::less<>> bound;
  for (const XfrmBinding& b : bindings) {
    std::string out_name;
    std::vector<std::string> in_names(b.in.size());
    absl::Status s =
        MirrorSa(xfrm_->sas().at(XfrmTables::KeyOf(b.out.first, b.out.second)), out_name);
    for (size_t i = 0; i < b.in.size() && s.ok(); ++i) {
      s = MirrorSa(xfrm_->sas().at(XfrmTables::KeyOf(b.in[i].first, b.in[i].second)), in_names[i]);
    }
    const std::string text =
        absl::StrCat("out ", out_name, " in ", absl::StrJoin(in_names, " in "));
    auto was = xfrm_bound_.find(b.tunnel);
    if (s.ok() && (was == xfrm_bound_.end() || was->second != text)) {
      ProtectedPath path;
      path.tunnel = b.tunnel;
      s = Protect(path, out_name, std::vector<std::string_view>(in_names.begin(), in_names.end()));
      if (s.ok()) {
        log::Emit(log::Type::kControl, RTE_LOG_NOTICE, "xfrm: tunnel %s protected: %s", b.tunnel,
                  text);
      }
    }
    if (!s.ok()) {
      std::string& last = xfrm_errors_[b.tunnel];
      if (last != s.message()) {  // once per new reason, not at every look
        last = std::string(s.message());
        log::Emit(log::Type::kControl, RTE_LOG_ERR, "xfrm: cannot protect tunnel %s: %s", b.tunnel,
                  s.message());
      }
      if (was != xfrm_bound_.end()) bound[b.tunnel] = was->second;
      continue;
    }
    xfrm_errors_.erase(b.tunnel);
    bound[b.tunnel] = text;
  }
  for (const auto& [tunnel, text] : xfrm_bound_) {
    if (bound.count(tunnel) != 0) continue;
    const bool waiting =
        std::find(xfrm_waiting_.begin(), xfrm_waiting_.end(), tunnel) != xfrm_waiting_.end();
    if (waiting) {
      // Its SAs went (a rekey's gap, or a hard expiry) but the policy still wants ESP:
      // keep the last keys rather than send in clear.
      bound[tunnel] = text;
      continue;
    }
    ProtectedPath path;
    path.tunnel = tunnel;
    if (writer_->tunnels().count(tunnel) != 0) (void)Unprotect(path);
    log::Emit(log::Type::kControl, RTE_LOG_NOTICE,
              "xfrm: tunnel %s no longer protected (no policy selects it)", tunnel);
  }
  xfrm_bound_ = std::move(bound);
  // Mirrored SAs the kernel no longer has and nothing uses: gone here too (keys wiped).
  std::vector<std::string> stale;
  for (const SaConfig* c : sas_.List()) {
    if (c->name.rfind("xfrm-", 0) != 0) continue;
    auto rt = sa_runtime_.find(c->name);
    if (rt != sa_runtime_.end() && !rt->second.protects.empty()) continue;
    bool in_kernel = false;
    for (const auto& [key, sa] : xfrm_->sas()) in_kernel |= key.second == c->spi;
    if (!in_kernel) stale.push_back(c->name);
  }
  for (const std::string& name : stale) (void)DeleteSa(name);
}

absl::Status App::DeleteSa(std::string_view name) {
  auto it = sa_runtime_.find(name);
  if (it != sa_runtime_.end() && !it->second.protects.empty()) {
    return absl::FailedPreconditionError(absl::StrCat("SA '", AsAbsl(name), "' protects ",
                                                      it->second.protects.ToString(),
                                                      "; change or remove that first"));
  }
  if (absl::Status s = sas_.Delete(name); !s.ok()) return s;
  if (it != sa_runtime_.end()) {
    tables_->RetireObject(std::move(it->second.sa));  // a worker may still hold it
    sa_runtime_.erase(it);
  }
  return absl::OkStatus();
}

void App::LogEvents() {
  LogSaExpiry();
  for (uint16_t p = 0; p < ports_.size(); ++p) {
    PortRuntime& rt = ports_[p];
    if (!rt.started) continue;
    rte_eth_link link = {};
    if (rte_eth_link_get_nowait(p, &link) != 0) continue;
    const int up = link.link_status == RTE_ETH_LINK_UP ? 1 : 0;
    if (up == rt.link_up) continue;
    rt.link_up = up;
    if (up) {
      log::Emit(log::Type::kPort, RTE_LOG_NOTICE, "port %u (%s): link up, %s, %s-duplex", p,
                rt.caps.name, rte_eth_link_speed_to_str(link.link_speed),
                link.link_duplex == RTE_ETH_LINK_FULL_DUPLEX ? "full" : "half");
    } else {
      log::Emit(log::Type::kPort, RTE_LOG_WARNING, "port %u (%s): link down", p, rt.caps.name);
    }
  }
  // Learn events that never reached the FDB: a full ring or the per-burst rate limit on
  // the workers' side, max-macs or a full FDB on ours. One line per segment and second.
  for (const auto& [name, seg] : writer_->segments()) {
    auto& [ring, limit] = logged_learn_drops_[seg.id];
    const uint64_t now_ring = stats_->Segment(seg.id).learn_dropped;
    if (now_ring > ring) {
      log::Emit(log::Type::kFdb, RTE_LOG_WARNING,
                "segment %s: %u learn events lost (learn ring full or rate-limited: more new "
                "MACs than the control thread takes in)",
                name, now_ring - ring);
    }
    if (seg.limit_dropped > limit) {
      const bool at_max = seg.max_macs != 0 && seg.learned_macs >= seg.max_macs;
      log::Emit(log::Type::kFdb, RTE_LOG_WARNING, "segment %s: %u new MACs not learned (%s)", name,
                seg.limit_dropped - limit,
                at_max ? absl::StrCat("max-macs ", seg.max_macs, " reached")
                       : absl::StrCat("the FDB is full: ", tables_->max_fdb_entries(),
                                      " entries, --max_fdb_entries"));
    }
    ring = now_ring;
    limit = seg.limit_dropped;
  }
}

void App::PollFdb() {
  const uint32_t now_s =
      static_cast<uint32_t>((rte_get_tsc_cycles() - start_tsc_) / rte_get_tsc_hz());
  if (now_s != tables_->fdb_now_s()) {
    tables_->SetFdbNow(now_s);
    writer_->AgeFdb(now_s);
  }
  // At most this many events per call, so commands and the rest of housekeeping go on
  // while a MAC flood fills the ring (what does not fit there is counted by workers).
  constexpr unsigned kBudget = 65536;
  FdbLearnEvent events[64];
  unsigned n;
  for (unsigned done = 0; fdb_ring_ != nullptr && done < kBudget; done += n) {
    n = rte_ring_sc_dequeue_burst_elem(fdb_ring_, events, sizeof(FdbLearnEvent), 64, nullptr);
    if (n == 0) break;
    for (unsigned i = 0; i < n; ++i) writer_->LearnFdb(events[i], now_s);
  }
}

void App::Sleep(uint32_t ms) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (std::chrono::steady_clock::now() < end && !interrupted()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    Poll();
  }
}

absl::Status App::SetPortMac(uint16_t p, const MacAddress& mac) {
  if (absl::Status s = writer_->CheckPort(p); !s.ok()) return s;
  // Ports without a settable MAC (pcap, af_packet on some kernels) still use this one as
  // the address the dataplane answers for and sends from.
  (void)drivers::SetPortMac(p, mac);
  return writer_->SetPortMac(p, mac);
}

void App::DetachTraces() {
  if (!running_) return;  // no worker runs: none reads its trace
  for (auto& w : workers_) w->SetTrace(nullptr);
  rte_rcu_qsbr_synchronize(tables_->qsbr(), RTE_QSBR_THRID_INVALID);
}

absl::Status App::AddTrace(uint32_t n, int32_t port) {
  constexpr uint32_t kMaxRecords = 100000;  // per worker, ~60 MB
  if (port >= 0) {
    if (absl::Status s = writer_->CheckPort(static_cast<uint16_t>(port)); !s.ok()) return s;
  }
  const size_t nw = worker_lcores_.size();
  // The counters a traced packet may move: every tunnel and segment id in use.
  uint32_t tunnel_limit = 1, segment_limit = 1;
  for (const auto& [name, rec] : writer_->tunnels())
    tunnel_limit = std::max(tunnel_limit, rec.id + 1);
  for (const auto& [name, seg] : writer_->segments()) {
    segment_limit = std::max(segment_limit, seg.id + 1);
    tunnel_limit = std::max(tunnel_limit, seg.anchor + 1);
    for (const SegmentRemoteRecord& r : seg.remotes)
      tunnel_limit = std::max(tunnel_limit, r.id + 1);
    if (seg.group) tunnel_limit = std::max(tunnel_limit, seg.group->id + 1);
  }
  // From here no worker touches its trace (remaining, count) until it is attached again.
  DetachTraces();
  auto attach = [this] {
    if (!running_) return;
    for (size_t w = 0; w < workers_.size() && w < traces_.size(); ++w) {
      workers_[w]->SetTrace(traces_[w].get());
    }
  };
  for (const auto& t : traces_) {
    if (t->count.load() + t->remaining + n > kMaxRecords) {
      attach();
      return absl::ResourceExhaustedError(absl::StrCat("a trace holds at most ", kMaxRecords,
                                                       " packets per worker: 'clear trace' first"));
    }
  }
  traces_.resize(nw);
  for (size_t w = 0; w < nw; ++w) {
    auto next = std::make_unique<TraceBuffer>();
    const uint32_t kept = traces_[w] ? traces_[w]->count.load() : 0;
    next->remaining = (traces_[w] ? traces_[w]->remaining : 0) + n;
    next->capacity = kept + next->remaining;
    next->records.reset(new TraceRecord[next->capacity]);
    if (kept > 0) std::copy_n(traces_[w]->records.get(), kept, next->records.get());
    next->count.store(kept);
    next->port = port;
    next->tunnel_limit = tunnel_limit;
    next->segment_limit = segment_limit;
    next->tunnel_snapshot.reset(new uint64_t[tunnel_limit]);
    next->segment_snapshot.reset(new uint64_t[segment_limit]);
    traces_[w] = std::move(next);
  }
  attach();
  return absl::OkStatus();
}

void App::ClearTrace() {
  DetachTraces();
  traces_.clear();
}

absl::Status App::StartCapture(const CaptureRequest& request) {
  if (absl::Status s = writer_->CheckPort(request.port); !s.ok()) return s;
  if (ports_closed_) return absl::FailedPreconditionError("ports are closed");
  const drivers::PortState& st = ports_[request.port].state;
  return capture_->Start(request, ports_configured_ ? st.rx_queues : 0,
                         ports_configured_ ? st.tx_queues : 0);
}

absl::Status App::SetPortMtu(uint16_t p, uint16_t mtu) {
  if (absl::Status s = writer_->CheckPort(p); !s.ok()) return s;
  const drivers::PortCaps& caps = ports_[p].caps;
  if (mtu < caps.min_mtu || mtu > caps.max_mtu) {
    return absl::OutOfRangeError(absl::StrCat("port ", p, " supports MTU ", caps.min_mtu, "..",
                                              caps.max_mtu, ", not ", mtu));
  }
  if (ports_[p].started) {
    if (int rc = rte_eth_dev_set_mtu(p, mtu); rc != 0 && rc != -ENOTSUP) {
      return absl::InternalError(absl::StrCat("port ", p, ": cannot set MTU: ", rte_strerror(-rc)));
    }
  }
  return writer_->SetPortMtu(p, mtu);
}

absl::Status App::ConfigurePorts() {
  const uint16_t nb_workers = static_cast<uint16_t>(worker_lcores_.size());
  // Validate every port before touching any, so a refused start changes nothing.
  for (uint16_t p = 0; p < ports_.size(); ++p) {
    if (ports_[p].caps.max_tx_queues == 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("port ", p, " (", ports_[p].caps.name, ") has no tx queue"));
    }
  }
  uint32_t mbufs = 0;
  std::vector<drivers::PortSetup> setups(ports_.size());
  for (uint16_t p = 0; p < ports_.size(); ++p) {
    drivers::PortSetup& s = setups[p];
    s.rx_queues = std::min<uint16_t>(nb_workers, ports_[p].caps.max_rx_queues);
    // A tx queue per worker where the port has enough; with fewer, workers share them
    // under a lock (drivers/queue_layout.h).
    s.tx_queues = std::min<uint16_t>(nb_workers, ports_[p].caps.max_tx_queues);
    s.rx_desc = std::min(options_.rx_desc, ports_[p].caps.max_rx_desc);
    s.tx_desc = std::min(options_.tx_desc, ports_[p].caps.max_tx_desc);
    s.mtu = writer_->port(p).mtu;
    mbufs += drivers::MbufsNeeded(s.rx_queues, s.rx_desc, s.tx_queues, s.tx_desc);
  }
  // Per-lcore caches hold up to 1.5× their size each.
  mbufs += static_cast<uint32_t>(worker_lcores_.size() + 1) * 384 + 1024;
  if (options_.mbufs != 0) mbufs = options_.mbufs;
  absl::StatusOr<rte_mempool*> pool =
      drivers::CreateMbufPool("tundra_mbufs", mbufs, static_cast<int>(rte_socket_id()));
  if (!pool.ok()) return pool.status();
  pools_.push_back(*pool);
  // Fragments point into the original packet through data-less (indirect) mbufs.
  indirect_pool_ = rte_pktmbuf_pool_create("tundra_indirect", 8191, 256, 0, 0,
                                           static_cast<int>(rte_socket_id()));
  if (indirect_pool_ == nullptr) {
    return absl::ResourceExhaustedError("cannot create the indirect mbuf pool");
  }
  pools_.push_back(indirect_pool_);
  for (uint16_t p = 0; p < ports_.size(); ++p) {
    setups[p].pool = *pool;
    absl::StatusOr<drivers::PortState> st =
        drivers::ConfigureAndStartPort(p, ports_[p].caps, setups[p]);
    if (!st.ok()) return st.status();
    ports_[p].state = *st;
    ports_[p].started = true;
    // The dataplane enforces the configured MTU even where the PMD keeps its own.
    writer_->SetPortOffloads(p, st->tx_ipv4_cksum, st->tx_udp_cksum, st->tx_outer_cksum);
  }
  std::vector<drivers::PortQueueCounts> counts;
  for (const PortRuntime& rt : ports_) {
    counts.push_back({rt.state.rx_queues, rt.state.tx_queues});
  }
  std::vector<drivers::PortQueueLayout> layout = drivers::PlanQueueLayout(nb_workers, counts);
  for (uint16_t p = 0; p < ports_.size(); ++p) {
    PortRuntime& rt = ports_[p];
    rt.layout = std::move(layout[p]);
    rt.tx_locks.clear();
    for (uint16_t q = 0; q < rt.layout.tx_queues(); ++q) {
      rt.tx_locks.push_back(rt.layout.TxQueueShared(q) ? std::make_unique<TxQueueLock>() : nullptr);
    }
    // The layout, once per port, where an operator looks when one worker is busier.
    const std::string rss =
        rt.state.rss ? absl::StrJoin(drivers::RssFieldNames(rt.state.rss_hf), ",") : "off";
    std::fprintf(stderr, "tundra: port %u (%s): rx queues %u (%s), rss %s; tx queues %u (%s)\n",
                 unsigned{p}, rt.caps.name.c_str(), unsigned{rt.state.rx_queues},
                 drivers::DescribeRxLayout(rt.layout).c_str(), rss.c_str(),
                 unsigned{rt.state.tx_queues}, drivers::DescribeTxLayout(rt.layout).c_str());
  }
  ports_configured_ = true;
  return absl::OkStatus();
}

absl::Status App::Start() {
  if (running_) return absl::FailedPreconditionError("already started");
  if (ports_closed_) return absl::FailedPreconditionError("ports are closed");
  if (!ports_configured_) {
    if (absl::Status s = ConfigurePorts(); !s.ok()) return s;
  }
  if (const CaptureStatus c = capture_->status(); c.active && !c.attached) {
    const drivers::PortState& st = ports_[c.request.port].state;
    if (absl::Status s = capture_->Attach(st.rx_queues, st.tx_queues); !s.ok()) return s;
  }
  // The queues each worker polls and sends on, as ConfigurePorts laid them out.
  const size_t nb_workers = worker_lcores_.size();
  std::vector<std::vector<RxQueue>> rx(nb_workers);
  std::vector<std::vector<TxQueueRef>> tx(nb_workers, std::vector<TxQueueRef>(ports_.size()));
  for (uint16_t p = 0; p < ports_.size(); ++p) {
    const PortRuntime& rt = ports_[p];
    for (uint16_t q = 0; q < rt.layout.rx_worker.size(); ++q) {
      rx[rt.layout.rx_worker[q]].push_back(RxQueue{p, q});
    }
    for (uint16_t w = 0; w < nb_workers; ++w) {
      const uint16_t q = rt.layout.TxQueueOf(w);
      tx[w][p] = TxQueueRef{q, rt.tx_locks[q] ? &rt.tx_locks[q]->lock : nullptr};
    }
  }
  workers_.clear();
  WorkerContext shared;
  shared.tables = tables_.get();
  shared.punt_ring = punt_ring_;
  shared.learn_ring = learn_ring_;
  shared.fdb_ring = fdb_ring_;
  shared.tx_ring = tx_ring_;
  shared.direct_pool = pools_.front();
  shared.indirect_pool = indirect_pool_;
  for (size_t w = 0; w < nb_workers; ++w) {
    workers_.push_back(std::make_unique<Worker>(static_cast<uint32_t>(w), shared,
                                                counters_[w].get(), rx[w], tx[w]));
  }
  for (size_t w = 0; w < workers_.size() && w < traces_.size(); ++w) {
    workers_[w]->SetTrace(traces_[w].get());
  }
  for (size_t w = 0; w < workers_.size(); ++w) {
    if (int rc = rte_eal_remote_launch(&Worker::LcoreMain, workers_[w].get(), worker_lcores_[w]);
        rc != 0) {
      for (size_t v = 0; v < w; ++v) workers_[v]->RequestStop();
      rte_eal_mp_wait_lcore();
      return absl::InternalError(absl::StrCat("cannot launch worker on lcore ", worker_lcores_[w],
                                              ": ", rte_strerror(-rc)));
    }
  }
  running_ = true;
  log::Emit(log::Type::kControl, RTE_LOG_INFO, "started: %u workers on %u ports", workers_.size(),
            ports_.size());
  // Probes due while nothing could send them go out now, not a backoff later.
  writer_->nexthops().ProbeUnresolvedNow();
  return absl::OkStatus();
}

bool App::SendFrame(uint16_t port, const uint8_t* frame, uint16_t len) {
  if (!running_ || pools_.empty()) return false;
  rte_mbuf* m = rte_pktmbuf_alloc(pools_.front());
  if (m == nullptr) return false;
  char* data = rte_pktmbuf_append(m, len);
  if (data == nullptr) {
    rte_pktmbuf_free(m);
    return false;
  }
  std::memcpy(data, frame, len);
  m->port = port;
  if (rte_ring_sp_enqueue(tx_ring_, m) != 0) {
    rte_pktmbuf_free(m);
    return false;
  }
  return true;
}

absl::Status App::Stop() {
  if (!running_) return absl::OkStatus();
  for (auto& w : workers_) w->RequestStop();
  for (unsigned lcore : worker_lcores_) rte_eal_wait_lcore(lcore);
  running_ = false;
  LogSaExpiry();  // what the last second did, before the once-a-second look would
  tables_->Reclaim();
  log::Emit(log::Type::kControl, RTE_LOG_INFO, "stopped");
  return absl::OkStatus();
}

void App::Quit() {
  // The capture's callbacks go before the ports close.
  if (capture_ != nullptr) {
    if (absl::StatusOr<std::string> summary = capture_->Stop(); summary.ok()) {
      log::Emit(log::Type::kControl, RTE_LOG_NOTICE, "%s", *summary);
    }
  }
  (void)Stop();
  if (ports_configured_ && !ports_closed_) {
    for (uint16_t p = 0; p < ports_.size(); ++p) {
      if (ports_[p].started) (void)drivers::StopAndClosePort(p);
      if (ports_[p].link_up == 1) {
        log::Emit(log::Type::kPort, RTE_LOG_NOTICE, "port %u (%s): closed", p, ports_[p].caps.name);
      }
      ports_[p].started = false;
      ports_[p].link_up = -1;
    }
    ports_closed_ = true;
  }
  quit_.store(true);
}

void App::WaitIdle(uint32_t ms) {
  if (!running_) return;
  const uint64_t hz = rte_get_tsc_hz();
  const uint64_t quiet = hz / 1000 * ms;
  uint64_t last = stats_->TotalRxPackets();
  uint64_t last_change = rte_rdtsc();
  while (rte_rdtsc() - last_change < quiet && !interrupted()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    Poll();
    const uint64_t now = stats_->TotalRxPackets();
    if (now != last) {
      last = now;
      last_change = rte_rdtsc();
    }
  }
}

}  // namespace tundra
