#include "dataplane/tables.h"

#include <rte_hash_crc.h>
#include <rte_malloc.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <string>

#include "absl/strings/str_cat.h"

namespace tundra {

namespace {
std::atomic<int> instance_counter{0};

template <typename T>
void Delete(void* p) {
  delete static_cast<T*>(p);
}
}  // namespace

Tables::Tables(const Config& config) : config_(config) {}

absl::StatusOr<std::unique_ptr<Tables>> Tables::Create(const Config& config) {
  if (config.max_tunnels < 1 || config.max_tunnels > (1u << 24)) {
    return absl::InvalidArgumentError("max_tunnels must be within 1..16777216");
  }
  if (config.max_segments < 1 || config.max_segments >= kAttachSegment) {
    return absl::InvalidArgumentError("max_segments must be within 1..2147483647");
  }
  if (config.max_fdb_entries < 8) {
    return absl::InvalidArgumentError("max_fdb_entries must be at least 8");
  }
  if (config.max_routes < 1 || config.max_routes > kMaxMaxRoutes) {
    return absl::InvalidArgumentError("max_routes must be within 1..16777216");
  }
  std::unique_ptr<Tables> t(new Tables(config));
  if (absl::Status s = t->Init(); !s.ok()) return s;
  return t;
}

absl::Status Tables::Init() {
  const int instance = instance_counter.fetch_add(1);
  instance_ = instance;
  states_ = MakeHugeArray<TunnelState>(config_.max_tunnels + 1);
  // Id 0 is kNoTunnel, so the arrays have one slot more than there are tunnels.
  const uint32_t slots = config_.max_tunnels + 1;
  ports_ = std::make_unique<std::atomic<const PortView*>[]>(RTE_MAX_ETHPORTS);
  tunnels_ = MakeHugeArray<std::atomic<const Tunnel*>>(slots);
  attachments_ = std::make_unique<std::atomic<uint32_t>[]>(RTE_MAX_ETHPORTS * kVlanSlots);
  udp_types_ = std::make_unique<std::atomic<uint8_t>[]>(65536);
  segments_ = MakeHugeArray<std::atomic<const Segment*>>(config_.max_segments + 1);
  // A path per tunnel at most (a segment's remotes are tunnels); a next hop per path,
  // and room for static neighbors no tunnel uses (yet).
  paths_ = MakeHugeArray<std::atomic<uint32_t>>(slots);
  const uint32_t max_nexthops = config_.max_tunnels + kMaxStaticNeighbors;
  nexthops_ = MakeHugeArray<std::atomic<uint64_t>>(max_nexthops + 1);
  for (const auto& [pool, max] :
       {std::pair{IdPool::kTunnel, config_.max_tunnels},
        std::pair{IdPool::kSegment, config_.max_segments},
        std::pair{IdPool::kPath, config_.max_tunnels}, std::pair{IdPool::kNextHop, max_nexthops}}) {
    std::vector<uint32_t>& ids = FreeIds(pool);
    ids.reserve(max);
    for (uint32_t id = max; id >= 1; --id) ids.push_back(id);  // 1 is taken first
  }

  const size_t qsbr_size = rte_rcu_qsbr_get_memsize(config_.max_workers);
  qsbr_ = static_cast<rte_rcu_qsbr*>(
      rte_zmalloc_socket("tundra_qsbr", qsbr_size, RTE_CACHE_LINE_SIZE, config_.socket));
  if (qsbr_ == nullptr) return absl::ResourceExhaustedError("cannot allocate the RCU variable");
  if (rte_rcu_qsbr_init(qsbr_, config_.max_workers) != 0) {
    return absl::InternalError("rte_rcu_qsbr_init failed");
  }

  const std::string dq_name = absl::StrCat("tundra_dq", instance);
  rte_rcu_qsbr_dq_parameters dq_params = {};
  dq_params.name = dq_name.c_str();
  // Room for every tunnel to be replaced twice before a grace period ends; the
  // enqueue reclaims by itself once a quarter of that is waiting.
  dq_params.size = 2 * config_.max_tunnels + 2 * config_.max_segments + 2 * RTE_MAX_ETHPORTS;
  dq_params.esize = sizeof(Retired);
  dq_params.trigger_reclaim_limit = dq_params.size / 4;
  dq_params.max_reclaim_size = 64;
  dq_params.free_fn = &Tables::FreeRetired;
  dq_params.p = this;
  dq_params.v = qsbr_;
  dq_ = rte_rcu_qsbr_dq_create(&dq_params);
  if (dq_ == nullptr) return absl::ResourceExhaustedError("cannot create the RCU defer queue");

  const std::string hash_name = absl::StrCat("tundra_decap", instance);
  rte_hash_parameters hp = {};
  hp.name = hash_name.c_str();
  // Twice the tunnels: a deleted key's slot returns only after a grace period, and a
  // delete followed at once by an add must not find the table full.
  hp.entries = 2 * (config_.max_tunnels < 8 ? 8 : config_.max_tunnels);
  hp.key_len = sizeof(DecapKey);
  hp.hash_func = DecapKeyHash;
  hp.socket_id = config_.socket;
  // Lock-free readers with one writer; the extendable table guarantees that every one
  // of max_tunnels keys fits whatever their hash values.
  hp.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF | RTE_HASH_EXTRA_FLAGS_EXT_TABLE;
  decap_ = rte_hash_create(&hp);
  if (decap_ == nullptr) {
    return absl::ResourceExhaustedError(
        absl::StrCat("cannot create the decap hash for ", config_.max_tunnels, " tunnels"));
  }
  rte_hash_rcu_config rcu = {};
  rcu.v = qsbr_;
  rcu.mode = RTE_HASH_QSBR_MODE_DQ;
  if (rte_hash_rcu_qsbr_add(decap_, &rcu) != 0) {
    return absl::InternalError("rte_hash_rcu_qsbr_add failed");
  }

  const std::string hosts_name = absl::StrCat("tundra_hosts", instance);
  rte_hash_parameters hh = hp;
  hh.name = hosts_name.c_str();
  hh.entries = kMaxHosts;
  hh.key_len = sizeof(HostKey);
  hh.hash_func = rte_hash_crc;
  hosts_ = rte_hash_create(&hh);
  if (hosts_ == nullptr) return absl::ResourceExhaustedError("cannot create the host table");
  rte_hash_rcu_config rcu_hosts = {};
  rcu_hosts.v = qsbr_;
  rcu_hosts.mode = RTE_HASH_QSBR_MODE_DQ;
  if (rte_hash_rcu_qsbr_add(hosts_, &rcu_hosts) != 0) {
    return absl::InternalError("rte_hash_rcu_qsbr_add (hosts) failed");
  }

  const std::string fdb_name = absl::StrCat("tundra_fdb", instance);
  rte_hash_parameters fh = hp;
  fh.name = fdb_name.c_str();
  fh.entries = config_.max_fdb_entries;
  fh.key_len = sizeof(FdbKey);
  fh.hash_func = FdbKeyHash;
  fdb_ = rte_hash_create(&fh);
  if (fdb_ == nullptr) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "cannot create the FDB for ", config_.max_fdb_entries, " entries (--max_fdb_entries)"));
  }
  const std::string seg_hosts_name = absl::StrCat("tundra_seghosts", instance);
  rte_hash_parameters sh = hp;
  sh.name = seg_hosts_name.c_str();
  sh.entries = std::max<uint32_t>(config_.max_fdb_entries / 4, 8);
  sh.key_len = sizeof(SegmentHostKey);
  sh.hash_func = rte_hash_crc;
  segment_hosts_ = rte_hash_create(&sh);
  if (segment_hosts_ == nullptr) {
    return absl::ResourceExhaustedError("cannot create the segments' IP binding table");
  }
  rte_hash_rcu_config rcu_seg_hosts = {};
  rcu_seg_hosts.v = qsbr_;
  rcu_seg_hosts.mode = RTE_HASH_QSBR_MODE_DQ;
  if (rte_hash_rcu_qsbr_add(segment_hosts_, &rcu_seg_hosts) != 0) {
    return absl::InternalError("rte_hash_rcu_qsbr_add (segment hosts) failed");
  }
  rte_hash_rcu_config rcu_fdb = {};
  rcu_fdb.v = qsbr_;
  rcu_fdb.mode = RTE_HASH_QSBR_MODE_DQ;
  if (rte_hash_rcu_qsbr_add(fdb_, &rcu_fdb) != 0) {
    return absl::InternalError("rte_hash_rcu_qsbr_add (fdb) failed");
  }
  return absl::OkStatus();
}

