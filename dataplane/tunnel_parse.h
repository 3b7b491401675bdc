// Parse rules of the tunnel headers that follow the outer UDP or IP header: the one
// place where decap differs by protocol. Each rule checks lengths before reading and
// fills the parts of the lookup key and of the per-packet facts its protocol has.
#pragma once

#include <rte_ip.h>
#include <rte_mbuf.h>

#include <cstdint>
#include <cstring>

#include "dataplane/counters.h"
#include "dataplane/mbuf_util.h"
#include "dataplane/proto/ether.h"
#include "dataplane/proto/geneve.h"
#include "dataplane/proto/gre.h"
#include "dataplane/proto/ip.h"
#include "dataplane/proto/vxlan.h"
#include "dataplane/tunnel.h"

namespace tundra {

// What a tunnel header said: `drop` is kNone when the header is acceptable.
struct TunnelParse {
  DropReason drop = DropReason::kTruncated;
  TunnelType type = TunnelType::kVxlan;
  uint8_t l3_version = 0;   // L3 GRE: the inner IP version (no inner Ethernet)
  bool has_key = false;     // GRE K bit
  bool has_seq = false;     // GRE S bit
  bool has_csum = false;    // GRE C bit
  bool oam = false;         // GENEVE O bit: a control packet
  bool critical = false;    // GENEVE C bit
  uint32_t vni_or_key = 0;  // the VXLAN/GENEVE VNI or the GRE key
  uint32_t seq = 0;         // GRE sequence number
  uint16_t opts_off = 0;    // GENEVE options
  uint16_t opts_len = 0;
  uint16_t inner_off = 0;
  uint16_t l4_off = 0;   // the outer UDP or GRE header (set by the outer parser)
  uint16_t seq_off = 0;  // GRE: the sequence number's offset (0: none)
  uint16_t id_off = 0;   // the VNI (3 bytes) or GRE key (4 bytes) (0: none)
};

// The inner header bytes decap rewrites in place and so needs in the first segment:
// the inner IP header (L3 GRE) or the inner Ethernet header.
inline uint32_t MinInnerLen(const TunnelParse& tp) {
  return tp.l3_version == 6 ? kIpv6HdrLen : tp.l3_version == 4 ? kIpv4HdrLen : kEtherHdrLen;
}

inline TunnelParse Reject(DropReason why) {
  TunnelParse r;
  r.drop = why;
  return r;
}

inline TunnelParse ParseVxlan(const rte_mbuf* m, uint16_t off) {
  if (rte_pktmbuf_data_len(m) < uint32_t{off} + kVxlanHdrLen) return Reject(DropReason::kTruncated);
  const auto* vx = rte_pktmbuf_mtod_offset(m, const VxlanHdr*, off);
  // RFC 7348 §5: I must be set; reserved bits are ignored on receipt.
  if (!vx->vni_valid()) return Reject(DropReason::kBadFlags);
  TunnelParse r;
  r.drop = DropReason::kNone;
  r.type = TunnelType::kVxlan;
  r.vni_or_key = vx->vni();
  r.id_off = off + 4;
  r.inner_off = off + kVxlanHdrLen;
  return r;
}

// RFC 8926 §3: version 0, Opt Len within the packet, every option within Opt Len,
// Ethernet payload.
inline TunnelParse ParseGeneve(const rte_mbuf* m, uint16_t off) {
  const uint32_t avail = rte_pktmbuf_data_len(m);
  if (avail < uint32_t{off} + kGeneveHdrLen) return Reject(DropReason::kTruncated);
  const auto* g = rte_pktmbuf_mtod_offset(m, const GeneveHdr*, off);
  if (g->version() != 0) return Reject(DropReason::kBadVersion);
  const uint16_t opts_len = g->options_len();
  const uint16_t opts_off = off + kGeneveHdrLen;
  if (avail < uint32_t{opts_off} + opts_len) return Reject(DropReason::kTruncated);
  for (uint16_t o = 0; o < opts_len;) {
    if (opts_len - o < static_cast<int>(sizeof(GeneveOptionHdr)))
      return Reject(DropReason::kBadOption);
    const auto* opt = rte_pktmbuf_mtod_offset(m, const GeneveOptionHdr*, opts_off + o);
    o += sizeof(GeneveOptionHdr) + opt->data_len();
    if (o > opts_len) return Reject(DropReason::kBadOption);
  }
  if (g->protocol != kEtherTypeTeb) return Reject(DropReason::kBadPayloadType);
  TunnelParse r;
  r.drop = DropReason::kNone;
  r.type = TunnelType::kGeneve;
  r.vni_or_key = g->vni();
  r.id_off = off + 4;
  r.oam = (g->flags & GeneveHdr::kFlagOam) != 0;
  r.critical = (g->flags & GeneveHdr::kFlagCritical) != 0;
  r.opts_off = opts_off;
  r.opts_len = opts_len;
  r.inner_off = opts_off + opts_len;
  return r;
}

// RFC 2784/2890: version 0, reserved bits zero, the optional words present, checksum
// right; the protocol type selects gretap (Ethernet) or gre (IPv4/IPv6).
inline TunnelParse ParseGre(const rte_mbuf* m, uint16_t off, uint16_t gre_len) {
  const uint32_t avail = rte_pktmbuf_data_len(m);
  if (gre_len < kGreHdrLen || avail < uint32_t{off} + kGreHdrLen)
    return Reject(DropReason::kTruncated);
  const auto* g = rte_pktmbuf_mtod_offset(m, const GreHdr*, off);
  const uint16_t flags = g->flags_version.host();
  if (flags & GreHdr::kVersionMask) return Reject(DropReason::kBadVersion);
  if (flags & GreHdr::kReservedMask) return Reject(DropReason::kBadFlags);
  const uint16_t hlen = GreHeaderLen(flags);
  if (gre_len < hlen || avail < uint32_t{off} + hlen) return Reject(DropReason::kTruncated);
  TunnelParse r;
  uint16_t w = off + kGreHdrLen;
  if (flags & GreHdr::kChecksum) {
    uint16_t sum = 0;
    if (!SumMbuf(m, off, gre_len, &sum) || sum != 0xFFFF) {
      return Reject(DropReason::kBadGreChecksum);
    }
    r.has_csum = true;
    w += kGreOptionLen;
  }
  // Key and sequence number follow in that order (RFC 2890 §2), each one 32-bit word.
  const auto next_option = [&](uint16_t& at) {
    Be32 v;
    std::memcpy(&v, rte_pktmbuf_mtod_offset(m, const void*, w), 4);
    at = w;
    w += kGreOptionLen;
    return v.host();
  };
  if (flags & GreHdr::kKey) {
    r.has_key = true;
    r.vni_or_key = next_option(r.id_off);
  }
  if (flags & GreHdr::kSequence) {
    r.has_seq = true;
    r.seq = next_option(r.seq_off);
  }
  r.inner_off = w;
  const uint16_t payload = gre_len - hlen;
  if (g->protocol == kEtherTypeTeb) {
    r.type = TunnelType::kGretap;
  } else if (g->protocol == kEtherTypeIpv4 || g->protocol == kEtherTypeIpv6) {
    r.type = TunnelType::kGre;
    r.l3_version = g->protocol == kEtherTypeIpv4 ? 4 : 6;
    if (payload < (r.l3_version == 4 ? kIpv4HdrLen : kIpv6HdrLen)) {
      return Reject(DropReason::kTruncated);
    }
  } else {
    return Reject(DropReason::kBadPayloadType);
  }
  r.drop = DropReason::kNone;
  return r;
}

inline TunnelParse ParseUdpTunnel(TunnelType type, const rte_mbuf* m, uint16_t off) {
  return type == TunnelType::kGeneve ? ParseGeneve(m, off) : ParseVxlan(m, off);
}

}  // namespace tundra
