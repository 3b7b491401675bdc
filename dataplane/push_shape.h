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
  bool udp = false;                             // VXLAN/GENEVE, else gretap; outer IPv4 either way
  bool gre_sequence = false;                    // gretap: a sequence number, the header's last word
  uint16_t hdr_len = 0;  // the template's length; 0: the tunnel's (GENEVE options)

  constexpr bool fixed() const { return variant != PushVariant::kGeneral; }
};

inline constexpr PushShape kGeneralPush{};
inline constexpr uint16_t kOuterIpv4Len = kEtherHdrLen + kIpv4HdrLen;
inline constexpr PushShape kFixedPushes[] = {
    // VXLAN, or GENEVE with no options.
    {PushVariant::kUdpIpv4, true, false, kOuterIpv4Len + kUdpHdrLen + kVxlanHdrLen},
    // GENEVE with options.
    {PushVariant::kUdpOptionsIpv4, true, false, 0},
    // gretap with a key, without and with sequence numbers.
    {PushVariant::kGretapIpv4, false, false, kOuterIpv4Len + GreHeaderLen(GreHdr::kKey)},
    {PushVariant::kGretapSequenceIpv4, false, true,
     kOuterIpv4Len + GreHeaderLen(GreHdr::kKey | GreHdr::kSequence)},
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
// offload, no UDP checksum, no GRE checksum).
inline bool FitsPushShape(const PushShape& s, const Tunnel& t) {
  constexpr uint32_t kPerPacketWork =
      kTunnelPerPacketIpMask | kTunnelUdpChecksum | kTunnelL3 | kTunnelGreChecksum;
  const bool type = s.udp ? IsUdpTunnel(t.type) : t.type == TunnelType::kGretap;
  const bool sequence = (t.flags & kTunnelGreSequence) != 0;
  return s.fixed() && type && sequence == s.gre_sequence && t.outer_family == 4 &&
         t.l3_len == kIpv4HdrLen && (s.hdr_len == 0 || t.hdr_len == s.hdr_len) &&
         !(t.flags & kPerPacketWork) && t.tx_ol_flags == 0;
}

// The first fixed shape `t` fits, else the general push.
inline PushVariant ChoosePushVariant(const Tunnel& t) {
  for (const PushShape& s : kFixedPushes) {
    if (FitsPushShape(s, t)) return s.variant;
  }
  return PushVariant::kGeneral;
}

}  // namespace tundra
