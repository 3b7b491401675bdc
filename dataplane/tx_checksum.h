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

// `l3` and `udp` (nullptr for GRE) point into `m`'s outer headers.
inline void FinishOuterChecksums(const Tunnel& t, rte_mbuf* m, uint8_t* l3, UdpHdr* udp,
                                 uint8_t inner_version) {
  const bool udp_csum = udp != nullptr && (t.flags & kTunnelUdpChecksum);
  m->ol_flags = 0;
  if (t.flags & kTunnelTxOuterOffload) {
    m->outer_l2_len = kEtherHdrLen;
    m->outer_l3_len = t.l3_len;
    m->l2_len = t.hdr_len - kEtherHdrLen - t.l3_len + ((t.flags & kTunnelL3) ? 0 : kEtherHdrLen);
    m->l3_len = inner_version == 6 ? kIpv6HdrLen : inner_version == 4 ? kIpv4HdrLen : 0;
    m->ol_flags = TunnelTxFlag(t.type);
    if (t.underlay == 4) {
      auto* ip = reinterpret_cast<rte_ipv4_hdr*>(l3);
      m->ol_flags |= RTE_MBUF_F_TX_OUTER_IPV4 | RTE_MBUF_F_TX_OUTER_IP_CKSUM;
      ip->hdr_checksum = 0;
      if (udp_csum) {
        m->ol_flags |= RTE_MBUF_F_TX_OUTER_UDP_CKSUM;
        udp->checksum = Be16::FromRaw(rte_ipv4_phdr_cksum(ip, 0));
      }
    } else {
      m->ol_flags |= RTE_MBUF_F_TX_OUTER_IPV6;
      if (udp_csum) {
        m->ol_flags |= RTE_MBUF_F_TX_OUTER_UDP_CKSUM;
        udp->checksum = Be16::FromRaw(rte_ipv6_phdr_cksum(reinterpret_cast<rte_ipv6_hdr*>(l3), 0));
      }
    }
    return;
  }
  m->l2_len = kEtherHdrLen;
  m->l3_len = t.l3_len;
  if (t.underlay == 4) {
    auto* ip = reinterpret_cast<rte_ipv4_hdr*>(l3);
    if (t.flags & kTunnelTxIpChecksumOffload) {
      m->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM;
      ip->hdr_checksum = 0;
    }
    if (udp_csum) {
      if (t.flags & kTunnelTxUdpChecksumOffload) {
        m->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_UDP_CKSUM;
        udp->checksum = Be16::FromRaw(rte_ipv4_phdr_cksum(ip, m->ol_flags));
      } else {
        udp->checksum = Be16(0);
        udp->checksum = Be16::FromRaw(rte_ipv4_udptcp_cksum_mbuf(m, ip, m->l2_len + m->l3_len));
      }
    }
  } else if (udp_csum) {
    auto* ip = reinterpret_cast<rte_ipv6_hdr*>(l3);
    if (t.flags & kTunnelTxUdpChecksumOffload) {
      m->ol_flags |= RTE_MBUF_F_TX_IPV6 | RTE_MBUF_F_TX_UDP_CKSUM;
      udp->checksum = Be16::FromRaw(rte_ipv6_phdr_cksum(ip, m->ol_flags));
    } else {
      udp->checksum = Be16(0);
      udp->checksum = Be16::FromRaw(rte_ipv6_udptcp_cksum_mbuf(m, ip, m->l2_len + m->l3_len));
    }
  }
}

}  // namespace tundra
