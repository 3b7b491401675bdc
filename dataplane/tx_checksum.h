// Outer checksums of an encapsulated packet: requested from the egress port through
// the mbuf offload flags and lengths rte_mbuf_core.h documents, or computed here. The
// bytes on the wire are the same either way (tests/unit/checksum_offload_test.cc).
//
// Three cases, by what the uplink advertises:
//  * outer (tunnel) offloads: RTE_MBUF_F_TX_TUNNEL_{VXLAN,GENEVE,GRE} with
//    OUTER_IPV4/OUTER_IP_CKSUM (and OUTER_UDP_CKSUM), outer_l2_len/outer_l3_len for the
//    outer headers and l2_len (outer L4 + tunnel header + inner Ethernet)/l3_len for
//    the inner ones. The inner checksums are already complete, so no inner flags.
//  * plain IPv4/UDP offloads only: the outer headers are offloaded as an ordinary
//    IP/UDP packet (l2_len/l3_len describe them), which is exact because the inner
//    checksums are complete.
//  * none: software (the IPv4 header checksum is already final in software form).
#pragma once

#include <rte_ip.h>
#include <rte_mbuf.h>

#include "dataplane/mbuf_util.h"
#include "dataplane/proto/ip.h"
#include "dataplane/proto/udp.h"
#include "dataplane/tunnel.h"

namespace tundra {

inline uint64_t TunnelTxFlag(TunnelType type) {
  switch (type) {
    case TunnelType::kVxlan:
      return RTE_MBUF_F_TX_TUNNEL_VXLAN;
    case TunnelType::kGeneve:
      return RTE_MBUF_F_TX_TUNNEL_GENEVE;
    case TunnelType::kGre:
    case TunnelType::kGretap:
      return RTE_MBUF_F_TX_TUNNEL_GRE;
  }
  return 0;
}

// The mbuf offload fields for tunnel `t` (into Tunnel::tx_ol_flags / tx_offload).
inline void PlanTxOffload(Tunnel& t) {
  const bool udp_csum = IsUdpTunnel(t.type) && (t.flags & kTunnelUdpChecksum);
  uint64_t f = 0;
  if (t.flags & kTunnelTxOuterOffload) {
    f = TunnelTxFlag(t.type);
    f |= t.outer_family == 4 ? RTE_MBUF_F_TX_OUTER_IPV4 | RTE_MBUF_F_TX_OUTER_IP_CKSUM
                             : RTE_MBUF_F_TX_OUTER_IPV6;
    if (udp_csum) f |= RTE_MBUF_F_TX_OUTER_UDP_CKSUM;
    const uint16_t l2 =
        t.hdr_len - kEtherHdrLen - t.l3_len + ((t.flags & kTunnelL3) ? 0 : kEtherHdrLen);
    t.tx_offload = rte_mbuf_tx_offload(l2, kIpv4HdrLen, 0, 0, t.l3_len, kEtherHdrLen, 0);
  } else {
    if (t.outer_family == 4 && (t.flags & kTunnelTxIpChecksumOffload)) {
      f |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM;
    }
    if (udp_csum && (t.flags & kTunnelTxUdpChecksumOffload)) {
      f |=
          (t.outer_family == 4 ? RTE_MBUF_F_TX_IPV4 : RTE_MBUF_F_TX_IPV6) | RTE_MBUF_F_TX_UDP_CKSUM;
    }
    t.tx_offload = rte_mbuf_tx_offload(kEtherHdrLen, t.l3_len, 0, 0, 0, 0, 0);
  }
  t.tx_ol_flags = f;
}

// The offload fields and software UDP checksum of FinishOuterChecksums, out of line:
// most tunnels need neither.
__attribute__((noinline)) inline void FinishOffloadsAndUdpChecksum(const Tunnel& t, rte_mbuf* m,
                                                                   uint8_t* l3, UdpHdr* udp,
                                                                   uint8_t inner_version) {
  if (t.flags & kTunnelTxOuterOffload) {
    if (inner_version != 4) m->l3_len = inner_version == 6 ? kIpv6HdrLen : 0;
  }
  if (t.tx_ol_flags & (RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_OUTER_IP_CKSUM)) {
    reinterpret_cast<rte_ipv4_hdr*>(l3)->hdr_checksum = 0;
  }
  if (udp == nullptr || !(t.flags & kTunnelUdpChecksum)) return;
  if (t.tx_ol_flags & (RTE_MBUF_F_TX_UDP_CKSUM | RTE_MBUF_F_TX_OUTER_UDP_CKSUM)) {
    // The NIC sums from the pseudo-header seed; the IP header's length is right here.
    udp->checksum = Be16::FromRaw(
        t.outer_family == 4 ? rte_ipv4_phdr_cksum(reinterpret_cast<rte_ipv4_hdr*>(l3), 0)
                            : rte_ipv6_phdr_cksum(reinterpret_cast<rte_ipv6_hdr*>(l3), 0));
  } else {
    udp->checksum = Be16::FromRaw(
        L4Checksum(m, t.pseudo_addr_sum, kIpProtoUdp, kEtherHdrLen + t.l3_len, udp->length.host()));
  }
}

// `l3` and `udp` (nullptr for GRE) point into `m`'s outer headers; the IPv4 header
// checksum is already final in software form.
__attribute__((always_inline)) inline void FinishOuterChecksums(const Tunnel& t, rte_mbuf* m,
                                                                uint8_t* l3, UdpHdr* udp,
                                                                uint8_t inner_version) {
  m->ol_flags = t.tx_ol_flags;
  m->tx_offload = t.tx_offload;
  if (t.tx_ol_flags == 0 && !(t.flags & kTunnelUdpChecksum)) [[likely]]
    return;
  FinishOffloadsAndUdpChecksum(t, m, l3, udp, inner_version);
}

}  // namespace tundra
