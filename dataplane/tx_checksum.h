// Outer checksums of an encapsulated packet: either requested from the egress port
// (mbuf offload flags and lengths as rte_mbuf_core.h documents) or computed here. The
// inner frame's checksums are already complete, so the outer headers are offloaded as a
// plain IP/UDP packet: l2_len/l3_len describe the outer headers and no inner flags are
// set. Either way the bytes on the wire are the same.
#pragma once

#include <rte_ip.h>
#include <rte_mbuf.h>

#include "dataplane/proto/ip.h"
#include "dataplane/proto/udp.h"
#include "dataplane/tunnel.h"

namespace tundra {

// `l3` and `udp` point into `m`'s outer headers; the IPv4 header checksum is already
// correct in software form. m->l2_len and m->l3_len are set.
inline void FinishOuterChecksums(const Tunnel& t, rte_mbuf* m, uint8_t* l3, UdpHdr* udp) {
  if (t.underlay == 4) {
    auto* ip = reinterpret_cast<rte_ipv4_hdr*>(l3);
    if (t.flags & kTunnelTxIpChecksumOffload) {
      m->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM;
      ip->hdr_checksum = 0;
    }
    if (t.flags & kTunnelUdpChecksum) {
      if (t.flags & kTunnelTxUdpChecksumOffload) {
        m->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_UDP_CKSUM;
        udp->checksum = Be16::FromRaw(rte_ipv4_phdr_cksum(ip, m->ol_flags));
      } else {
        udp->checksum = Be16(0);
        udp->checksum = Be16::FromRaw(rte_ipv4_udptcp_cksum_mbuf(m, ip, m->l2_len + m->l3_len));
      }
    }
  } else {
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
