#include "dataplane/route_deliver.h"

#include <cstring>

#include "dataplane/host_cache.h"
#include "dataplane/ip_ttl.h"
#include "dataplane/neighbor_solicit.h"
#include "dataplane/proto/ether.h"
#include "dataplane/proto/ip.h"

namespace tundra {

namespace {

// Decrements the TTL / hop limit of `m` and fills `key` with its destination; else
// returns the drop reason.
DropReason ForwardIp(rte_mbuf* m, HostKey& key) {
  uint8_t* l3 = rte_pktmbuf_mtod(m, uint8_t*);
  const uint8_t version = l3[0] >> 4;
  const uint32_t avail = rte_pktmbuf_data_len(m);
  key = HostKey{};
  key.family = version;
  if (version == 4 && avail >= kIpv4HdrLen) {
    auto* ip = reinterpret_cast<Ipv4Hdr*>(l3);
    if (!DecrementTtl(ip)) return DropReason::kTtlExceeded;
    std::memcpy(key.ip, ip->dst, 4);
  } else if (version == 6 && avail >= kIpv6HdrLen) {
    auto* ip = reinterpret_cast<Ipv6Hdr*>(l3);
    if (!DecrementHopLimit(ip)) return DropReason::kTtlExceeded;
    std::memcpy(key.ip, ip->dst, 16);
  } else {
    return DropReason::kBadIpHeader;
  }
  return DropReason::kNone;
}

}  // namespace

void DeliverRouted(WorkerContext& ctx, uint16_t rx_port, RoutedPacket* pkts, uint16_t n) {
  const Tables& tables = *ctx.tables;
  HostKey keys[kBurstSize];
  DropReason drop[kBurstSize];
  uint64_t hosts[kBurstSize];
  uint32_t slots[kBurstSize];
  const HostKey* miss_keys[kBurstSize];
  uint8_t miss_at[kBurstSize];
  uint32_t misses = 0;
  // Forward and look up: the worker's host cache, then the table for the misses.
  const uint32_t generation = tables.host_generation();
  for (uint16_t i = 0; i < n; ++i) {
    drop[i] = ForwardIp(pkts[i].m, keys[i]);
    if (drop[i] != DropReason::kNone) [[unlikely]]
      continue;
    slots[i] = HostCache::Slot(keys[i]);
    hosts[i] = ctx.host_cache.Find(slots[i], keys[i], generation);
    if (hosts[i] == 0) [[unlikely]] {
      miss_keys[misses] = &keys[i];
      miss_at[misses++] = static_cast<uint8_t>(i);
    }
  }
  if (misses != 0) {
    uint64_t found[kBurstSize];
    tables.LookupHosts(miss_keys, misses, found);
    for (uint32_t j = 0; j < misses; ++j) {
      const uint8_t i = miss_at[j];
      hosts[i] = found[j];
      if (found[j] != 0) ctx.host_cache.Set(slots[i], keys[i], generation, found[j]);
    }
  }
  // Send.
  DecapTally tally(*ctx.counters);
  for (uint16_t i = 0; i < n; ++i) {
    rte_mbuf* m = pkts[i].m;
    if (drop[i] == DropReason::kNone && hosts[i] == 0) [[unlikely]] {
      Solicit(ctx, keys[i].family, keys[i].ip);
      drop[i] = DropReason::kNoNeighbor;
    }
    const uint16_t out_port = HostPort(hosts[i]);
    const PortView* view = drop[i] == DropReason::kNone ? tables.port(out_port) : nullptr;
    auto* eth = view != nullptr ? reinterpret_cast<EtherHdr*>(rte_pktmbuf_prepend(m, kEtherHdrLen))
                                : nullptr;
    if (drop[i] == DropReason::kNone && eth == nullptr) [[unlikely]]
      drop[i] = DropReason::kNoHeadroom;
    if (drop[i] != DropReason::kNone) [[unlikely]] {
      ctx.Drop(rx_port, m, drop[i], pkts[i].id);
      continue;
    }
    HostMac(hosts[i], eth->dst);
    std::memcpy(eth->src, view->mac, 6);
    eth->ether_type = keys[i].family == 4 ? kEtherTypeIpv4 : kEtherTypeIpv6;
    m->ol_flags = 0;
    tally.Add(pkts[i].id, pkts[i].len);
    ctx.Emit(out_port, m);
  }
}

}  // namespace tundra
