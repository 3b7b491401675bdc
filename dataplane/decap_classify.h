// Decap's classify stage: each flow's key → its tunnel.
//
// The decap table is an rte_hash with lock-free readers, whose bulk lookup costs ~180
// instructions a key. In front of it sits one per-worker cache (DecapCache): for each
// of 4096 hash slots, the tunnel id the table last gave for a key that hashed there. A
// hit is trusted only if the tunnel entry at that id carries the very same key (its
// decap_key), and entries are immutable and reclaimed only after a grace period, so a
// deleted tunnel or a reused id is a miss, never a wrong answer. Misses are looked up
// in one bulk call and refill the cache.
#pragma once

#include <cstdint>
#include <memory>

#include "dataplane/decap_batch.h"
#include "dataplane/tables.h"

namespace tundra {

class DecapCache {
 public:
  // 16 KiB of ids: the hot tunnels of a worker stay in its L1/L2 cache.
  static constexpr uint32_t kSlots = 4096;

  static uint32_t Slot(const DecapKey& key) { return DecapKeyHash(&key, sizeof(key), 0) % kSlots; }
  // The tunnel cached for `key` at `slot`, or nullptr.
  const Tunnel* Find(const Tables& tables, uint32_t slot, const DecapKey& key, uint32_t& id) const {
    id = ids_[slot];
    const Tunnel* t = tables.tunnel(id);
    return t != nullptr && t->decap_key == key ? t : nullptr;
  }
  void Set(uint32_t slot, uint32_t id) { ids_[slot] = id; }

 private:
  std::unique_ptr<uint32_t[]> ids_ = std::make_unique<uint32_t[]>(kSlots);  // kNoTunnel: empty
};

// Fills every flow's id and tunnel entry (kNoTunnel / nullptr when none has its key).
void ClassifyStage(const Tables& tables, DecapCache& cache, DecapBatch& b);

}  // namespace tundra
