#include "dataplane/decap.h"

#include <rte_prefetch.h>

#include <cstring>

#include "dataplane/decap_header_cache.h"
#include "dataplane/inner_ip.h"
#include "dataplane/mbuf_util.h"
#include "dataplane/neighbor_reply.h"
#include "dataplane/proto/checksum.h"
#include "dataplane/proto/ether.h"
#include "dataplane/proto/ip.h"
#include "dataplane/proto/udp.h"
#include "dataplane/route_access.h"
#include "dataplane/rx_checksum.h"
#include "dataplane/tunnel_parse.h"

namespace tundra {

namespace {

// The outer IP layer, whichever its version.
struct OuterIp {
  uint16_t l4_off = 0;
  uint16_t l4_len = 0;  // IP payload bytes
  uint8_t protocol = 0;
  uint8_t family = 0;
};

// Extension headers skipped before giving up on finding the tunnel header.
constexpr int kMaxIpv6ExtHeaders = 4;
// Bytes of headers decap wants contiguous: outer Ethernet + IPv6 + extension headers +
// UDP + GENEVE with options + inner Ethernet + inner IPv6.
constexpr uint32_t kContiguousHeaders = 512;

ParseVerdict Fail(DropReason& reason, DropReason why) {
  reason = why;
  return ParseVerdict::kDrop;
}

// Trims Ethernet padding (or other trailing bytes) past the IP packet's end.
void TrimTo(rte_mbuf* m, uint32_t len) { TrimMbuf(m, len); }

ParseVerdict ParseIpv4(const PortView& port, rte_mbuf* m, uint16_t off, OuterIp& ip_out,
                       OuterParse& out, DropReason& reason) {
  const uint32_t avail = rte_pktmbuf_data_len(m);
  if (avail < uint32_t{off} + kIpv4HdrLen) return Fail(reason, DropReason::kTruncated);
  const auto* ip = rte_pktmbuf_mtod_offset(m, const Ipv4Hdr*, off);
  const uint16_t hlen = ip->header_len();
  if (ip->version() != 4 || hlen < kIpv4HdrLen) return Fail(reason, DropReason::kBadIpHeader);
  if (avail < off + hlen) return Fail(reason, DropReason::kTruncated);
  const uint16_t total = ip->total_length.host();
  if (total < hlen) return Fail(reason, DropReason::kBadIpHeader);
  if (rte_pktmbuf_pkt_len(m) < uint32_t{off} + total) return Fail(reason, DropReason::kTruncated);
  if (!OuterIpv4ChecksumOk(m, ip, hlen)) {
    return Fail(reason, DropReason::kBadIpChecksum);
  }
  if (!port.has_v4 || std::memcmp(ip->dst, port.v4, 4) != 0) {
    return Fail(reason, DropReason::kNotForUs);
  }
  if (ip->is_fragment()) return Fail(reason, DropReason::kIpFragment);
  TrimTo(m, off + total);
  ip_out = {static_cast<uint16_t>(off + hlen), static_cast<uint16_t>(total - hlen), ip->protocol,
            4};
  out.outer_ecn = ip->tos & 0x03;
  out.key.family = 4;
  std::memcpy(out.key.local, ip->dst, 4);
  out.remote_off = off + offsetof(Ipv4Hdr, src);
  return ParseVerdict::kLookup;
}

ParseVerdict ParseIpv6(const PortView& port, rte_mbuf* m, uint16_t off, OuterIp& ip_out,
                       OuterParse& out, DropReason& reason) {
  const uint32_t avail = rte_pktmbuf_data_len(m);
  if (avail < uint32_t{off} + kIpv6HdrLen) return Fail(reason, DropReason::kTruncated);
  const auto* ip = rte_pktmbuf_mtod_offset(m, const Ipv6Hdr*, off);
  if (ip->version() != 6) return Fail(reason, DropReason::kBadIpHeader);
  const uint16_t payload = ip->payload_len.host();
  if (rte_pktmbuf_pkt_len(m) < uint32_t{off} + kIpv6HdrLen + payload) {
    return Fail(reason, DropReason::kTruncated);
  }
  if (ip->next_header == kIpProtoIcmpv6) {
    if (AnswerNeighborSolicit(port, m, off)) return ParseVerdict::kReply;
  }
  if (!port.has_v6 || std::memcmp(ip->dst, port.v6, 16) != 0) {
    return Fail(reason, ip->next_header == kIpProtoIcmpv6 ? DropReason::kArpIgnored
                                                          : DropReason::kNotForUs);
  }
  // Skip hop-by-hop, routing and destination options headers (ip6gre senders add a
  // tunnel encapsulation limit option, RFC 2473 §4.1.1) to the upper-layer header.
  uint8_t next = ip->next_header;
  uint32_t l4_off = uint32_t{off} + kIpv6HdrLen;
  for (int skipped = 0; next == 0 || next == 43 || next == 60; ++skipped) {
    if (skipped == kMaxIpv6ExtHeaders) return Fail(reason, DropReason::kNotTunnel);
    if (avail < l4_off + 8) return Fail(reason, DropReason::kTruncated);
    const uint8_t* ext = rte_pktmbuf_mtod_offset(m, const uint8_t*, l4_off);
    next = ext[0];
    l4_off += (uint32_t{ext[1]} + 1) * 8;
  }
  if (next == kIpv6FragmentHeader) return Fail(reason, DropReason::kIpFragment);
  const uint32_t end = uint32_t{off} + kIpv6HdrLen + payload;
  if (l4_off > end) return Fail(reason, DropReason::kTruncated);
  TrimTo(m, end);
  ip_out = {static_cast<uint16_t>(l4_off), static_cast<uint16_t>(end - l4_off), next, 6};
  out.outer_ecn = ip->traffic_class() & 0x03;
  out.key.family = 6;
  std::memcpy(out.key.local, ip->dst, 16);
  out.remote_off = off + offsetof(Ipv6Hdr, src);
  return ParseVerdict::kLookup;
}

}  // namespace

ParseVerdict ParseOuter(const Tables& tables, const PortView& port, rte_mbuf* m, OuterParse& out,
                        DropReason& reason) {
  // Every header, the inner Ethernet/IP one included, is read in the first segment:
  // a packet whose first segment ends inside them is made contiguous first (rare:
  // receive buffers are 2 KB).
  if (m->nb_segs > 1 && rte_pktmbuf_data_len(m) < kContiguousHeaders) [[unlikely]]
    Linearize(m);
  if (rte_pktmbuf_data_len(m) < kEtherHdrLen) return Fail(reason, DropReason::kTruncated);
  auto* eth = rte_pktmbuf_mtod(m, const EtherHdr*);
  if (std::memcmp(eth->dst, port.mac, 6) != 0 && !IsMulticastMac(eth->dst)) {
    return Fail(reason, DropReason::kNotForUs);
  }
  OuterIp ip;
  ParseVerdict v;
  if (eth->ether_type == kEtherTypeIpv4) {
    v = ParseIpv4(port, m, kEtherHdrLen, ip, out, reason);
  } else if (eth->ether_type == kEtherTypeIpv6) {
    v = ParseIpv6(port, m, kEtherHdrLen, ip, out, reason);
  } else if (eth->ether_type == kEtherTypeArp) {
    return AnswerArp(port, m) ? ParseVerdict::kReply : Fail(reason, DropReason::kArpIgnored);
  } else {
    return Fail(reason, DropReason::kNotForUs);
  }
  if (v != ParseVerdict::kLookup) return v;

  const size_t addr_len = ip.family == 4 ? 4 : 16;
  if (ip.protocol == kIpProtoGre) {
    out.tunnel = ParseGre(m, ip.l4_off, ip.l4_len);
    if (!out.tunnel.ok) return Fail(reason, out.tunnel.reason);
    // GRE is point-to-point: the remote is part of the key.
    std::memcpy(out.key.remote, rte_pktmbuf_mtod_offset(m, const uint8_t*, out.remote_off),
                addr_len);
    if (out.tunnel.has_key) out.key.flags = kDecapKeyHasKey;
  } else if (ip.protocol == kIpProtoUdp) {
    if (ip.l4_len < kUdpHdrLen) return Fail(reason, DropReason::kTruncated);
    if (rte_pktmbuf_data_len(m) < ip.l4_off + kUdpHdrLen) {
      return Fail(reason, DropReason::kTruncated);
    }
    const auto* udp = rte_pktmbuf_mtod_offset(m, const UdpHdr*, ip.l4_off);
    if (udp->length.host() != ip.l4_len) return Fail(reason, DropReason::kBadUdpLength);
    const uint8_t type = tables.udp_tunnel_type(udp->dst_port.host());
    if (type == 0) return Fail(reason, DropReason::kUnknownPort);
    if (!OuterUdpChecksumOk(m, ip.family, ip.l4_off, ip.l4_len, *udp))
      return Fail(reason, DropReason::kBadUdpChecksum);
    out.tunnel = ParseUdpTunnel(static_cast<TunnelType>(type), m, ip.l4_off + kUdpHdrLen);
    if (!out.tunnel.ok) return Fail(reason, out.tunnel.reason);
  } else {
    return Fail(reason, DropReason::kNotTunnel);
  }
  out.tunnel.l4_off = ip.l4_off;
  out.key.type = static_cast<uint8_t>(out.tunnel.type);
  out.key.vni = out.tunnel.vni;
  // The inner Ethernet header (pushed a VLAN tag, read for ECN) or inner IP header
  // (TTL, ECN) is rewritten in place, so it must be in the first segment.
  if (rte_pktmbuf_data_len(m) < uint32_t{out.tunnel.inner_off} + MinInnerLen(out.tunnel)) {
    return Fail(reason, DropReason::kTruncated);
  }
  return ParseVerdict::kLookup;
}

namespace {

// RFC 8926 §3.5: a critical option the tunnel does not understand drops the packet.
bool CriticalOptionsUnderstood(const Tunnel& t, const rte_mbuf* m, const TunnelParse& tp) {
  for (uint16_t o = 0; o < tp.opts_len;) {
    const auto* opt = rte_pktmbuf_mtod_offset(m, const GeneveOptionHdr*, tp.opts_off + o);
    if (opt->type & GeneveOptionHdr::kTypeCritical) {
      const uint32_t oid = GeneveOptionId(opt->option_class.host(), opt->type);
      bool known = false;
      for (uint16_t k = 0; k < t.num_known_options && !known; ++k) {
        known = t.known_options[k] == oid;
      }
      if (!known) return false;
    }
    o += sizeof(GeneveOptionHdr) + opt->data_len();
  }
  return true;
}

// RFC 2890 §2.2: a packet is in sequence when its number is newer (serial arithmetic)
// than the last one accepted. Returns kTruncated as "in sequence", else the reason.
DropReason CheckSequence(TunnelState& st, uint32_t seq) {
  uint32_t last = st.rx_seq.load(std::memory_order_relaxed);
  for (;;) {
    if (st.rx_seq_valid.load(std::memory_order_relaxed)) {
      const int32_t delta = static_cast<int32_t>(seq - last);
      if (delta == 0) return DropReason::kSeqDuplicate;
      if (delta < 0) return DropReason::kSeqOutOfOrder;
    }
    if (st.rx_seq.compare_exchange_weak(last, seq, std::memory_order_relaxed)) {
      st.rx_seq_valid.store(true, std::memory_order_relaxed);
      return DropReason::kTruncated;
    }
  }
}

// RFC 6040 decapsulation of the ECN field into the inner IP header at `l3`. Returns
// false when the packet must be dropped (CE over Not-ECT).
bool DecapsulateEcn(uint8_t outer_ecn, uint8_t* l3, uint32_t avail) {
  if (outer_ecn == 0 || avail < kIpv4HdrLen) return true;
  const uint8_t version = l3[0] >> 4;
  if (version == 4) {
    auto* ip = reinterpret_cast<Ipv4Hdr*>(l3);
    const int ecn = DecapEcn(outer_ecn, ip->tos & kEcnMask);
    if (ecn < 0) return false;
    const uint8_t tos = static_cast<uint8_t>((ip->tos & ~kEcnMask) | ecn);
    if (tos != ip->tos) {
      const uint16_t old_word = reinterpret_cast<const uint16_t*>(ip)[0];
      ip->tos = tos;
      const uint16_t new_word = reinterpret_cast<const uint16_t*>(ip)[0];
      ip->checksum = Be16::FromRaw(UpdateChecksum16(ip->checksum.raw(), old_word, new_word));
    }
  } else if (version == 6 && avail >= kIpv6HdrLen) {
    auto* ip = reinterpret_cast<Ipv6Hdr*>(l3);
    const uint8_t tc = ip->traffic_class();
    const int ecn = DecapEcn(outer_ecn, tc & kEcnMask);
    if (ecn < 0) return false;
    const uint32_t new_tc = (tc & ~kEcnMask) | ecn;
    ip->vtc_flow = Be32((ip->vtc_flow.host() & 0xF00FFFFF) | (new_tc << 20));
  }
  return true;
}

// ids[i] = the tunnel of keys[i]: from the worker's cache when its entry still holds,
// else from the shared table (one bulk lookup for all misses), refilling the cache.
void LookupCached(WorkerContext& ctx, const DecapKey** keys, uint32_t n, uint32_t* ids) {
  const Tables& tables = *ctx.tables;
  DecapCacheEntry* cache = ctx.decap_cache.get();
  const DecapKey* miss_keys[kBurstSize];
  uint32_t miss_at[kBurstSize];
  uint32_t miss_slot[kBurstSize];
  uint32_t misses = 0;
  for (uint32_t i = 0; i < n; ++i) {
    const DecapKey& key = *keys[i];
    const uint32_t slot = DecapKeyHash(&key, sizeof(key), 0) % kDecapCacheSize;
    const DecapCacheEntry& e = cache[slot];
    const Tunnel* t = e.id != kNoTunnel && e.key == key ? tables.tunnel(e.id) : nullptr;
    if (t != nullptr && t->decap_key == key) [[likely]] {
      ids[i] = e.id;
    } else {
      miss_keys[misses] = &key;
      miss_slot[misses] = slot;
      miss_at[misses++] = i;
    }
  }
  if (misses == 0) return;
  uint32_t miss_ids[kBurstSize];
  tables.LookupDecap(miss_keys, misses, miss_ids);
  for (uint32_t j = 0; j < misses; ++j) {
    ids[miss_at[j]] = miss_ids[j];
    if (miss_ids[j] != kNoTunnel) {
      DecapCacheEntry& e = cache[miss_slot[j]];
      e.key = *miss_keys[j];
      e.id = miss_ids[j];
    }
  }
}

// What the per-tunnel checks decided for a run of packets with identical outer headers
// (they decide the same for each of them).
struct RunVerdict {
  enum Action : uint8_t { kPass, kDrop, kDropTunnel, kPunt };
  Action action = kPass;
  DropReason why = DropReason::kTruncated;
  bool no_attachment = false;  // checked after the sequence number, as for one packet
  uint32_t id = kNoTunnel;
  const Tunnel* tunnel = nullptr;
};

RunVerdict CheckTunnel(const Tables& tables, const rte_mbuf* m, const OuterParse& p, uint32_t id) {
  RunVerdict v;
  v.id = id;
  const Tunnel* t = id != kNoTunnel ? tables.tunnel(id) : nullptr;
  v.tunnel = t;
  const TunnelParse& tp = p.tunnel;
  if (t == nullptr) [[unlikely]] {
    // A GRE packet of the other kind (IP to a gretap tunnel, Ethernet to a gre one)
    // reaches a tunnel that carries something else: say so.
    v.action = RunVerdict::kDrop;
    v.why = DropReason::kUnknownVni;
    if (IsGreTunnel(tp.type)) {
      DecapKey other = p.key;
      other.type = static_cast<uint8_t>(tp.type == TunnelType::kGre ? TunnelType::kGretap
                                                                    : TunnelType::kGre);
      const DecapKey* k = &other;
      uint32_t other_id = kNoTunnel;
      tables.LookupDecap(&k, 1, &other_id);
      if (other_id != kNoTunnel) v.why = DropReason::kBadPayloadType;
    }
    return v;
  }
  if (IsUdpTunnel(tp.type)) {
    const uint8_t* src = rte_pktmbuf_mtod_offset(m, const uint8_t*, p.remote_off);
    const bool same_remote = p.key.family == 4 ? std::memcmp(t->remote.bytes.data(), src, 4) == 0
                                               : std::memcmp(t->remote.bytes.data(), src, 16) == 0;
    if (t->remote.family != p.key.family || !same_remote) [[unlikely]] {
      v.action = RunVerdict::kDropTunnel;
      v.why = DropReason::kRemoteMismatch;
      return v;
    }
  }
  if (tp.type == TunnelType::kGeneve) [[unlikely]] {
    if (tp.oam) {
      v.action = RunVerdict::kPunt;
      return v;
    }
    if (!CriticalOptionsUnderstood(*t, m, tp)) {
      v.action = RunVerdict::kDropTunnel;
      v.why = DropReason::kUnknownCriticalOption;
      return v;
    }
  }
  v.no_attachment = tp.l3_version == 0 && !t->attachment.valid;
  return v;
}

}  // namespace

void DecapBurst(WorkerContext& ctx, uint16_t rx_port, rte_mbuf** pkts, uint16_t n) {
  const Tables& tables = *ctx.tables;
  const PortView& port = *tables.port(rx_port);
  OuterParse* parsed = ctx.decap_scratch;
  uint16_t slot_pkt[kBurstSize];
  // Packets whose key equals the previous packet's reuse its lookup (a one-entry
  // "last tunnel" cache in front of the bulk lookup: bursts are mostly one tunnel).
  int16_t same_as[kBurstSize];
  // The parse slot whose outer headers this packet repeats (its own when parsed): runs
  // of one group share the per-tunnel checks.
  int16_t group[kBurstSize];
  // GRE sequence numbers: the one per-packet field of the tunnel header.
  uint32_t seqs[kBurstSize];
  uint16_t nkeys = 0;
  uint16_t nlookups = 0;
  const DecapKey* lookup_keys[kBurstSize];
  int last_lookup = -1;
  DecapHeaderCache cache;
  ctx.host_cache_family = 0;
  auto AddLookup = [&](const DecapKey& key, uint16_t slot) {
    if (last_lookup >= 0 && key == *lookup_keys[last_lookup]) {
      same_as[slot] = static_cast<int16_t>(last_lookup);
    } else {
      last_lookup = nlookups;
      lookup_keys[nlookups] = &key;
      same_as[slot] = static_cast<int16_t>(nlookups++);
    }
  };

  for (uint16_t i = 0; i < kPrefetchOffset && i < n; ++i) {
    rte_prefetch0(rte_pktmbuf_mtod(pkts[i], void*));
  }
  for (uint16_t i = 0; i < n; ++i) {
    if (i + kPrefetchOffset < n) rte_prefetch0(rte_pktmbuf_mtod(pkts[i + kPrefetchOffset], void*));
    rte_mbuf* m = pkts[i];
    DecapHeaderCache::Result hit;
    if (cache.valid() && (hit = cache.Match(m, seqs[nkeys])) != DecapHeaderCache::kMiss) {
      const int16_t ref = cache.ref();
      if (hit == DecapHeaderCache::kSameTunnel) {
        same_as[nkeys] = same_as[ref];
        group[nkeys] = ref;
      } else {
        OuterParse& p = parsed[nkeys];
        p = parsed[ref];
        cache.PatchTunnel(m, p);
        AddLookup(p.key, nkeys);
        group[nkeys] = static_cast<int16_t>(nkeys);
      }
      slot_pkt[nkeys++] = i;
      continue;
    }
    DropReason reason;
    OuterParse& p = parsed[nkeys];
    p.key = DecapKey{};
    switch (ParseOuter(tables, port, m, p, reason)) {
      case ParseVerdict::kLookup:
        AddLookup(p.key, nkeys);
        group[nkeys] = static_cast<int16_t>(nkeys);
        seqs[nkeys] = p.tunnel.seq;
        cache.Fill(m, p, static_cast<int16_t>(nkeys));
        slot_pkt[nkeys++] = i;
        break;
      case ParseVerdict::kReply:
        ctx.counters->ports[rx_port].nd_replies.Inc();
        ctx.Emit(rx_port, m);
        break;
      case ParseVerdict::kDrop:
        ctx.Drop(rx_port, m, reason);
        break;
    }
  }
  if (nkeys == 0) return;
  uint32_t lookup_ids[kBurstSize];
  LookupCached(ctx, lookup_keys, nlookups, lookup_ids);

  RunVerdict v;
  int16_t run = -1;
  for (uint16_t k = 0; k < nkeys; ++k) {
    rte_mbuf* m = pkts[slot_pkt[k]];
    // Packets that repeated a parsed packet's headers share its parse.
    const OuterParse& p = parsed[group[k]];
    if (group[k] != run) {
      run = group[k];
      v = CheckTunnel(tables, m, p, lookup_ids[same_as[k]]);
    }
    const uint32_t id = v.id;
    if (v.action != RunVerdict::kPass) [[unlikely]] {
      if (v.action == RunVerdict::kDrop) {
        ctx.Drop(rx_port, m, v.why);
      } else if (v.action == RunVerdict::kDropTunnel) {
        ctx.DropTunnel(rx_port, m, v.why, id);
      } else {
        ctx.counters->tunnels[id].oam_packets.Inc();
        ctx.Punt(rx_port, m);
      }
      continue;
    }
    const Tunnel* t = v.tunnel;
    const TunnelParse& tp = p.tunnel;
    TunnelCounters& tc = ctx.counters->tunnels[id];
    if (tp.has_seq && (t->flags & kTunnelGreSequence)) [[unlikely]] {
      const DropReason r = CheckSequence(tables.tunnel_state(id), seqs[k]);
      if (r != DropReason::kTruncated) {
        (r == DropReason::kSeqDuplicate ? tc.seq_duplicate : tc.seq_out_of_order).Inc();
        if (t->flags & kTunnelSeqDrop) {
          ctx.DropTunnel(rx_port, m, r, id);
          continue;
        }
      }
    }
    if (v.no_attachment) [[unlikely]] {
      ctx.DropTunnel(rx_port, m, DropReason::kNoAttachment, id);
      continue;
    }
    const bool l3 = tp.l3_version != 0;
    rte_pktmbuf_adj(m, tp.inner_off);
    const uint32_t inner_len = rte_pktmbuf_pkt_len(m);
    if (p.outer_ecn != 0) [[unlikely]] {
      uint8_t* frame = rte_pktmbuf_mtod(m, uint8_t*);
      const uint32_t avail = rte_pktmbuf_data_len(m);
      const uint16_t ip_off = l3 ? 0 : InnerIpOffset(frame, avail);
      if ((l3 || ip_off != 0) && !DecapsulateEcn(p.outer_ecn, frame + ip_off, avail - ip_off)) {
        ctx.DropTunnel(rx_port, m, DropReason::kEcnNotEct, id);
        continue;
      }
    }
    if (l3) {
      if (DeliverRouted(ctx, rx_port, m, id)) {
        tc.decap_packets.Inc();
        tc.decap_bytes.Add(inner_len);
      }
      continue;
    }
    if (t->attachment.vlan != kVlanUntagged) {
      auto* h = reinterpret_cast<uint8_t*>(rte_pktmbuf_prepend(m, kVlanHdrLen));
      if (h == nullptr) [[unlikely]] {
        ctx.DropTunnel(rx_port, m, DropReason::kNoHeadroom, id);
        continue;
      }
      // The MACs move 4 bytes forward: read both before writing (the ranges overlap).
      uint64_t macs_lo;
      uint32_t macs_hi;
      std::memcpy(&macs_lo, h + kVlanHdrLen, 8);
      std::memcpy(&macs_hi, h + kVlanHdrLen + 8, 4);
      std::memcpy(h, &macs_lo, 8);
      std::memcpy(h + 8, &macs_hi, 4);
      auto* tag = reinterpret_cast<VlanTag*>(h + 2 * RTE_ETHER_ADDR_LEN);
      tag->tpid = kEtherTypeVlan;
      tag->tci = Be16(t->attachment.vlan);
    }
    m->ol_flags = 0;
    tc.decap_packets.Inc();
    tc.decap_bytes.Add(inner_len);
    ctx.Emit(t->attachment.port, m);
  }
}

}  // namespace tundra
