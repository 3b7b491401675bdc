// Checksums and trimming over possibly segmented mbufs. DPDK 22.11's
// rte_raw_cksum_mbuf() byte-swaps an unfolded sum for segments that start at an odd
// offset and so loses carries; these fold first. (Found by tests/fuzz.)
#pragma once

#include <rte_byteorder.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

#include <cstdint>

#include "dataplane/proto/checksum.h"
#include "dataplane/proto/endian.h"
#include "dataplane/proto/ip.h"

#if defined(__SANITIZE_ADDRESS__)
#define TUNDRA_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TUNDRA_ASAN 1
#endif
#endif
#ifdef TUNDRA_ASAN
#include <sanitizer/asan_interface.h>
#endif

namespace tundra {

// Copies a segmented packet into its first segment when it fits (rte_pktmbuf_linearize).
// The copy is done inside DPDK, which AddressSanitizer does not see: tell it the bytes
// now in the first segment are packet data (the fuzzer poisons tailroom).
inline bool Linearize(rte_mbuf* m) {
  if (rte_pktmbuf_linearize(m) != 0) return false;
#ifdef TUNDRA_ASAN
  ASAN_UNPOISON_MEMORY_REGION(rte_pktmbuf_mtod(m, void*), rte_pktmbuf_data_len(m));
#endif
  return true;
}

// The folded one's-complement sum (memory word order) of `len` bytes from `off`.
// Returns false when the packet is shorter than off + len.
inline bool SumMbuf(const rte_mbuf* m, uint32_t off, uint32_t len, uint16_t* out) {
  if (off + len > rte_pktmbuf_pkt_len(m)) return false;
  if (off + len <= rte_pktmbuf_data_len(m)) [[likely]] {
    *out = FoldChecksum(RawSum(rte_pktmbuf_mtod_offset(m, const uint8_t*, off), len));
    return true;
  }
  uint32_t sum = 0;
  uint32_t done = 0;
  for (const rte_mbuf* seg = m; seg != nullptr && done < len; seg = seg->next) {
    if (off >= seg->data_len) {
      off -= seg->data_len;
      continue;
    }
    const uint32_t n = std::min<uint32_t>(seg->data_len - off, len - done);
    uint16_t part = FoldChecksum(RawSum(rte_pktmbuf_mtod_offset(seg, const uint8_t*, off), n));
    // A chunk that starts at an odd position contributes its bytes in swapped lanes.
    if (done & 1) part = rte_bswap16(part);
    sum += part;
    done += n;
    off = 0;
  }
  *out = FoldChecksum(sum);
  return done == len;
}

// The sum of a pseudo-header's addresses (RFC 768, RFC 8200 §8.1), under IPv4 header
// `ip4` or IPv6 header `ip6` (one of them null). Fixed for a tunnel or a flow, so its
// users may compute it once.
__attribute__((always_inline)) inline uint32_t PseudoAddressSum(const Ipv4Hdr* ip4,
                                                                const Ipv6Hdr* ip6) {
  return ip4 != nullptr ? SumWords16(ip4->src, 8) : SumWords16(ip6->src, 32);
}

// The one's-complement sum (unfolded) of the L4 segment at `l4_off` of `l4_len` bytes
// and its pseudo-header, whose addresses sum to `addr_sum` (PseudoAddressSum);
// false when the packet is shorter. A segment in the first mbuf is summed in one chain
// with the pseudo-header.
__attribute__((always_inline)) inline bool L4Sum(const rte_mbuf* m, uint32_t addr_sum,
                                                 uint8_t proto, uint32_t l4_off, uint32_t l4_len,
                                                 uint32_t* out) {
  const uint32_t pseudo =
      addr_sum + Be16(static_cast<uint16_t>(l4_len)).raw() + Be16(uint16_t{proto}).raw();
  if (l4_off + l4_len <= rte_pktmbuf_data_len(m)) [[likely]] {
    *out = SumWords16(rte_pktmbuf_mtod_offset(m, const uint8_t*, l4_off),
                      static_cast<uint16_t>(l4_len), pseudo);
    return true;
  }
  uint16_t data = 0;
  if (!SumMbuf(m, l4_off, l4_len, &data)) return false;
  *out = pseudo + data;
  return true;
}

// The UDP (or TCP) checksum to store for the L4 segment at `l4_off` of `l4_len` bytes,
// whose checksum field is zero, under a pseudo-header whose addresses sum to `addr_sum`.
__attribute__((always_inline)) inline uint16_t L4Checksum(const rte_mbuf* m, uint32_t addr_sum,
                                                          uint8_t proto, uint32_t l4_off,
                                                          uint32_t l4_len) {
  uint32_t sum = 0;
  L4Sum(m, addr_sum, proto, l4_off, l4_len, &sum);
  const uint16_t ck = static_cast<uint16_t>(~FoldChecksum(sum));
  return ck == 0 ? 0xFFFF : ck;  // RFC 768: a computed zero is sent as all ones
}

// The same under IPv4 header `ip4` or IPv6 header `ip6` (one of them null).
inline uint16_t L4Checksum(const rte_mbuf* m, const Ipv4Hdr* ip4, const Ipv6Hdr* ip6, uint8_t proto,
                           uint32_t l4_off, uint32_t l4_len) {
  return L4Checksum(m, PseudoAddressSum(ip4, ip6), proto, l4_off, l4_len);
}

// Whether the L4 segment (checksum field included) sums to all ones with a
// pseudo-header whose addresses sum to `addr_sum`.
__attribute__((always_inline)) inline bool L4ChecksumOk(const rte_mbuf* m, uint32_t addr_sum,
                                                        uint8_t proto, uint32_t l4_off,
                                                        uint32_t l4_len) {
  uint32_t sum = 0;
  return L4Sum(m, addr_sum, proto, l4_off, l4_len, &sum) && SumIsAllOnes(sum);
}

// The same under IPv4 header `ip4` or IPv6 header `ip6` (one of them null).
inline bool L4ChecksumOk(const rte_mbuf* m, const Ipv4Hdr* ip4, const Ipv6Hdr* ip6, uint8_t proto,
                         uint32_t l4_off, uint32_t l4_len) {
  return L4ChecksumOk(m, PseudoAddressSum(ip4, ip6), proto, l4_off, l4_len);
}

// rte_pktmbuf_adj without its checks, for callers that have proven the `len` bytes are
// in the first segment (decap's parse, routed input's IP checks).
__attribute__((always_inline)) inline void StripFront(rte_mbuf* m, uint16_t len) {
  m->data_off += len;
  m->data_len -= len;
  m->pkt_len -= len;
}

// Cuts `m` to `len` bytes, across segments if need be (rte_pktmbuf_trim only trims
// within the last one). Frees the segments no longer needed.
inline void TrimMbuf(rte_mbuf* m, uint32_t len) {
  if (rte_pktmbuf_pkt_len(m) <= len) return;
  if (rte_pktmbuf_trim(m, static_cast<uint16_t>(rte_pktmbuf_pkt_len(m) - len)) == 0) return;
  uint32_t kept = 0;
  uint16_t segs = 0;
  for (rte_mbuf* seg = m; seg != nullptr; seg = seg->next) {
    ++segs;
    if (kept + seg->data_len >= len) {
      seg->data_len = static_cast<uint16_t>(len - kept);
      if (seg->next != nullptr) {
        rte_pktmbuf_free(seg->next);
        seg->next = nullptr;
      }
      break;
    }
    kept += seg->data_len;
  }
  m->nb_segs = segs;
  m->pkt_len = len;
}

}  // namespace tundra
