// The tables workers read and the control thread writes.
//
// Concurrency rules (read these before touching anything here)
// ------------------------------------------------------------
// 1. One writer. Only the control thread calls the write-side methods. Workers call
//    only the read-side methods. Nothing here takes a lock.
// 2. Immutable entries. A Tunnel or PortView is built complete by the control thread,
//    then published with a release store of its pointer. It is never modified after
//    that. To change one, build a new entry and publish it in the old one's place.
//    A worker therefore sees either the old entry or the new one, never a mix.
// 3. Grace periods. A replaced or removed entry may still be in use by a worker that
//    loaded its pointer before the swap. It is handed to an RCU defer queue and freed
//    only after every worker has reported a quiescent state (DPDK rte_rcu_qsbr) since.
//    Workers report once per poll loop, outside any use of a table pointer, and go
//    offline when they stop, so a stopped worker never delays reclamation.
// 4. Ids outlive nothing. A tunnel id is returned to the free list by the same deferred
//    reclamation, so a worker holding an id from a bulk hash lookup cannot land on a
//    different tunnel that reused it within the same grace period.
// 5. Small scalars (the attachment table, the UDP-port table) are single atomic words:
//    a reader sees the old value or the new one.
// 6. The decap hash and the host-neighbor hash are rte_hash with lock-free readers
//    (RW_CONCURRENCY_LF) and their own QSBR defer queues for deleted key slots. A
//    neighbor's value (MAC and port) is packed into the hash's 64-bit data word, so an
//    update is one atomic store.
// 7. Routes are changed in place, never rebuilt (a rebuild costs O(routes) and a 64 MB
//    table per change). IPv4: one rte_lpm, created at the first route, registered with
//    the LPM library's own RCU integration on our QSBR variable (rte_lpm_rcu_qsbr_add,
//    defer-queue mode): rte_lpm_add / rte_lpm_delete write entries with single atomic
//    stores, and a tbl8 group a delete frees is reused only after a grace period, so a
//    worker inside a lookup never sees it recycled. Defer-queue mode rather than SYNC:
//    SYNC waits a whole grace period inside every delete that frees a tbl8 group; the
//    queue makes deletes wait for nothing, and an add that finds no free group waits once
//    (SetRoute) only when groups are still queued. IPv6: rte_lpm6 has no RCU support in
//    DPDK 22.11 and its writers may rewrite entries a lock-free reader is walking, so
//    there are two identical copies. A change goes to the standby copy, which is then
//    published (release store of the RouteTable view), the control thread waits out a
//    grace period (rte_rcu_qsbr_synchronize: workers never wait), and the same change
//    goes to the copy no worker can still be reading. Both RouteTable views share the
//    one rte_lpm, so the workers' lookups are exactly those of a rebuilt table.
// 8. TunnelState is the one piece of per-tunnel state workers write: GRE sequence
//    numbers, updated with atomic read-modify-write because several workers may send
//    or receive on one tunnel — once per run of a tunnel's packets in a burst, not per
//    packet. The send and receive numbers sit on cache lines of their own, so an encap
//    worker and a decap worker of one tunnel do not share a line.
// 10. Segments (segment.h) are immutable entries published like tunnels. The FDB
//     (fdb.h) is an rte_hash like the decap hash; its 64-bit value is replaced with one
//     store. Workers never write it: what they learn goes to the control thread as
//     FdbLearnEvents through a ring, including the refresh of an entry whose stamp is
//     old, so ageing needs no per-hit write. The FDB clock (fdb_now_s) is a word the
//     control thread advances once a second. The FDB generation changes (release)
//     after every change of an existing entry other than a refresh (a move, a
//     removal, static over learned); a worker's FDB cache (fdb_cache.h) trusts an
//     entry only under the generation it read (acquire) at the start of its burst.
// 11. Next hops. A tunnel names a path: its remote as reached from its uplink. A path
//     names the next hop it goes through (the remote itself when on-link, else a route's
//     gateway), and a next hop holds that neighbor's MAC. Both are single atomic words,
//     so a neighbor's new MAC (one store) or a route change (one store per remote)
//     re-points every tunnel behind it without rebuilding one, and a packet is sent with
//     the old MAC or the new, never a mix. Path and next-hop ids are reused only after a
//     grace period, like tunnel ids. Slot 0 of both is always 0: "none".
// 9. Hosts carry a generation the control thread bumps (release) after every change;
//    a worker's host cache (host_cache.h) trusts an entry only under the generation it
//    read (acquire) at the start of its burst.
#pragma once

