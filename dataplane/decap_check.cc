#include "dataplane/decap_check.h"

#include <cstring>

#include "dataplane/esp_input.h"
#include "dataplane/inner_ip.h"
#include "dataplane/proto/checksum.h"
#include "dataplane/proto/geneve.h"
#include "dataplane/proto/ip.h"

namespace tundra {

namespace {

// No tunnel has the key. A GRE packet of the other kind (IP to a gretap tunnel,
// Ethernet to a gre one) that reaches a tunnel carrying something else says so.
DropReason NoTunnelReason(const Tables& tables, const DecapFlow& f, const TunnelParse& tp) {
  // Sent to a multicast group no segment has (with this VNI/key): not ours.
  const bool to_group =
      f.key.family == 4 ? (f.key.local[0] & 0xF0) == 0xE0 : f.key.local[0] == 0xFF;
  if (to_group) return DropReason::kNotForUs;
  if (!IsGreTunnel(tp.type)) return DropReason::kUnknownVni;
  DecapKey other = f.key;
  other.type =
      static_cast<uint8_t>(tp.type == TunnelType::kGre ? TunnelType::kGretap : TunnelType::kGre);
  const DecapKey* k = &other;
  uint32_t other_id = kNoTunnel;
  tables.LookupDecap(&k, 1, &other_id);
  return other_id != kNoTunnel ? DropReason::kBadPayloadType : DropReason::kUnknownVni;
}

// RFC 8926 §3.5: a critical option the tunnel does not understand drops the packet.
// Reads the options of `m`, the flow's first packet (the others repeat its headers).
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

// A segment's packet: its VNI (or gre key) found the segment's anchor, which stands for
// every remote (also when sent to the segment's group). The remote VTEP it came from is a tunnel of
// its own, keyed with the outer source too (gre keys always carry the source, so those find the
// remote's tunnel at once and come here only when it is unknown). Returns the remote's tunnel, or
// the anchor for an unknown remote the segment learns from, or nullptr (drop, f.drop set).
const Tunnel* SegmentRemote(const Tables& tables, DecapFlow& f, uint8_t family,
                            const Tunnel* anchor) {
  DecapKey k = f.key;
  std::memset(k.remote, 0, sizeof(k.remote));
  std::memcpy(k.remote, f.remote, family == 4 ? 4 : 16);
  // A packet to the segment's group found the anchor under the group: the remotes are
  // keyed with the VTEP's own address, the anchor's.
  std::memcpy(k.local, anchor->decap_key.local, sizeof(k.local));
  const DecapKey* kp = &k;
  uint32_t id = kNoTunnel;
  tables.LookupDecap(&kp, 1, &id);
  const Tunnel* t = id != kNoTunnel ? tables.tunnel(id) : nullptr;
  if (t != nullptr) {
    f.id = id;
    return t;
  }
  const Segment* seg = tables.segment(anchor->segment);
  if (seg == nullptr || !seg->learn_unknown_remote) {
    f.drop = DropReason::kUnknownRemote;
    f.segment = anchor->segment;
    return nullptr;
  }
  f.unknown_remote = true;
  return anchor;
}

// A gre packet whose key with its source found no tunnel: the anchor of a segment with
// that key (the key without a source), if there is one.
const Tunnel* SegmentAnchor(const Tables& tables, const DecapFlow& f) {
  DecapKey k = f.key;
  std::memset(k.remote, 0, sizeof(k.remote));
  const DecapKey* kp = &k;
  uint32_t id = kNoTunnel;
  tables.LookupDecap(&kp, 1, &id);
  const Tunnel* t = id != kNoTunnel ? tables.tunnel(id) : nullptr;
  return t != nullptr && t->segment_anchor ? t : nullptr;
}

// What every packet of flow `f` does, and which per-packet checks it needs. `first` is
// the flow's first packet (its options are the flow's).
void CheckFlow(const Tables& tables, DecapFlow& f, const DecapParse& parse, const rte_mbuf* first) {
  const TunnelParse& tp = parse.tunnel;
  f.action = FlowAction::kDrop;
  f.checks = 0;
  f.no_attachment = false;
  f.segment = 0;
  f.unknown_remote = false;
  const Tunnel* t = f.t;
  if (t == nullptr && IsGreTunnel(tp.type)) [[unlikely]]
    t = SegmentAnchor(tables, f);
  if (t == nullptr) [[unlikely]] {
    f.drop = NoTunnelReason(tables, f, tp);
    return;
  }
  if (t->segment_anchor) {
    t = SegmentRemote(tables, f, parse.family, t);
    if (t == nullptr) return;
    f.t = t;
  }
  if (IsUdpTunnel(tp.type) && !f.unknown_remote) {
    const bool same_remote = parse.family == 4
                                 ? std::memcmp(t->remote.bytes.data(), f.remote, 4) == 0
                                 : std::memcmp(t->remote.bytes.data(), f.remote, 16) == 0;
    if (t->remote.family != parse.family || !same_remote) [[unlikely]] {
      f.drop = DropReason::kRemoteMismatch;
      return;
    }
  }
  if (tp.type == TunnelType::kGeneve) [[unlikely]] {
    if (tp.oam) {
      f.action = FlowAction::kPunt;
      return;
    }
    if (!CriticalOptionsUnderstood(*t, first, tp)) {
      f.drop = DropReason::kUnknownCriticalOption;
      return;
    }
  }
  if (tp.has_seq && (t->flags & kTunnelGreSequence)) f.checks |= kCheckSequence;
  if (parse.outer_ecn != 0) f.checks |= kCheckEcn;
  static_assert(kTunnelEsp >> 10 == kCheckEsp);
  f.checks |= static_cast<uint8_t>((t->flags & kTunnelEsp) >> 10);  // protected: per packet
  f.strip = tp.inner_off;
  if (tp.l3_version != 0) {
    f.action = FlowAction::kRoute;
    return;
  }
  if (t->segment != 0) {
    f.action = FlowAction::kSegment;
    f.segment = t->segment;
    return;
  }
  if (!t->attachment.valid) [[unlikely]] {
    // Counted after the sequence number, as for one packet.
    f.no_attachment = true;
    if (!(f.checks & kCheckSequence)) {
      f.drop = DropReason::kNoAttachment;
      return;
    }
  }
  f.action = FlowAction::kBridge;
  f.out_port = t->attachment.port;
  f.vlan = t->attachment.vlan;
}

// RFC 2890 §2.2 for a run of packets of one tunnel: a packet is in sequence when its
// number is newer (serial arithmetic) than the last one accepted. The run is checked
// against one snapshot of the tunnel's receive state and published with one
// compare-and-swap; if another worker moved the state meanwhile, the run is checked
// again against the new state, so the result is as if the run arrived at once.
void CheckSequences(TunnelState& st, TunnelCounters& tc, bool drop_late, DecapPacket* pkts,
                    uint16_t n) {
  DropReason verdict[kBurstSize];
  uint32_t snapshot = st.rx_seq.load(std::memory_order_relaxed);
  bool any_late = false;
  for (;;) {
    bool valid = st.rx_seq_valid.load(std::memory_order_relaxed);
    if (valid) {
      // The usual run: each number newer than the one before it. Checked without a
      // branch per packet; anything else takes the loop below, which names each verdict.
      uint32_t prev = snapshot;
      bool in_order = true;
      for (uint16_t k = 0; k < n; ++k) {
        in_order &= static_cast<int32_t>(pkts[k].seq - prev) > 0;
        prev = pkts[k].seq;
      }
      if (in_order) {
        if (st.rx_seq.compare_exchange_weak(snapshot, prev, std::memory_order_relaxed)) return;
        continue;  // another worker moved the state: check the run against the new one
      }
    }
    uint32_t last = snapshot;
    any_late = false;
    for (uint16_t k = 0; k < n; ++k) {
      const int32_t delta = static_cast<int32_t>(pkts[k].seq - last);
      verdict[k] = !valid       ? DropReason::kNone
                   : delta == 0 ? DropReason::kSeqDuplicate
                   : delta < 0  ? DropReason::kSeqOutOfOrder
                                : DropReason::kNone;
      if (verdict[k] == DropReason::kNone) {
        last = pkts[k].seq;
        valid = true;
      } else {
        any_late = true;
      }
    }
    if (last == snapshot ||
        st.rx_seq.compare_exchange_weak(snapshot, last, std::memory_order_relaxed)) {
      if (valid) st.rx_seq_valid.store(true, std::memory_order_relaxed);
      break;
    }
  }
  if (!any_late) return;  // an in-order run, the usual case
  for (uint16_t k = 0; k < n; ++k) {
    if (verdict[k] == DropReason::kNone) continue;
    (verdict[k] == DropReason::kSeqDuplicate ? tc.seq_duplicate : tc.seq_out_of_order).Inc();
    if (drop_late) pkts[k].drop = verdict[k];
  }
}

// RFC 6040 decapsulation of the ECN field into the inner IP header at `l3`. Returns
// false when the packet must be dropped (CE over Not-ECT).
bool DecapsulateEcn(uint8_t outer_ecn, uint8_t* l3, uint32_t avail) {
  if (avail < kIpv4HdrLen) return true;
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

// The per-packet checks of a run of packets of flow `f`.
void CheckRun(WorkerContext& ctx, const DecapFlow& f, const TunnelParse& tp, uint8_t outer_ecn,
              DecapPacket* pkts, uint16_t n) {
  if (f.checks & kCheckEsp) {
    // Before the sequence numbers: an unauthenticated packet moves no state.
    const bool protected_tunnel = f.t != nullptr && (f.t->flags & kTunnelEsp) != 0;
    for (uint16_t k = 0; k < n; ++k) {
      DecapPacket& p = pkts[k];
      const bool decrypted = EspDecrypted(p.m);
      if (p.drop == DropReason::kNone &&
          (decrypted != protected_tunnel || (decrypted && EspTunnel(p.m) != f.id))) {
        p.drop = DropReason::kEspRequired;
      }
    }
  }
  if (f.checks & kCheckSequence) {
    CheckSequences(ctx.tables->tunnel_state(f.id), ctx.counters->tunnels[f.id],
                   (f.t->flags & kTunnelSeqDrop) != 0, pkts, n);
  }
  if (!f.no_attachment && !(f.checks & kCheckEcn)) return;
  for (uint16_t k = 0; k < n; ++k) {
    DecapPacket& p = pkts[k];
    if (p.drop != DropReason::kNone) continue;
    if (f.no_attachment) {
      p.drop = DropReason::kNoAttachment;
      continue;
    }
    if (!(f.checks & kCheckEcn)) continue;
    uint8_t* inner = rte_pktmbuf_mtod_offset(p.m, uint8_t*, tp.inner_off);
    const uint32_t avail = rte_pktmbuf_data_len(p.m) - tp.inner_off;
    const uint16_t ip_off = tp.l3_version != 0 ? 0 : InnerIpOffset(inner, avail);
    if ((tp.l3_version != 0 || ip_off != 0) &&
        !DecapsulateEcn(outer_ecn, inner + ip_off, avail - ip_off)) {
      p.drop = DropReason::kEcnNotEct;
    }
  }
}

}  // namespace

void CheckStage(WorkerContext& ctx, DecapBatch& b) {
  uint8_t any_checks = 0;
  for (uint16_t i = 0; i < b.nflows; ++i) {
    DecapFlow& f = b.flows[i];
    CheckFlow(*ctx.tables, f, b.parses[f.parse], b.pkts[f.first].m);
    if (f.action != FlowAction::kDrop && f.action != FlowAction::kPunt) any_checks |= f.checks;
  }
  if (b.esp) [[unlikely]] {
    // Decrypted packets in the burst: every flow checks that they are its own.
    for (uint16_t i = 0; i < b.nflows; ++i) b.flows[i].checks |= kCheckEsp;
    any_checks |= kCheckEsp;
  }
  if (any_checks == 0) [[likely]]
    return;
  // Runs of packets of one flow that needs per-packet checks.
  for (uint16_t i = 0; i < b.n;) {
    const uint8_t flow = b.pkts[i].flow;
    uint16_t j = i + 1;
    while (j < b.n && b.pkts[j].flow == flow) ++j;
    const DecapFlow& f = b.flows[flow];
    if (f.checks != 0 && f.action != FlowAction::kDrop && f.action != FlowAction::kPunt) {
      const DecapParse& parse = b.parses[f.parse];
      CheckRun(ctx, f, parse.tunnel, parse.outer_ecn, b.pkts + i, j - i);
    }
    i = j;
  }
}

}  // namespace tundra
