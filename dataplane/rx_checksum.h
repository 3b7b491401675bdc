// Receive-side checks of an IPv4 header checksum and of a tunnel's outer UDP checksum:
// the rx port's verdict when it gave one (RTE_MBUF_F_RX_*_CKSUM_GOOD/BAD), else
// software. Every receive path calls these (ip_input.h, udp_input.h), so all of them
// accept exactly the same packets.
#pragma once

#include <rte_mbuf.h>

#include <cstdint>

#include "dataplane/mbuf_util.h"
#include "dataplane/proto/checksum.h"
#include "dataplane/proto/ether.h"
#include "dataplane/proto/ip.h"
#include "dataplane/proto/udp.h"

namespace tundra {

// The rx port's verdict on an IPv4 header checksum when it gave one, else `software()`.
template <typename Software>
__attribute__((always_inline)) inline bool Ipv4ChecksumVerdict(const rte_mbuf* m,
                                                               Software software) {
  const uint64_t ck = m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK;
  if (ck == RTE_MBUF_F_RX_IP_CKSUM_GOOD) return true;
  return ck != RTE_MBUF_F_RX_IP_CKSUM_BAD && software();
}

__attribute__((always_inline)) inline bool Ipv4ChecksumOk(const rte_mbuf* m, const Ipv4Hdr* ip,
                                                          uint16_t hlen) {
  return Ipv4ChecksumVerdict(m, [&] { return Ipv4HeaderChecksumOk(ip, hlen); });
}

// The UDP header at l4_off of an outer IPv`family` packet (header at kEtherHdrLen),
// l4_len bytes of UDP.
__attribute__((always_inline)) inline bool OuterUdpChecksumOk(const rte_mbuf* m, uint8_t family,
                                                              uint16_t l4_off, uint16_t l4_len,
                                                              const UdpHdr& udp) {
  const uint64_t ck = m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK;
  if (ck == RTE_MBUF_F_RX_L4_CKSUM_GOOD) return true;
  if (ck == RTE_MBUF_F_RX_L4_CKSUM_BAD) return false;
  if (family == 4) {
    if (udp.checksum.raw() == 0) return true;  // RFC 768: no checksum
    const auto* ip4 = rte_pktmbuf_mtod_offset(m, const Ipv4Hdr*, kEtherHdrLen);
    return L4ChecksumOk(m, ip4, nullptr, kIpProtoUdp, l4_off, l4_len);
  }
  // RFC 8200 §8.1: zero is not a valid UDP checksum over IPv6 (RFC 6935 tunnels not enabled).
  if (udp.checksum.raw() == 0) return false;
  // The pseudo-header's length is the UDP length (extension headers excluded).
  const auto* ip6 = rte_pktmbuf_mtod_offset(m, const Ipv6Hdr*, kEtherHdrLen);
  return L4ChecksumOk(m, nullptr, ip6, kIpProtoUdp, l4_off, l4_len);
}

}  // namespace tundra
