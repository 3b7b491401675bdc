#include "dataplane/esp_input.h"

#include <rte_esp.h>
#include <rte_ip.h>

#include "dataplane/proto/ether.h"
#include "dataplane/worker_context.h"

namespace tundra {
namespace {

constexpr uint8_t kIpProtoEsp = 50;

DropReason ReasonOf(EspError e) {
  switch (e) {
    case EspError::kAuthFailed:
      return DropReason::kEspAuthFailed;
    case EspError::kReplay:
      return DropReason::kEspReplay;
    case EspError::kExpired:
      return DropReason::kEspExpired;
    default:
      return DropReason::kEspMalformed;
  }
}

// The SPI of an untagged IPv4 (no options, not a fragment) or IPv6 ESP packet, with
// l2_len and l3_len set; false for anything else (decap's parser judges those).
bool EspSpi(rte_mbuf* m, uint32_t& spi) {
  const uint32_t avail = rte_pktmbuf_data_len(m);
  if (avail < kEtherHdrLen + sizeof(rte_ipv4_hdr) + sizeof(rte_esp_hdr)) return false;
  const auto* eth = rte_pktmbuf_mtod(m, const EtherHdr*);
  uint16_t l3_len;
  if (eth->ether_type == kEtherTypeIpv4) {
    const auto* ip = rte_pktmbuf_mtod_offset(m, const rte_ipv4_hdr*, kEtherHdrLen);
    if (ip->version_ihl != 0x45 || ip->next_proto_id != kIpProtoEsp ||
        (ip->fragment_offset & rte_cpu_to_be_16(RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK))) {
      return false;
    }
    l3_len = sizeof(rte_ipv4_hdr);
  } else if (eth->ether_type == kEtherTypeIpv6) {
    const auto* ip = rte_pktmbuf_mtod_offset(m, const rte_ipv6_hdr*, kEtherHdrLen);
    if (avail < kEtherHdrLen + sizeof(rte_ipv6_hdr) + sizeof(rte_esp_hdr) ||
        ip->proto != kIpProtoEsp) {
      return false;
    }
    l3_len = sizeof(rte_ipv6_hdr);
  } else {
    return false;
  }
  m->l2_len = kEtherHdrLen;
  m->l3_len = l3_len;
  spi =
      rte_be_to_cpu_32(rte_pktmbuf_mtod_offset(m, const rte_esp_hdr*, kEtherHdrLen + l3_len)->spi);
  return true;
}

}  // namespace

uint16_t EspInputStage(WorkerContext& ctx, uint16_t rx_port, const EspInboundTable& table,
                       rte_mbuf** pkts, uint16_t n, bool& any) {
  const EspInbound* sa_of[kBurstSize];
  bool keep[kBurstSize];
  bool esp = false;
  for (uint16_t i = 0; i < n; ++i) {
    keep[i] = true;
    sa_of[i] = nullptr;
    uint32_t spi;
    if (!EspSpi(pkts[i], spi)) continue;
    esp = true;
    sa_of[i] = table.Find(spi);
    if (sa_of[i] == nullptr) {
      keep[i] = false;
      ctx.Drop(rx_port, pkts[i], DropReason::kEspUnknownSpi, kNoTunnel);
    }
  }
  if (!esp) return n;
  // One Unprotect per SA in the burst (usually one), its packets in arrival order.
  for (uint16_t i = 0; i < n; ++i) {
    const EspInbound* in = sa_of[i];
    if (in == nullptr || !keep[i]) continue;
    rte_mbuf* group[kBurstSize];
    uint16_t slot[kBurstSize];
    uint16_t g = 0;
    for (uint16_t j = i; j < n; ++j) {
      if (sa_of[j] == in && keep[j]) {
        group[g] = pkts[j];
        slot[g++] = j;
        sa_of[j] = nullptr;  // taken
      }
    }
    EspError errors[kBurstSize];
    const uint16_t ok = in->sa->Unprotect(group, g, errors);
    for (uint16_t k = 0; k < g; ++k) {
      rte_mbuf* m = group[k];
      if (k < ok) {
        m->ol_flags |= RTE_MBUF_F_RX_SEC_OFFLOAD;
        m->hash.usr = in->tunnel;
        any = true;
        continue;
      }
      for (uint16_t s = 0; s < g; ++s) {  // its slot (Unprotect reorders the failures)
        if (pkts[slot[s]] == m) keep[slot[s]] = false;
      }
      ctx.Drop(rx_port, m, ReasonOf(errors[k]), in->tunnel);
    }
  }
  uint16_t kept = 0;
  for (uint16_t i = 0; i < n; ++i) {
    if (keep[i]) pkts[kept++] = pkts[i];
  }
  return kept;
}

}  // namespace tundra
