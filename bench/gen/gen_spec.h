// What tundra-gen sends: the traffic spec (protocol, sizes, flows, tunnels, addresses),
// from flags and/or a compact spec string. Pure data and validation; no DPDK.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "dataplane/proto/address.h"

namespace tundra::gen {

enum class GenProto : uint8_t { kNone, kVxlan, kGeneve, kGre, kGretap };

const char* GenProtoName(GenProto proto);

// Inner frame sizes follow the RFC 2544 / testpmd convention: a "64-byte frame" is 60
// bytes of data plus a 4-byte FCS the NIC adds, so the mbuf holds size - 4 bytes. The
// size is that of the inner Ethernet frame; tunnels add their outer headers on top.
inline constexpr uint16_t kFcsLen = 4;
inline constexpr uint16_t kMinFrameSize = 64;
inline constexpr uint16_t kMaxFrameSize = 1518;
// VXLAN/GENEVE VNIs are 24 bits; GRE keys 32.
inline constexpr uint32_t kMaxVniValue = 0xFFFFFF;

// IMIX 7:4:1 of 64/570/1518, interleaved so that the large frames are spread out.
inline constexpr uint16_t kImixPattern[] = {64, 570, 64, 64, 570, 64, 1518, 64, 570, 64, 64, 570};

struct GenSpec {
  GenProto proto = GenProto::kVxlan;
  std::vector<uint16_t> sizes = {64};  // one size, or the IMIX pattern
  bool imix = false;
  uint32_t flows = 1;    // inner flows per tunnel (varying inner source IP and UDP port)
  uint32_t tunnels = 1;  // VNIs / GRE keys vni_base .. vni_base + tunnels - 1
  uint32_t vni_base = 100;
  uint8_t underlay = 4;        // outer IP version
  uint8_t geneve_options = 0;  // 0 or 2 (non-critical) options
  uint16_t dstport = 0;        // 0: IANA port of the protocol
  bool gre_key = true;         // gre/gretap: carry the key (RFC 2890)
  // gre/gretap: carry a sequence number (RFC 2890), counting up per tunnel.
  bool gre_seq = false;
  // Outer addresses: tundra-gen plays the remote VTEP, so by default it sends from
  // tundra's remote (192.0.2.2, MAC :02) to tundra's uplink (192.0.2.1, MAC :01).
  IpAddress local_ip;   // outer source
  IpAddress remote_ip;  // outer destination
  MacAddress src_mac;
  MacAddress dst_mac;
  // Inner addresses (flow i adds i to the source IP and the source port).
  MacAddress inner_src_mac;
  MacAddress inner_dst_mac;
  IpAddress inner_src_ip;
  IpAddress inner_dst_ip;
  uint16_t inner_sport = 1024;
  uint16_t inner_dport = 5001;

  // Streams are (tunnel, flow) pairs: stream id = tunnel * flows + flow.
  uint32_t streams() const { return flows * tunnels; }
};

// The documented defaults (README quick start conventions), for `underlay` 4 or 6.
GenSpec DefaultSpec(uint8_t underlay = 4);

// Applies a spec string of `key=value` items separated by spaces, commas or
// semicolons, e.g. "proto=geneve opts=2 size=imix flows=64 tunnels=8 ip=6".
// Keys: proto, size, flows, tunnels, vni, ip, opts, dstport, key, seq. Address keys:
// local, remote, smac, dmac, inner_smac, inner_dmac, inner_src, inner_dst, sport, dport.
absl::Status ApplySpecString(absl::string_view text, GenSpec& spec);

// Sets sizes from "64".."1518" or "imix".
absl::Status SetSize(absl::string_view text, GenSpec& spec);

absl::StatusOr<GenProto> ParseProto(absl::string_view text);

// Checks ranges and consistency (address families, sizes that fit the payload).
absl::Status ValidateSpec(const GenSpec& spec);

// One line, e.g. "vxlan/ipv4 64B flows=1 tunnels=1 vni=100".
std::string DescribeSpec(const GenSpec& spec);

}  // namespace tundra::gen