#include <rte_hash.h>
#include <rte_lpm.h>
#include <rte_lpm6.h>
#include <rte_rcu_qsbr.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "dataplane/decap_key.h"
#include "dataplane/esp_input.h"
#include "dataplane/fdb.h"
#include "dataplane/huge_array.h"
#include "dataplane/segment.h"
#include "dataplane/tunnel.h"

namespace tundra {

enum class PortRole : uint8_t { kNone = 0, kUplink = 1, kAccess = 2 };

// What a worker needs to know about one port.
struct alignas(RTE_CACHE_LINE_SIZE) PortView {
  PortRole role = PortRole::kNone;
  bool has_v4 = false;
  bool has_v6 = false;
  uint8_t mac[6] = {};
  uint8_t v4[4] = {};
  uint8_t v6[16] = {};
  uint8_t v4_plen = 0;  // prefix lengths of the addresses: the on-link subnets
  uint8_t v6_plen = 0;
  // Tx checksum offloads the port advertises (and that were enabled at configure time).
  bool tx_ipv4_cksum = false;
  bool tx_udp_cksum = false;
  // An access port with an address routes IP into L3 (gre) tunnels and answers ARP/ND
  // for that address; one without bridges frames into its xconnects.
  bool routed = false;
};

// Mutable per-tunnel state, shared by workers (see rule 8).
struct alignas(RTE_CACHE_LINE_SIZE) TunnelState {
  alignas(RTE_CACHE_LINE_SIZE) std::atomic<uint32_t> tx_seq{0};
  alignas(RTE_CACHE_LINE_SIZE) std::atomic<uint32_t> rx_seq{0};
  std::atomic<bool> rx_seq_valid{false};
};

// The routes of routed access ports: destination prefix → gre tunnel id. A view that
// Tables owns (rule 7): v4 is the one rte_lpm, v6 one of the two rte_lpm6 copies.
struct RouteTable {
  rte_lpm* v4 = nullptr;
  rte_lpm6* v6 = nullptr;
};

// A host on a routed access port, as packed into the neighbor hash's data word.
inline uint64_t PackHost(const uint8_t mac[6], uint16_t port) {
  uint64_t v = port;
  for (int i = 0; i < 6; ++i) v |= uint64_t{mac[i]} << (16 + 8 * i);
  return v;
}
inline uint16_t HostPort(uint64_t v) { return static_cast<uint16_t>(v); }
inline void HostMac(uint64_t v, uint8_t mac[6]) {
  static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "mac[i] is byte i of v >> 16");
  const uint64_t bytes = v >> 16;
  std::memcpy(mac, &bytes, 6);
}

// A segment's tenant address, the key of its IP → MAC bindings.
struct SegmentHostKey {
  uint32_t segment = 0;
  uint8_t family = 0;
  uint8_t pad[3] = {};
  uint8_t ip[16] = {};
};
static_assert(sizeof(SegmentHostKey) == 24);

struct HostKey {
  uint8_t family = 0;
  uint8_t pad[3] = {};
  uint8_t ip[16] = {};
};
static_assert(sizeof(HostKey) == 20);

inline HostKey MakeHostKey(uint8_t family, const uint8_t* ip) {
  HostKey k;
  k.family = family;
  std::memcpy(k.ip, ip, family == 4 ? 4 : 16);
  return k;
}

// A next hop's word: its MAC (byte i at bits 8i..8i+7) and kNextHopValid; 0 while the
// neighbor is unresolved.
inline constexpr uint64_t kNextHopValid = uint64_t{1} << 63;
inline uint64_t PackNextHop(const uint8_t mac[6]) {
  static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "mac[i] is byte i of the word");
  uint64_t v = 0;
  std::memcpy(&v, mac, 6);
  return v | kNextHopValid;
}

