// Decap's per-burst "same outer header" cache: the fast path for a stream of packets
// from one tunnel.
//
// Packets of one tunnel differ in their outer headers only in a few fields: the IP
// length, identification, TTL/hop limit, checksum and flow label, the UDP source port
// (entropy), length and checksum, and the GRE sequence number. Packets of other
// tunnels of the same shape differ further only in the VNI (GRE key) and the outer
// source address. Once the full parser (ParseOuter) has accepted a packet, a following
// packet whose outer headers are equal to it in every other byte — one masked
// 16-byte-block compare — gets the same parse result, with its own VNI and source
// patched in, after only the per-packet checks of the variable fields: lengths, the
// IPv4 header checksum and the UDP checksum. Anything else (a different header, a
// checksum that fails, padding, segments) goes to the full parser, which also names
// the drop reason. So the cache changes no verdict, only the cost of reaching it.
//
// The reference packet stays in the burst (drops are freed and transmits happen after
// the parse stage), so the cache points into its data instead of copying it.
#pragma once

#include <rte_mbuf.h>
#include <smmintrin.h>

#include <cstdint>
#include <cstring>

#include "dataplane/decap_types.h"
#include "dataplane/mbuf_util.h"
#include "dataplane/proto/checksum.h"
#include "dataplane/proto/ether.h"
#include "dataplane/proto/gre.h"
#include "dataplane/proto/ip.h"
#include "dataplane/proto/udp.h"
#include "dataplane/rx_checksum.h"
#include "dataplane/tunnel_parse.h"

namespace tundra {

class DecapHeaderCache {
 public:
  // Outer headers longer than this (long GENEVE options, IPv6 extension headers) always
  // take the full parser.
  static constexpr uint16_t kMaxHeader = 128;

  bool valid() const { return blocks_ != 0; }
  int16_t ref() const { return ref_; }

  // Remembers `m` (accepted by ParseOuter as `p`, at parse slot `slot`) as the reference.
  void Fill(const rte_mbuf* m, const OuterParse& p, int16_t slot) {
    blocks_ = 0;
    const uint16_t hdr = p.tunnel.inner_off;
    // GRE checksums cover the payload: each packet's must be verified by the parser.
    if (m->nb_segs != 1 || hdr > kMaxHeader || p.tunnel.has_csum) return;
    const uint8_t* d = rte_pktmbuf_mtod(m, const uint8_t*);
    const uint16_t l3 = kEtherHdrLen;
    std::memset(mask_, 0, sizeof(mask_));
    std::memset(mask_, 0xFF, hdr);
    family_ = p.key.family;
    if (family_ == 4) {
      const auto* ip = reinterpret_cast<const Ipv4Hdr*>(d + l3);
      l4_off_ = l3 + ip->header_len();
      Unmask(l3 + offsetof(Ipv4Hdr, total_length), 4);  // total length, identification
      Unmask(l3 + offsetof(Ipv4Hdr, ttl), 1);
      Unmask(l3 + offsetof(Ipv4Hdr, checksum), 2);
    } else {
      l4_off_ = p.tunnel.l4_off;
      mask_[l3 + 1] = 0xF0;  // low nibble: the top of the flow label
      Unmask(l3 + 2, 2);     // flow label
      Unmask(l3 + offsetof(Ipv6Hdr, payload_len), 2);
      Unmask(l3 + offsetof(Ipv6Hdr, hop_limit), 1);
    }
    udp_ = p.tunnel.type == TunnelType::kVxlan || p.tunnel.type == TunnelType::kGeneve;
    if (udp_) {
      Unmask(l4_off_ + offsetof(UdpHdr, src_port), 2);
      Unmask(l4_off_ + offsetof(UdpHdr, length), 4);  // length, checksum
    }
    seq_off_ = p.tunnel.seq_off;
    if (seq_off_ != 0) Unmask(seq_off_, 4);
    // The tunnel's identity: VNI (3 bytes; the 4th, reserved, stays compared) or GRE
    // key, and the outer source address.
    id_off_ = p.tunnel.id_off;
    src_off_ = p.remote_off;
    if (id_off_ + 4 > kMaxHeader || src_off_ + 16 > kMaxHeader) return;
    std::memset(id_mask_, 0, sizeof(id_mask_));
    if (id_off_ != 0) Unmask(id_off_, udp_ ? 3 : 4, id_mask_);
    Unmask(src_off_, family_ == 4 ? 4 : 16, id_mask_);
    min_len_ = hdr + MinInnerLen(p.tunnel);
    // The compare reads whole 16-byte blocks (4, 6 or 8: unrolled), which the packet
    // must hold; the mask hides the bytes past the headers.
    const uint16_t blocks = hdr <= 64 ? 4 : hdr <= 96 ? 6 : 8;
    if (min_len_ < blocks * 16) min_len_ = blocks * 16;
    if (rte_pktmbuf_data_len(m) < min_len_) return;
    ref_hdr_ = d;
    ref_ = slot;
    blocks_ = blocks;
  }

  // Whether `m` has the reference's outer headers and passes the per-packet checks;
  // then `seq` is its GRE sequence number (when the tunnel header has one).
  enum Result { kMiss, kSameTunnel, kOtherTunnel };

