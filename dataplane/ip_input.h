// IP input: the checks every path that receives an IP packet makes before acting on
// it, written once. Decap applies them to the outer header, routed access to the
// packets hosts send it. IPv4 as RFC 1812 §5.2.2 lists them (link-layer length,
// checksum, version, header length, total length), IPv6 as RFC 8200 §3 defines the
// fixed header. What a path does next (is it addressed to us, is it a fragment, TTL)
// is that path's own business.
#pragma once

#include <rte_mbuf.h>

#include <cstdint>

#include "dataplane/counters.h"
#include "dataplane/mbuf_util.h"
#include "dataplane/proto/ip.h"
#include "dataplane/rx_checksum.h"

namespace tundra {

// What IP input found.
struct IpInput {
  uint8_t family = 0;    // 4 or 6
  uint8_t protocol = 0;  // IPv4 protocol, or the IPv6 header's next header
  uint16_t l4_off = 0;   // first byte after the IPv4 header / the fixed IPv6 header
  uint32_t end = 0;      // offset of the first byte past the IP packet
};

// The IPv4 header at `off` of `m`. Returns kNone, or the drop reason.
__attribute__((always_inline)) inline DropReason CheckIpv4(const rte_mbuf* m, uint16_t off,
                                                           IpInput& out) {
  const uint32_t avail = rte_pktmbuf_data_len(m);
  if (avail < uint32_t{off} + kIpv4HdrLen) return DropReason::kTruncated;
  const auto* ip = rte_pktmbuf_mtod_offset(m, const Ipv4Hdr*, off);
  const uint16_t hlen = ip->header_len();
  if (ip->version() != 4 || hlen < kIpv4HdrLen) return DropReason::kBadIpHeader;
  if (avail < uint32_t{off} + hlen) return DropReason::kTruncated;
  const uint16_t total = ip->total_length.host();
  if (total < hlen) return DropReason::kBadIpHeader;
  if (rte_pktmbuf_pkt_len(m) < uint32_t{off} + total) return DropReason::kTruncated;
  if (!Ipv4ChecksumOk(m, ip, hlen)) return DropReason::kBadIpChecksum;
  out.family = 4;
  out.protocol = ip->protocol;
  out.l4_off = static_cast<uint16_t>(off + hlen);
  out.end = uint32_t{off} + total;
  return DropReason::kNone;
}

// The fixed IPv6 header at `off` of `m`. Returns kNone, or the drop reason.
__attribute__((always_inline)) inline DropReason CheckIpv6(const rte_mbuf* m, uint16_t off,
                                                           IpInput& out) {
  if (rte_pktmbuf_data_len(m) < uint32_t{off} + kIpv6HdrLen) return DropReason::kTruncated;
  const auto* ip = rte_pktmbuf_mtod_offset(m, const Ipv6Hdr*, off);
  if (ip->version() != 6) return DropReason::kBadIpHeader;
  const uint32_t end = uint32_t{off} + kIpv6HdrLen + ip->payload_len.host();
  if (rte_pktmbuf_pkt_len(m) < end) return DropReason::kTruncated;
  out.family = 6;
  out.protocol = ip->next_header;
  out.l4_off = static_cast<uint16_t>(off + kIpv6HdrLen);
  out.end = end;
  return DropReason::kNone;
}

// Extension headers skipped before giving up on finding an upper-layer header.
inline constexpr int kMaxIpv6ExtHeaders = 4;

// Moves `ip` (from CheckIpv6) past hop-by-hop, routing and destination-options headers
// to the upper-layer header: ip6gre senders add a tunnel encapsulation limit option
// (RFC 2473 §4.1.1). A fragment header is reported as kIpFragment.
inline DropReason SkipIpv6ExtensionHeaders(const rte_mbuf* m, IpInput& ip) {
  uint32_t off = ip.l4_off;
  uint8_t next = ip.protocol;
  for (int skipped = 0; next == 0 || next == 43 || next == 60; ++skipped) {
    if (skipped == kMaxIpv6ExtHeaders) return DropReason::kNotTunnel;
    if (rte_pktmbuf_data_len(m) < off + 8) return DropReason::kTruncated;
    const uint8_t* ext = rte_pktmbuf_mtod_offset(m, const uint8_t*, off);
    next = ext[0];
    off += (uint32_t{ext[1]} + 1) * 8;
  }
  if (next == kIpv6FragmentHeader) return DropReason::kIpFragment;
  if (off > ip.end) return DropReason::kTruncated;
  ip.protocol = next;
  ip.l4_off = static_cast<uint16_t>(off);
  return DropReason::kNone;
}

// A field of a header: its offset in the header and its length.
struct HeaderField {
  uint16_t off;
  uint16_t len;
};

// The IPv4 header fields that differ between packets of one flow: the total length and
// the checksum, which CheckIpv4 checks per packet, and the identification and TTL,
// which no input check reads. decap_shape.h compares every other byte.
inline constexpr HeaderField kIpv4PerPacketFields[] = {
    {offsetof(Ipv4Hdr, total_length), 2},
    {offsetof(Ipv4Hdr, packet_id), 2},
    {offsetof(Ipv4Hdr, ttl), 1},
    {offsetof(Ipv4Hdr, checksum), 2},
};
// The IPv6 ones: the flow label (the low 20 bits of the first word; the traffic class
// above it stays compared), the payload length (checked per packet) and the hop limit.
inline constexpr HeaderField kIpv6PerPacketFields[] = {
    {2, 2},
    {offsetof(Ipv6Hdr, payload_len), 2},
    {offsetof(Ipv6Hdr, hop_limit), 1},
};
inline constexpr uint8_t kIpv6FlowLabelTopNibbleMask = 0x0F;  // in byte 1 of the header

}  // namespace tundra
