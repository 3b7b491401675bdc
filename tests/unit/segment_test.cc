// Segments end to end inside one process, where the order of events is ours to choose
// (the functional tests cannot sequence learning): the FDB stage's decisions, learning
// through the ring into the writer, moves, static precedence, max-macs, ageing and its
// refreshes, unknown remotes, and flood copies that share the original's data.
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include <array>

#include "dataplane/decap.h"
#include "dataplane/segment_forward.h"
#include "test_util.h"

namespace tundra::testing {
namespace {

const MacAddress kHostA = *MacAddress::Parse("02:00:00:00:0a:01");
const MacAddress kHostB = *MacAddress::Parse("02:00:00:00:0a:02");
const MacAddress kHostC = *MacAddress::Parse("02:00:00:00:0a:03");

// A frame from `src` to `dst`, optionally tagged.
std::vector<uint8_t> Frame(const MacAddress& dst, const MacAddress& src, uint16_t vlan = 0,
                           size_t payload = 18) {
  std::vector<uint8_t> f = InnerUdp4(1000, 2000, payload);
  std::copy(dst.bytes.begin(), dst.bytes.end(), f.begin());
  std::copy(src.bytes.begin(), src.bytes.end(), f.begin() + 6);
  if (vlan == 0) return f;
  std::vector<uint8_t> tagged(f.begin(), f.begin() + 12);
  PutBytes(tagged, {0x81, 0x00});
  Put16(tagged, vlan);
  tagged.insert(tagged.end(), f.begin() + 12, f.end());
  return tagged;
}

// VXLAN from `remote` (192.0.2.x) to 192.0.2.1, VNI 100, carrying `inner`.
std::vector<uint8_t> FromRemote(uint8_t remote, const std::vector<uint8_t>& inner) {
  std::vector<uint8_t> p;
  PutBytes(p, {0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, remote});
  Put16(p, 0x0800);
  p.push_back(0x45);
  p.push_back(0);
  Put16(p, static_cast<uint16_t>(20 + 8 + 8 + inner.size()));
  Put16(p, 0);
  Put16(p, 0);
  p.push_back(64);
  p.push_back(17);
  Put16(p, 0);
  PutBytes(p, {192, 0, 2, remote, 192, 0, 2, 1});
  const uint16_t ck = rte_ipv4_cksum(reinterpret_cast<const rte_ipv4_hdr*>(&p[14]));
  std::memcpy(&p[24], &ck, 2);
  Put16(p, 50000);
  Put16(p, 4789);
  Put16(p, static_cast<uint16_t>(8 + 8 + inner.size()));
  Put16(p, 0);
  PutBytes(p, {0x08, 0, 0, 0, 0, 0, 100, 0});
  p.insert(p.end(), inner.begin(), inner.end());
  return p;
}

// A packet a burst queued, and the port it was for.
struct Out {
  uint16_t port;
  std::vector<uint8_t> bytes;
};

// A segment s1 (VNI 100 on 192.0.2.1) with members port 1 VLAN 10 and VLAN 20 and the
// remotes 192.0.2.2 and 192.0.2.3; learn events go through a ring the test drains.
struct SegmentFixture : Fixture {
  SegmentFixture() {
    REQUIRE(writer
                ->AddNeighbor(*IpAddress::Parse("192.0.2.3"),
                              *MacAddress::Parse("02:00:00:00:00:03"), 0)
                .ok());
    TunnelSpec s = Vxlan("s1", false, 100);
    REQUIRE(writer->AddSegment(s).ok());
    REQUIRE(writer->AddSegmentMember("s1", 1, 10).ok());
    REQUIRE(writer->AddSegmentMember("s1", 1, 20).ok());
    REQUIRE(writer->AddSegmentRemote("s1", *IpAddress::Parse("192.0.2.2")).ok());
    REQUIRE(writer->AddSegmentRemote("s1", *IpAddress::Parse("192.0.2.3")).ok());
    ring = rte_ring_create_elem("unit_fdb_ring", sizeof(FdbLearnEvent), 64, SOCKET_ID_ANY,
                                RING_F_SC_DEQ);
    REQUIRE(ring != nullptr);
    ctx.fdb_ring = ring;
    ctx.indirect_pool = IndirectPool();
  }
  ~SegmentFixture() { rte_ring_free(ring); }

  static rte_mempool* IndirectPool() {
    static rte_mempool* pool =
        rte_pktmbuf_pool_create("unit_indirect", 1023, 0, 0, 0, SOCKET_ID_ANY);
    return pool;
  }

