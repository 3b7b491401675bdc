#include "bench/gen/frame_builder.h"

#include <cstring>
#include <memory>

#include "absl/strings/str_cat.h"
#include "bench/gen/payload.h"
#include "dataplane/header_template.h"
#include "dataplane/proto/checksum.h"
#include "dataplane/proto/ether.h"
#include "dataplane/proto/geneve.h"
#include "dataplane/proto/ip.h"
#include "dataplane/proto/udp.h"
#include "dataplane/tunnel_spec.h"

namespace tundra::gen {
namespace {

// GENEVE options for opts=2: two non-critical (type high bit clear) experimental-class
// TLVs of 4 and 8 bytes, so a DUT that does not know them still forwards.
constexpr uint16_t kGeneveOptionClass = 0xFFF0;

TunnelType ToTunnelType(GenProto p) {
  switch (p) {
    case GenProto::kGeneve:
      return TunnelType::kGeneve;
    case GenProto::kGre:
      return TunnelType::kGre;
    case GenProto::kGretap:
      return TunnelType::kGretap;
    default:
      return TunnelType::kVxlan;
  }
}

uint32_t V4Host(const IpAddress& a) {
  return uint32_t{a.bytes[0]} << 24 | uint32_t{a.bytes[1]} << 16 | uint32_t{a.bytes[2]} << 8 |
         a.bytes[3];
}

// Inner IPv4 + UDP + payload + zero padding, `ip_len` bytes at `p`.
void WriteInnerIp(const GenSpec& spec, uint32_t stream, uint16_t ip_len, uint8_t* p) {
  const uint32_t flow = stream % spec.flows;
  auto* ip = reinterpret_cast<Ipv4Hdr*>(p);
  ip->version_ihl = 0x45;
  ip->tos = 0;
  ip->total_length = Be16(ip_len);
  ip->packet_id = Be16(0);
  ip->fragment_offset = Be16(0);
  ip->ttl = 64;
  ip->protocol = kIpProtoUdp;
  ip->checksum = Be16(0);
  const uint32_t src = V4Host(spec.inner_src_ip) + flow;
  const Be32 src_be(src);
  std::memcpy(ip->src, &src_be, 4);
  std::memcpy(ip->dst, spec.inner_dst_ip.bytes.data(), 4);
  ip->checksum = Be16::FromRaw(static_cast<uint16_t>(~FoldChecksum(RawSum(ip, kIpv4HdrLen))));

  auto* udp = reinterpret_cast<UdpHdr*>(p + kIpv4HdrLen);
  const uint32_t sport_range = 65536 - spec.inner_sport;
  udp->src_port = Be16(static_cast<uint16_t>(spec.inner_sport + flow % sport_range));
  udp->dst_port = Be16(spec.inner_dport);
  udp->length = Be16(static_cast<uint16_t>(ip_len - kIpv4HdrLen));
  udp->checksum = Be16(0);  // RFC 768: none; the stamp changes per packet
  WritePayloadHeader(p + kIpv4HdrLen + kUdpHdrLen, stream);
}

// Inner Ethernet frame of `len` bytes at `p`.
void WriteInnerFrame(const GenSpec& spec, uint32_t stream, uint16_t len, uint8_t* p) {
  auto* eth = reinterpret_cast<EtherHdr*>(p);
  std::memcpy(eth->dst, spec.inner_dst_mac.bytes.data(), 6);
  std::memcpy(eth->src, spec.inner_src_mac.bytes.data(), 6);
  eth->ether_type = kEtherTypeIpv4;
  WriteInnerIp(spec, stream, len - kEtherHdrLen, p + kEtherHdrLen);
}

// RFC 7348 §5 style entropy: a per-stream port in 49152-65535.
uint16_t OuterSourcePort(uint32_t stream) {
  uint32_t h = stream * 0x9E3779B1u;
  h ^= h >> 15;
  return static_cast<uint16_t>(kEphemeralPortBase | (h & kEphemeralPortMask));
}

}  // namespace

absl::StatusOr<FrameTemplate> BuildTemplate(const GenSpec& spec, uint32_t stream, uint16_t size) {
  FrameTemplate t;
  t.stream = stream;
  const uint16_t inner_len = size - kFcsLen;  // inner Ethernet frame bytes
  constexpr uint16_t kInnerPayloadOff = kEtherHdrLen + kIpv4HdrLen + kUdpHdrLen;
  if (spec.proto == GenProto::kNone) {
    t.bytes.assign(inner_len, 0);
    WriteInnerFrame(spec, stream, inner_len, t.bytes.data());
    t.payload_off = kInnerPayloadOff;
    return t;
  }

  TunnelSpec ts;
  ts.type = ToTunnelType(spec.proto);
  ts.local = spec.local_ip;
  ts.remote = spec.remote_ip;
  const uint32_t tunnel = stream / spec.flows;
  ts.vni = spec.vni_base + tunnel;
  ts.has_key = spec.gre_key && IsGreTunnel(ts.type);
  ts.seq = spec.gre_seq && IsGreTunnel(ts.type);
  ts.key = ts.vni;
  ts.dstport = spec.dstport;
  if (spec.geneve_options == 2) {
    ts.options.push_back(GeneveOption{kGeneveOptionClass, 0x01, {0xA1, 0xA2, 0xA3, 0xA4}});
    ts.options.push_back(GeneveOption{kGeneveOptionClass, 0x02, {1, 2, 3, 4, 5, 6, 7, 8}});
  }
  Underlay under;
  under.src_mac = spec.src_mac;
  under.dst_mac = spec.dst_mac;
  under.mtu = 9600;
  auto tunnel_entry = std::make_unique<Tunnel>();  // 400+ bytes, cache-line aligned
  BuildTunnel(ts, under, stream, Attachment{}, *tunnel_entry);
  const Tunnel& tn = *tunnel_entry;

  // gre carries the inner IP packet; the others the inner Ethernet frame.
  const bool l3 = spec.proto == GenProto::kGre;
  const uint16_t body_len = l3 ? inner_len - kEtherHdrLen : inner_len;
  const uint16_t total = tn.hdr_len + body_len;
  t.bytes.assign(total, 0);
  uint8_t* f = t.bytes.data();
  std::memcpy(f, tn.hdr.data(), tn.hdr_len);
  if (l3) {
    WriteInnerIp(spec, stream, body_len, f + tn.hdr_len);
    t.payload_off = tn.hdr_len + kIpv4HdrLen + kUdpHdrLen;
  } else {
    WriteInnerFrame(spec, stream, body_len, f + tn.hdr_len);
    t.payload_off = tn.hdr_len + kInnerPayloadOff;
  }

  if (ts.seq) {
    t.gre_seq_off = tn.gre_seq_off;
    t.gre_seq_flows = spec.flows;
    t.gre_seq_flow = stream % spec.flows;
  }
  const uint16_t l3_off = kEtherHdrLen;
  const uint16_t l4_off = l3_off + tn.l3_len;
  const uint16_t ip_payload_len = total - l4_off;
  if (tn.outer_family == 4) {
    auto* ip = reinterpret_cast<Ipv4Hdr*>(f + l3_off);
    ip->total_length = Be16(static_cast<uint16_t>(total - l3_off));
    ip->checksum = Be16(0);
    ip->checksum = Be16::FromRaw(static_cast<uint16_t>(~FoldChecksum(RawSum(ip, kIpv4HdrLen))));
  } else {
    auto* ip = reinterpret_cast<Ipv6Hdr*>(f + l3_off);
    ip->payload_len = Be16(ip_payload_len);
  }
  if (IsUdpTunnel(tn.type)) {
    auto* udp = reinterpret_cast<UdpHdr*>(f + l4_off);
    udp->src_port = Be16(OuterSourcePort(stream));
    udp->length = Be16(ip_payload_len);
    udp->checksum = Be16(0);
    if (tn.outer_family == 6) {
      // RFC 6935's zero checksum is not what tundra accepts: always compute it.
      const auto* ip = reinterpret_cast<const Ipv6Hdr*>(f + l3_off);
      uint32_t sum = RawSum(ip->src, 32);
      sum += Be16(ip_payload_len).raw();
      sum += Be16(kIpProtoUdp).raw();
      sum += RawSum(udp, ip_payload_len);
      t.udp_csum_off = l4_off + 6;
      t.udp_base_sum = FoldChecksum(sum);
      t.stamp_odd = ((t.payload_off + kPayloadSeqOff - l4_off) & 1) != 0;
      StampFrame(t, f, 0, 0);  // a valid checksum for the zero stamp too
    }
  }
  return t;
}

absl::StatusOr<std::vector<FrameTemplate>> BuildTemplates(const GenSpec& spec) {
  if (absl::Status st = ValidateSpec(spec); !st.ok()) return st;
  std::vector<FrameTemplate> out;
  out.reserve(size_t{spec.streams()} * spec.sizes.size());
  for (uint32_t s = 0; s < spec.streams(); ++s) {
    for (uint16_t size : spec.sizes) {
      auto t = BuildTemplate(spec, s, size);
      if (!t.ok()) return t.status();
      out.push_back(*std::move(t));
    }
  }
  return out;
}

void StampFrame(const FrameTemplate& t, uint8_t* frame, uint64_t seq, uint64_t tsc) {
  uint8_t* p = frame + t.payload_off;
  WritePayloadStamp(p, seq, tsc);
  if (t.gre_seq_off != 0) {
    const Be32 gre_seq(static_cast<uint32_t>(seq * t.gre_seq_flows + t.gre_seq_flow + 1));
    std::memcpy(frame + t.gre_seq_off, &gre_seq, 4);
  }
  if (t.udp_csum_off == 0) return;
  uint16_t stamp = FoldChecksum(RawSum(p + kPayloadSeqOff, kPayloadStampLen));
  if (t.stamp_odd) stamp = static_cast<uint16_t>(stamp << 8 | stamp >> 8);
  uint16_t csum = static_cast<uint16_t>(~FoldChecksum(uint32_t{t.udp_base_sum} + stamp));
  if (csum == 0) csum = 0xFFFF;  // RFC 768: a computed zero is sent as all ones
  std::memcpy(frame + t.udp_csum_off, &csum, 2);
}

}  // namespace tundra::gen
