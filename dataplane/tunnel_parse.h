// Parse rules of the tunnel headers that follow the outer UDP (or GRE) header: the one
// place where decap differs by protocol. Each rule checks lengths before reading.
#pragma once

#include <rte_mbuf.h>

#include <cstdint>

#include "dataplane/counters.h"
#include "dataplane/proto/vxlan.h"
#include "dataplane/tunnel.h"

namespace tundra {

struct TunnelParse {
  bool ok = false;
  DropReason reason = DropReason::kTruncated;
  uint32_t vni = 0;
  uint16_t inner_off = 0;
};

inline TunnelParse ParseVxlan(const rte_mbuf* m, uint16_t off) {
  TunnelParse r;
  if (rte_pktmbuf_data_len(m) < off + kVxlanHdrLen) return r;
  const auto* vx = rte_pktmbuf_mtod_offset(m, const VxlanHdr*, off);
  // RFC 7348 §5: I must be set; reserved bits are ignored on receipt.
  if (!vx->vni_valid()) {
    r.reason = DropReason::kBadFlags;
    return r;
  }
  r.ok = true;
  r.vni = vx->vni();
  r.inner_off = off + kVxlanHdrLen;
  return r;
}

inline TunnelParse ParseTunnelHeader(TunnelType type, const rte_mbuf* m, uint16_t off) {
  switch (type) {
    case TunnelType::kVxlan:
      return ParseVxlan(m, off);
    default:
      return TunnelParse{false, DropReason::kUnknownPort, 0, 0};
  }
}

}  // namespace tundra
