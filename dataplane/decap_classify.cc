#include "dataplane/decap_classify.h"

namespace tundra {

void ClassifyStage(const Tables& tables, DecapCache& cache, DecapBatch& b) {
  const DecapKey* miss_keys[kBurstSize];
  uint8_t miss_flow[kBurstSize];
  uint32_t miss_slot[kBurstSize];
  uint32_t misses = 0;
  for (uint16_t i = 0; i < b.nflows; ++i) {
    DecapFlow& f = b.flows[i];
    const uint32_t slot = DecapCache::Slot(f.key);
    f.t = cache.Find(tables, slot, f.key, f.id);
    if (f.t == nullptr) [[unlikely]] {
      miss_keys[misses] = &f.key;
      miss_flow[misses] = static_cast<uint8_t>(i);
      miss_slot[misses++] = slot;
    }
  }
  if (misses == 0) return;
  uint32_t ids[kBurstSize];
  tables.LookupDecap(miss_keys, misses, ids);
  for (uint32_t j = 0; j < misses; ++j) {
    DecapFlow& f = b.flows[miss_flow[j]];
    f.t = ids[j] != kNoTunnel ? tables.tunnel(ids[j]) : nullptr;
    f.id = f.t != nullptr ? ids[j] : kNoTunnel;
    if (f.t != nullptr) cache.Set(miss_slot[j], ids[j]);
  }
}

}  // namespace tundra
