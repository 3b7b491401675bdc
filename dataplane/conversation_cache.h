// A worker's cache of segment conversations: (segment, destination MAC, source MAC) →
// what the FDB said of both when SegmentForward last sent such a frame as plain known
// unicast (segment_unicast.h reads it). One lookup per frame where the FDB cache
// (fdb_cache.h) needs two — the exact-match cache of a segment, as OVS's EMC is of a
// datapath.
//
// The same FDB generation as the FDB cache's guards it (tables.h rule 10): a move, a
// removal, a static entry replacing a learned one bump it, and a set read under an
// older generation is empty. A new entry needs no bump: a conversation is cached only
// once both its MACs are known. What can change without a bump is checked at each
// lookup against the entry: the source's stamp (a refresh may be due) and where the
// frame came from (a source seen elsewhere is a move to learn).
//
// A set is one cache line: the generation it was filled under, and two ways, the newer
// first.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>

#include "dataplane/fdb.h"
#include "dataplane/proto/ether.h"

namespace tundra {

// A place in 32 bits: the remote bit moved to bit 31 (tunnel ids are below 2^24, a local
// place's port and VLAN fill 28 bits).
inline uint32_t PackPlace(FdbPlace p) {
  return static_cast<uint32_t>(p) | (IsRemotePlace(p) ? 1u << 31 : 0);
}
inline FdbPlace UnpackPlace(uint32_t p) { return (p & ~(1u << 31)) | (uint64_t{p >> 31} << 32); }
inline bool IsRemotePacked(uint32_t p) { return (p >> 31) != 0; }

struct Conversation {
  uint32_t to;     // the destination's place, packed
  uint32_t from;   // the source's place, packed (unless `fixed`)
  uint16_t stamp;  // the source's FDB stamp
  // The source needs no learning wherever the frame comes from: a static entry, or not a
  // host's MAC (multicast, zero).
  bool fixed;
};

class ConversationCache {
 public:
  // 2 × 2048 conversations in 128 KiB.
  static constexpr uint32_t kSets = 2048;

  // The frame's two MACs (its first 12 bytes) and its segment.
  struct Key {
    uint64_t w[2];
  };
  static Key KeyOf(uint32_t segment, const EtherHdr* eth) {
    Key k;
    uint32_t src_tail;
    std::memcpy(&k.w[0], eth, 8);
    std::memcpy(&src_tail, reinterpret_cast<const uint8_t*>(eth) + 8, 4);
    k.w[1] = src_tail | (uint64_t{segment} << 32);
    return k;
  }
  static uint32_t SetOf(const Key& k) {
    return static_cast<uint32_t>(
               __builtin_ia32_crc32di(__builtin_ia32_crc32di(0, k.w[0]), k.w[1])) &
           (kSets - 1);
  }

  bool Find(uint32_t set, const Key& k, uint64_t generation, Conversation& c) const {
    const Set& s = sets_[set];
    if (s.generation != generation) return false;
    for (uint32_t w = 0; w < 2; ++w) {
      const Way& way = s.way[w];
      if (((way.key[0] ^ k.w[0]) | (way.key[1] ^ k.w[1])) == 0) {
        c.to = way.to;
        c.from = way.from;
        c.stamp = s.stamp[w];
        c.fixed = s.fixed[w];
        return true;
      }
    }
    return false;
  }

  // Caches `c` for `k`: in place when the set holds `k`, else as the newer way.
  void Insert(uint32_t set, const Key& k, uint64_t generation, const Conversation& c) {
    Set& s = sets_[set];
    uint32_t w = 0;
    if (s.generation != generation) {
      s = Set{};
      s.generation = generation;
    } else if (((s.way[1].key[0] ^ k.w[0]) | (s.way[1].key[1] ^ k.w[1])) == 0) {
      w = 1;
    } else if (((s.way[0].key[0] ^ k.w[0]) | (s.way[0].key[1] ^ k.w[1])) != 0) {
      s.way[1] = s.way[0];
      s.stamp[1] = s.stamp[0];
      s.fixed[1] = s.fixed[0];
    }
    s.way[w] = Way{{k.w[0], k.w[1]}, c.to, c.from};
    s.stamp[w] = c.stamp;
    s.fixed[w] = c.fixed;
  }

 private:
  struct Way {
    uint64_t key[2];  // {0, 0}: empty (a segment id is never 0)
    uint32_t to, from;
  };
  struct alignas(64) Set {
    uint64_t generation = 0;  // 0: empty (generations start at 1)
    uint16_t stamp[2] = {};
    bool fixed[2] = {};
    Way way[2] = {};
  };
  static_assert(sizeof(Set) == 64);
  std::unique_ptr<Set[]> sets_ = std::make_unique<Set[]>(kSets);
};

}  // namespace tundra