Tables::~Tables() {
  delete esp_inbound_.load();
  if (dq_ != nullptr) {
    ReclaimAll();
    rte_rcu_qsbr_dq_delete(dq_);
  }
  if (decap_ != nullptr) rte_hash_free(decap_);
  if (hosts_ != nullptr) rte_hash_free(hosts_);
  if (fdb_ != nullptr) rte_hash_free(fdb_);
  if (segment_hosts_ != nullptr) rte_hash_free(segment_hosts_);
  if (segments_ != nullptr) {
    for (uint32_t id = 0; id <= config_.max_segments; ++id) delete segments_[id].load();
  }
  // Workers are gone; rte_lpm_free also drops the LPM's own defer queue, which uses qsbr_.
  if (lpm4_ != nullptr) rte_lpm_free(lpm4_);
  for (rte_lpm6* t : lpm6_) {
    if (t != nullptr) rte_lpm6_free(t);
  }
  if (tunnels_ != nullptr) {
    for (uint32_t id = 0; id <= config_.max_tunnels; ++id) delete tunnels_[id].load();
  }
  if (ports_ != nullptr) {
    for (int p = 0; p < RTE_MAX_ETHPORTS; ++p) delete ports_[p].load();
  }
  rte_free(qsbr_);
}

void Tables::LookupDecap(const DecapKey** keys, uint32_t n, uint32_t* ids) const {
  void* data[RTE_HASH_LOOKUP_BULK_MAX];
  uint64_t hits = 0;
  rte_hash_lookup_bulk_data(decap_, reinterpret_cast<const void**>(keys), n, &hits, data);
  for (uint32_t i = 0; i < n; ++i) {
    ids[i] =
        (hits >> i) & 1 ? static_cast<uint32_t>(reinterpret_cast<uintptr_t>(data[i])) : kNoTunnel;
  }
}

