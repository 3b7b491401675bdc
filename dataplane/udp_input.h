// The outer UDP header of a UDP tunnel packet: its length must be the rest of the IP
// packet, and its checksum right (RFC 768: zero means none over IPv4; RFC 8200 §8.1:
// zero is invalid over IPv6). The full parser and the same-shape match both call these.
#pragma once

#include <rte_mbuf.h>

#include <cstdint>

#include "dataplane/ip_input.h"
#include "dataplane/proto/udp.h"
#include "dataplane/rx_checksum.h"

namespace tundra {

// The UDP header after IP input `ip`, or nullptr with `drop` set.
__attribute__((always_inline)) inline const UdpHdr* CheckUdpLength(const rte_mbuf* m,
                                                                   const IpInput& ip,
                                                                   DropReason& drop) {
  const uint32_t l4_len = ip.end - ip.l4_off;
  if (l4_len < kUdpHdrLen || rte_pktmbuf_data_len(m) < uint32_t{ip.l4_off} + kUdpHdrLen) {
    drop = DropReason::kTruncated;
    return nullptr;
  }
  const auto* udp = rte_pktmbuf_mtod_offset(m, const UdpHdr*, ip.l4_off);
  if (udp->length.host() != l4_len) {
    drop = DropReason::kBadUdpLength;
    return nullptr;
  }
  return udp;
}

__attribute__((always_inline)) inline bool UdpChecksumOk(const rte_mbuf* m, const IpInput& ip,
                                                         const UdpHdr& udp) {
  return OuterUdpChecksumOk(m, ip.family, ip.l4_off, static_cast<uint16_t>(ip.end - ip.l4_off),
                            udp);
}

// The UDP fields that differ between packets of one flow: the source port (entropy,
// RFC 7348 §5) and the length and checksum, checked per packet above.
inline constexpr HeaderField kUdpPerPacketFields[] = {
    {offsetof(UdpHdr, src_port), 2},
    {offsetof(UdpHdr, length), 4},
};

}  // namespace tundra