inline constexpr uint32_t kMaxHosts = 65536;
// Routes per address family (--max_routes): room for 100k and more.
inline constexpr uint32_t kDefaultMaxRoutes = 1u << 17;
inline constexpr uint32_t kMaxMaxRoutes = 1u << 24;
inline constexpr uint32_t kMaxStaticNeighbors = 65536;  // beyond one next hop per tunnel
inline constexpr uint16_t kVlanUntagged = 0;
inline constexpr uint16_t kVlanSlots = 4096;

class Tables {
 public:
  struct Config {
    uint32_t max_tunnels = 65536;
    uint32_t max_segments = kDefaultMaxSegments;
    uint32_t max_fdb_entries = 1u << 20;
    uint32_t max_routes = kDefaultMaxRoutes;  // per address family
    uint32_t max_workers = RTE_MAX_LCORE;
    int socket = SOCKET_ID_ANY;
  };

  static absl::StatusOr<std::unique_ptr<Tables>> Create(const Config& config);
  ~Tables();
  Tables(const Tables&) = delete;
  Tables& operator=(const Tables&) = delete;

  // ---- read side: workers ------------------------------------------------------
  const PortView* port(uint16_t port) const { return ports_[port].load(std::memory_order_acquire); }
  const Tunnel* tunnel(uint32_t id) const { return tunnels_[id].load(std::memory_order_acquire); }
  // The inbound SAs by SPI, or null while there are none (decap then skips ESP).
  const EspInboundTable* esp_inbound() const {
    return esp_inbound_.load(std::memory_order_acquire);
  }
  uint32_t attachment(uint16_t port, uint16_t vlan) const {
    return attachments_[port * kVlanSlots + vlan].load(std::memory_order_relaxed);
  }
  // TunnelType of a UDP destination port (host order), 0 when none uses it.
  uint8_t udp_tunnel_type(uint16_t dst_port) const {
    return udp_types_[dst_port].load(std::memory_order_relaxed);
  }
  // ids[i] = tunnel id for keys[i], or kNoTunnel. n ≤ RTE_HASH_LOOKUP_BULK_MAX.
  void LookupDecap(const DecapKey** keys, uint32_t n, uint32_t* ids) const;
  TunnelState& tunnel_state(uint32_t id) const { return states_[id]; }
  // The host `ip` (4 or 16 bytes) on a routed access port: PackHost() value, or 0.
  uint64_t LookupHost(uint8_t family, const uint8_t* ip) const;
  // values[i] = LookupHost of keys[i]. n ≤ RTE_HASH_LOOKUP_BULK_MAX.
  void LookupHosts(const HostKey** keys, uint32_t n, uint64_t* values) const;
  // Changes whenever a host is set or deleted (rule 9); never 0.
  uint32_t host_generation() const { return host_generation_.load(std::memory_order_acquire); }
  const RouteTable* routes() const { return routes_.load(std::memory_order_acquire); }

  const Segment* segment(uint32_t id) const {
    return segments_[id].load(std::memory_order_acquire);
  }
  // entries[i] = the FDB value of keys[i] (fdb.h), hit bit i set when found.
  // n ≤ RTE_HASH_LOOKUP_BULK_MAX.
  uint64_t LookupFdb(const FdbKey** keys, uint32_t n, uint64_t* entries) const;
  // The MAC of tenant address `ip` (4 or 16 bytes) in a segment (segment_suppress.h).
  bool LookupSegmentHost(uint32_t segment, uint8_t family, const uint8_t* ip, uint8_t mac[6]) const;
  // Changes after every FDB change but a new entry or a refresh (rule 10); never 0.
  uint64_t fdb_generation() const { return fdb_generation_.load(std::memory_order_acquire); }
  // Seconds on the FDB clock (the stamps of fdb.h count in these).
  uint32_t fdb_now_s() const { return fdb_now_s_.load(std::memory_order_relaxed); }
  // The word (PackNextHop) of the next hop `path` goes through; 0 when the path has no
  // route or its next hop is unresolved (path 0, none, gives 0 too).
  uint64_t PathNextHop(uint32_t path) const {
    return nexthops_[paths_[path].load(std::memory_order_relaxed)].load(std::memory_order_relaxed);
  }
  // The next hop id of `path`; 0 when it has no route.
  uint32_t path_nexthop_id(uint32_t path) const {
    return paths_[path].load(std::memory_order_relaxed);
  }