void Tables::FreeRetired(void* self, void* elements, unsigned int n) {
  auto* tables = static_cast<Tables*>(self);
  auto* retired = static_cast<Retired*>(elements);
  for (unsigned int i = 0; i < n; ++i) {
    const Retired& r = retired[i];
    if (r.object != nullptr) r.free(r.object);
    if (r.pool != IdPool::kNone) tables->FreeIds(r.pool).push_back(r.id);
  }
}

void Tables::Retire(void* object, void (*free)(void*), uint32_t id_to_release,
                    uint32_t segment_to_release) {
  Retired r = {object, free, IdPool::kNone, 0};
  if (id_to_release != kNoTunnel) {
    r.pool = IdPool::kTunnel;
    r.id = id_to_release;
  } else if (segment_to_release != 0) {
    r.pool = IdPool::kSegment;
    r.id = segment_to_release;
  }
  Defer(r);
}

void Tables::Defer(const Retired& retired) {
  Retired r = retired;
  if (rte_rcu_qsbr_dq_enqueue(dq_, &r) != 0) {
    // The queue is full even after reclaiming: wait out a grace period here instead.
    rte_rcu_qsbr_synchronize(qsbr_, RTE_QSBR_THRID_INVALID);
    FreeRetired(this, &r, 1);
  }
}

void Tables::PublishPort(uint16_t port, std::unique_ptr<PortView> view) {
  const PortView* old = ports_[port].exchange(view.release(), std::memory_order_acq_rel);
  if (old != nullptr) Retire(const_cast<PortView*>(old), &Delete<PortView>, kNoTunnel);
}

uint32_t Tables::TakeId(IdPool pool) {
  std::vector<uint32_t>& ids = FreeIds(pool);
  if (ids.empty()) Reclaim();
  if (ids.empty()) return 0;
  const uint32_t id = ids.back();
  ids.pop_back();
  return id;
}

uint32_t Tables::AllocatePathId() { return TakeId(IdPool::kPath); }

