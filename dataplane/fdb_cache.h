// A worker's cache of FDB answers in front of the shared rte_hash (rule 10 of tables.h).
//
// The FDB hash costs ~180 instructions a key even in bulk, and a segment's frame needs
// two keys (its source to learn, its destination to forward). Each of kSlots slots
// holds a key, the entry the table gave for it and the FDB generation it was read
// under; the control thread bumps the generation (release) after every change that can
// make a cached answer wrong — a move, a removal, a static entry replacing a learned
// one — and a worker trusts a slot only under the generation it read (acquire) at the
// start of its burst. Only hits are cached, so a new entry (a MAC learned) needs no
// bump. A refresh only renews an entry's stamp: the worker that asks for it renews its
// own cached copy (Restamp), so it asks once per refresh interval, not once per burst.
#pragma once

#include <cstdint>
#include <memory>

#include "dataplane/fdb.h"

namespace tundra {

class FdbCache {
 public:
  // 64 KiB: the MACs of a worker's busy conversations stay in its L2 cache.
  static constexpr uint32_t kSlots = 2048;

  static uint32_t Slot(const FdbKey& key) { return FdbKeyHash(&key, sizeof(key), 0) % kSlots; }
  // The entry cached for `key` at `slot` under `generation`, or false.
  bool Find(uint32_t slot, const FdbKey& key, uint64_t generation, uint64_t& entry) const {
    const Entry& e = slots_[slot];
    if (e.generation != generation || !(e.key == key)) return false;
    entry = e.entry;
    return true;
  }
  void Set(uint32_t slot, const FdbKey& key, uint64_t generation, uint64_t entry) {
    slots_[slot] = Entry{key, entry, generation};
  }

 private:
  struct alignas(32) Entry {
    FdbKey key;
    uint64_t entry = 0;
    uint64_t generation = 0;  // 0: empty (generations start at 1)
  };
  std::unique_ptr<Entry[]> slots_ = std::make_unique<Entry[]>(kSlots);
};

}  // namespace tundra
