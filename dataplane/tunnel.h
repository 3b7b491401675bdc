// A tunnel as the workers see it: an immutable entry holding everything the hot path
// needs, above all the precomputed outer header ("header template") that encap copies
// in front of each packet. Protocol differences live here, in data: the template's
// bytes, its offsets, and a few flags. The control thread builds an entry complete,
// publishes it, and never changes it again; a change is a new entry (see tables.h).
#pragma once

#include <rte_common.h>

#include <array>
#include <cstdint>

#include "dataplane/decap_key.h"
#include "dataplane/proto/address.h"
#include "dataplane/tunnel_type.h"

namespace tundra {

class EspSa;

inline constexpr uint32_t kNoTunnel = 0;  // tunnel ids start at 1

// Room for Ethernet + IPv6 + UDP + GENEVE with its 252 bytes of options (RFC 8926).
inline constexpr uint16_t kMaxTemplateLen = 336;
// Critical GENEVE options a tunnel understands: its own plus the global known list.
inline constexpr uint16_t kMaxKnownOptions = 32;

// Per-packet work the template cannot precompute. Tested as one word on the hot path,
// so a tunnel with none of these takes the straight-line fast path.
enum TunnelFlag : uint32_t {
  kTunnelTtlInherit = 1 << 0,
  kTunnelTosInherit = 1 << 1,
  kTunnelDfInherit = 1 << 2,
  kTunnelUdpChecksum = 1 << 3,  // compute the outer UDP checksum (always on over IPv6)
  // The egress port computes these checksums (its tx offload capabilities); otherwise
  // software does, with identical bytes on the wire.
  kTunnelTxIpChecksumOffload = 1 << 4,
  kTunnelTxUdpChecksumOffload = 1 << 5,
  // The port offloads tunnel packets as such (RTE_MBUF_F_TX_TUNNEL_*, outer_l2/l3_len).
  kTunnelTxOuterOffload = 1 << 6,
  kTunnelL3 = 1 << 7,           // gre: payload is the inner IP packet, no Ethernet
  kTunnelGreChecksum = 1 << 8,  // GRE C bit
  kTunnelGreSequence = 1 << 9,  // GRE S bit
  kTunnelSeqDrop = 1 << 10,     // drop out-of-order/duplicate sequence numbers
  kTunnelFragment = 1 << 11,    // fragment oversized inner IPv4 (L3, no DF)
  kTunnelEsp = 1 << 12,         // protected: ESP out (esp_out), only ESP in (esp_input.h)
};
inline constexpr uint32_t kTunnelPerPacketIpMask =
    kTunnelTtlInherit | kTunnelTosInherit | kTunnelDfInherit;

// Where a decapsulated frame goes: an access port and optional VLAN.
struct Attachment {
  uint16_t port = 0;
  uint16_t vlan = 0;  // 0: untagged
  bool valid = false;
};

// The compiled variant of the encap push that serves a tunnel (push_shape.h).
enum class PushVariant : uint8_t {
  kGeneral,
  kUdpIpv4,
  kUdpOptionsIpv4,
  kGretapIpv4,
  kGretapSequenceIpv4,
  kUdpIpv6,
  kUdpOptionsIpv6,
  kGretapIpv6,
  kGretapSequenceIpv6,
};

struct alignas(RTE_CACHE_LINE_SIZE) Tunnel {
  uint32_t id = 0;
  TunnelType type = TunnelType::kVxlan;
  uint8_t outer_family = 4;  // outer IP version: 4 or 6
  uint32_t flags = 0;        // TunnelFlag
  uint16_t egress_port = 0;  // the uplink
  // Its remote as reached from the uplink (tables.h, rule 11): encap writes the path's
  // next-hop MAC over the template's destination, and drops while there is none.
  uint32_t path = 0;
  uint16_t hdr_len = 0;       // template bytes: Ethernet .. end of tunnel header
  uint16_t l3_len = 0;        // outer IP header bytes (20 or 40)
  uint16_t tun_off = 0;       // offset of the GENEVE/VXLAN/GRE header in the template
  uint16_t max_l3_len = 0;    // uplink MTU: largest outer IP packet we may send
  uint16_t gre_csum_off = 0;  // offsets in the template of GRE's optional words (0: none)
  uint16_t gre_seq_off = 0;
  PushVariant push_variant = PushVariant::kGeneral;
  uint8_t tos = 0;  // configured TOS: DSCP used, ECN taken from the inner
  // What encap stores into the mbuf's ol_flags and tx_offload (l2/l3/outer lengths),
  // precomputed for the egress port's offloads (tx_checksum.h); the inner l3_len
  // assumes an IPv4 inner packet and is patched for others.
  uint64_t tx_ol_flags = 0;
  uint64_t tx_offload = 0;
  // IPv4: the one's-complement sum of the template's IP header with total_length and
  // checksum zero; per packet only the length is added (RFC 1624 style).
  uint32_t ip_sum = 0;
  // The sum of the outer addresses: the UDP checksum's pseudo-header part that is fixed.
  uint32_t pseudo_addr_sum = 0;
  Attachment attachment;  // decap target (L2 tunnels)
  // A segment's tunnel (segment.h): towards one of its remote VTEPs, or its anchor, the
  // entry decap finds the segment's VNI/key under before it knows the remote.
  uint32_t segment = 0;  // 0: a point-to-point tunnel
  bool segment_anchor = false;
  // The key decap finds this tunnel by: lets a worker's lookup cache check that an id
  // it remembered still belongs to the key (ids are reused after deletes).
  DecapKey decap_key;
  IpAddress remote;  // checked against the outer source on decap
  uint16_t num_known_options = 0;
  uint32_t known_options[kMaxKnownOptions] = {};  // GeneveOptionId of understood options
  alignas(16) std::array<uint8_t, kMaxTemplateLen> hdr{};
  // Protected (kTunnelEsp): the outbound SA every packet is encrypted with, after the
  // push (the general variant only); the tunnel's inbound SAs are in the ESP table.
  EspSa* esp_out = nullptr;
};

}  // namespace tundra
