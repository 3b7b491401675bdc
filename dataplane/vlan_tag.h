// Adding and removing the 802.1Q tag of an access port's VLAN attachment.
#pragma once

#include <rte_mbuf.h>

#include <cstdint>
#include <cstring>

#include "dataplane/proto/ether.h"

namespace tundra {

// Inserts a tag with VLAN `vlan` after the MACs. Returns false (m unchanged) when the
// mbuf has no headroom for it.
__attribute__((always_inline)) inline bool PushVlanTag(rte_mbuf* m, uint16_t vlan) {
  auto* h = reinterpret_cast<uint8_t*>(rte_pktmbuf_prepend(m, kVlanHdrLen));
  if (h == nullptr) [[unlikely]]
    return false;
  // The MACs move 4 bytes forward: read both before writing (the ranges overlap).
  uint64_t macs_lo;
  uint32_t macs_hi;
  std::memcpy(&macs_lo, h + kVlanHdrLen, 8);
  std::memcpy(&macs_hi, h + kVlanHdrLen + 8, 4);
  std::memcpy(h, &macs_lo, 8);
  std::memcpy(h + 8, &macs_hi, 4);
  auto* tag = reinterpret_cast<VlanTag*>(h + 2 * RTE_ETHER_ADDR_LEN);
  tag->tpid = kEtherTypeVlan;
  tag->tci = Be16(vlan);
  return true;
}

// Removes the tag of a tagged frame.
inline void StripVlanTag(rte_mbuf* m) {
  uint8_t* p = rte_pktmbuf_mtod(m, uint8_t*);
  std::memmove(p + kVlanHdrLen, p, 2 * RTE_ETHER_ADDR_LEN);
  rte_pktmbuf_adj(m, kVlanHdrLen);
}

}  // namespace tundra