  rte_rcu_qsbr* qsbr() const { return qsbr_; }
  uint32_t max_tunnels() const { return config_.max_tunnels; }
  uint32_t max_segments() const { return config_.max_segments; }
  uint32_t max_fdb_entries() const { return config_.max_fdb_entries; }
  uint32_t max_routes() const { return config_.max_routes; }
  // Tests: the view over IPv6 copy `i` (0 or 1); null before the first route.
  const RouteTable* route_copy(int i) const {
    return lpm4_ == nullptr ? nullptr : &route_views_[i];
  }

  // ---- write side: the control thread only --------------------------------------
  void PublishPort(uint16_t port, std::unique_ptr<PortView> view);
  // Allocates a tunnel id, or returns kNoTunnel when all are in use.
  uint32_t AllocateTunnelId();
  // Publishes `tunnel` under tunnel->id, retiring the entry it replaces.
  void PublishTunnel(std::unique_ptr<Tunnel> tunnel);
  // Unpublishes a tunnel; its entry and id are reclaimed after a grace period.
  void RemoveTunnel(uint32_t id);
  // Publishes the inbound SA table (null: none), retiring the one it replaces.
  void PublishEspInbound(std::unique_ptr<EspInboundTable> table);
  // Deletes `object` after a grace period: what workers may still be reading (an SA).
  template <typename T>
  void RetireObject(std::unique_ptr<T> object) {
    Retire(
        object.release(), [](void* p) { delete static_cast<T*>(p); }, kNoTunnel);
  }
  absl::Status AddDecapKey(const DecapKey& key, uint32_t id);
  absl::Status DeleteDecapKey(const DecapKey& key);
  void SetAttachment(uint16_t port, uint16_t vlan, uint32_t id);
  void SetUdpTunnelType(uint16_t dst_port, uint8_t type);
  // Resets a tunnel id's shared state before the tunnel is first published.
  void ResetTunnelState(uint32_t id);
  absl::Status SetHost(uint8_t family, const uint8_t* ip, uint64_t packed);
  void DeleteHost(uint8_t family, const uint8_t* ip);
  // Adds a route to tunnel `id`, or points an existing one at it: one atomic change as
  // workers see it. On error (a table full) nothing changed.
  absl::Status SetRoute(const IpPrefix& prefix, uint32_t id);
  // Deletes a route; destinations it covered fall back to the next shorter one.
  absl::Status DeleteRoute(const IpPrefix& prefix);
  // Segments: ids 1..max_segments, published and removed like tunnels.
  uint32_t AllocateSegmentId();
  void PublishSegment(std::unique_ptr<Segment> segment);
  void RemoveSegment(uint32_t id);
  // `changes`: the key exists and the entry is more than a refresh of it (another
  // place, static over learned): workers' cached copies go (rule 10).
  absl::Status SetFdb(const FdbKey& key, uint64_t entry, bool changes = false);
  void DeleteFdb(const FdbKey& key);
  absl::Status SetSegmentHost(uint32_t segment, uint8_t family, const uint8_t* ip,
                              const uint8_t mac[6]);
  void DeleteSegmentHost(uint32_t segment, uint8_t family, const uint8_t* ip);
  void SetFdbNow(uint32_t now_s) { fdb_now_s_.store(now_s, std::memory_order_relaxed); }
  // Paths and next hops (rule 11): ids from 1 (paths up to max_tunnels, next hops up to
  // max_tunnels + kMaxStaticNeighbors); 0 when all are in use.
  uint32_t AllocatePathId();
  uint32_t AllocateNextHopId();
  // The id goes back to its pool after a grace period; its word is zeroed now.
  void ReleasePathId(uint32_t id);
  void ReleaseNextHopId(uint32_t id);
  void SetPath(uint32_t path, uint32_t nexthop) {
    paths_[path].store(nexthop, std::memory_order_relaxed);
  }
  void SetNextHop(uint32_t nexthop, uint64_t word) {
    nexthops_[nexthop].store(word, std::memory_order_relaxed);
  }
  // Frees retired entries whose grace period has ended. Cheap; call it often.
  void Reclaim();
  // Blocks until every retired entry is freed (workers must be running or offline).
  void ReclaimAll();
  uint32_t tunnels_in_use() const { return tunnels_in_use_; }