uint32_t Tables::AllocateNextHopId() { return TakeId(IdPool::kNextHop); }

void Tables::ReleasePathId(uint32_t id) {
  SetPath(id, 0);
  Defer(Retired{nullptr, nullptr, IdPool::kPath, id});
}

void Tables::ReleaseNextHopId(uint32_t id) {
  SetNextHop(id, 0);
  Defer(Retired{nullptr, nullptr, IdPool::kNextHop, id});
}

uint32_t Tables::AllocateTunnelId() {
  const uint32_t id = TakeId(IdPool::kTunnel);
  if (id == 0) return kNoTunnel;
  ++tunnels_in_use_;
  return id;
}

template <typename T>
void Tables::Swap(std::atomic<const T*>& slot, T* entry, uint32_t id_to_release,
                  uint32_t segment_to_release) {
  const T* old = slot.exchange(entry, std::memory_order_acq_rel);
  if (old != nullptr || id_to_release != kNoTunnel || segment_to_release != 0) {
    Retire(const_cast<T*>(old), &Delete<T>, id_to_release, segment_to_release);
  }
}

void Tables::PublishTunnel(std::unique_ptr<Tunnel> tunnel) {
  const uint32_t id = tunnel->id;
  Swap(tunnels_[id], tunnel.release());
}

void Tables::PublishEspInbound(std::unique_ptr<EspInboundTable> table) {
  Swap(esp_inbound_, table.release());
}

void Tables::RemoveTunnel(uint32_t id) {
  --tunnels_in_use_;
  Swap<Tunnel>(tunnels_[id], nullptr, id);
}

absl::Status Tables::AddDecapKey(const DecapKey& key, uint32_t id) {
  int rc = rte_hash_add_key_data(decap_, &key, reinterpret_cast<void*>(uintptr_t{id}));
  if (rc != 0) return absl::ResourceExhaustedError("decap table is full");
  return absl::OkStatus();
}

absl::Status Tables::DeleteDecapKey(const DecapKey& key) {
  if (rte_hash_del_key(decap_, &key) < 0) return absl::NotFoundError("no such decap key");
  return absl::OkStatus();
}

void Tables::SetAttachment(uint16_t port, uint16_t vlan, uint32_t id) {
  attachments_[port * kVlanSlots + vlan].store(id, std::memory_order_release);
}

void Tables::SetUdpTunnelType(uint16_t dst_port, uint8_t type) {
  udp_types_[dst_port].store(type, std::memory_order_release);
}

void Tables::ResetTunnelState(uint32_t id) {
  TunnelState& st = states_[id];
  st.tx_seq.store(0, std::memory_order_relaxed);
  st.rx_seq.store(0, std::memory_order_relaxed);
  st.rx_seq_valid.store(false, std::memory_order_relaxed);
}

uint64_t Tables::LookupHost(uint8_t family, const uint8_t* ip) const {
  const HostKey k = MakeHostKey(family, ip);
  void* data = nullptr;
  if (rte_hash_lookup_data(hosts_, &k, &data) < 0) return 0;
  return reinterpret_cast<uintptr_t>(data);
}

void Tables::LookupHosts(const HostKey** keys, uint32_t n, uint64_t* values) const {
  void* data[RTE_HASH_LOOKUP_BULK_MAX];
  uint64_t hits = 0;
  rte_hash_lookup_bulk_data(hosts_, reinterpret_cast<const void**>(keys), n, &hits, data);
  for (uint32_t i = 0; i < n; ++i) {
    values[i] = (hits >> i) & 1 ? reinterpret_cast<uintptr_t>(data[i]) : 0;
  }
}

void Tables::BumpHostGeneration() {
  uint32_t g = host_generation_.load(std::memory_order_relaxed) + 1;
  if (g == 0) g = 1;
  host_generation_.store(g, std::memory_order_release);
}

absl::Status Tables::SetHost(uint8_t family, const uint8_t* ip, uint64_t packed) {
  const HostKey k = MakeHostKey(family, ip);
  if (rte_hash_add_key_data(hosts_, &k, reinterpret_cast<void*>(uintptr_t{packed})) != 0) {
    return absl::ResourceExhaustedError("host table is full");
  }
  BumpHostGeneration();
  return absl::OkStatus();
}

