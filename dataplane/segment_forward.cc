#include "dataplane/segment_forward.h"

#include <rte_cycles.h>
#include <rte_memcpy.h>
#include <rte_ring_elem.h>

#include <algorithm>
#include <cstring>

#include "dataplane/encap_push.h"
#include "dataplane/proto/ether.h"
#include "dataplane/segment_suppress.h"
#include "dataplane/vlan_tag.h"

namespace tundra {

namespace {

// Makes the fresh mbuf `c` a flood copy of `m` (FloodCopy); false (with `c` freed) when
// no indirect mbuf was left for the shared tail.
__attribute__((always_inline)) inline bool FillFloodCopy(rte_mbuf* c, rte_mbuf* m,
                                                         rte_mempool* indirect) {
  const uint32_t head = std::min<uint32_t>(m->data_len, kFloodCopyBytes);
  // A fixed-size copy (a few vector moves, no call) where both buffers hold that much
  // past the data's start: the bytes past `head` are the copy's headroom-free tail, never
  // part of its data.
  if (m->data_off + kFloodCopyBytes <= m->buf_len && c->data_off + kFloodCopyBytes <= c->buf_len)
      [[likely]] {
    rte_mov128(rte_pktmbuf_mtod(c, uint8_t*), rte_pktmbuf_mtod(m, const uint8_t*));
  } else {
    std::memcpy(rte_pktmbuf_mtod(c, void*), rte_pktmbuf_mtod(m, const void*), head);
  }
  c->data_len = static_cast<uint16_t>(head);
  c->pkt_len = m->pkt_len;
  if (m->pkt_len > head) {
    rte_mbuf* rest = nullptr;
    if (head == m->data_len) {
      rest = rte_pktmbuf_clone(m->next, indirect);
    } else if ((rest = rte_pktmbuf_clone(m, indirect)) != nullptr) {
      rte_pktmbuf_adj(rest, static_cast<uint16_t>(head));
    }
    if (rest == nullptr) {
      rte_pktmbuf_free(c);
      return false;
    }
    c->next = rest;
    c->nb_segs = static_cast<uint16_t>(1 + rest->nb_segs);
  }
  // What encap reads of the received frame: its flow hash and inner checksum state.
  c->ol_flags = m->ol_flags & (RTE_MBUF_F_RX_RSS_HASH | RTE_MBUF_F_RX_L4_CKSUM_MASK);
  c->hash = m->hash;
  c->port = m->port;
  return true;
}

}  // namespace

rte_mbuf* FloodCopy(rte_mbuf* m, rte_mempool* direct, rte_mempool* indirect) {
  rte_mbuf* c = rte_pktmbuf_alloc(direct);
  return c != nullptr && FillFloodCopy(c, m, indirect) ? c : nullptr;
}

namespace {

// Learn events a worker may hand the control thread per second, and in one go: a MAC
// flood from one port must not crowd out everything else the control thread does.
constexpr uint64_t kLearnEventsPerSecond = 1u << 20;
constexpr uint32_t kLearnBurst = 1024;

FdbPlace MemberPlace(const SegmentMember& member) { return LocalPlace(member.port, member.vlan); }

// The copies of one flooded frame, taken from its pool a burst's worth at a time.
class FloodCopies {
 public:
  FloodCopies(WorkerContext& ctx, rte_mbuf* m, size_t wanted)
      : m_(m), indirect_(ctx.indirect_pool), left_(wanted) {}
  ~FloodCopies() {
    if (used_ < nfresh_) rte_pktmbuf_free_bulk(fresh_ + used_, nfresh_ - used_);
  }
  FloodCopies(const FloodCopies&) = delete;
  FloodCopies& operator=(const FloodCopies&) = delete;

