#include "dataplane/tables.h"

#include <rte_hash_crc.h>
#include <rte_malloc.h>

#include <algorithm>
#include <atomic>
#include <cstdio>

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
  std::unique_ptr<Tables> t(new Tables(config));
  if (absl::Status s = t->Init(); !s.ok()) return s;
  return t;
}

RouteTable::~RouteTable() {
  if (v4 != nullptr) rte_lpm_free(v4);
  if (v6 != nullptr) rte_lpm6_free(v6);
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
  free_segment_ids_.reserve(config_.max_segments);
  for (uint32_t id = config_.max_segments; id >= 1; --id) free_segment_ids_.push_back(id);
  free_ids_.reserve(config_.max_tunnels);
  for (uint32_t id = config_.max_tunnels; id >= 1; --id) free_ids_.push_back(id);

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
  delete routes_.load();
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
    if (retired[i].object != nullptr) retired[i].free(retired[i].object);
    if (retired[i].id_to_release != kNoTunnel) {
      tables->free_ids_.push_back(retired[i].id_to_release);
    }
    if (retired[i].segment_to_release != 0) {
      tables->free_segment_ids_.push_back(retired[i].segment_to_release);
    }
  }
}

void Tables::Retire(void* object, void (*free)(void*), uint32_t id_to_release,
                    uint32_t segment_to_release) {
  Retired r = {object, free, id_to_release, segment_to_release};
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

uint32_t Tables::AllocateTunnelId() {
  if (free_ids_.empty()) {
    Reclaim();
    if (free_ids_.empty()) return kNoTunnel;
  }
  uint32_t id = free_ids_.back();
  free_ids_.pop_back();
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

absl::Status Tables::PublishRoutes(const std::vector<std::pair<IpPrefix, uint32_t>>& routes) {
  auto table = std::make_unique<RouteTable>();
  const int gen = route_generation_++;
  const std::string v4_name = absl::StrCat("tundra_r4_", instance_, "_", gen);
  const std::string v6_name = absl::StrCat("tundra_r6_", instance_, "_", gen);
  rte_lpm_config c4 = {};
  c4.max_rules = kMaxRoutes;
  c4.number_tbl8s = 256;
  table->v4 = rte_lpm_create(v4_name.c_str(), config_.socket, &c4);
  rte_lpm6_config c6 = {};
  c6.max_rules = kMaxRoutes;
  c6.number_tbl8s = 1 << 12;
  table->v6 = rte_lpm6_create(v6_name.c_str(), config_.socket, &c6);
  if (table->v4 == nullptr || table->v6 == nullptr) {
    return absl::ResourceExhaustedError("cannot allocate a route table");
  }
  for (const auto& [prefix, id] : routes) {
    int rc;
    if (prefix.addr.is_v4()) {
      uint32_t a;
      std::memcpy(&a, prefix.addr.bytes.data(), 4);
      rc = rte_lpm_add(table->v4, rte_be_to_cpu_32(a), prefix.len, id);
    } else {
      rc = rte_lpm6_add(table->v6, prefix.addr.bytes.data(), prefix.len, id);
    }
    if (rc != 0) return absl::ResourceExhaustedError("route table is full");
  }
  const RouteTable* old = routes_.exchange(table.release(), std::memory_order_acq_rel);
  if (old != nullptr) Retire(const_cast<RouteTable*>(old), &Delete<RouteTable>, kNoTunnel);
  return absl::OkStatus();
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

uint32_t Tables::AllocateSegmentId() {
  if (free_segment_ids_.empty()) {
    Reclaim();
    if (free_segment_ids_.empty()) return 0;
  }
  const uint32_t id = free_segment_ids_.back();
  free_segment_ids_.pop_back();
  return id;
}

void Tables::PublishSegment(std::unique_ptr<Segment> segment) {
  const uint32_t id = segment->id;
  Swap(segments_[id], segment.release());
}

void Tables::RemoveSegment(uint32_t id) { Swap<Segment>(segments_[id], nullptr, kNoTunnel, id); }

absl::Status Tables::SetFdb(const FdbKey& key, uint64_t entry) {
  static_assert(sizeof(void*) == sizeof(uint64_t), "the FDB value is the hash's data word");
  if (rte_hash_add_key_data(fdb_, &key, reinterpret_cast<void*>(entry)) != 0) {
    return absl::ResourceExhaustedError(absl::StrCat("the FDB is full (", config_.max_fdb_entries,
                                                     " entries; raise --max_fdb_entries)"));
  }
  return absl::OkStatus();
}

void Tables::DeleteFdb(const FdbKey& key) { (void)rte_hash_del_key(fdb_, &key); }

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
