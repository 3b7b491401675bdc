// Same-shape match: how the parse stage handles a stream of packets of one tunnel (or of
// tunnels of one shape) without parsing each from scratch.
//
// Packets of one tunnel differ in their outer headers only in the fields that the
// header validators declare per-packet — kIpv4PerPacketFields / kIpv6PerPacketFields
// (ip_input.h), kUdpPerPacketFields (udp_input.h) and the GRE sequence number — and
// packets of other tunnels of the same shape further only in the tunnel's identity:
// the VNI or GRE key and the outer source address. After the full parser has accepted a
// packet (the reference), the next one is compared with it in every other byte: one
// masked compare of 16-byte blocks. If equal, it is accepted with the reference's flow
// (or, differing in the identity only, with a copy of it patched with its own identity)
// after the per-packet checks of the varying fields: the IPv4 header checksum (the rx
// port's verdict, else the sum of the varying words added to the precomputed sum of
// the equal ones), the IP packet ending at the frame's end, the UDP length being the
// rest of it, and the UDP checksum (udp_input.h). Anything else — another shape, a
// failing check, padding, segments — takes the full parser, which also names the drop
// reason. So the match changes no verdict, only the cost of reaching it.
//
// That claim is checked, not trusted: built with -Dverify_fast_path=true (the sanitizer
// build of scripts/test.sh, the fuzzer) every match is parsed again by the full parser
// and the two results compared; a difference aborts.
#pragma once

#include <rte_mbuf.h>
#include <smmintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "dataplane/decap_batch.h"
#include "dataplane/ip_input.h"
#include "dataplane/proto/checksum.h"
#include "dataplane/proto/ether.h"
#include "dataplane/proto/ip.h"
#include "dataplane/udp_input.h"

namespace tundra {

class DecapShape {
 public:
  // Outer headers longer than this (long GENEVE options, IPv6 extension headers) always
  // take the full parser.
  static constexpr uint16_t kMaxHeader = 128;
  static constexpr uint16_t kPlainUdp4L4Off = kEtherHdrLen + kIpv4HdrLen;
  static constexpr uint16_t kPlainUdp6L4Off = kEtherHdrLen + kIpv6HdrLen;

  // What Match may take as constant: nothing, or that the reference is one of the two
  // plainest UDP shapes, VXLAN or GENEVE without options over an IPv4 header without
  // options or an IPv6 header without extension headers.
  enum class Kind : uint8_t { kAny, kPlainUdp4, kPlainUdp6 };

  enum Result : uint8_t {
    kMiss,         // parse it fully
    kSameFlow,     // the reference's flow
    kOtherTunnel,  // the reference's flow with another identity: see Patch()
  };

  bool valid() const { return blocks_ != 0; }
  Kind kind() const { return kind_; }
  uint8_t flow() const { return flow_; }
  // Drops the reference (at the start of a burst); the masks of its layout stay.
  void Forget() { blocks_ = 0; }

