// The inner-flow hash behind the outer UDP source port (RFC 7348 §5: "a hash of fields
// from the inner packet", so one flow keeps one port and ECMP/RSS spread flows).
#pragma once

#include <rte_hash_crc.h>
#include <rte_mbuf.h>

#include <cstdint>
#include <cstring>

#include "dataplane/proto/ether.h"
#include "dataplane/proto/ip.h"
#include "dataplane/proto/udp.h"

namespace tundra {

// Whether an IP protocol's first four bytes are its ports: TCP, UDP, SCTP.
inline bool CarriesPorts(uint8_t proto) {
  return proto == kIpProtoTcp || proto == kIpProtoUdp || proto == kIpProtoSctp;
}

// The flow hash of an IPv4 packet at frame + off (len: the frame's bytes): addresses,
// protocol, and the ports of unfragmented TCP/UDP/SCTP.
__attribute__((always_inline)) inline uint32_t Ipv4FlowHash(const uint8_t* frame, uint32_t off,
                                                            uint32_t len) {
  const auto* ip = reinterpret_cast<const Ipv4Hdr*>(frame + off);
  uint64_t addrs;
  std::memcpy(&addrs, ip->src, 8);
  uint32_t h = static_cast<uint32_t>(__builtin_ia32_crc32di(ip->protocol, addrs));
  const uint8_t proto = ip->protocol;
  const uint32_t l4 = off + ip->header_len();
  if (CarriesPorts(proto) && !ip->is_fragment() && len >= l4 + 4) {
    uint32_t ports;
    std::memcpy(&ports, frame + l4, 4);
    h = __builtin_ia32_crc32si(h, ports);
  }
  return h;
}

// Hash of the inner flow starting at `frame` (an Ethernet frame of `len` bytes):
// addresses, protocol and, for unfragmented TCP/UDP/SCTP, the ports; the MACs and
// EtherType for anything that is not IP. Uses the NIC's RSS hash when rx gave one.
// CRC32-C by the SSE4.2 instruction directly (DPDK builds for corei7 and up), the same
// values as rte_hash_crc without its per-call algorithm dispatch.
__attribute__((always_inline)) inline uint32_t InnerFlowHash(const rte_mbuf* m,
                                                             const uint8_t* frame, uint32_t len) {
  if (m->ol_flags & RTE_MBUF_F_RX_RSS_HASH) return m->hash.rss;
  uint32_t off = kEtherHdrLen;
  Be16 type = reinterpret_cast<const EtherHdr*>(frame)->ether_type;
  if (type == kEtherTypeVlan && len >= kEtherHdrLen + kVlanHdrLen) {
    std::memcpy(&type, frame + kEtherHdrLen + 2, 2);
    off += kVlanHdrLen;
  }
  if (type == kEtherTypeIpv4 && len >= off + kIpv4HdrLen) return Ipv4FlowHash(frame, off, len);
  if (type != kEtherTypeIpv6 || len < off + kIpv6HdrLen) {
    return rte_hash_crc(frame, kEtherHdrLen, 0);
  }
  const auto* ip = reinterpret_cast<const Ipv6Hdr*>(frame + off);
  uint64_t addrs[4];
  std::memcpy(addrs, ip->src, 32);
  uint64_t c = ip->next_header;
  for (uint64_t w : addrs) c = __builtin_ia32_crc32di(c, w);
  uint32_t h = static_cast<uint32_t>(c);
  const uint8_t proto = ip->next_header;
  const uint32_t l4 = off + kIpv6HdrLen;
  if (CarriesPorts(proto) && len >= l4 + 4) {
    uint32_t ports;
    std::memcpy(&ports, frame + l4, 4);
    h = __builtin_ia32_crc32si(h, ports);
  }
  return h;
}

// The source port for a flow hash: 49152-65535, mixing the high bits in so that
// hashes differing only there still spread.
inline uint16_t SourcePortFromHash(uint32_t h) {
  return kEphemeralPortBase | ((h ^ (h >> 16)) & kEphemeralPortMask);
}

}  // namespace tundra