  const SegmentRecord& seg() const { return *writer->FindSegment("s1"); }
  SegmentCounters& counters_of() { return counters->segments[seg().id]; }

  // Hands every learn event to the writer, as App::Poll does; returns how many.
  unsigned Drain(uint32_t now_s = 0) {
    FdbLearnEvent e[64];
    const unsigned n = rte_ring_sc_dequeue_burst_elem(ring, e, sizeof(e[0]), 64, nullptr);
    for (unsigned i = 0; i < n; ++i) writer->LearnFdb(e[i], now_s);
    return n;
  }

  // Sends frames in on access port 1 (one burst); returns what each port queued.
  std::vector<Out> In(const std::vector<std::vector<uint8_t>>& frames, uint16_t port = 1) {
    std::vector<rte_mbuf*> ms;
    for (const auto& f : frames) ms.push_back(MbufFrom(f));
    if (port == 1) {
      EncapBurst(ctx, 1, ms.data(), static_cast<uint16_t>(ms.size()));
    } else {
      DecapBurst(ctx, 0, ms.data(), static_cast<uint16_t>(ms.size()));
    }
    FreeDrops();
    std::vector<Out> out;
    for (uint16_t p = 0; p < 2; ++p) {
      TxBuffer& b = ctx.tx[p];
      for (uint16_t i = 0; i < b.count; ++i) out.push_back(Out{p, BytesOf(b.pkts[i])});
      rte_pktmbuf_free_bulk(b.pkts, b.count);
      b.count = 0;
      b.bytes = 0;
    }
    ctx.tx_pending = 0;
    return out;
  }

  const FdbRecord* Entry(const MacAddress& mac) const {
    auto it = seg().fdb.find(MacKey(mac.bytes.data()));
    return it == seg().fdb.end() ? nullptr : &it->second;
  }