  // Makes `m`, just accepted by the full parser as `parse` of flow `flow`, the
  // reference. Some shapes cannot be matched (segmented, GRE checksums, long headers).
  void Fill(const rte_mbuf* m, const DecapParse& parse, uint8_t flow) {
    blocks_ = 0;
    const TunnelParse& tp = parse.tunnel;
    const uint16_t hdr = tp.inner_off;
    // GRE checksums cover the payload: each packet's must be verified by the parser.
    if (m->nb_segs != 1 || hdr > kMaxHeader || tp.has_csum) return;
    // Blocks past the headers read into the inner frame, so the packet must hold them;
    // their mask is zero. The compare is unrolled for 4, 6 or 8 blocks.
    const uint16_t blocks = hdr <= 64 ? 4 : hdr <= 96 ? 6 : 8;
    const Layout layout{hdr,
                        tp.l4_off,
                        tp.seq_off,
                        tp.id_off,
                        static_cast<uint16_t>(MinInnerLen(tp)),
                        parse.family,
                        IsUdpTunnel(tp.type)};
    const uint32_t min_len = std::max<uint32_t>(hdr + layout.min_inner, blocks * 16u);
    if (rte_pktmbuf_data_len(m) < min_len) return;
    if (!(layout == layout_)) {
      layout_ = layout;
      BuildMasks();
    }
    min_len_ = min_len;
    const uint8_t* d = rte_pktmbuf_mtod(m, const uint8_t*);
    for (uint16_t b = 0; b < blocks * 16; b += 16) {
      _mm_store_si128(reinterpret_cast<__m128i*>(ref_ + b),
                      _mm_and_si128(Load(mask_ + b), LoadU(d + b)));
    }
    if (layout_.family == 4) {
      // The header's checksum over the words the compare proves equal in every match;
      // the source address is not one of them (another tunnel of the shape differs in it).
      const uint8_t* ip = d + kEtherHdrLen;
      const uint16_t hlen = layout_.l4_off - kEtherHdrLen;
      ip_fixed_sum_ = RawSum(ip, 2) + RawSum(ip + 6, 2) + RawSum(ip + 16, hlen - 16);
    }
    // The UDP pseudo-header's addresses: the destination is the same in every match, the
    // source too in a kSameFlow one.
    const uint16_t alen = AddressLen();
    dst_sum_ = SumWords16(d + SourceOffset() + alen, alen);
    src_sum_ = SumWords16(d + SourceOffset(), alen);
    flow_ = flow;
    blocks_ = blocks;
    kind_ = Kind::kAny;
    if (layout_.udp && layout_.seq_off == 0) {
      if (layout_.family == 4 && layout_.l4_off == kPlainUdp4L4Off && blocks == 4) {
        kind_ = Kind::kPlainUdp4;
      } else if (layout_.family == 6 && layout_.l4_off == kPlainUdp6L4Off && blocks == 6) {
        kind_ = Kind::kPlainUdp6;
      }
    }
  }