  // The next copy, or nullptr (counted in failed()) when no mbuf was left.
  rte_mbuf* Next() {
    if (used_ == nfresh_) {
      const uint32_t want = static_cast<uint32_t>(std::min<size_t>(left_, kBurstSize));
      nfresh_ = rte_pktmbuf_alloc_bulk(m_->pool, fresh_, want) == 0 ? want : 0;
      used_ = 0;
    }
    --left_;
    if (used_ == nfresh_ || !FillFloodCopy(fresh_[used_++], m_, indirect_)) [[unlikely]] {
      ++failed_;
      return nullptr;
    }
    ++made_;
    return fresh_[used_ - 1];
  }
  uint32_t made() const { return made_; }
  uint32_t failed() const { return failed_; }

 private:
  rte_mbuf* const m_;
  rte_mempool* const indirect_;
  size_t left_;
  uint32_t nfresh_ = 0, used_ = 0, made_ = 0, failed_ = 0;
  rte_mbuf* fresh_[kBurstSize];
};

// One run of frames of one segment.
class SegmentRun {
 public:
  SegmentRun(WorkerContext& ctx, uint16_t rx_port, const Segment& seg)
      : ctx_(ctx), rx_port_(rx_port), seg_(seg), sc_(ctx.counters->segments[seg.id]) {}
  ~SegmentRun() {
    FlushPush();
    FlushLearn();
    sc_.tx_packets.Add(tx_packets_);
    sc_.tx_bytes.Add(tx_bytes_);
  }

  void Forward(SegmentFrame* frames, uint16_t n);

 private:
  // Hands what frame `f` says of its source to the control thread; true when that is
  // a refresh of `entry` (the caller renews its cached copy).
  bool Learn(const SegmentFrame& f, const uint8_t* src, bool found, uint64_t entry);
  void LearnHost(const SegmentFrame& f, const HostBinding& b);
  void Enqueue(const FdbLearnEvent& e);
  // Snoops an ARP/ND frame's binding and answers a member's request from the segment's
  // bindings (segment_suppress.h); true when `m` went back as the answer.
  bool Suppress(const SegmentFrame& f);
  // Caches a known-unicast frame's conversation for segment_unicast.h, once its source
  // needs no learn event.
  void Remember(const SegmentFrame& f, const EtherHdr* eth, FdbPlace to, bool src_found,
                uint64_t src_entry, uint64_t generation);
  void Flood(rte_mbuf* m, FdbPlace origin, uint32_t len);
  void Send(rte_mbuf* m, FdbPlace to, uint32_t len, bool copy);
  __attribute__((always_inline)) void SendLocal(rte_mbuf* m, FdbPlace to, uint32_t len, bool copy);
  __attribute__((always_inline)) void SendRemote(rte_mbuf* m, uint32_t id, uint32_t len, bool copy);
  void Drop(rte_mbuf* m, DropReason reason, bool copy, uint32_t tunnel_id = kNoTunnel);
  void FlushPush() {
    if (npush_ != 0) PushStage(ctx_, rx_port_, push_, npush_);
    npush_ = 0;
  }
  void FlushLearn();
  bool TakeLearnToken();

