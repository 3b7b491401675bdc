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
// 6. The decap hash is rte_hash with lock-free readers (RW_CONCURRENCY_LF) and its own
//    QSBR defer queue for deleted key slots.
#pragma once

#include <rte_hash.h>
#include <rte_rcu_qsbr.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
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
  // Tx checksum offloads the port advertises (and that were enabled at configure time).
  bool tx_ipv4_cksum = false;
  bool tx_udp_cksum = false;
};

// The decap lookup key. `remote` is zero for protocols that are not point-to-point
// (VXLAN, GENEVE: the remote is checked after the lookup, to tell a wrong VNI apart
// from a wrong source).
struct DecapKey {
  uint8_t type = 0;    // TunnelType
  uint8_t family = 0;  // 4 or 6
  uint16_t zero = 0;
  uint32_t vni = 0;  // VNI or GRE key
  uint8_t local[16] = {};
  uint8_t remote[16] = {};
};
static_assert(sizeof(DecapKey) == 40);

inline constexpr uint32_t kNoTunnel = 0;  // tunnel ids start at 1
inline constexpr uint16_t kVlanUntagged = 0;
inline constexpr uint16_t kVlanSlots = 4096;

class Tables {
 public:
  struct Config {
    uint32_t max_tunnels = 65536;
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
  uint32_t attachment(uint16_t port, uint16_t vlan) const {
    return attachments_[port * kVlanSlots + vlan].load(std::memory_order_relaxed);
  }
  // TunnelType of a UDP destination port (host order), 0 when none uses it.
  uint8_t udp_tunnel_type(uint16_t dst_port) const {
    return udp_types_[dst_port].load(std::memory_order_relaxed);
  }
  // ids[i] = tunnel id for keys[i], or kNoTunnel. n ≤ RTE_HASH_LOOKUP_BULK_MAX.
  void LookupDecap(const DecapKey** keys, uint32_t n, uint32_t* ids) const;

  rte_rcu_qsbr* qsbr() const { return qsbr_; }
  uint32_t max_tunnels() const { return config_.max_tunnels; }

  // ---- write side: the control thread only --------------------------------------
  void PublishPort(uint16_t port, std::unique_ptr<PortView> view);
  // Allocates a tunnel id, or returns kNoTunnel when all are in use.
  uint32_t AllocateTunnelId();
  // Publishes `tunnel` under tunnel->id, retiring the entry it replaces.
  void PublishTunnel(std::unique_ptr<Tunnel> tunnel);
  // Unpublishes a tunnel; its entry and id are reclaimed after a grace period.
  void RemoveTunnel(uint32_t id);
  absl::Status AddDecapKey(const DecapKey& key, uint32_t id);
  absl::Status DeleteDecapKey(const DecapKey& key);
  void SetAttachment(uint16_t port, uint16_t vlan, uint32_t id);
  void SetUdpTunnelType(uint16_t dst_port, uint8_t type);
  // Frees retired entries whose grace period has ended. Cheap; call it often.
  void Reclaim();
  // Blocks until every retired entry is freed (workers must be running or offline).
  void ReclaimAll();
  uint32_t tunnels_in_use() const { return tunnels_in_use_; }

 private:
  struct Retired {
    void* object;
    void (*free)(void*);
    uint32_t id_to_release;  // kNoTunnel when none
    uint32_t pad;
  };
  static_assert(sizeof(Retired) % 4 == 0);
  static void FreeRetired(void* self, void* elements, unsigned int n);

  explicit Tables(const Config& config);
  absl::Status Init();
  void Retire(void* object, void (*free)(void*), uint32_t id_to_release);

  Config config_;
  rte_rcu_qsbr* qsbr_ = nullptr;
  rte_rcu_qsbr_dq* dq_ = nullptr;
  rte_hash* decap_ = nullptr;
  std::unique_ptr<std::atomic<const PortView*>[]> ports_;
  std::unique_ptr<std::atomic<const Tunnel*>[]> tunnels_;
  std::unique_ptr<std::atomic<uint32_t>[]> attachments_;
  std::unique_ptr<std::atomic<uint8_t>[]> udp_types_;
  std::vector<uint32_t> free_ids_;  // control thread only
  uint32_t tunnels_in_use_ = 0;
};

}  // namespace tundra