void Tables::DeleteHost(uint8_t family, const uint8_t* ip) {
  const HostKey k = MakeHostKey(family, ip);
  if (rte_hash_del_key(hosts_, &k) >= 0) BumpHostGeneration();
}

namespace {

// tbl8 groups per table (1 KiB each). An IPv4 group serves one /24 that holds longer
// routes; an IPv6 route past /24 needs a group for each further byte it shares with no
// other route. One group per eight routes holds tables of mostly /24-or-shorter IPv4
// routes and clustered IPv6 ones; the floors keep small tables useful.
uint32_t Tbl8GroupsV4(uint32_t max_routes) { return std::max<uint32_t>(256, max_routes / 8); }
uint32_t Tbl8GroupsV6(uint32_t max_routes) { return std::max<uint32_t>(4096, max_routes / 8); }

uint32_t HostOrderV4(const IpPrefix& p) {
  uint32_t a;
  std::memcpy(&a, p.addr.bytes.data(), 4);
  return rte_be_to_cpu_32(a);
}

absl::Status RouteError(int rc, const IpPrefix& p, uint32_t max_routes) {
  if (rc == -ENOSPC) {
    return absl::ResourceExhaustedError(
        absl::StrCat("route table is full: ", max_routes, " ", p.addr.is_v4() ? "IPv4" : "IPv6",
                     " routes or their tbl8 groups are in use (raise --max_routes)"));
  }
  return absl::InternalError(absl::StrCat("route ", p.ToString(), ": LPM error ", rc));
}

}  // namespace

absl::Status Tables::CreateRouteTables() {
  // Created once, at the first route: three 64 MiB tbl24 arrays are not worth holding in
  // a tundra that routes nothing.
  const std::string v4_name = absl::StrCat("tundra_r4_", instance_);
  rte_lpm_config c4 = {};
  c4.max_rules = config_.max_routes;
  c4.number_tbl8s = Tbl8GroupsV4(config_.max_routes);
  rte_lpm* lpm4 = rte_lpm_create(v4_name.c_str(), config_.socket, &c4);
  if (lpm4 == nullptr) return absl::ResourceExhaustedError("cannot allocate the IPv4 route table");
  rte_lpm_rcu_config rcu = {};
  rcu.v = qsbr_;
  rcu.mode = RTE_LPM_QSBR_MODE_DQ;  // why DQ and not SYNC: rule 7
  if (rte_lpm_rcu_qsbr_add(lpm4, &rcu) != 0) {
    rte_lpm_free(lpm4);
    return absl::InternalError("rte_lpm_rcu_qsbr_add failed");
  }
  rte_lpm6* lpm6[2] = {};
  for (int i = 0; i < 2; ++i) {
    const std::string v6_name = absl::StrCat("tundra_r6_", instance_, "_", i);
    rte_lpm6_config c6 = {};
    c6.max_rules = config_.max_routes;
    c6.number_tbl8s = Tbl8GroupsV6(config_.max_routes);
    lpm6[i] = rte_lpm6_create(v6_name.c_str(), config_.socket, &c6);
  }
  if (lpm6[0] == nullptr || lpm6[1] == nullptr) {
    rte_lpm_free(lpm4);
    for (rte_lpm6* t : lpm6) {
      if (t != nullptr) rte_lpm6_free(t);
    }
    return absl::ResourceExhaustedError("cannot allocate the IPv6 route tables");
  }
  lpm4_ = lpm4;
  for (int i = 0; i < 2; ++i) {
    lpm6_[i] = lpm6[i];
    route_views_[i] = RouteTable{lpm4, lpm6[i]};
  }
  active_v6_ = 0;
  routes_.store(&route_views_[0], std::memory_order_release);
  return absl::OkStatus();
}