 private:
  // The id pools whose ids are reused only after a grace period.
  enum class IdPool : uint32_t { kNone, kTunnel, kSegment, kPath, kNextHop, kCount };
  struct Retired {
    void* object;  // freed with `free` when not null
    void (*free)(void*);
    IdPool pool;  // and `id` goes back to this pool
    uint32_t id;
  };
  static_assert(sizeof(Retired) % 4 == 0);
  static void FreeRetired(void* self, void* elements, unsigned int n);

  explicit Tables(const Config& config);
  absl::Status Init();
  void Retire(void* object, void (*free)(void*), uint32_t id_to_release,
              uint32_t segment_to_release = 0);
  // Queues `r` for the end of the current grace period.
  void Defer(const Retired& r);
  // The free ids of `pool` (control thread only); taking one from an empty pool
  // reclaims what a grace period has freed first. 0 when none is left.
  std::vector<uint32_t>& FreeIds(IdPool pool) { return free_ids_[static_cast<size_t>(pool)]; }
  uint32_t TakeId(IdPool pool);
  void BumpHostGeneration();
  void BumpFdbGeneration();
  absl::Status CreateRouteTables();
  // Applies an IPv6 route change to both copies (rule 7); `undo` reverts `change`.
  template <typename Change, typename Undo>
  absl::Status ChangeRoutesV6(const IpPrefix& p, Change change, Undo undo);
  // Publishes `entry` in `slot` and retires the entry it replaces (with the ids to free
  // after the grace period).
  template <typename T>
  void Swap(std::atomic<const T*>& slot, T* entry, uint32_t id_to_release = kNoTunnel,
            uint32_t segment_to_release = 0);

  Config config_;
  rte_rcu_qsbr* qsbr_ = nullptr;
  rte_rcu_qsbr_dq* dq_ = nullptr;
  rte_hash* decap_ = nullptr;
  rte_hash* hosts_ = nullptr;
  rte_hash* fdb_ = nullptr;
  rte_hash* segment_hosts_ = nullptr;
  std::atomic<uint32_t> fdb_now_s_{0};
  std::atomic<uint64_t> fdb_generation_{1};
  HugeArray<std::atomic<const Segment*>> segments_;
  std::atomic<uint32_t> host_generation_{1};
  std::atomic<const RouteTable*> routes_{nullptr};  // &route_views_[active_v6_] or null
  rte_lpm* lpm4_ = nullptr;
  rte_lpm6* lpm6_[2] = {};
  RouteTable route_views_[2];
  int active_v6_ = 0;
  HugeArray<TunnelState> states_;
  HugeArray<std::atomic<uint32_t>> paths_;     // path id → next hop id
  HugeArray<std::atomic<uint64_t>> nexthops_;  // next hop id → PackNextHop word
  int instance_ = 0;
  std::unique_ptr<std::atomic<const PortView*>[]> ports_;
  HugeArray<std::atomic<const Tunnel*>> tunnels_;
  std::atomic<const EspInboundTable*> esp_inbound_{nullptr};
  std::unique_ptr<std::atomic<uint32_t>[]> attachments_;
  std::unique_ptr<std::atomic<uint8_t>[]> udp_types_;
  std::array<std::vector<uint32_t>, static_cast<size_t>(IdPool::kCount)> free_ids_;
  uint32_t tunnels_in_use_ = 0;
};

}  // namespace tundra
