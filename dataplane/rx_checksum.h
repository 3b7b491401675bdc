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

// The verdict on the UDP checksum of an outer IPv`family` packet: the rx port's, else
// by the rules for a zero checksum, else `sum_ok()`, the software check (which a caller
// that knows part of the pseudo-header's sum may do its own way, or out of line).
template <typename SumOk>
__attribute__((always_inline)) inline bool OuterUdpChecksumVerdict(const rte_mbuf* m,
                                                                   uint8_t family,
                                                                   const UdpHdr& udp,
                                                                   SumOk sum_ok) {
  const uint64_t ck = m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK;
  if (ck == RTE_MBUF_F_RX_L4_CKSUM_GOOD) return true;
  if (ck == RTE_MBUF_F_RX_L4_CKSUM_BAD) return false;
  // RFC 768: zero means no checksum over IPv4. RFC 8200 §8.1: zero is not a valid UDP
  // checksum over IPv6 (RFC 6935 tunnels not enabled).
  if (udp.checksum.raw() == 0) return family == 4;
  return sum_ok();
}

// The UDP header at l4_off of an outer IPv`family` packet (header at kEtherHdrLen),
// l4_len bytes of UDP.
__attribute__((always_inline)) inline bool OuterUdpChecksumOk(const rte_mbuf* m, uint8_t family,
                                                              uint16_t l4_off, uint16_t l4_len,
                                                              const UdpHdr& udp) {
  return OuterUdpChecksumVerdict(m, family, udp, [&] {
    // The pseudo-header's length is the UDP length (extension headers excluded).
    const uint64_t addr_sum =
        family == 4
            ? PseudoAddressSum(rte_pktmbuf_mtod_offset(m, const Ipv4Hdr*, kEtherHdrLen), nullptr)
            : PseudoAddressSum(nullptr, rte_pktmbuf_mtod_offset(m, const Ipv6Hdr*, kEtherHdrLen));
    return L4ChecksumOk(m, addr_sum, kIpProtoUdp, l4_off, l4_len);
  });
}

}  // namespace tundra
