#include "dataplane/echo_reply.h"

#include <algorithm>
#include <cstring>

#include "dataplane/mbuf_util.h"
#include "dataplane/proto/checksum.h"
#include "dataplane/proto/ether.h"
#include "dataplane/proto/icmp.h"
#include "dataplane/proto/ip.h"

namespace tundra {

namespace {

// The TTL / hop limit of our replies: a host's default (RFC 1700, Linux's ip_default_ttl).
constexpr uint8_t kReplyTtl = 64;

EchoVerdict Fail(DropReason& drop, DropReason why) {
  drop = why;
  return EchoVerdict::kDrop;
}

// Whether the first `len` bytes of `m` are in its first segment, made so if need be
// (decap's parser does the same for its headers; the reply is written there).
bool Contiguous(rte_mbuf* m, uint32_t len) {
  if (rte_pktmbuf_data_len(m) >= len) [[likely]]
    return true;
  return m->nb_segs > 1 && Linearize(m) && rte_pktmbuf_data_len(m) >= len;
}

// Sources a reply must not go to: "this network", loopback, multicast and the class E
// space with the limited broadcast (RFC 1122 §3.2.1.3, RFC 1812 §5.3.7).
bool UnicastSource4(const uint8_t* a) { return a[0] != 0 && a[0] != 127 && a[0] < 224; }

// The unspecified and loopback addresses and multicast (RFC 4291 §2.5.2, §2.5.3, §2.7).
bool UnicastSource6(const uint8_t* a) {
  static constexpr uint8_t kZero[15] = {};
  return a[0] != 0xFF && !(std::memcmp(a, kZero, 15) == 0 && a[15] <= 1);
}

// The 16-bit word type|code as it lies in memory, for the incremental checksum update.
uint16_t TypeCodeWord(const IcmpEchoHdr* icmp) {
  uint16_t w;
  std::memcpy(&w, icmp, 2);
  return w;
}

// The reply goes from the request's destination to its source.
template <size_t N>
void SwapAddresses(uint8_t (&src)[N], uint8_t (&dst)[N]) {
  uint8_t a[N];
  std::memcpy(a, src, N);
  std::memcpy(src, dst, N);
  std::memcpy(dst, a, N);
}

// Turns the validated request into its reply: addresses swapped, TTL 64, the reply
// type, the checksum updated for the type (RFC 1624 eqn. 3; swapping the addresses
// leaves the ICMPv6 pseudo-header's sum as it was).
void MakeEchoReply(const PortView& port, rte_mbuf* m, uint8_t family, uint16_t l4_off,
                   uint32_t icmp_len) {
  if (family == 6 && l4_off > kEtherHdrLen + kIpv6HdrLen) {
    // Leave the extension headers out: move Ethernet + IPv6 up against the ICMPv6 message.
    const uint16_t ext = static_cast<uint16_t>(l4_off - kEtherHdrLen - kIpv6HdrLen);
    uint8_t* p = rte_pktmbuf_mtod(m, uint8_t*);
    std::memmove(p + ext, p, kEtherHdrLen + kIpv6HdrLen);
    rte_pktmbuf_adj(m, ext);
    l4_off = kEtherHdrLen + kIpv6HdrLen;
  }
  auto* eth = rte_pktmbuf_mtod(m, EtherHdr*);
  std::memcpy(eth->dst, eth->src, 6);
  std::memcpy(eth->src, port.mac, 6);
  auto* icmp = rte_pktmbuf_mtod_offset(m, IcmpEchoHdr*, l4_off);
  const uint16_t old_word = TypeCodeWord(icmp);
  if (family == 4) {
    auto* ip = rte_pktmbuf_mtod_offset(m, Ipv4Hdr*, kEtherHdrLen);
    SwapAddresses(ip->src, ip->dst);
    ip->ttl = kReplyTtl;
    ip->checksum = Be16(0);
    ip->checksum = Be16::FromRaw(static_cast<uint16_t>(~FoldChecksum(RawSum(ip, kIpv4HdrLen))));
    icmp->type = kIcmpEchoReply;
  } else {
    auto* ip = rte_pktmbuf_mtod_offset(m, Ipv6Hdr*, kEtherHdrLen);
    SwapAddresses(ip->src, ip->dst);
    ip->next_header = kIpProtoIcmpv6;
    ip->payload_len = Be16(static_cast<uint16_t>(icmp_len));
    ip->hop_limit = kReplyTtl;
    icmp->type = kIcmpv6EchoReply;
  }
  icmp->code = 0;
  icmp->checksum =
      Be16::FromRaw(UpdateChecksum16(icmp->checksum.raw(), old_word, TypeCodeWord(icmp)));
  m->ol_flags = 0;
}

}  // namespace

EchoVerdict AnswerEcho(const PortView& port, rte_mbuf* m, const IpInput& ip_in, DropReason& drop) {
  IpInput ip = ip_in;
  // RFC 8200 §4: a node skips the extension headers it is the destination of. Behind a
  // fragment header (or too many) there is no echo request we could answer whole.
  if (ip.family == 6 && SkipIpv6ExtensionHeaders(m, ip) != DropReason::kNone) {
    return EchoVerdict::kNotEcho;
  }
  const uint8_t proto = ip.family == 4 ? kIpProtoIcmp : kIpProtoIcmpv6;
  if (ip.protocol != proto || ip.end <= ip.l4_off) return EchoVerdict::kNotEcho;
  if (ip.family == 4 && rte_pktmbuf_mtod_offset(m, const Ipv4Hdr*, kEtherHdrLen)->is_fragment()) {
    return Fail(drop, DropReason::kIpFragment);  // not reassembled (as for tunnels)
  }
  const uint32_t len = ip.end - ip.l4_off;
  if (!Contiguous(m, ip.l4_off + std::min<uint32_t>(len, sizeof(IcmpEchoHdr)))) {
    return Fail(drop, DropReason::kTruncated);
  }
  const auto* icmp = rte_pktmbuf_mtod_offset(m, const IcmpEchoHdr*, ip.l4_off);
  if (icmp->type != (ip.family == 4 ? kIcmpEchoRequest : kIcmpv6EchoRequest)) {
    return EchoVerdict::kNotEcho;
  }
  if (len < sizeof(IcmpEchoHdr) || icmp->code != 0) return Fail(drop, DropReason::kBadIcmp);
  const auto* eth = rte_pktmbuf_mtod(m, const EtherHdr*);
  if (ip.family == 4) {
    const auto* ip4 = rte_pktmbuf_mtod_offset(m, const Ipv4Hdr*, kEtherHdrLen);
    // RFC 1122 §3.2.2.6 wants the options copied (a source route reversed): we do not
    // process IP options, so we do not answer rather than answer wrongly.
    if (ip4->header_len() != kIpv4HdrLen) return Fail(drop, DropReason::kIpOptions);
    uint16_t sum = 0;
    if (!SumMbuf(m, ip.l4_off, len, &sum) || sum != 0xFFFF) {
      return Fail(drop, DropReason::kBadIcmp);
    }
    if (!UnicastSource4(ip4->src)) return Fail(drop, DropReason::kBadIcmp);
  } else {
    const auto* ip6 = rte_pktmbuf_mtod_offset(m, const Ipv6Hdr*, kEtherHdrLen);
    if (!L4ChecksumOk(m, nullptr, ip6, kIpProtoIcmpv6, ip.l4_off, len)) {
      return Fail(drop, DropReason::kBadIcmp);
    }
    if (!UnicastSource6(ip6->src)) return Fail(drop, DropReason::kBadIcmp);
  }
  if (IsMulticastMac(eth->src)) return Fail(drop, DropReason::kBadIcmp);
  TrimMbuf(m, ip.end);  // Ethernet padding is no part of the reply
  MakeEchoReply(port, m, ip.family, ip.l4_off, len);
  return EchoVerdict::kReplied;
}

}  // namespace tundra
