// The stages' own promises, each checked where it can break: the host cache of routed
// delivery follows every change to the host table from the next burst on; workers that
// send on one GRE tunnel with sequence numbers share one sequence without gaps or
// repeats; `df inherit` sets DF as Linux does (from IPv4, always for IPv6, never for
// other payloads).
#include <rte_ip.h>

#include <atomic>
#include <set>
#include <thread>

#include "dataplane/host_cache.h"
#include "dataplane/worker.h"
#include "test_util.h"

namespace tundra::testing {
namespace {

HostKey Key4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  const uint8_t ip[4] = {a, b, c, d};
  return MakeHostKey(4, ip);
}

TEST_CASE("host cache: an entry is used only under the generation it was cached in",
          "[route][cache]") {
  HostCache cache;
  const HostKey a = Key4(10, 0, 0, 2);
  const uint8_t mac[6] = {2, 0, 0, 0, 0, 9};
  const uint64_t host = PackHost(mac, 1);
  const uint32_t slot = HostCache::Slot(a);
  CHECK(cache.Find(slot, a, 1) == 0);  // empty
  cache.Set(slot, a, 1, host);
  CHECK(cache.Find(slot, a, 1) == host);
  CHECK(cache.Find(slot, a, 2) == 0);  // the table changed since

  // Another key in the same slot is never taken for this one.
  HostKey b = Key4(10, 0, 0, 3);
  for (uint32_t i = 4; HostCache::Slot(b) != slot; ++i) b = Key4(10, 0, i >> 8, i & 0xFF);
  CHECK(cache.Find(slot, b, 1) == 0);
  // Nor one of the other family with the same leading bytes.
  HostKey v6 = a;
  v6.family = 6;
  CHECK(cache.Find(HostCache::Slot(v6), v6, 1) == 0);
}

// Outer IPv4 + GRE (no options, protocol IPv4) from the remote 192.0.2.2, carrying the
// IP packet of InnerUdp4 (10.0.0.1 → 10.0.0.2).
std::vector<uint8_t> GreL3ToHost() {
  const std::vector<uint8_t> inner = InnerUdp4(1, 2);
  std::vector<uint8_t> p;
  PutBytes(p, {0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x02});
  Put16(p, 0x0800);
  p.push_back(0x45);
  p.push_back(0);
  Put16(p, static_cast<uint16_t>(20 + 4 + inner.size() - 14));
  Put16(p, 0);
  Put16(p, 0);
  p.push_back(64);
  p.push_back(47);
  Put16(p, 0);
  PutBytes(p, {192, 0, 2, 2, 192, 0, 2, 1});
  const uint16_t ck = rte_ipv4_cksum(reinterpret_cast<const rte_ipv4_hdr*>(&p[14]));
  std::memcpy(&p[24], &ck, 2);
  PutBytes(p, {0, 0, 0x08, 0x00});
  p.insert(p.end(), inner.begin() + 14, inner.end());
  return p;
}

TEST_CASE("routed delivery follows host changes from the next burst on", "[route][cache]") {
  Fixture f;
  f.ctx.direct_pool = Pool();  // for the solicitation of an unknown host
  TunnelSpec gre = f.Vxlan("core", false, 0);
  gre.type = TunnelType::kGre;
  REQUIRE(f.writer->AddTunnel(gre).ok());
  REQUIRE(f.writer->SetPortMac(1, *MacAddress::Parse("02:00:00:00:01:01")).ok());
  REQUIRE(f.writer->SetPortAddress(1, *IpPrefix::Parse("10.0.0.254/24")).ok());
  const IpAddress host = *IpAddress::Parse("10.0.0.2");
  REQUIRE(f.writer->AddNeighbor(host, *MacAddress::Parse("02:00:00:00:0a:0a"), 1).ok());

  const std::vector<uint8_t> in = GreL3ToHost();
  const std::vector<uint8_t> first = Decap(f, in);
  REQUIRE(first.size() == in.size() - 14 - 20 - 4 + 14);
  CHECK(first[5] == 0x0a);            // the host's MAC
  CHECK(first[14 + 8] == 63);         // TTL decremented
  CHECK(Decap(f, in).at(5) == 0x0a);  // now from the worker's cache

  // The host moves: the next burst sends to its new MAC, not the cached one.
  REQUIRE(f.writer->DelNeighbor(host).ok());
  REQUIRE(f.writer->AddNeighbor(host, *MacAddress::Parse("02:00:00:00:0b:0b"), 1).ok());
  CHECK(Decap(f, in).at(5) == 0x0b);

  // The host is gone: the packet is dropped (and the host solicited), not sent to a
  // MAC the cache remembers.
  REQUIRE(f.writer->DelNeighbor(host).ok());
  const uint64_t before = f.PortDrops(0, DropReason::kNoNeighbor);
  rte_mbuf* m = MbufFrom(in);
  DecapBurst(f.ctx, 0, &m, 1);
  f.FreeDrops();
  CHECK(f.PortDrops(0, DropReason::kNoNeighbor) == before + 1);
  const std::vector<uint8_t> solicit = Take(f, 1);
  REQUIRE(solicit.size() >= 42);
  CHECK(Get16(solicit, 12) == 0x0806);  // an ARP request for the host, not the packet
  CHECK(std::vector<uint8_t>(solicit.begin() + 38, solicit.begin() + 42) ==
        std::vector<uint8_t>{10, 0, 0, 2});
}

TEST_CASE("GRE sequence numbers: workers on one tunnel share one sequence", "[gre][seq]") {
  Fixture f;
  TunnelSpec s = f.Vxlan("t", false, 0);
  s.type = TunnelType::kGretap;
  s.has_key = true;
  s.key = 5;
  s.seq = true;
  REQUIRE(f.writer->AddTunnel(s).ok());
  REQUIRE(f.writer->AddXconnect(1, 0, "t").ok());

  constexpr int kWorkers = 2;
  constexpr int kBursts = 40;
  constexpr size_t kSeqOff = 14 + 20 + 4 + 4;  // GRE flags/protocol, key, then the number
  WorkerCounters counters2(65);
  WorkerContext ctx2;
  ctx2.tables = f.tables.get();
  ctx2.counters = &counters2;
  WorkerContext* ctxs[kWorkers] = {&f.ctx, &ctx2};

  // Mbufs are made here: Catch's assertions are not for other threads.
  const std::vector<uint8_t> frame = InnerUdp4(1, 2);
  std::vector<rte_mbuf*> mbufs[kWorkers];
  for (auto& v : mbufs) {
    for (int i = 0; i < kBursts * static_cast<int>(kBurstSize); ++i) v.push_back(MbufFrom(frame));
  }
  std::vector<uint32_t> seqs[kWorkers];
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < kWorkers; ++w) {
    threads.emplace_back([&, w] {
      WorkerContext& ctx = *ctxs[w];
      ready.fetch_add(1);
      while (ready.load() < kWorkers) {
      }
      for (int b = 0; b < kBursts; ++b) {
        EncapBurst(ctx, 1, mbufs[w].data() + b * kBurstSize, kBurstSize);
        TxBuffer& tx = ctx.tx[0];
        for (uint16_t i = 0; i < tx.count; ++i) {
          const uint8_t* d = rte_pktmbuf_mtod(tx.pkts[i], const uint8_t*);
          seqs[w].push_back(uint32_t{d[kSeqOff]} << 24 | uint32_t{d[kSeqOff + 1]} << 16 |
                            uint32_t{d[kSeqOff + 2]} << 8 | d[kSeqOff + 3]);
        }
        rte_pktmbuf_free_bulk(tx.pkts, tx.count);
        tx.count = 0;
        tx.bytes = 0;
        ctx.tx_pending = 0;
        rte_pktmbuf_free_bulk(ctx.drops, ctx.drop_count);
        ctx.drop_count = 0;
      }
    });
  }
  for (auto& t : threads) t.join();