  rte_ring* ring = nullptr;
};

// The VLAN of a frame that left on an access port (0: untagged), and the uplink
// packet's outer destination address's last byte (0: not a VXLAN packet).
uint16_t VlanOf(const Out& out) {
  return Get16(out.bytes, 12) == 0x8100 ? Get16(out.bytes, 14) & 0xFFF : 0;
}
uint8_t RemoteOf(const Out& out) {
  return out.port == 0 && out.bytes.size() > 34 ? out.bytes[33] : 0;
}

TEST_CASE("segment: broadcast floods to every other member and every remote once",
          "[segment][flood]") {
  SegmentFixture f;
  const std::vector<uint8_t> bc = Frame(*MacAddress::Parse("ff:ff:ff:ff:ff:ff"), kHostA, 10, 300);
  const auto out = f.In({bc});
  REQUIRE(out.size() == 3);  // VLAN 20, remote .2, remote .3; never back to VLAN 10
  std::multiset<int> where;
  for (const Out& o : out) where.insert(o.port == 1 ? 1000 + VlanOf(o) : RemoteOf(o));
  CHECK(where == std::multiset<int>{1020, 2, 3});
  // Every copy carries the whole frame (the part beyond the copied head is shared).
  const std::vector<uint8_t> untagged =
      Frame(*MacAddress::Parse("ff:ff:ff:ff:ff:ff"), kHostA, 0, 300);
  for (const Out& o : out) {
    if (o.port == 0) CHECK(std::vector<uint8_t>(o.bytes.begin() + 50, o.bytes.end()) == untagged);
  }
  CHECK(f.counters_of().flooded.Get() == 1);
  CHECK(f.counters_of().replicated.Get() == 3);
  CHECK(f.counters_of().tx_packets.Get() == 3);
  CHECK(rte_mempool_in_use_count(SegmentFixture::IndirectPool()) == 0);
}

TEST_CASE("segment: a remote's frame floods to members only, never another remote",
          "[segment][flood]") {
  SegmentFixture f;
  const auto out = f.In({FromRemote(2, Frame(kHostB, kHostA))}, 0);
  REQUIRE(out.size() == 2);
  for (const Out& o : out) CHECK(o.port == 1);
  // Known at the other remote: split horizon.
  REQUIRE(f.writer->AddFdb("s1", kHostB, 0, 0, *IpAddress::Parse("192.0.2.3")).ok());
  CHECK(f.In({FromRemote(2, Frame(kHostB, kHostA))}, 0).empty());
  CHECK(f.PortDrops(0, DropReason::kSplitHorizon) == 1);
  // Known at a member: there only, tagged.
  REQUIRE(f.writer->AddFdb("s1", kHostB, 1, 20, std::nullopt).ok());
  const auto one = f.In({FromRemote(2, Frame(kHostB, kHostA))}, 0);
  REQUIRE(one.size() == 1);
  CHECK(VlanOf(one[0]) == 20);
}

TEST_CASE("segment: known unicast goes to its one place; hairpin is dropped",
          "[segment][unicast]") {
  SegmentFixture f;
  REQUIRE(f.writer->AddFdb("s1", kHostB, 0, 0, *IpAddress::Parse("192.0.2.3")).ok());
  auto out = f.In({Frame(kHostB, kHostA, 10)});
  REQUIRE(out.size() == 1);
  CHECK(RemoteOf(out[0]) == 3);
  REQUIRE(f.writer->AddFdb("s1", kHostB, 1, 20, std::nullopt).ok());
  out = f.In({Frame(kHostB, kHostA, 10)});
  REQUIRE(out.size() == 1);
  CHECK(VlanOf(out[0]) == 20);
  CHECK(f.In({Frame(kHostB, kHostA, 20)}).empty());
  CHECK(f.PortDrops(1, DropReason::kHairpin) == 1);
}

TEST_CASE("segment: learning, moves, static precedence and max-macs", "[segment][learn]") {
  SegmentFixture f;
  // A burst of frames from one host is one event.
  f.In({Frame(kHostB, kHostA, 10), Frame(kHostB, kHostA, 10), Frame(kHostB, kHostA, 10)});
  CHECK(f.Drain() == 1);
  REQUIRE(f.Entry(kHostA) != nullptr);
  CHECK(EntryPlace(f.Entry(kHostA)->entry) == LocalPlace(1, 10));
  CHECK(f.seg().learned == 1);
  // Known and in place: no event.
  f.In({Frame(kHostB, kHostA, 10)});
  CHECK(f.Drain() == 0);
  // It moves to VLAN 20, then behind remote .2.
  f.In({Frame(kHostB, kHostA, 20)});
  CHECK(f.Drain() == 1);
  CHECK(EntryPlace(f.Entry(kHostA)->entry) == LocalPlace(1, 20));
  f.In({FromRemote(2, Frame(kHostB, kHostA))}, 0);
  CHECK(f.Drain() == 1);
  CHECK(IsRemotePlace(EntryPlace(f.Entry(kHostA)->entry)));
  CHECK(f.seg().moved == 2);
  // Static wins: no event, no change.
  REQUIRE(f.writer->AddFdb("s1", kHostA, 1, 10, std::nullopt).ok());
  f.In({Frame(kHostB, kHostA, 20)});
  CHECK(f.Drain() == 0);
  CHECK(EntryPlace(f.Entry(kHostA)->entry) == LocalPlace(1, 10));
  CHECK(EntryStatic(f.Entry(kHostA)->entry));
  // max-macs 1: the second new MAC is forwarded but not learned.
  REQUIRE(f.writer->FlushFdb("s1", false).ok());
  REQUIRE(f.writer->SetSegmentMaxMacs("s1", 1).ok());
  const auto out = f.In({Frame(kHostC, kHostA, 10), Frame(kHostC, kHostB, 10)});
  CHECK(out.size() == 6);  // both flooded
  f.Drain();
  CHECK(f.seg().learned_macs == 1);
  CHECK(f.seg().limit_dropped == 1);
}

TEST_CASE("segment: the worker's FDB cache follows every change at the next burst",
          "[segment][fdb-cache]") {
  SegmentFixture f;
  const auto to_b = [&] { return f.In({Frame(kHostB, kHostA, 10)}); };
  REQUIRE(f.writer->AddFdb("s1", kHostB, 0, 0, *IpAddress::Parse("192.0.2.2")).ok());
  auto out = to_b();
  REQUIRE(out.size() == 1);
  CHECK(RemoteOf(out[0]) == 2);
  out = to_b();  // now from the cache
  REQUIRE(out.size() == 1);
  CHECK(RemoteOf(out[0]) == 2);
  const uint64_t g = f.tables->fdb_generation();
  // A static entry replaced: another place at once.
  REQUIRE(f.writer->AddFdb("s1", kHostB, 0, 0, *IpAddress::Parse("192.0.2.3")).ok());
  CHECK(f.tables->fdb_generation() != g);
  out = to_b();
  REQUIRE(out.size() == 1);
  CHECK(RemoteOf(out[0]) == 3);
  // Deleted: flooded (2 remotes, VLAN 20).
  REQUIRE(f.writer->DelFdb("s1", kHostB).ok());
  CHECK(to_b().size() == 3);
  // Learned, then moved by traffic: forwarded to where it moved.
  f.Drain();
  f.In({FromRemote(2, Frame(kHostA, kHostB))}, 0);
  f.Drain();
  out = to_b();
  REQUIRE(out.size() == 1);
  CHECK(RemoteOf(out[0]) == 2);
  f.In({Frame(kHostA, kHostB, 20)});
  CHECK(f.Drain() == 1);  // the move
  out = to_b();
  REQUIRE(out.size() == 1);
  CHECK(VlanOf(out[0]) == 20);
  // A new entry needs no bump: learning a MAC leaves the generation alone.
  const uint64_t before = f.tables->fdb_generation();
  f.In({Frame(kHostB, kHostC, 20)});
  CHECK(f.Drain() == 1);
  CHECK(f.tables->fdb_generation() == before);
}

// The shortcut of segment_unicast.h is taken once SegmentForward has cached a
// conversation; these check that taking it changes none of SegmentForward's answers.
bool Cached(SegmentFixture& f, const std::vector<uint8_t>& frame) {
  const auto* eth = reinterpret_cast<const EtherHdr*>(frame.data());
  const ConversationCache::Key key = ConversationCache::KeyOf(f.seg().id, eth);
  Conversation c;
  return f.ctx.conversation_cache.Find(ConversationCache::SetOf(key), key,
                                       f.tables->fdb_generation(), c);
}

TEST_CASE("segment: a cached conversation still learns moves and asks for refreshes",
          "[segment][conversation]") {
  SegmentFixture f;
  REQUIRE(f.writer->SetSegmentAgeing("s1", 10).ok());  // refresh after 1 s
  REQUIRE(f.writer->AddFdb("s1", kHostB, 0, 0, *IpAddress::Parse("192.0.2.2")).ok());
  f.tables->SetFdbNow(100);
  const auto a_to_b = Frame(kHostB, kHostA, 10);
  f.In({a_to_b});
  CHECK(f.Drain(100) == 1);  // A learned; not cached while A is new
  CHECK_FALSE(Cached(f, a_to_b));
  f.In({a_to_b});
  CHECK(Cached(f, a_to_b));
  for (int i = 0; i < 3; ++i) {  // the shortcut: out to .2, nothing to learn
    const auto out = f.In({a_to_b, a_to_b});
    REQUIRE(out.size() == 2);
    CHECK(RemoteOf(out[0]) == 2);
    CHECK(f.Drain(100) == 0);
  }
  CHECK(f.counters_of().rx_packets.Get() == 8);
  CHECK(f.counters_of().tx_packets.Get() == 8);
  // Due a refresh: asked for once, though the conversation is cached.
  f.tables->SetFdbNow(103);
  f.In({a_to_b});
  f.In({a_to_b});
  CHECK(f.Drain(103) == 1);
  CHECK(f.Entry(kHostA)->seen_s == 103);
  // A from VLAN 20: a move, learned, though (B, A) is cached from VLAN 10.
  const auto out = f.In({Frame(kHostB, kHostA, 20)});
  REQUIRE(out.size() == 1);
  CHECK(RemoteOf(out[0]) == 2);
  CHECK(f.Drain(103) == 1);
  CHECK(EntryPlace(f.Entry(kHostA)->entry) == LocalPlace(1, 20));
  // The move bumped the generation: the VLAN 10 conversation is gone.
  CHECK_FALSE(Cached(f, a_to_b));
}

TEST_CASE(
    "segment: a cached conversation with a static source still drops hairpins "
    "and keeps split horizon",
    "[segment][conversation]") {
  SegmentFixture f;
  // A static at VLAN 20 (no learning from any origin), B behind .2, C at VLAN 10.
  REQUIRE(f.writer->AddFdb("s1", kHostA, 1, 20, std::nullopt).ok());
  REQUIRE(f.writer->AddFdb("s1", kHostB, 0, 0, *IpAddress::Parse("192.0.2.2")).ok());
  REQUIRE(f.writer->AddFdb("s1", kHostC, 1, 10, std::nullopt).ok());
  const auto a_to_c = Frame(kHostC, kHostA, 20);
  f.In({a_to_c});
  REQUIRE(Cached(f, a_to_c));
  auto out = f.In({a_to_c});
  REQUIRE(out.size() == 1);
  CHECK(VlanOf(out[0]) == 10);
  // The same MACs from VLAN 10, where C is: a hairpin, not the cached way.
  CHECK(f.In({Frame(kHostC, kHostA, 10)}).empty());
  CHECK(f.PortDrops(1, DropReason::kHairpin) == 1);
  // (B, A) cached from a member; the same MACs from remote .3: never to another remote.
  const auto a_to_b = Frame(kHostB, kHostA, 20);
  f.In({a_to_b});
  REQUIRE(Cached(f, a_to_b));
  CHECK(f.In({FromRemote(3, a_to_b)}, 0).empty());
  CHECK(f.counters_of().drops[SegmentDropSlot(DropReason::kSplitHorizon)].Get() == 1);
  CHECK(f.Drain() == 0);
}

TEST_CASE("segment: a remote's known unicast to a member takes the shortcut too",
          "[segment][conversation]") {
  SegmentFixture f;
  REQUIRE(f.writer->AddFdb("s1", kHostA, 1, 20, std::nullopt).ok());
  const auto b_to_a = Frame(kHostA, kHostB);
  f.In({FromRemote(2, b_to_a)}, 0);
  CHECK(f.Drain() == 1);  // B learned behind .2
  f.In({FromRemote(2, b_to_a)}, 0);
  REQUIRE(Cached(f, b_to_a));
  const auto out = f.In({FromRemote(2, b_to_a), FromRemote(2, b_to_a)}, 0);
  REQUIRE(out.size() == 2);
  CHECK(out[0].port == 1);
  CHECK(VlanOf(out[0]) == 20);
  CHECK(std::equal(b_to_a.begin() + 12, b_to_a.end(), out[0].bytes.begin() + 16));
  CHECK(f.Drain() == 0);
  // From .3 the same frame is a move of B, not the cached answer.
  f.In({FromRemote(3, b_to_a)}, 0);
  CHECK(f.Drain() == 1);
}

TEST_CASE("FDB cache: two ways per set, the oldest goes, a generation empties",
          "[segment][fdb-cache]") {
  FdbCache cache;
  // Keys of one set: found by trying segments until three share the first's set.
  std::vector<FdbKey> keys;
  const uint8_t mac[6] = {2, 0, 0, 0, 0, 1};
  for (uint32_t seg = 1; keys.size() < 3; ++seg) {
    const FdbKey k = MakeFdbKey(seg, mac);
    if (keys.empty() || FdbCache::SetOf(k) == FdbCache::SetOf(keys[0])) keys.push_back(k);
  }
  const uint32_t set = FdbCache::SetOf(keys[0]);
  uint64_t e = 0;
  cache.Insert(set, keys[0], 1, 10);
  cache.Insert(set, keys[1], 1, 11);
  CHECK((cache.Find(set, keys[0], 1, e) && e == 10));
  CHECK((cache.Find(set, keys[1], 1, e) && e == 11));
  cache.Insert(set, keys[1], 1, 12);  // in place: keys[0] stays
  CHECK((cache.Find(set, keys[0], 1, e) && e == 10));
  CHECK((cache.Find(set, keys[1], 1, e) && e == 12));
  cache.Insert(set, keys[2], 1, 13);  // keys[0], the oldest, goes
  CHECK_FALSE(cache.Find(set, keys[0], 1, e));
  CHECK((cache.Find(set, keys[2], 1, e) && e == 13));
  CHECK_FALSE(cache.Find(set, keys[2], 2, e));
}

TEST_CASE("conversation cache: packed places, two ways, a generation empties the set",
          "[segment][conversation]") {
  for (const FdbPlace p :
       {LocalPlace(0, 0), LocalPlace(65535, 4095), RemotePlace(0), RemotePlace((1u << 24) - 1)}) {
    CHECK(UnpackPlace(PackPlace(p)) == p);
    CHECK(IsRemotePacked(PackPlace(p)) == IsRemotePlace(p));
  }
  CHECK(PackPlace(LocalPlace(5, 0)) != PackPlace(RemotePlace(5)));
  ConversationCache cache;
  std::vector<std::vector<uint8_t>> frames;
  std::vector<ConversationCache::Key> keys;
  for (uint32_t i = 1; keys.size() < 3; ++i) {
    frames.push_back(Frame(
        kHostB, MacAddress{{2, 0, 0, static_cast<uint8_t>(i >> 8), 1, static_cast<uint8_t>(i)}}));
    const auto k =
        ConversationCache::KeyOf(7, reinterpret_cast<const EtherHdr*>(frames.back().data()));
    if (keys.empty() || ConversationCache::SetOf(k) == ConversationCache::SetOf(keys[0])) {
      keys.push_back(k);
    }
  }
  const uint32_t set = ConversationCache::SetOf(keys[0]);
  Conversation c{};
  cache.Insert(set, keys[0], 5,
               Conversation{PackPlace(RemotePlace(9)), PackPlace(LocalPlace(1, 10)), 77, false});
  cache.Insert(set, keys[1], 5, Conversation{PackPlace(LocalPlace(1, 20)), 0, 0, true});
  REQUIRE(cache.Find(set, keys[0], 5, c));
  CHECK(UnpackPlace(c.to) == RemotePlace(9));
  CHECK(UnpackPlace(c.from) == LocalPlace(1, 10));
  CHECK(c.stamp == 77);
  CHECK_FALSE(c.fixed);
  REQUIRE(cache.Find(set, keys[1], 5, c));
  CHECK(c.fixed);
  cache.Insert(set, keys[2], 5, Conversation{1, 2, 3, false});
  CHECK_FALSE(cache.Find(set, keys[0], 5, c));
  CHECK(cache.Find(set, keys[1], 5, c));
  // Under a new generation the set is empty, and filling it drops the old ways.
  CHECK_FALSE(cache.Find(set, keys[1], 6, c));
  cache.Insert(set, keys[0], 6, Conversation{1, 2, 3, false});
  CHECK(cache.Find(set, keys[0], 6, c));
  CHECK_FALSE(cache.Find(set, keys[1], 6, c));
  CHECK_FALSE(cache.Find(set, keys[2], 6, c));
  // A segment id is never 0: an empty way matches no key.
  const ConversationCache::Key zero{{0, uint64_t{1} << 32}};
  CHECK_FALSE(cache.Find(ConversationCache::SetOf(zero), zero, 6, c));
}

TEST_CASE("segment: a refresh is asked for once per refresh interval, cache or not",
          "[segment][fdb-cache]") {
  SegmentFixture f;
  REQUIRE(f.writer->SetSegmentAgeing("s1", 10).ok());  // refresh after 1 s
  f.tables->SetFdbNow(100);
  f.In({Frame(kHostC, kHostA, 10)});
  CHECK(f.Drain(100) == 1);
  f.In({Frame(kHostC, kHostA, 10)});  // cached, fresh: nothing
  CHECK(f.Drain(100) == 0);
  f.tables->SetFdbNow(103);
  f.In({Frame(kHostC, kHostA, 10)});
  f.In({Frame(kHostC, kHostA, 10)});  // the cached copy is renewed with the request
  CHECK(f.Drain(103) == 1);
  CHECK(f.Entry(kHostA)->seen_s == 103);
  f.In({Frame(kHostC, kHostA, 10)});
  CHECK(f.Drain(103) == 0);
}

TEST_CASE("segment: ageing removes idle entries; traffic refreshes busy ones",
          "[segment][ageing]") {
  SegmentFixture f;
  REQUIRE(f.writer->SetSegmentAgeing("s1", 10).ok());  // refresh after 1 s
  f.tables->SetFdbNow(100);
  f.In({Frame(kHostC, kHostA, 10), Frame(kHostC, kHostB, 10)});
  CHECK(f.Drain(100) == 2);
  // A is seen again 5 s later: its stamp is old, so the frame asks for a refresh.
  f.tables->SetFdbNow(105);
  f.In({Frame(kHostC, kHostA, 10)});
  CHECK(f.Drain(105) == 1);
  CHECK(f.Entry(kHostA)->seen_s == 105);
  f.writer->AgeFdb(109);
  CHECK(f.seg().fdb.size() == 2);
  f.writer->AgeFdb(110);  // B idle for 10 s
  CHECK(f.Entry(kHostB) == nullptr);
  CHECK(f.Entry(kHostA) != nullptr);
  CHECK(f.seg().aged == 1);
  f.writer->AgeFdb(115);
  CHECK(f.seg().fdb.empty());
  // Static entries never age.
  REQUIRE(f.writer->AddFdb("s1", kHostB, 1, 10, std::nullopt).ok());
  f.writer->AgeFdb(100000);
  CHECK(f.Entry(kHostB) != nullptr);
}

TEST_CASE("segment: unknown remotes are dropped, or learned when the segment says so",
          "[segment][remote]") {
  SegmentFixture f;
  CHECK(f.In({FromRemote(9, Frame(kHostB, kHostA))}, 0).empty());
  CHECK(f.PortDrops(0, DropReason::kUnknownRemote) == 1);
  CHECK(f.Drain() == 0);
  REQUIRE(f.writer->SetSegmentUnknownRemote("s1", true).ok());
  CHECK(f.In({FromRemote(9, Frame(kHostB, kHostA))}, 0).size() == 2);  // to both members
  CHECK(f.Drain() == 1);
  REQUIRE(f.Entry(kHostA) != nullptr);
  const SegmentRemoteRecord* r = f.seg().Remote(*IpAddress::Parse("192.0.2.9"));
  REQUIRE(r != nullptr);
  CHECK(r->learned);
  CHECK(EntryPlace(f.Entry(kHostA)->entry) == RemotePlace(r->id));
  // Not in the flood list: a broadcast from a member reaches the two configured remotes.
  const auto out = f.In({Frame(*MacAddress::Parse("ff:ff:ff:ff:ff:ff"), kHostB, 10)});
  int remotes = 0;
  for (const Out& o : out) remotes += o.port == 0;
  CHECK(remotes == 2);
  // The learned remote goes with its last entry.
  REQUIRE(f.writer->FlushFdb("s1", true).ok());
  CHECK(f.seg().Remote(*IpAddress::Parse("192.0.2.9")) == nullptr);
}

TEST_CASE("segment: configuration errors change nothing", "[segment][errors]") {
  SegmentFixture f;
  CHECK(f.writer->AddSegment(f.Vxlan("s1", false, 200)).code() == absl::StatusCode::kAlreadyExists);
  CHECK(f.writer->AddSegment(f.Vxlan("s2", false, 100)).code() ==
        absl::StatusCode::kAlreadyExists);  // the VNI is s1's
  CHECK(f.writer->AddTunnel(f.Vxlan("t", false, 100)).code() == absl::StatusCode::kAlreadyExists);
  CHECK(f.writer->AddSegmentMember("s1", 1, 10).code() == absl::StatusCode::kAlreadyExists);
  CHECK(f.writer->AddSegmentMember("s1", 0, 0).code() == absl::StatusCode::kFailedPrecondition);
  CHECK(f.writer->AddSegmentRemote("s1", *IpAddress::Parse("192.0.2.1")).code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(f.writer->AddSegmentRemote("s1", *IpAddress::Parse("2001:db8::2")).code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(f.writer->AddFdb("s1", kHostA, 1, 30, std::nullopt).code() ==
        absl::StatusCode::kFailedPrecondition);
  CHECK(f.writer->AddFdb("s1", kHostA, 0, 0, *IpAddress::Parse("192.0.2.9")).code() ==
        absl::StatusCode::kFailedPrecondition);
  CHECK(
      f.writer->AddFdb("s1", *MacAddress::Parse("01:00:5e:00:00:01"), 1, 10, std::nullopt).code() ==
      absl::StatusCode::kInvalidArgument);
  CHECK(f.writer->AddXconnect(1, 20, "s1").code() == absl::StatusCode::kNotFound);
  CHECK(f.seg().fdb.empty());
  // Deleting the segment frees its attachments and VNI.
  REQUIRE(f.writer->DelSegment("s1").ok());
  CHECK(f.tables->attachment(1, 10) == kNoTunnel);
  CHECK(f.writer->AddTunnel(f.Vxlan("t", false, 100)).ok());
  CHECK(f.writer->AddXconnect(1, 10, "t").ok());
}

TEST_CASE("flood copy: short frames are copied, long ones share their tail", "[segment][flood]") {
  const unsigned before = rte_mempool_in_use_count(Pool());
  rte_mempool* indirect = SegmentFixture::IndirectPool();
  rte_mbuf* small = MbufFrom(Frame(kHostB, kHostA));
  rte_mbuf* c = FloodCopy(small, Pool(), indirect);
  REQUIRE(c != nullptr);
  CHECK(c->nb_segs == 1);
  CHECK(BytesOf(c) == BytesOf(small));
  CHECK(rte_pktmbuf_headroom(c) >= RTE_PKTMBUF_HEADROOM);
  rte_pktmbuf_free(c);

  const std::vector<uint8_t> big_bytes = Frame(kHostB, kHostA, 0, 1000);
  rte_mbuf* big = MbufFrom(big_bytes);
  rte_mbuf* copies[3];
  for (rte_mbuf*& x : copies) {
    x = FloodCopy(big, Pool(), indirect);
    REQUIRE(x != nullptr);
    CHECK(x->nb_segs == 2);
    CHECK(x->data_len == kFloodCopyBytes);
    CHECK(RTE_MBUF_CLONED(x->next));
  }
  CHECK(rte_mbuf_refcnt_read(big) == 4);  // the original and three tails
  // A copy's head is its own: writing it leaves the others alone.
  rte_pktmbuf_mtod(copies[0], uint8_t*)[0] = 0xEE;
  CHECK(BytesOf(copies[1]) == big_bytes);
  CHECK(BytesOf(big) == big_bytes);
  for (rte_mbuf* x : copies) rte_pktmbuf_free(x);
  rte_pktmbuf_free(big);
  rte_pktmbuf_free(small);
  CHECK(rte_mempool_in_use_count(Pool()) == before);
  CHECK(rte_mempool_in_use_count(indirect) == 0);
}

// An ARP request from `sha`/`spa` for `tpa`, broadcast, optionally tagged.
std::vector<uint8_t> ArpRequest(const MacAddress& sha, const std::array<uint8_t, 4>& spa,
                                const std::array<uint8_t, 4>& tpa, uint16_t vlan) {
  std::vector<uint8_t> f;
  PutBytes(f, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff});
  f.insert(f.end(), sha.bytes.begin(), sha.bytes.end());
  if (vlan != 0) {
    Put16(f, 0x8100);
    Put16(f, vlan);
  }
  Put16(f, 0x0806);
  PutBytes(f, {0, 1, 0x08, 0, 6, 4, 0, 1});
  f.insert(f.end(), sha.bytes.begin(), sha.bytes.end());
  f.insert(f.end(), spa.begin(), spa.end());
  PutBytes(f, {0, 0, 0, 0, 0, 0});
  f.insert(f.end(), tpa.begin(), tpa.end());
  return f;
}

TEST_CASE("segment: suppression answers known addresses and snoops bindings",
          "[segment][suppress]") {
  SegmentFixture f;
  const std::array<uint8_t, 4> a_ip = {10, 9, 0, 1}, b_ip = {10, 9, 0, 2}, c_ip = {10, 9, 0, 3};
  // Off: a request is flooded (two remotes, the other VLAN).
  REQUIRE(f.writer->AddFdb("s1", kHostB, 1, 20, std::nullopt, *IpAddress::Parse("10.9.0.2")).ok());
  CHECK(f.In({ArpRequest(kHostA, a_ip, b_ip, 10)}).size() == 3);
  // On: answered by tundra, back to the asker's VLAN, nothing flooded.
  REQUIRE(f.writer->SetSegmentSuppress("s1", true).ok());
  f.Drain();
  auto out = f.In({ArpRequest(kHostA, a_ip, b_ip, 10)});
  REQUIRE(out.size() == 1);
  CHECK(out[0].port == 1);
  CHECK(VlanOf(out[0]) == 10);
  const std::vector<uint8_t>& r = out[0].bytes;
  CHECK(std::vector<uint8_t>(r.begin(), r.begin() + 6) ==
        std::vector<uint8_t>(kHostA.bytes.begin(), kHostA.bytes.end()));
  CHECK(Get16(r, 18 + 6) == 2);  // ARP reply (after the tag)
  CHECK(std::vector<uint8_t>(r.begin() + 18 + 8, r.begin() + 18 + 14) ==
        std::vector<uint8_t>(kHostB.bytes.begin(), kHostB.bytes.end()));  // sender = B
  CHECK(std::vector<uint8_t>(r.begin() + 18 + 14, r.begin() + 18 + 18) ==
        std::vector<uint8_t>(b_ip.begin(), b_ip.end()));
  CHECK(f.counters_of().suppressed.Get() == 1);
  // The request taught the segment A's binding (snooped), so a request for A is answered.
  CHECK(f.Drain() >= 1);
  CHECK(f.seg().hosts.contains(*IpAddress::Parse("10.9.0.1")));
  out = f.In({ArpRequest(kHostC, c_ip, a_ip, 20)});
  REQUIRE(out.size() == 1);
  CHECK(VlanOf(out[0]) == 20);
  // Unknown address, or a gratuitous ARP: flooded as before.
  CHECK(f.In({ArpRequest(kHostA, a_ip, {10, 9, 0, 99}, 10)}).size() == 3);
  CHECK(f.In({ArpRequest(kHostA, a_ip, a_ip, 10)}).size() == 3);
  // A static binding goes with its FDB entry.
  REQUIRE(f.writer->DelFdb("s1", kHostB).ok());
  CHECK(!f.seg().hosts.contains(*IpAddress::Parse("10.9.0.2")));
  CHECK(f.In({ArpRequest(kHostA, a_ip, b_ip, 10)}).size() == 3);
}

}  // namespace
}  // namespace tundra::testing