template <typename Change, typename Undo>
absl::Status Tables::ChangeRoutesV6(const IpPrefix& p, Change change, Undo undo) {
  const int standby = 1 - active_v6_;
  // No worker reads the standby copy: the switch away from it waited a grace period.
  // rte_lpm6_add checks for room before it writes, so a refused change left it as it was.
  if (const int rc = change(lpm6_[standby]); rc != 0) return RouteError(rc, p, config_.max_routes);
  const int old = active_v6_;
  active_v6_ = standby;
  routes_.store(&route_views_[standby], std::memory_order_release);
  // Workers that loaded the old view before the store finish their burst with it first.
  rte_rcu_qsbr_synchronize(qsbr_, RTE_QSBR_THRID_INVALID);
  if (change(lpm6_[old]) != 0) {
    // Cannot happen: both copies took the same changes from the same empty start, and
    // rte_lpm6 is deterministic. Should it anyway, put the copies back equal.
    active_v6_ = old;
    routes_.store(&route_views_[old], std::memory_order_release);
    rte_rcu_qsbr_synchronize(qsbr_, RTE_QSBR_THRID_INVALID);
    undo(lpm6_[standby]);
    return absl::InternalError("the IPv6 route table copies disagree");
  }
  return absl::OkStatus();
}

absl::Status Tables::SetRoute(const IpPrefix& p, uint32_t id) {
  // The LPMs keep 24-bit (IPv4) and 21-bit (IPv6) next hops; a larger id would alias.
  const uint32_t max_hop = p.addr.is_v4() ? (1u << 24) - 1 : (1u << 21) - 1;
  if (id == kNoTunnel || id > max_hop) {
    return absl::OutOfRangeError(absl::StrCat("tunnel id ", id, " does not fit the ",
                                              p.addr.is_v4() ? "IPv4" : "IPv6",
                                              " route table's next hop (at most ", max_hop, ")"));
  }
  if (lpm4_ == nullptr) {
    if (absl::Status s = CreateRouteTables(); !s.ok()) return s;
  }
  if (p.addr.is_v4()) {
    const uint32_t ip = HostOrderV4(p);
    // Replacing a next hop rewrites each table entry with one atomic store.
    int rc = rte_lpm_add(lpm4_, ip, p.len, id);
    if (rc == -ENOSPC && p.len > 24) {
      // tbl8 groups that deletes freed wait in the LPM's defer queue for a grace period:
      // wait it out here (the control thread, never a worker) and the retry reuses one.
      rte_rcu_qsbr_synchronize(qsbr_, RTE_QSBR_THRID_INVALID);
      rc = rte_lpm_add(lpm4_, ip, p.len, id);
    }
    if (rc == -EEXIST) return absl::OkStatus();  // the same next hop already
    return rc == 0 ? absl::OkStatus() : RouteError(rc, p, config_.max_routes);
  }
  const uint8_t* ip = p.addr.bytes.data();
  uint32_t old_id = 0;
  const bool existed = rte_lpm6_is_rule_present(lpm6_[active_v6_], ip, p.len, &old_id) == 1;
  return ChangeRoutesV6(
      p, [&](rte_lpm6* t) { return rte_lpm6_add(t, ip, p.len, id); },
      [&](rte_lpm6* t) {
        (void)(existed ? rte_lpm6_add(t, ip, p.len, old_id) : rte_lpm6_delete(t, ip, p.len));
      });
}

absl::Status Tables::DeleteRoute(const IpPrefix& p) {
  const absl::Status not_found = absl::NotFoundError(absl::StrCat("no route ", p.ToString()));
  if (lpm4_ == nullptr) return not_found;
  if (p.addr.is_v4()) {
    // In place: entries the route filled take the next shorter route's hop, one store
    // each; a tbl8 group it empties goes to the LPM's defer queue.
    const int rc = rte_lpm_delete(lpm4_, HostOrderV4(p), p.len);
    if (rc == -EINVAL) return not_found;
    return rc == 0 ? absl::OkStatus() : RouteError(rc, p, config_.max_routes);
  }
  const uint8_t* ip = p.addr.bytes.data();
  uint32_t old_id = 0;
  if (rte_lpm6_is_rule_present(lpm6_[active_v6_], ip, p.len, &old_id) != 1) return not_found;
  // rte_lpm6_delete is incremental in 22.11 (the rule hash, the shorter rule's lookup
  // over at most 127 depths, the entries the prefix covers): no rebuild.
  return ChangeRoutesV6(
      p, [&](rte_lpm6* t) { return rte_lpm6_delete(t, ip, p.len); },
      [&](rte_lpm6* t) { (void)rte_lpm6_add(t, ip, p.len, old_id); });
}

