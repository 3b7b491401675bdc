// The burst every stage works on.
#pragma once

#include <rte_mbuf.h>
#include <rte_prefetch.h>

#include <cstdint>

namespace tundra {

// DPDK's customary burst: what rx_burst returns at most and what tx_burst is given.
inline constexpr uint16_t kBurstSize = 32;
// Packets ahead of the one being processed whose first cache line is prefetched.
inline constexpr uint16_t kPrefetchOffset = 3;

// Before a stage's loop: the headers of the first kPrefetchOffset packets.
inline void PrefetchFirstHeaders(rte_mbuf* const* pkts, uint16_t n) {
  for (uint16_t i = 0; i < kPrefetchOffset && i < n; ++i) {
    rte_prefetch0(rte_pktmbuf_mtod(pkts[i], void*));
  }
}

// In a stage's loop at packet i: the header of the packet kPrefetchOffset ahead.
inline void PrefetchAheadHeader(rte_mbuf* const* pkts, uint16_t i, uint16_t n) {
  if (i + kPrefetchOffset < n) rte_prefetch0(rte_pktmbuf_mtod(pkts[i + kPrefetchOffset], void*));
}

}  // namespace tundra
