// Decap's first stage when any inbound SA exists: the burst's ESP packets for this
// VTEP are found by SPI, checked and decrypted in place (dataplane/esp.h), and go on
// through decap as the UDP or GRE packets they carried, marked with the tunnel their SA
// protects; decap's check stage lets a marked packet into that tunnel only, and a
// protected tunnel takes marked packets only (DropReason::kEspRequired).
#pragma once

#include <rte_mbuf.h>

#include <cstdint>

#include "absl/container/flat_hash_map.h"
#include "dataplane/esp.h"

namespace tundra {

struct WorkerContext;

// An inbound SA as the workers find it.
struct EspInbound {
  EspSa* sa = nullptr;
  uint32_t tunnel = 0;  // the tunnel it protects
};

// Every inbound SA by SPI: an immutable snapshot, replaced whole by the control thread
// (SAs change rarely) and read by the workers without locks (tables.h's RCU).
struct EspInboundTable {
  absl::flat_hash_map<uint32_t, EspInbound> by_spi;

  const EspInbound* Find(uint32_t spi) const {
    auto it = by_spi.find(spi);
    return it == by_spi.end() ? nullptr : &it->second;
  }
};

// Marks a decrypted packet: RTE_MBUF_F_RX_SEC_OFFLOAD set and the tunnel in hash.usr
// (the receive hash of an ESP packet means nothing once it is decrypted).
inline bool EspDecrypted(const rte_mbuf* m) {
  return (m->ol_flags & RTE_MBUF_F_RX_SEC_OFFLOAD) != 0;
}
inline uint32_t EspTunnel(const rte_mbuf* m) { return m->hash.usr; }

// Decrypts pkts[0..n)'s ESP packets in place and drops those that fail, counted by
// reason on `rx_port`; returns how many packets are left (order kept). Sets `any` when
// a packet was decrypted.
uint16_t EspInputStage(WorkerContext& ctx, uint16_t rx_port, const EspInboundTable& table,
                       rte_mbuf** pkts, uint16_t n, bool& any);

}  // namespace tundra