  // kSameTunnel: `m` shares the reference's parse and per-tunnel checks; kOtherTunnel:
  // its parse is the reference's with PatchTunnel applied.
  __attribute__((always_inline)) Result Match(const rte_mbuf* m, uint32_t& seq) const {
    const uint32_t len = rte_pktmbuf_pkt_len(m);
    if (m->nb_segs != 1 || len < min_len_) return kMiss;
    const uint8_t* d = rte_pktmbuf_mtod(m, const uint8_t*);
    // Four blocks cover IPv4 headers up to GENEVE with 8 bytes of options; IPv6 and
    // longer headers take two or four more (unrolled: the count is 4, 6 or 8).
    __m128i id_diff;
    __m128i diff = MaskedDiff<4>(d, 0, id_diff);
    if (blocks_ > 4) [[unlikely]] {
      __m128i id_diff2;
      diff = _mm_or_si128(diff, MaskedDiff<2>(d, 64, id_diff2));
      id_diff = _mm_or_si128(id_diff, id_diff2);
      if (blocks_ > 6) {
        diff = _mm_or_si128(diff, MaskedDiff<2>(d, 96, id_diff2));
        id_diff = _mm_or_si128(id_diff, id_diff2);
      }
    }
    if (!_mm_testz_si128(diff, diff)) return kMiss;
    // Lengths: the IP packet ends exactly at the frame's end (padding takes the parser,
    // which trims it), and the UDP length is the rest of it.
    const auto* l3 = d + kEtherHdrLen;
    uint32_t ip_end;
    if (family_ == 4) {
      const auto* ip = reinterpret_cast<const Ipv4Hdr*>(l3);
      ip_end = kEtherHdrLen + ip->total_length.host();
      if (!OuterIpv4ChecksumOk(m, ip, l4_off_ - kEtherHdrLen)) return kMiss;
    } else {
      ip_end =
          kEtherHdrLen + kIpv6HdrLen + reinterpret_cast<const Ipv6Hdr*>(l3)->payload_len.host();
    }
    if (ip_end != len) return kMiss;
    if (udp_) {
      const auto* udp = reinterpret_cast<const UdpHdr*>(d + l4_off_);
      const uint16_t l4_len = static_cast<uint16_t>(len - l4_off_);
      if (udp->length.host() != l4_len) return kMiss;
      if (!OuterUdpChecksumOk(m, family_, l4_off_, l4_len, *udp)) return kMiss;
    }
    if (seq_off_ != 0) {
      Be32 s;
      std::memcpy(&s, d + seq_off_, sizeof(s));
      seq = s.host();
    }
    return _mm_testz_si128(id_diff, id_diff) ? kSameTunnel : kOtherTunnel;
  }

  // After a Match of another tunnel: turns the reference's parse `p` into `m`'s.
  void PatchTunnel(const rte_mbuf* m, OuterParse& p) const {
    const uint8_t* d = rte_pktmbuf_mtod(m, const uint8_t*);
    if (id_off_ != 0) {
      Be32 id;
      std::memcpy(&id, d + id_off_, 4);
      p.tunnel.vni = udp_ ? id.host() >> 8 : id.host();
      p.key.vni = p.tunnel.vni;
    }
    // Point-to-point protocols (GRE) key on the remote too.
    if (!udp_) std::memcpy(p.key.remote, d + src_off_, family_ == 4 ? 4 : 16);
  }

 private:
  // The masked difference of N blocks at `off`; `id_diff` that of the identity bytes.
  template <int N>
  __attribute__((always_inline)) __m128i MaskedDiff(const uint8_t* d, uint16_t off,
                                                    __m128i& id_diff) const {
    __m128i diff = _mm_setzero_si128();
    id_diff = _mm_setzero_si128();
#pragma GCC unroll 4
    for (uint16_t b = off; b < off + 16 * N; b += 16) {
      const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(d + b));
      const __m128i y = _mm_loadu_si128(reinterpret_cast<const __m128i*>(ref_hdr_ + b));
      const __m128i k = _mm_load_si128(reinterpret_cast<const __m128i*>(mask_ + b));
      const __m128i x_y = _mm_xor_si128(x, y);
      diff = _mm_or_si128(diff, _mm_and_si128(x_y, k));
      const __m128i id = _mm_load_si128(reinterpret_cast<const __m128i*>(id_mask_ + b));
      id_diff = _mm_or_si128(id_diff, _mm_and_si128(x_y, id));
    }
    return diff;
  }

  void Unmask(uint16_t off, uint16_t len) {
    if (off < kMaxHeader) std::memset(mask_ + off, 0, std::min<uint16_t>(len, kMaxHeader - off));
  }
  // Moves bytes from the compared mask to `to` (the identity mask).
  void Unmask(uint16_t off, uint16_t len, uint8_t* to) {
    Unmask(off, len);
    std::memset(to + off, 0xFF, len);
  }

  alignas(16) uint8_t mask_[kMaxHeader];     // bytes equal in every packet of the shape
  alignas(16) uint8_t id_mask_[kMaxHeader];  // bytes that tell its tunnels apart
  const uint8_t* ref_hdr_ = nullptr;
  uint16_t blocks_ = 0;  // 16-byte blocks compared: 4, 6 or 8 (0: empty)
  uint16_t l4_off_ = 0;
  uint16_t seq_off_ = 0;
  uint16_t id_off_ = 0;
  uint16_t src_off_ = 0;
  uint16_t min_len_ = 0;
  int16_t ref_ = -1;
  uint8_t family_ = 0;
  bool udp_ = false;
};

}  // namespace tundra
