#include "dataplane/header_template.h"

#include <algorithm>
#include <cstring>

#include "dataplane/proto/checksum.h"
#include "dataplane/proto/ether.h"
#include "dataplane/proto/geneve.h"
#include "dataplane/proto/gre.h"
#include "dataplane/proto/ip.h"
#include "dataplane/proto/udp.h"
#include "dataplane/proto/vxlan.h"
#include "dataplane/push_shape.h"
#include "dataplane/tx_checksum.h"

namespace tundra {

uint16_t TunnelUdpPort(const TunnelSpec& spec) {
  if (spec.dstport != 0) return spec.dstport;
  return spec.type == TunnelType::kGeneve ? kGeneveDefaultPort : kVxlanDefaultPort;
}

uint16_t GeneveOptionsLen(const TunnelSpec& spec) {
  uint16_t len = 0;
  for (const GeneveOption& o : spec.options) len += sizeof(GeneveOptionHdr) + o.data.size();
  return len;
}

namespace {

uint16_t WriteVxlan(const TunnelSpec& spec, uint8_t* p) {
  auto* vx = reinterpret_cast<VxlanHdr*>(p);
  vx->flags = VxlanHdr::kFlagI;
  vx->set_vni(spec.vni);
  return kVxlanHdrLen;
}

uint16_t WriteGeneve(const TunnelSpec& spec, uint8_t* p) {
  auto* g = reinterpret_cast<GeneveHdr*>(p);
  const uint16_t opt_len = GeneveOptionsLen(spec);
  g->ver_opt_len = static_cast<uint8_t>(opt_len / 4);  // version 0
  g->flags = 0;
  g->protocol = Be16(0x6558);
  g->vni_reserved = Be32(spec.vni << 8);
  uint8_t* o = p + kGeneveHdrLen;
  for (const GeneveOption& opt : spec.options) {
    auto* h = reinterpret_cast<GeneveOptionHdr*>(o);
    h->option_class = Be16(opt.option_class);
    h->type = opt.type;
    h->length = static_cast<uint8_t>(opt.data.size() / 4);
    std::memcpy(o + sizeof(GeneveOptionHdr), opt.data.data(), opt.data.size());
    o += sizeof(GeneveOptionHdr) + opt.data.size();
    // RFC 8926 §3.4: C is set when any option is critical.
    if (opt.type & GeneveOptionHdr::kTypeCritical) g->flags |= GeneveHdr::kFlagCritical;
  }
  return kGeneveHdrLen + opt_len;
}

// GRE with its optional words in RFC 2890 order: checksum+reserved1, key, sequence.
// The protocol of L3 tunnels is written per packet (IPv4 or IPv6 inner).
uint16_t WriteGre(const TunnelSpec& spec, uint8_t* p, uint16_t off, Tunnel& t) {
  uint16_t flags = 0;
  if (spec.csum) flags |= GreHdr::kChecksum;
  if (spec.has_key) flags |= GreHdr::kKey;
  if (spec.seq) flags |= GreHdr::kSequence;
  auto* g = reinterpret_cast<GreHdr*>(p);
  g->flags_version = Be16(flags);
  g->protocol = Be16(spec.type == TunnelType::kGretap ? 0x6558 : 0x0800);
  uint16_t len = kGreHdrLen;
  if (spec.csum) {
    t.gre_csum_off = off + len;
    len += kGreOptionLen;
  }
  if (spec.has_key) {
    const Be32 key(spec.key);
    std::memcpy(p + len, &key, 4);
    len += kGreOptionLen;
  }
  if (spec.seq) {
    t.gre_seq_off = off + len;
    len += kGreOptionLen;
  }
  return len;
}

}  // namespace

void BuildTunnel(const TunnelSpec& spec, const Underlay& underlay, uint32_t id,
                 const Attachment& attachment, Tunnel& t) {
  t.id = id;
  t.type = spec.type;
  t.outer_family = spec.remote.family;
  t.egress_port = underlay.port;
  t.path = underlay.path;
  t.max_l3_len = underlay.mtu;
  t.attachment = attachment;
  t.remote = spec.remote;
  t.tos = spec.tos;
  t.flags = 0;
  if (spec.ttl_inherit) t.flags |= kTunnelTtlInherit;
  if (spec.tos_inherit) t.flags |= kTunnelTosInherit;
  if (spec.df == DfMode::kInherit && t.outer_family == 4) t.flags |= kTunnelDfInherit;
  const bool udp = IsUdpTunnel(spec.type);
  if (udp && (spec.udp_csum || t.outer_family == 6)) t.flags |= kTunnelUdpChecksum;
  if (underlay.tx_ip_checksum_offload) t.flags |= kTunnelTxIpChecksumOffload;
  if (underlay.tx_udp_checksum_offload) t.flags |= kTunnelTxUdpChecksumOffload;
  if (underlay.tx_outer_offload) t.flags |= kTunnelTxOuterOffload;
  if (spec.type == TunnelType::kGre) t.flags |= kTunnelL3;
  if (spec.csum) t.flags |= kTunnelGreChecksum;
  if (spec.seq) t.flags |= kTunnelGreSequence;
  if (spec.seq_drop) t.flags |= kTunnelSeqDrop;
  if (spec.fragment) t.flags |= kTunnelFragment;

  for (const GeneveOption& o : spec.options) {
    const uint32_t oid = GeneveOptionId(o.option_class, o.type);
    if (t.num_known_options < kMaxKnownOptions &&
        std::find(t.known_options, t.known_options + t.num_known_options, oid) ==
            t.known_options + t.num_known_options) {
      t.known_options[t.num_known_options++] = oid;
    }
  }
  for (uint32_t oid : underlay.known_options) {
    if (t.num_known_options < kMaxKnownOptions &&
        std::find(t.known_options, t.known_options + t.num_known_options, oid) ==
            t.known_options + t.num_known_options) {
      t.known_options[t.num_known_options++] = oid;
    }
  }

  uint8_t* p = t.hdr.data();
  auto* eth = reinterpret_cast<EtherHdr*>(p);
  std::memcpy(eth->dst, underlay.dst_mac.bytes.data(), 6);
  std::memcpy(eth->src, underlay.src_mac.bytes.data(), 6);
  eth->ether_type = t.outer_family == 4 ? kEtherTypeIpv4 : kEtherTypeIpv6;
  uint16_t off = kEtherHdrLen;

  uint8_t* l3 = p + off;
  t.l3_len = t.outer_family == 4 ? kIpv4HdrLen : kIpv6HdrLen;
  off += t.l3_len;
  if (udp) {
    auto* u = reinterpret_cast<UdpHdr*>(p + off);
    u->dst_port = Be16(TunnelUdpPort(spec));
    off += kUdpHdrLen;
  }
  t.tun_off = off;
  switch (spec.type) {
    case TunnelType::kVxlan:
      off += WriteVxlan(spec, p + off);
      break;
    case TunnelType::kGeneve:
      off += WriteGeneve(spec, p + off);
      break;
    case TunnelType::kGre:
    case TunnelType::kGretap:
      off += WriteGre(spec, p + off, off, t);
      break;
  }
  t.hdr_len = off;

  const uint8_t proto = udp ? kIpProtoUdp : kIpProtoGre;
  const uint8_t ttl = spec.ttl_inherit ? 64 : spec.ttl;  // inherit falls back to 64 for non-IP
  const uint8_t dscp = spec.tos_inherit ? 0 : (spec.tos & 0xFC);
  if (t.outer_family == 4) {
    auto* ip = reinterpret_cast<Ipv4Hdr*>(l3);
    ip->version_ihl = 0x45;
    ip->tos = dscp;
    ip->packet_id = Be16(0);
    ip->fragment_offset = Be16(spec.df == DfMode::kSet ? Ipv4Hdr::kDontFragment : 0);
    ip->ttl = ttl;
    ip->protocol = proto;
    std::memcpy(ip->src, spec.local.bytes.data(), 4);
    std::memcpy(ip->dst, spec.remote.bytes.data(), 4);
    // total_length, tos ECN bits and checksum stay zero: per packet they are added.
    t.ip_sum = RawSum(ip, kIpv4HdrLen);
    t.pseudo_addr_sum = PseudoAddressSum(ip, nullptr);
  } else {
    auto* ip = reinterpret_cast<Ipv6Hdr*>(l3);
    ip->vtc_flow = Be32((6u << 28) | (uint32_t{dscp} << 20));
    ip->next_header = proto;
    ip->hop_limit = ttl;
    std::memcpy(ip->src, spec.local.bytes.data(), 16);
    std::memcpy(ip->dst, spec.remote.bytes.data(), 16);
    t.pseudo_addr_sum = PseudoAddressSum(nullptr, ip);
  }
  PlanTxOffload(t);
  t.push_variant = ChoosePushVariant(t);
}

}  // namespace tundra
