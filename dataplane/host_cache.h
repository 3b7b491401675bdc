// The hosts of routed access ports (IP → MAC and port) that decapsulated L3 packets are
// sent to, as one worker last looked them up. The host table is an rte_hash (~150
// instructions a lookup); a stream of packets to a few hundred hosts finds them here in
// a direct-mapped array instead. The control thread bumps the table's generation after
// every change to a host, and an entry is used only while its generation is the one
// read at the start of the burst, so a changed or deleted host is looked up again from
// the next burst on — as fresh as a lookup in the table itself would be.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>

#include "dataplane/tables.h"

namespace tundra {

class HostCache {
 public:
  static constexpr uint32_t kSlots = 1024;

  static uint32_t Slot(const HostKey& key) {
    static_assert(sizeof(HostKey) == 20);
    uint64_t w[2];
    uint32_t tail;
    std::memcpy(w, &key, 16);
    std::memcpy(&tail, reinterpret_cast<const uint8_t*>(&key) + 16, 4);
    const uint64_t h = __builtin_ia32_crc32di(__builtin_ia32_crc32di(0, w[0]), w[1]);
    return __builtin_ia32_crc32si(static_cast<uint32_t>(h), tail) % kSlots;
  }
  // The packed host (PackHost) cached for `key` at `slot` under `generation`, or 0.
  uint64_t Find(uint32_t slot, const HostKey& key, uint32_t generation) const {
    const Entry& e = entries_[slot];
    return e.generation == generation && std::memcmp(&e.key, &key, sizeof(key)) == 0 ? e.host : 0;
  }
  void Set(uint32_t slot, const HostKey& key, uint32_t generation, uint64_t host) {
    entries_[slot] = Entry{key, generation, host};
  }

 private:
  struct Entry {
    HostKey key;
    uint32_t generation = 0;  // Tables::host_generation() is never 0
    uint64_t host = 0;
  };
  std::unique_ptr<Entry[]> entries_ = std::make_unique<Entry[]>(kSlots);
};

}  // namespace tundra
