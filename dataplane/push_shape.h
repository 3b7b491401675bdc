// Compiled variants of the encap push. The general push reads from the tunnel, and
// branches on per packet, what is fixed for the tunnel's whole life: UDP or GRE, the
// outer family, the template's length, inherit and checksum work. A shape states those
// as constants, so the same PushTunnelHeader (encap_push.h), instantiated for it, has
// those branches folded away. The shape a tunnel fits is found once, when its template
// is built (Tunnel::push_variant), and the push stage picks the variant once per run of
// packets.
#pragma once

#include <cstdint>

#include "dataplane/proto/ether.h"
#include "dataplane/proto/gre.h"
#include "dataplane/proto/ip.h"
#include "dataplane/proto/udp.h"
#include "dataplane/proto/vxlan.h"
#include "dataplane/tunnel.h"

namespace tundra {

struct PushShape {
  PushVariant variant = PushVariant::kGeneral;  // kGeneral: every field read from the tunnel
  bool udp = false;                             // VXLAN/GENEVE, else gretap
  bool gre_sequence = false;                    // gretap: a sequence number, the header's last word
  uint16_t hdr_len = 0;  // the template's length; 0: the tunnel's (GENEVE options)
  uint8_t outer_family = 4;
  // The outer UDP checksum summed in software (over IPv6, where it is mandatory).
  bool udp_checksum = false;

  constexpr bool fixed() const { return variant != PushVariant::kGeneral; }
  constexpr uint16_t l3_len() const { return outer_family == 4 ? kIpv4HdrLen : kIpv6HdrLen; }
};

inline constexpr PushShape kGeneralPush{};
inline constexpr uint16_t kOuterIpv4Len = kEtherHdrLen + kIpv4HdrLen;
inline constexpr uint16_t kOuterIpv6Len = kEtherHdrLen + kIpv6HdrLen;
inline constexpr PushShape kFixedPushes[] = {
    // VXLAN, or GENEVE with no options.
    {PushVariant::kUdpIpv4, true, false, kOuterIpv4Len + kUdpHdrLen + kVxlanHdrLen},
    // GENEVE with options.
    {PushVariant::kUdpOptionsIpv4, true, false, 0},
    // gretap with a key, without and with sequence numbers.
    {PushVariant::kGretapIpv4, false, false, kOuterIpv4Len + GreHeaderLen(GreHdr::kKey)},
    {PushVariant::kGretapSequenceIpv4, false, true,
     kOuterIpv4Len + GreHeaderLen(GreHdr::kKey | GreHdr::kSequence)},
    // The same over IPv6, where the UDP checksum is mandatory (RFC 8200 §8.1); gretap
    // with or without a key (the template's length is the tunnel's).
    {PushVariant::kUdpIpv6, true, false, kOuterIpv6Len + kUdpHdrLen + kVxlanHdrLen, 6, true},
    {PushVariant::kUdpOptionsIpv6, true, false, 0, 6, true},
    {PushVariant::kGretapIpv6, false, false, 0, 6},
    {PushVariant::kGretapSequenceIpv6, false, true, 0, 6},
};

// The fixed shape of variant `v` (not kGeneral).
constexpr PushShape FixedShape(PushVariant v) { return kFixedPushes[static_cast<int>(v) - 1]; }
static_assert([] {
  for (const PushShape& s : kFixedPushes) {
    if (!s.fixed() || FixedShape(s.variant).variant != s.variant) return false;
  }
  return true;
}());

// Whether the fixed shape `s` describes `t`: besides its constants, nothing per packet
// beyond the fields every packet gets (no ttl/tos/df inherit, no outer checksum
// offload, no GRE checksum, a UDP checksum only where the shape sums it).
inline bool FitsPushShape(const PushShape& s, const Tunnel& t) {
  constexpr uint32_t kPerPacketWork = kTunnelPerPacketIpMask | kTunnelL3 | kTunnelGreChecksum;
  const bool type = s.udp ? IsUdpTunnel(t.type) : t.type == TunnelType::kGretap;
  const bool sequence = (t.flags & kTunnelGreSequence) != 0;
  const bool udp_checksum = (t.flags & kTunnelUdpChecksum) != 0;
  return s.fixed() && type && sequence == s.gre_sequence && udp_checksum == s.udp_checksum &&
         t.outer_family == s.outer_family && t.l3_len == s.l3_len() &&
         (s.hdr_len == 0 || t.hdr_len == s.hdr_len) && !(t.flags & kPerPacketWork) &&
         t.tx_ol_flags == 0;
}

// The first fixed shape `t` fits, else the general push.
inline PushVariant ChoosePushVariant(const Tunnel& t) {
  for (const PushShape& s : kFixedPushes) {
    if (FitsPushShape(s, t)) return s.variant;
  }
  return PushVariant::kGeneral;
}

}  // namespace tundra