  std::set<uint32_t> all;
  for (int w = 0; w < kWorkers; ++w) {
    REQUIRE(seqs[w].size() == kBursts * kBurstSize);
    // RFC 2890: one sender's packets carry increasing numbers ...
    CHECK(std::is_sorted(seqs[w].begin(), seqs[w].end()));
    all.insert(seqs[w].begin(), seqs[w].end());
  }
  // ... and no number is used twice or skipped across the workers.
  CHECK(all.size() == kWorkers * kBursts * kBurstSize);
  CHECK(*all.begin() == 0);
  CHECK(*all.rbegin() == kWorkers * kBursts * kBurstSize - 1);
}

// An Ethernet/IPv6/UDP frame.
std::vector<uint8_t> InnerUdp6() {
  std::vector<uint8_t> f;
  PutBytes(f, {0x02, 0, 0, 0, 0x0a, 0x02, 0x02, 0, 0, 0, 0x0a, 0x01});
  Put16(f, 0x86DD);
  PutBytes(f, {0x60, 0, 0, 0});
  Put16(f, 8 + 16);
  f.push_back(17);
  f.push_back(64);
  for (uint8_t host : {1, 2}) {
    PutBytes(f, {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, host});
  }
  Put16(f, 1);
  Put16(f, 2);
  Put16(f, 8 + 16);
  Put16(f, 0);
  for (uint8_t i = 0; i < 16; ++i) f.push_back(i);
  return f;
}

TEST_CASE("df inherit: DF from IPv4, set for IPv6, clear for other payloads", "[encap][df]") {
  Fixture f;
  const TunnelType type = GENERATE(TunnelType::kVxlan, TunnelType::kGeneve, TunnelType::kGretap);
  TunnelSpec s = f.Vxlan("t", false, 7);
  s.type = type;
  s.df = DfMode::kInherit;
  REQUIRE(f.writer->AddTunnel(s).ok());
  REQUIRE(f.writer->AddXconnect(1, 0, "t").ok());
  auto df = [](const std::vector<uint8_t>& out) {
    REQUIRE(out.size() > 34);
    CHECK(rte_ipv4_cksum(reinterpret_cast<const rte_ipv4_hdr*>(&out[14])) == 0);
    return (Get16(out, 20) & 0x4000) != 0;
  };
  CAPTURE(TunnelTypeName(type));
  CHECK(df(Encap(f, InnerUdp4(1, 2, 18, 0, 64, /*df=*/true))));
  CHECK_FALSE(df(Encap(f, InnerUdp4(1, 2, 18, 0, 64, /*df=*/false))));
  CHECK(df(Encap(f, InnerUdp6())));
  std::vector<uint8_t> arp = InnerUdp4(1, 2);
  arp[12] = 0x08;
  arp[13] = 0x06;
  CHECK_FALSE(df(Encap(f, arp)));
}

}  // namespace
}  // namespace tundra::testing
