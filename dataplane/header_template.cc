#include "dataplane/header_template.h"

#include <cstring>

#include "dataplane/proto/checksum.h"
#include "dataplane/proto/ether.h"
#include "dataplane/proto/ip.h"
#include "dataplane/proto/udp.h"
#include "dataplane/proto/vxlan.h"

namespace tundra {

const char* TunnelTypeName(TunnelType type) {
  switch (type) {
    case TunnelType::kVxlan:
      return "vxlan";
    case TunnelType::kGeneve:
      return "geneve";
    case TunnelType::kGre:
      return "gre";
    case TunnelType::kGretap:
      return "gretap";
  }
  return "unknown";
}

uint16_t TunnelUdpPort(const TunnelSpec& spec) {
  if (spec.dstport != 0) return spec.dstport;
  return kVxlanDefaultPort;
}

namespace {

// Writes the tunnel header proper (after UDP) and returns its length.
uint16_t WriteTunnelHeader(const TunnelSpec& spec, uint8_t* p) {
  auto* vx = reinterpret_cast<VxlanHdr*>(p);
  vx->flags = VxlanHdr::kFlagI;
  vx->set_vni(spec.vni);
  return kVxlanHdrLen;
}

}  // namespace

void BuildTunnel(const TunnelSpec& spec, const Underlay& underlay, uint32_t id,
                 const Attachment& attachment, Tunnel& t) {
  t.id = id;
  t.type = spec.type;
  t.underlay = spec.remote.family;
  t.egress_port = underlay.port;
  t.resolved = underlay.resolved;
  t.max_l3_len = underlay.mtu;
  t.attachment = attachment;
  t.remote = spec.remote;
  t.flags = 0;
  if (spec.ttl_inherit) t.flags |= kTunnelTtlInherit;
  if (spec.tos_inherit) t.flags |= kTunnelTosInherit;
  if (spec.df == DfMode::kInherit && t.underlay == 4) t.flags |= kTunnelDfInherit;
  if (spec.udp_csum || t.underlay == 6) t.flags |= kTunnelUdpChecksum;
  if (underlay.tx_ip_checksum_offload) t.flags |= kTunnelTxIpChecksumOffload;
  if (underlay.tx_udp_checksum_offload) t.flags |= kTunnelTxUdpChecksumOffload;

  uint8_t* p = t.hdr.data();
  auto* eth = reinterpret_cast<EtherHdr*>(p);
  std::memcpy(eth->dst, underlay.dst_mac.bytes.data(), 6);
  std::memcpy(eth->src, underlay.src_mac.bytes.data(), 6);
  eth->ether_type = t.underlay == 4 ? kEtherTypeIpv4 : kEtherTypeIpv6;
  uint16_t off = kEtherHdrLen;

  uint8_t* l3 = p + off;
  t.l3_len = t.underlay == 4 ? kIpv4HdrLen : kIpv6HdrLen;
  off += t.l3_len;

  auto* udp = reinterpret_cast<UdpHdr*>(p + off);
  udp->dst_port = Be16(TunnelUdpPort(spec));
  off += kUdpHdrLen;
  off += WriteTunnelHeader(spec, p + off);
  t.hdr_len = off;

  const uint8_t ttl = spec.ttl_inherit ? 64 : spec.ttl;  // inherit falls back to 64 for non-IP
  const uint8_t tos = spec.tos_inherit ? 0 : spec.tos;
  if (t.underlay == 4) {
    auto* ip = reinterpret_cast<Ipv4Hdr*>(l3);
    ip->version_ihl = 0x45;
    ip->tos = tos;
    ip->packet_id = Be16(0);
    ip->fragment_offset = Be16(spec.df == DfMode::kSet ? Ipv4Hdr::kDontFragment : 0);
    ip->ttl = ttl;
    ip->protocol = kIpProtoUdp;
    std::memcpy(ip->src, spec.local.bytes.data(), 4);
    std::memcpy(ip->dst, spec.remote.bytes.data(), 4);
    // total_length and checksum stay zero: the per-packet length is added to this sum.
    t.ip_sum = RawSum(ip, kIpv4HdrLen);
  } else {
    auto* ip = reinterpret_cast<Ipv6Hdr*>(l3);
    ip->vtc_flow = Be32((6u << 28) | (uint32_t{tos} << 20));
    ip->next_header = kIpProtoUdp;
    ip->hop_limit = ttl;
    std::memcpy(ip->src, spec.local.bytes.data(), 16);
    std::memcpy(ip->dst, spec.remote.bytes.data(), 16);
  }
}

}  // namespace tundra
