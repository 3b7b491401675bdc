// The forwarding database of segments (multipoint L2, segment.h): (segment, MAC) →
// where the MAC lives, a local member (port + VLAN) or a remote VTEP (the id of the
// segment's tunnel towards it). It is one rte_hash for every segment, read lock-free by
// workers in bulk and written only by the control thread; an entry's value is one
// 64-bit word, so an update (a move, a refresh) is one atomic store.
#pragma once

#include <cstdint>
#include <cstring>

namespace tundra {

// Two words: the segment id and the MAC's first four bytes, then its last two. 16
// bytes, not 10: rte_hash compares 16-byte keys with one vector compare, and a worker
// builds one from two loads.
struct alignas(16) FdbKey {
  uint64_t w[2] = {};
};
static_assert(sizeof(FdbKey) == 16);

inline bool operator==(const FdbKey& a, const FdbKey& b) {
  return ((a.w[0] ^ b.w[0]) | (a.w[1] ^ b.w[1])) == 0;
}

inline FdbKey MakeFdbKey(uint32_t segment, const uint8_t mac[6]) {
  uint32_t lo;
  uint16_t hi;
  std::memcpy(&lo, mac, 4);
  std::memcpy(&hi, mac + 4, 2);
  FdbKey k;
  k.w[0] = segment | (uint64_t{lo} << 32);
  k.w[1] = hi;
  return k;
}

inline uint32_t FdbKeyHash(const void* key, uint32_t /*len*/, uint32_t init) {
  const auto* k = static_cast<const FdbKey*>(key);
  return static_cast<uint32_t>(
      __builtin_ia32_crc32di(__builtin_ia32_crc32di(init, k->w[0]), k->w[1]));
}

// A place in a segment: where a frame came from, or where an FDB entry sends it.
//   local member: bits 0..15 port, 16..27 VLAN (0: untagged)
//   remote VTEP:  bits 0..31 the segment's tunnel id towards it, bit 32 set
using FdbPlace = uint64_t;
inline constexpr FdbPlace kFdbRemote = uint64_t{1} << 32;
inline constexpr FdbPlace kFdbPlaceMask = (uint64_t{1} << 33) - 1;
// A frame from a remote VTEP that is not one of the segment's (unknown-remote learn):
// it has no tunnel id yet; the control thread makes one when it learns from it.
inline constexpr FdbPlace kFdbUnknownRemote = kFdbRemote;

inline FdbPlace LocalPlace(uint16_t port, uint16_t vlan) { return port | (uint64_t{vlan} << 16); }
inline FdbPlace RemotePlace(uint32_t tunnel_id) { return kFdbRemote | tunnel_id; }
inline bool IsRemotePlace(FdbPlace p) { return (p & kFdbRemote) != 0; }
inline uint16_t PlacePort(FdbPlace p) { return static_cast<uint16_t>(p); }
inline uint16_t PlaceVlan(FdbPlace p) { return static_cast<uint16_t>((p >> 16) & 0xFFF); }
inline uint32_t PlaceTunnel(FdbPlace p) { return static_cast<uint32_t>(p); }

// An FDB entry's value: its place, whether it is static, and when the control thread
// last saw it refreshed (seconds, modulo 2^16; workers ask for a refresh when it is old).
inline constexpr uint64_t kFdbStatic = uint64_t{1} << 33;
inline constexpr int kFdbStampShift = 48;
inline uint64_t FdbEntry(FdbPlace place, bool is_static, uint32_t now_s) {
  return place | (is_static ? kFdbStatic : 0) |
         (uint64_t{static_cast<uint16_t>(now_s)} << kFdbStampShift);
}
inline FdbPlace EntryPlace(uint64_t e) { return e & kFdbPlaceMask; }
inline bool EntryStatic(uint64_t e) { return (e & kFdbStatic) != 0; }
inline uint16_t EntryStamp(uint64_t e) { return static_cast<uint16_t>(e >> kFdbStampShift); }

// What a worker tells the control thread about a source MAC it saw in a segment.
enum class FdbLearnKind : uint8_t {
  kNew,      // not in the FDB
  kMove,     // in the FDB at another place
  kRefresh,  // in the FDB here, with an old stamp (ageing)
  kHost,     // an ARP/ND frame says `ip` is at `mac` (segment_suppress.h)
};

struct FdbLearnEvent {
  uint32_t segment;
  uint8_t mac[6];
  FdbLearnKind kind;
  uint8_t family;  // of `ip`
  FdbPlace place;
  // kFdbUnknownRemote: the outer source address; kHost: the tenant address.
  uint8_t ip[16];
};
static_assert(sizeof(FdbLearnEvent) % 8 == 0);

inline bool IsZeroMac(const uint8_t mac[6]) {
  return (mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]) == 0;
}

}  // namespace tundra