  // Whether `m` repeats the reference's outer headers and passes the per-packet checks;
  // then `seq` is its GRE sequence number (when the tunnel header has one). kKind is
  // kind(), or kAny.
  template <Kind kKind = Kind::kAny>
  __attribute__((always_inline)) Result Match(const rte_mbuf* m, uint32_t& seq) const {
    constexpr bool kAny = kKind == Kind::kAny;
    const uint32_t len = rte_pktmbuf_pkt_len(m);
    if (m->nb_segs != 1 || len < min_len_) return kMiss;
    const uint8_t* d = rte_pktmbuf_mtod(m, const uint8_t*);
    // Blocks beyond the first 4: 2 for IPv6 (70 bytes of headers), 0 for IPv4, else the
    // layout's.
    const bool six = kKind == Kind::kPlainUdp6 || (kAny && blocks_ > 4);
    __m128i diff = Diff<4>(d, 0);
    if (six) [[unlikely]] {
      diff = _mm_or_si128(diff, Diff<2>(d, 64));
      if (kAny && blocks_ > 6) diff = _mm_or_si128(diff, Diff<2>(d, 96));
    }
    Result r = kSameFlow;
    if (!_mm_testz_si128(diff, diff)) [[unlikely]] {
      // Equal but for the identity?
      __m128i rest = Diff<4, true>(d, 0);
      if (six) {
        rest = _mm_or_si128(rest, Diff<2, true>(d, 64));
        if (kAny && blocks_ > 6) rest = _mm_or_si128(rest, Diff<2, true>(d, 96));
      }
      if (!_mm_testz_si128(rest, rest)) return kMiss;
      r = kOtherTunnel;
    }
    // The per-packet checks. The IP packet must end exactly at the frame's end
    // (padding takes the parser, which trims it).
    const uint8_t family = kKind == Kind::kPlainUdp4   ? 4
                           : kKind == Kind::kPlainUdp6 ? 6
                                                       : layout_.family;
    uint32_t ip_end;
    if (family == 4) {
      const auto* ip = reinterpret_cast<const Ipv4Hdr*>(d + kEtherHdrLen);
      ip_end = kEtherHdrLen + ip->total_length.host();
      const bool ok = Ipv4ChecksumVerdict(m, [&] {
        // Words 1-2 (total length, identification), 4-5 (TTL/protocol, checksum) and
        // 6-7 (source address).
        uint32_t a, b, src;
        std::memcpy(&a, d + kEtherHdrLen + 2, 4);
        std::memcpy(&b, d + kEtherHdrLen + 8, 4);
        std::memcpy(&src, d + kEtherHdrLen + 12, 4);
        return SumIsAllOnes(uint64_t{ip_fixed_sum_} + a + b + src);
      });
      if (!ok) return kMiss;
    } else {
      ip_end = kEtherHdrLen + kIpv6HdrLen +
               reinterpret_cast<const Ipv6Hdr*>(d + kEtherHdrLen)->payload_len.host();
    }
    if (ip_end != len) return kMiss;
    if (!kAny || layout_.udp) {
      const uint16_t l4_off = kKind == Kind::kPlainUdp4   ? kPlainUdp4L4Off
                              : kKind == Kind::kPlainUdp6 ? kPlainUdp6L4Off
                                                          : layout_.l4_off;
      const auto* udp = reinterpret_cast<const UdpHdr*>(d + l4_off);
      if (udp->length.host() != len - l4_off) return kMiss;
      const bool same = r == kSameFlow;
      // Over IPv4 the checksum is mostly zero (RFC 7348 §5 and Linux's default): the sum
      // stays out of line there, and in the general match, so as not to crowd their
      // registers.
      const bool ok = OuterUdpChecksumVerdict(
          m, family, *udp, [&]() __attribute__((always_inline)) {
            return kKind == Kind::kPlainUdp6 ? UdpSumOk(m, d, l4_off, len, same)
                                             : UdpSumOkOutOfLine(m, d, l4_off, len, same);
          });
      if (!ok) return kMiss;
    }
    if (kAny && layout_.seq_off != 0) {
      Be32 s;
      std::memcpy(&s, d + layout_.seq_off, sizeof(s));
      seq = s.host();
    }
    return r;
  }

  // After kOtherTunnel: turns `f`, holding the reference's key, into `m`'s flow.
  void Patch(const rte_mbuf* m, DecapFlow& f) const {
    const uint8_t* d = rte_pktmbuf_mtod(m, const uint8_t*);
    const size_t alen = AddressLen();
    std::memcpy(f.remote, d + SourceOffset(), alen);
    if (layout_.id_off != 0) {
      Be32 w;
      std::memcpy(&w, d + layout_.id_off, 4);
      f.key.vni_or_key = layout_.udp ? w.host() >> 8 : w.host();
    }
    // Point-to-point protocols (GRE) key on the remote too.
    if (!layout_.udp) std::memcpy(f.key.remote, f.remote, alen);
  }

 private:
  static __m128i Load(const uint8_t* p) {
    return _mm_load_si128(reinterpret_cast<const __m128i*>(p));
  }
  static __m128i LoadU(const uint8_t* p) {
    return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  }

  // The differences of N blocks at `off` from the reference: under mask_, or (kOther)
  // under other_, a subset of it.
  template <int N, bool kOther = false>
  __attribute__((always_inline)) __m128i Diff(const uint8_t* d, uint16_t off) const {
    __m128i diff = _mm_setzero_si128();
#pragma GCC unroll 4
    for (int i = 0; i < N; ++i) {
      const uint16_t b = off + 16 * i;
      __m128i x = _mm_xor_si128(_mm_and_si128(LoadU(d + b), Load(mask_ + b)), Load(ref_ + b));
      if constexpr (kOther) x = _mm_and_si128(x, Load(other_ + b));
      diff = _mm_or_si128(diff, x);
    }
    return diff;
  }

