// A worker's cache of FDB answers in front of the shared rte_hash (rule 10 of tables.h).
//
// The FDB hash costs ~180 instructions a key even in bulk, and a segment's frame needs
// two keys (its source to learn, its destination to forward). Each entry holds a key,
// the entry the table gave for it and the FDB generation it was read under; the control
// thread bumps the generation (release) after every change that can make a cached
// answer wrong — a move, a removal, a static entry replacing a learned one — and a
// worker trusts an entry only under the generation it read (acquire) at the start of
// its burst. Only hits are cached, so a new entry (a MAC learned) needs no bump. A
// refresh only renews an entry's stamp: the worker that asks for it renews its own
// cached copy (Insert again), so it asks once per refresh interval, not once per burst.
//
// Two ways per set, one cache line: with one way, two busy MACs whose hashes meet would
// evict each other on every frame and send both to the shared table every time (a
// quarter of 512 MACs in 2048 slots do); with two, a set overflows only when three meet.
#pragma once

#include <cstdint>
#include <memory>

#include "dataplane/fdb.h"

namespace tundra {

class FdbCache {
 public:
  // 2 × 2048 entries in 128 KiB: the MACs of a worker's busy conversations stay in its
  // L2 cache.
  static constexpr uint32_t kSets = 2048;
  static constexpr uint32_t kWays = 2;

  static uint32_t SetOf(const FdbKey& key) {
    return FdbKeyHash(&key, sizeof(key), 0) & (kSets - 1);
  }
  // The entry cached for `key` in `set` under `generation`, or false.
  bool Find(uint32_t set, const FdbKey& key, uint64_t generation, uint64_t& entry) const {
    const Entry* way = sets_[set].way;
    for (uint32_t w = 0; w < kWays; ++w) {
      if (way[w].generation == generation && way[w].key == key) {
        entry = way[w].entry;
        return true;
      }
    }
    return false;
  }
  // Caches `entry` for `key`: in place when the set holds the key, else in the first way,
  // the entry there moving to the second (the oldest goes).
  void Insert(uint32_t set, const FdbKey& key, uint64_t generation, uint64_t entry) {
    Entry* way = sets_[set].way;
    if (way[1].key == key) {
      way[1] = Entry{key, entry, generation};
      return;
    }
    if (!(way[0].key == key)) way[1] = way[0];
    way[0] = Entry{key, entry, generation};
  }

 private:
  struct Entry {
    FdbKey key;
    uint64_t entry = 0;
    uint64_t generation = 0;  // 0: empty (generations start at 1)
  };
  struct alignas(64) Set {
    Entry way[kWays];
  };
  static_assert(sizeof(Set) == 64);
  std::unique_ptr<Set[]> sets_ = std::make_unique<Set[]>(kSets);
};

}  // namespace tundra