void Tables::Reclaim() { rte_rcu_qsbr_dq_reclaim(dq_, UINT32_MAX, nullptr, nullptr, nullptr); }

void Tables::ReclaimAll() {
  unsigned int pending = 1;
  while (pending > 0) {
    rte_rcu_qsbr_dq_reclaim(dq_, UINT32_MAX, nullptr, &pending, nullptr);
    if (pending > 0) rte_pause();
  }
}

}  // namespace tundra

namespace tundra {

uint64_t Tables::LookupFdb(const FdbKey** keys, uint32_t n, uint64_t* entries) const {
  void* data[RTE_HASH_LOOKUP_BULK_MAX];
  uint64_t hits = 0;
  rte_hash_lookup_bulk_data(fdb_, reinterpret_cast<const void**>(keys), n, &hits, data);
  for (uint32_t i = 0; i < n; ++i) entries[i] = reinterpret_cast<uintptr_t>(data[i]);
  return hits;
}

uint32_t Tables::AllocateSegmentId() { return TakeId(IdPool::kSegment); }

void Tables::PublishSegment(std::unique_ptr<Segment> segment) {
  const uint32_t id = segment->id;
  Swap(segments_[id], segment.release());
}

void Tables::RemoveSegment(uint32_t id) { Swap<Segment>(segments_[id], nullptr, kNoTunnel, id); }

absl::Status Tables::SetFdb(const FdbKey& key, uint64_t entry, bool changes) {
  static_assert(sizeof(void*) == sizeof(uint64_t), "the FDB value is the hash's data word");
  if (rte_hash_add_key_data(fdb_, &key, reinterpret_cast<void*>(entry)) != 0) {
    return absl::ResourceExhaustedError(absl::StrCat("the FDB is full (", config_.max_fdb_entries,
                                                     " entries; raise --max_fdb_entries)"));
  }
  if (changes) BumpFdbGeneration();
  return absl::OkStatus();
}

void Tables::DeleteFdb(const FdbKey& key) {
  if (rte_hash_del_key(fdb_, &key) >= 0) BumpFdbGeneration();
}

void Tables::BumpFdbGeneration() {
  // 64 bits: never wraps, so a slot filled long ago can never look current again.
  fdb_generation_.store(fdb_generation_.load(std::memory_order_relaxed) + 1,
                        std::memory_order_release);
}

namespace {

SegmentHostKey MakeSegmentHostKey(uint32_t segment, uint8_t family, const uint8_t* ip) {
  SegmentHostKey k;
  k.segment = segment;
  k.family = family;
  std::memcpy(k.ip, ip, family == 4 ? 4 : 16);
  return k;
}

}  // namespace

bool Tables::LookupSegmentHost(uint32_t segment, uint8_t family, const uint8_t* ip,
                               uint8_t mac[6]) const {
  const SegmentHostKey k = MakeSegmentHostKey(segment, family, ip);
  void* data = nullptr;
  if (rte_hash_lookup_data(segment_hosts_, &k, &data) < 0) return false;
  const uint64_t v = reinterpret_cast<uintptr_t>(data);
  std::memcpy(mac, &v, 6);
  return true;
}

absl::Status Tables::SetSegmentHost(uint32_t segment, uint8_t family, const uint8_t* ip,
                                    const uint8_t mac[6]) {
  const SegmentHostKey k = MakeSegmentHostKey(segment, family, ip);
  uint64_t v = 0;
  std::memcpy(&v, mac, 6);
  if (rte_hash_add_key_data(segment_hosts_, &k, reinterpret_cast<void*>(v)) != 0) {
    return absl::ResourceExhaustedError("the segments' IP binding table is full");
  }
  return absl::OkStatus();
}

void Tables::DeleteSegmentHost(uint32_t segment, uint8_t family, const uint8_t* ip) {
  const SegmentHostKey k = MakeSegmentHostKey(segment, family, ip);
  (void)rte_hash_del_key(segment_hosts_, &k);
}

}  // namespace tundra