  // Where the headers' fields are: the masks depend on nothing else.
  struct Layout {
    uint16_t hdr = 0;  // bytes of outer headers
    uint16_t l4_off = 0;
    uint16_t seq_off = 0;
    uint16_t id_off = 0;
    uint16_t min_inner = 0;
    uint8_t family = 0;
    bool udp = false;
    bool operator==(const Layout&) const = default;
  };

  // The software UDP checksum check of a match: the pseudo-header's destination is the
  // reference's, and so is its source in a kSameFlow match.
  __attribute__((always_inline)) bool UdpSumOk(const rte_mbuf* m, const uint8_t* d, uint16_t l4_off,
                                               uint32_t len, bool same) const {
    const uint32_t addr_sum =
        dst_sum_ + (same ? src_sum_ : SumWords16(d + SourceOffset(), AddressLen()));
    return L4ChecksumOk(m, addr_sum, kIpProtoUdp, l4_off, len - l4_off);
  }
  __attribute__((noinline)) bool UdpSumOkOutOfLine(const rte_mbuf* m, const uint8_t* d,
                                                   uint16_t l4_off, uint32_t len, bool same) const {
    return UdpSumOk(m, d, l4_off, len, same);
  }

  uint16_t AddressLen() const { return layout_.family == 4 ? 4 : 16; }
  uint16_t SourceOffset() const {
    return kEtherHdrLen + (layout_.family == 4 ? offsetof(Ipv4Hdr, src) : offsetof(Ipv6Hdr, src));
  }

  // mask_: every byte of the headers but the per-packet fields the validators declare;
  // other_: that, less the identity (VNI — 3 bytes, the reserved 4th is none — or GRE
  // key, and the outer source address).
  void BuildMasks() {
    alignas(16) uint8_t mask[kMaxHeader] = {};
    std::memset(mask, 0xFF, layout_.hdr);
    constexpr uint16_t l3 = kEtherHdrLen;
    if (layout_.family == 4) {
      Clear(mask, l3, kIpv4PerPacketFields);
    } else {
      Clear(mask, l3, kIpv6PerPacketFields);
      mask[l3 + 1] = static_cast<uint8_t>(~kIpv6FlowLabelTopNibbleMask);
    }
    if (layout_.udp) Clear(mask, layout_.l4_off, kUdpPerPacketFields);
    if (layout_.seq_off != 0) Clear(mask, layout_.seq_off, 4);
    std::memcpy(mask_, mask, sizeof(mask));
    if (layout_.id_off != 0) Clear(mask, layout_.id_off, layout_.udp ? 3 : 4);
    Clear(mask, SourceOffset(), AddressLen());
    std::memcpy(other_, mask, sizeof(mask));
  }

  static void Clear(uint8_t* mask, uint16_t off, uint16_t len) {
    if (off < kMaxHeader) std::memset(mask + off, 0, std::min<uint16_t>(len, kMaxHeader - off));
  }
  template <size_t N>
  static void Clear(uint8_t* mask, uint16_t hdr_off, const HeaderField (&fields)[N]) {
    for (const HeaderField& f : fields) Clear(mask, hdr_off + f.off, f.len);
  }

  alignas(16) uint8_t mask_[kMaxHeader];   // bytes equal in every packet of the flow
  alignas(16) uint8_t other_[kMaxHeader];  // ... in every packet of the shape
  alignas(16) uint8_t ref_[kMaxHeader];    // the reference's bytes under mask_
  Layout layout_;                          // of the masks
  uint32_t ip_fixed_sum_ = 0;
  uint32_t dst_sum_ = 0;  // of the reference's outer destination address
  uint32_t src_sum_ = 0;  // ... and source address
  uint32_t min_len_ = 0;
  uint16_t blocks_ = 0;  // 16-byte blocks compared: 4, 6 or 8 (0: no reference)
  uint8_t flow_ = 0;
  Kind kind_ = Kind::kAny;
};

}  // namespace tundra