  WorkerContext& ctx_;
  const uint16_t rx_port_;
  const Segment& seg_;
  SegmentCounters& sc_;
  uint32_t now_s_ = 0;
  // Sent frames and bytes, added to the counters once; the tunnel last sent to.
  uint32_t tx_packets_ = 0;
  uint64_t tx_bytes_ = 0;
  uint16_t npush_ = 0;
  uint16_t nevents_ = 0;
  EncapPacket push_[kBurstSize];
  FdbLearnEvent events_[kBurstSize];
};

bool SegmentRun::TakeLearnToken() {
  if (ctx_.learn_tokens == 0) {
    const uint64_t now = rte_rdtsc();
    const uint64_t add = (now - ctx_.learn_refill_tsc) * kLearnEventsPerSecond / rte_get_tsc_hz();
    if (add == 0) return false;
    ctx_.learn_tokens = static_cast<uint32_t>(std::min<uint64_t>(add, kLearnBurst));
    ctx_.learn_refill_tsc = now;
  }
  --ctx_.learn_tokens;
  return true;
}

bool SegmentRun::Learn(const SegmentFrame& f, const uint8_t* src, bool found, uint64_t entry) {
  FdbLearnKind kind;
  if (!found) {
    kind = FdbLearnKind::kNew;
  } else if (EntryStatic(entry)) {
    return false;  // static entries win over what traffic says
  } else if (EntryPlace(entry) != f.origin) {
    kind = FdbLearnKind::kMove;
  } else if (seg_.refresh_s != 0 &&
             static_cast<uint16_t>(now_s_ - EntryStamp(entry)) >= seg_.refresh_s) {
    kind = FdbLearnKind::kRefresh;
  } else {
    return false;
  }
  FdbLearnEvent e = {};
  e.segment = seg_.id;
  std::memcpy(e.mac, src, 6);
  e.kind = kind;
  e.family = f.family;
  e.place = f.origin;
  if (f.origin == kFdbUnknownRemote) std::memcpy(e.ip, f.remote_ip, 16);
  Enqueue(e);
  return kind == FdbLearnKind::kRefresh;
}

void SegmentRun::LearnHost(const SegmentFrame& f, const HostBinding& b) {
  FdbLearnEvent e = {};
  e.segment = seg_.id;
  std::memcpy(e.mac, b.mac, 6);
  e.kind = FdbLearnKind::kHost;
  e.family = b.family;
  e.place = f.origin;
  std::memcpy(e.ip, b.ip, 16);
  Enqueue(e);
}

void SegmentRun::Enqueue(const FdbLearnEvent& e) {
  // A burst of frames from one host is one event.
  for (uint16_t k = 0; k < nevents_; ++k) {
    const FdbLearnEvent& o = events_[k];
    if (o.kind == e.kind && o.place == e.place && std::memcmp(o.mac, e.mac, 6) == 0 &&
        (e.kind != FdbLearnKind::kHost || std::memcmp(o.ip, e.ip, 16) == 0)) {
      return;
    }
  }
  if (!TakeLearnToken()) {
    sc_.learn_dropped.Inc();
    return;
  }
  events_[nevents_++] = e;
}

void SegmentRun::FlushLearn() {
  if (nevents_ == 0) return;
  unsigned sent = 0;
  if (ctx_.fdb_ring != nullptr) {
    sent = rte_ring_mp_enqueue_burst_elem(ctx_.fdb_ring, events_, sizeof(FdbLearnEvent), nevents_,
                                          nullptr);
  }
  if (sent < nevents_) sc_.learn_dropped.Add(nevents_ - sent);
  nevents_ = 0;
}

void SegmentRun::Drop(rte_mbuf* m, DropReason reason, bool copy, uint32_t tunnel_id) {
  sc_.drops[SegmentDropSlot(reason)].Inc();
  if (!copy) {
    ctx_.Drop(rx_port_, m, reason, tunnel_id);
    return;
  }
  // A flooded copy is not a received packet: counted against the segment and the remote
  // it was for, not the port.
  const int slot = kTunnelDropSlots[static_cast<int>(reason)];
  if (tunnel_id != kNoTunnel && slot >= 0) ctx_.counters->tunnels[tunnel_id].drops[slot].Inc();
  rte_pktmbuf_free(m);
}

inline void SegmentRun::SendLocal(rte_mbuf* m, FdbPlace to, uint32_t len, bool copy) {
  const uint16_t vlan = PlaceVlan(to);
  if (vlan != kVlanUntagged && !PushVlanTag(m, vlan)) [[unlikely]] {
    Drop(m, DropReason::kNoHeadroom, copy);
    return;
  }
  m->ol_flags = 0;
  ++tx_packets_;
  tx_bytes_ += len;
  ctx_.Emit(PlacePort(to), m);
}

inline void SegmentRun::SendRemote(rte_mbuf* m, uint32_t id, uint32_t len, bool copy) {
  const Tunnel* t = ctx_.tables->tunnel(id);
  if (t == nullptr) [[unlikely]] {
    Drop(m, DropReason::kNoNeighbor, copy);
    return;
  }
  // Checked before the copy joins a push batch, so the segment counts it as a drop.
  if (ctx_.tables->PathNextHop(t->path) == 0) [[unlikely]] {
    Drop(m, NoNextHopReason(*ctx_.tables, *t), copy, id);
    return;
  }
  if (!FitsMtu(*t, len)) [[unlikely]] {
    Drop(m, DropReason::kMtuExceeded, copy, id);
    return;
  }
  ++tx_packets_;
  tx_bytes_ += len;
  push_[npush_++] = EncapPacket{m, t, id, len, DropReason::kNone};
  if (npush_ == kBurstSize) FlushPush();
}

void SegmentRun::Send(rte_mbuf* m, FdbPlace to, uint32_t len, bool copy) {
  if (IsRemotePlace(to)) {
    SendRemote(m, PlaceTunnel(to), len, copy);
  } else {
    SendLocal(m, to, len, copy);
  }
}

void SegmentRun::Flood(rte_mbuf* m, FdbPlace origin, uint32_t len) {
  sc_.flooded.Inc();
  // The destinations, in order: members but the one it came from, then (from a member
  // only) remote VTEPs. The original goes to the last, after every copy is made from it.
  const std::vector<SegmentMember>& members = seg_.members;
  const std::vector<uint32_t>& remotes = seg_.remotes;
  const size_t nremotes = IsRemotePlace(origin) ? 0 : remotes.size();
  size_t nmembers = members.size();  // members that get a copy
  FdbPlace last;
  if (nremotes != 0) {
    last = RemotePlace(remotes[nremotes - 1]);
  } else {
    while (nmembers > 0 && MemberPlace(members[nmembers - 1]) == origin) --nmembers;
    if (nmembers == 0) {
      rte_pktmbuf_free(m);  // nowhere to flood to: the segment has no other place
      return;
    }
    last = MemberPlace(members[--nmembers]);
  }
  if (nremotes > 1 && !(m->ol_flags & RTE_MBUF_F_RX_RSS_HASH)) {
    // Every copy to a remote hashes the same inner flow for its UDP source port: hash it
    // once, here, as a NIC's RSS hash would be (InnerFlowHash gives the push stage the
    // same value it would compute).
    m->hash.rss = InnerFlowHash(m, rte_pktmbuf_mtod(m, const uint8_t*), m->data_len);
    m->ol_flags |= RTE_MBUF_F_RX_RSS_HASH;
  }
  FloodCopies copies(ctx_, m, nmembers + (nremotes != 0 ? nremotes - 1 : 0));
  for (size_t k = 0; k < nmembers; ++k) {
    const FdbPlace to = MemberPlace(members[k]);
    if (to == origin) continue;
    if (rte_mbuf* c = copies.Next()) [[likely]]
      SendLocal(c, to, len, true);
  }
  for (size_t k = 0; k + 1 < nremotes; ++k) {
    if (rte_mbuf* c = copies.Next()) [[likely]]
      SendRemote(c, remotes[k], len, true);
  }
  sc_.replicated.Add(1 + copies.made());
  if (copies.failed() != 0) sc_.drops[SegmentDropSlot(DropReason::kNoMbuf)].Add(copies.failed());
  Send(m, last, len, true);
}

bool SegmentRun::Suppress(const SegmentFrame& f) {
  HostBinding b;
  if (SnoopHostBinding(f.m, b)) LearnHost(f, b);
  const auto* eth = rte_pktmbuf_mtod(f.m, const EtherHdr*);
  if (IsRemotePlace(f.origin) || !IsMulticastMac(eth->dst) ||
      !SuppressNeighborRequest(*ctx_.tables, seg_.id, f.m)) {
    return false;
  }
  sc_.suppressed.Inc();
  Send(f.m, f.origin, f.m->pkt_len, false);
  return true;
}

void SegmentRun::Remember(const SegmentFrame& f, const EtherHdr* eth, FdbPlace to, bool src_found,
                          uint64_t src_entry, uint64_t generation) {
  const bool fixed =
      IsMulticastMac(eth->src) || IsZeroMac(eth->src) || (src_found && EntryStatic(src_entry));
  // A source just learned or moved is not in the FDB as it is here yet: not before the
  // control thread has taken the event does a frame of it need nothing more.
  if (f.origin == kFdbUnknownRemote ||
      (!fixed && !(src_found && EntryPlace(src_entry) == f.origin))) {
    return;
  }
  const ConversationCache::Key key = ConversationCache::KeyOf(seg_.id, eth);
  ctx_.conversation_cache.Insert(
      ConversationCache::SetOf(key), key, generation,
      Conversation{PackPlace(to), PackPlace(f.origin), EntryStamp(src_entry), fixed});
}

void SegmentRun::Forward(SegmentFrame* frames, uint16_t n) {
  // One bulk lookup for the run, of its distinct MACs: frames of one conversation come
  // in runs, so a MAC equal to the previous frame's source or destination is looked up
  // once. src[i] / dst[i] index the frame's results.
  FdbKey keys[2 * kBurstSize];
  const FdbKey* key_ptrs[2 * kBurstSize];
  uint64_t found[2 * kBurstSize];
  uint8_t src[kBurstSize], dst[kBurstSize];
  constexpr uint8_t kNoKey = UINT8_MAX;  // never a key's index, nor a run's
  uint32_t nkeys = 0;
  const auto key_of = [&](const uint8_t* mac, uint8_t& slot, uint32_t prev_a, uint32_t prev_b) {
    const FdbKey k = MakeFdbKey(seg_.id, mac);
    if (prev_a < nkeys && keys[prev_a] == k) {
      slot = static_cast<uint8_t>(prev_a);
    } else if (prev_b < nkeys && keys[prev_b] == k) {
      slot = static_cast<uint8_t>(prev_b);
    } else {
      keys[nkeys] = k;
      key_ptrs[nkeys] = &keys[nkeys];
      slot = static_cast<uint8_t>(nkeys++);
    }
  };
  for (uint16_t i = 0; i < n; ++i) {
    const auto* eth = rte_pktmbuf_mtod(frames[i].m, const EtherHdr*);
    const uint32_t ps = i > 0 ? src[i - 1] : UINT32_MAX, pd = i > 0 ? dst[i - 1] : UINT32_MAX;
    key_of(eth->src, src[i], ps, pd);
    // A broadcast or multicast destination is flooded, never looked up.
    if (IsMulticastMac(eth->dst)) {
      dst[i] = kNoKey;
    } else {
      key_of(eth->dst, dst[i], pd, ps);
    }
  }
  // The worker's cache first (fdb_cache.h); what it lacks in one bulk lookup, cached.
  static_assert(2 * kBurstSize <= RTE_HASH_LOOKUP_BULK_MAX);
  FdbCache& cache = ctx_.fdb_cache;
  const uint64_t generation = ctx_.tables->fdb_generation();
  uint64_t entries[2 * kBurstSize];
  uint32_t slots[2 * kBurstSize];
  const FdbKey* miss_keys[2 * kBurstSize];
  uint8_t miss_of[2 * kBurstSize];
  uint32_t nmiss = 0;
  for (uint32_t k = 0; k < nkeys; ++k) {
    slots[k] = FdbCache::SetOf(keys[k]);
    found[k] = cache.Find(slots[k], keys[k], generation, entries[k]);
    if (!found[k]) {
      miss_keys[nmiss] = key_ptrs[k];
      miss_of[nmiss++] = static_cast<uint8_t>(k);
    }
  }
  if (nmiss != 0) {
    uint64_t miss_entries[2 * kBurstSize];
    const uint64_t hits = ctx_.tables->LookupFdb(miss_keys, nmiss, miss_entries);
    for (uint32_t j = 0; j < nmiss; ++j) {
      if (!((hits >> j) & 1)) continue;
      const uint32_t k = miss_of[j];
      found[k] = 1;
      entries[k] = miss_entries[j];
      cache.Insert(slots[k], keys[k], generation, entries[k]);
    }
  }
  now_s_ = ctx_.tables->fdb_now_s();

  uint64_t rx_bytes = 0;
  // The last known-unicast decision: a frame with the same MACs from the same place goes
  // the same way, without learning or resolving again.
  uint32_t run_src = UINT32_MAX, run_dst = UINT32_MAX;
  FdbPlace run_origin = 0, run_to = 0;
  for (uint16_t i = 0; i < n; ++i) {
    const SegmentFrame& f = frames[i];
    rte_mbuf* m = f.m;
    const uint32_t len = m->pkt_len;
    rx_bytes += len;
    if (src[i] == run_src && dst[i] == run_dst && f.origin == run_origin) {
      Send(m, run_to, len, false);
      continue;
    }
    run_src = UINT32_MAX;
    const auto* eth = rte_pktmbuf_mtod(m, const EtherHdr*);
    if (!IsMulticastMac(eth->src) && !IsZeroMac(eth->src) &&
        Learn(f, eth->src, found[src[i]], entries[src[i]])) {
      // Asked for a refresh: this worker's copy is renewed as the control thread's
      // will be, so it asks again only a refresh interval later.
      const uint32_t k = src[i];
      entries[k] = FdbEntry(EntryPlace(entries[k]), false, now_s_);
      cache.Insert(slots[k], keys[k], generation, entries[k]);
    }
    if (seg_.suppress && (eth->ether_type == kEtherTypeArp || eth->ether_type == kEtherTypeIpv6) &&
        Suppress(f)) [[unlikely]] {
      continue;
    }
    if (IsMulticastMac(eth->dst) || !found[dst[i]]) {
      Flood(m, f.origin, len);
      continue;
    }
    const FdbPlace to = EntryPlace(entries[dst[i]]);
    if (to == f.origin) [[unlikely]] {
      Drop(m, DropReason::kHairpin, false);
    } else if (IsRemotePlace(to) && IsRemotePlace(f.origin)) [[unlikely]] {
      Drop(m, DropReason::kSplitHorizon, false);
    } else {
      Remember(f, eth, to, found[src[i]], entries[src[i]], generation);  // before Send tags it
      Send(m, to, len, false);
      // Only a plain known-unicast frame starts a run (ARP/ND may need suppression).
      if (!seg_.suppress) {
        run_src = src[i];
        run_dst = dst[i];
        run_origin = f.origin;
        run_to = to;
      }
    }
  }
  sc_.rx_packets.Add(n);
  sc_.rx_bytes.Add(rx_bytes);
}

}  // namespace

void SegmentForward(WorkerContext& ctx, uint16_t rx_port, SegmentFrame* frames, uint16_t n) {
  for (uint16_t start = 0; start < n;) {
    const uint32_t id = frames[start].segment;
    uint16_t end = start + 1;
    while (end < n && frames[end].segment == id) ++end;
    const Segment* seg = ctx.tables->segment(id);
    if (seg == nullptr) [[unlikely]] {
      // Deleted while its frames were on the way.
      for (uint16_t i = start; i < end; ++i) {
        ctx.Drop(rx_port, frames[i].m, DropReason::kNoAttachment);
      }
    } else {
      SegmentRun(ctx, rx_port, *seg).Forward(frames + start, end - start);
    }
    start = end;
  }
}

}  // namespace tundra
