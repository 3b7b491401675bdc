// Unit tests of tundra-gen's pure pieces: no EAL, no ports. Frames are also judged by
// tshark in the README's check; here by re-parsing and checksum arithmetic.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstring>
#include <map>
#include <random>
#include <vector>

#include "bench/gen/frame_builder.h"
#include "bench/gen/gen_spec.h"
#include "bench/gen/latency_histogram.h"
#include "bench/gen/packet_schedule.h"
#include "bench/gen/payload.h"
#include "bench/gen/pcap_export.h"
#include "bench/gen/rate_search.h"
#include "bench/gen/stream_tracker.h"
#include "dataplane/proto/checksum.h"
#include "dataplane/proto/endian.h"

namespace tundra::gen {
namespace {

TEST_CASE("histogram buckets cover every value exactly once", "[gen][histogram]") {
  std::mt19937_64 rng(1);
  for (int i = 0; i < 100000; ++i) {
    const uint64_t v = rng() >> (rng() % 64);
    const size_t idx = LatencyHistogram::Index(v);
    REQUIRE(idx < LatencyHistogram::kBuckets);
    REQUIRE(LatencyHistogram::BucketLow(idx) <= v);
    REQUIRE(v <= LatencyHistogram::BucketHigh(idx));
  }
  for (size_t i = 0; i + 1 < LatencyHistogram::kBuckets; ++i) {
    REQUIRE(LatencyHistogram::BucketHigh(i) + 1 == LatencyHistogram::BucketLow(i + 1));
  }
  REQUIRE(LatencyHistogram::Index(UINT64_MAX) == LatencyHistogram::kBuckets - 1);
}

TEST_CASE("histogram quantiles of a uniform distribution", "[gen][histogram]") {
  auto h = std::make_unique<LatencyHistogram>();
  for (uint64_t v = 1; v <= 100000; ++v) h->Record(v);
  REQUIRE(h->count() == 100000);
  REQUIRE(h->min() == 1);
  REQUIRE(h->max() == 100000);
  REQUIRE(h->mean() == Approx(50000.5));
  for (double q : {0.5, 0.9, 0.99, 0.999}) {
    INFO("q=" << q);
    REQUIRE(static_cast<double>(h->Quantile(q)) == Approx(q * 100000).epsilon(0.01));
  }
  REQUIRE(h->Quantile(1.0) == 100000);
  REQUIRE(h->Quantile(0.0) == 1);
}

TEST_CASE("histogram: small values are exact, empty is zero", "[gen][histogram]") {
  auto h = std::make_unique<LatencyHistogram>();
  REQUIRE(h->Quantile(0.5) == 0);
  for (int i = 0; i < 90; ++i) h->Record(10);
  for (int i = 0; i < 10; ++i) h->Record(200);
  REQUIRE(h->Quantile(0.5) == 10);
  REQUIRE(h->Quantile(0.9) == 10);
  REQUIRE(h->Quantile(0.91) == 200);
  auto other = std::make_unique<LatencyHistogram>();
  other->Record(1'000'000);
  h->Merge(*other);
  REQUIRE(h->max() == 1'000'000);
  REQUIRE(h->Quantile(1.0) == 1'000'000);
}

TEST_CASE("stream accounting", "[gen][accounting]") {
  using V = StreamRx::Verdict;
  SECTION("in order, then a gap is loss") {
    StreamRx rx(0);
    for (uint64_t s : {0, 1, 2, 5, 6}) rx.Receive(s);
    REQUIRE(rx.received() == 5);
    REQUIRE(rx.reordered() == 0);
    REQUIRE(SumStreams({rx}, {7}).lost == 2);
  }
  SECTION("a swapped pair is one reordered, no loss") {
    StreamRx rx(0);
    REQUIRE(rx.Receive(0) == V::kInOrder);
    REQUIRE(rx.Receive(2) == V::kEarly);
    REQUIRE(rx.Receive(1) == V::kReordered);
    REQUIRE(rx.Receive(3) == V::kInOrder);
    const RxTotals t = SumStreams({rx}, {4});
    REQUIRE(t.received == 4);
    REQUIRE(t.reordered == 1);
    REQUIRE(t.lost == 0);
  }
  SECTION("duplicates are counted once and not as received") {
    StreamRx rx(0);
    rx.Receive(0);
    rx.Receive(1);
    REQUIRE(rx.Receive(1) == V::kDuplicate);
    REQUIRE(rx.Receive(0) == V::kDuplicate);
    rx.Receive(3);
    REQUIRE(rx.Receive(2) == V::kReordered);
    REQUIRE(rx.Receive(2) == V::kDuplicate);
    REQUIRE(rx.duplicated() == 3);
    REQUIRE(rx.received() == 4);
    REQUIRE(rx.reordered() == 1);
  }
  SECTION("packets from before the trial are stale") {
    StreamRx rx(100);
    REQUIRE(rx.Receive(99) == V::kStale);
    REQUIRE(rx.Receive(100) == V::kInOrder);
    REQUIRE(rx.stale() == 1);
    REQUIRE(rx.received() == 1);
  }
  SECTION("the window forgets: slots reused after a jump are clear") {
    StreamRx rx(0);
    rx.Receive(0);
    rx.Receive(StreamRx::kWindow + 10);  // 1..265 missing, slot of 0 reused
    REQUIRE(rx.Receive(StreamRx::kWindow) == V::kReordered);
    REQUIRE(rx.Receive(5) == V::kReordered);  // older than the window: late, not a dup
    REQUIRE(rx.Receive(StreamRx::kWindow) == V::kDuplicate);
    REQUIRE(rx.received() == 4);
  }
  SECTION("a long in-order run") {
    StreamRx rx(7);
    for (uint64_t s = 7; s < 100007; ++s) REQUIRE(rx.Receive(s) == V::kInOrder);
    REQUIRE(rx.received() == 100000);
    REQUIRE(rx.duplicated() == 0);
  }
  SECTION("totals over streams") {
    std::vector<StreamRx> rx(3, StreamRx(0));
    rx[0].Receive(0);
    rx[1].Receive(0);
    rx[1].Receive(0);
    const RxTotals t = SumStreams(rx, {1, 2, 3});
    REQUIRE(t.sent == 6);
    REQUIRE(t.received == 2);
    REQUIRE(t.lost == 4);
    REQUIRE(t.duplicated == 1);
  }
}

// A device under test that forwards up to `capacity` Mpps without loss and drops the
// excess, plus `floor_loss` of everything; the generator manages `gen_max` Mpps.
struct SimulatedDut {
  double capacity;
  double floor_loss = 0;
  double gen_max = 1e9;
  int trials = 0;
  TrialOutcome operator()(double target) {
    ++trials;
    const double offered = std::min(target, gen_max);
    const auto sent = static_cast<uint64_t>(offered * 1e6);
    double lost = offered > capacity ? (offered - capacity) * 1e6 : 0;
    lost += floor_loss * static_cast<double>(sent);
    return TrialOutcome{offered, sent, static_cast<uint64_t>(lost)};
  }
};

TEST_CASE("NDR search converges below the DUT capacity", "[gen][search]") {
  SimulatedDut dut{7.3};
  SearchConfig cfg;
  cfg.upper_mpps = 20;
  cfg.max_trials = 30;
  const SearchResult r = SearchRate(cfg, std::ref(dut));
  REQUIRE(r.found);
  REQUIRE(r.rate_mpps <= 7.3);
  REQUIRE(r.rate_mpps >= 7.3 * 0.98);
  REQUIRE(r.at_rate.lost == 0);
  REQUIRE(dut.trials == static_cast<int>(r.steps.size()));
}

TEST_CASE("search: a passing upper bound ends at once", "[gen][search]") {
  SimulatedDut dut{100};
  SearchConfig cfg;
  cfg.upper_mpps = 20;
  const SearchResult r = SearchRate(cfg, std::ref(dut));
  REQUIRE(r.found);
  REQUIRE(r.rate_mpps == 20);
  REQUIRE(r.steps.size() == 1);
}

TEST_CASE("PDR tolerates steady loss that NDR does not", "[gen][search]") {
  SimulatedDut dut{5.0, 0.001};
  SearchConfig cfg;
  cfg.upper_mpps = 10;
  cfg.max_trials = 30;
  const SearchResult ndr = SearchRate(cfg, std::ref(dut));
  // Only a rate low enough to round the steady loss to zero packets passes.
  REQUIRE(ndr.rate_mpps < 0.01);
  cfg.max_loss_ratio = 0.005;
  const SearchResult pdr = SearchRate(cfg, std::ref(dut));
  REQUIRE(pdr.found);
  // Passing needs (r - 5)/r + 0.001 <= 0.005: r <= 5.0201.
  REQUIRE(pdr.rate_mpps <= 5.0201);
  REQUIRE(pdr.rate_mpps >= 5.0201 * 0.98);
}

TEST_CASE("search respects the trial budget", "[gen][search]") {
  SimulatedDut dut{7.3};
  SearchConfig cfg;
  cfg.upper_mpps = 20;
  cfg.max_trials = 4;
  const SearchResult r = SearchRate(cfg, std::ref(dut));
  REQUIRE(r.steps.size() == 4);  // 20 fail, 10 fail, 5 pass, 7.5 fail
  REQUIRE(r.found);
  REQUIRE(r.rate_mpps == 5.0);
}

TEST_CASE("search reports what a slow generator offered, not the target", "[gen][search]") {
  SimulatedDut dut{7.3, 0, 4.0};
  SearchConfig cfg;
  cfg.upper_mpps = 20;
  const SearchResult r = SearchRate(cfg, std::ref(dut));
  REQUIRE(r.found);
  REQUIRE(r.rate_mpps == 4.0);
}

TEST_CASE("spec strings", "[gen][spec]") {
  GenSpec s = DefaultSpec();
  REQUIRE(ApplySpecString("proto=geneve opts=2, size=imix;flows=64 tunnels=8 ip=6", s).ok());
  REQUIRE(s.proto == GenProto::kGeneve);
  REQUIRE(s.imix);
  REQUIRE(s.sizes.size() == 12);
  REQUIRE(s.streams() == 512);
  REQUIRE(s.local_ip.ToString() == "2001:db8::2");
  REQUIRE(s.remote_ip.ToString() == "2001:db8::1");
  REQUIRE(ValidateSpec(s).ok());
  REQUIRE(DescribeSpec(s) == "geneve/ipv6 imix flows=64 tunnels=8 vni=100 opts=2");
  GenSpec bad = DefaultSpec();
  REQUIRE_FALSE(ApplySpecString("size=63", bad).ok());
  REQUIRE_FALSE(ApplySpecString("proto=ipip", bad).ok());
  REQUIRE_FALSE(ApplySpecString("flows", bad).ok());
  REQUIRE_FALSE(ApplySpecString("colour=red", bad).ok());
  REQUIRE(ApplySpecString("opts=2", bad).ok());
  REQUIRE_FALSE(ValidateSpec(bad).ok());  // options on vxlan
  GenSpec fam = DefaultSpec();
  REQUIRE(ApplySpecString("remote=2001:db8::1", fam).ok());
  REQUIRE_FALSE(ValidateSpec(fam).ok());
}

TEST_CASE("IMIX schedule is 7:4:1 for every stream", "[gen][schedule]") {
  for (uint32_t streams : {1u, 3u, 12u, 24u}) {
    PacketSchedule sched(0, 1, streams, 12);
    std::map<std::pair<uint32_t, uint16_t>, int> seen;
    for (uint32_t i = 0; i < streams * 12 * 12; ++i) {
      uint32_t t = 0;
      const uint32_t s = sched.Next(&t);
      REQUIRE(t / 12 == s);
      ++seen[{s, kImixPattern[t % 12]}];
    }
    for (uint32_t s = 0; s < streams; ++s) {
      INFO("streams=" << streams << " stream=" << s);
      REQUIRE(seen[{s, 64}] == 7 * 12);
      REQUIRE(seen[{s, 570}] == 4 * 12);
      REQUIRE(seen[{s, 1518}] == 1 * 12);
    }
  }
  PacketSchedule odd(1, 2, 5, 1);  // tx port 1 of 2: streams 1, 3
  uint32_t t = 0;
  REQUIRE(odd.Next(&t) == 1);
  REQUIRE(odd.Next(&t) == 3);
  REQUIRE(odd.Next(&t) == 1);
}

uint16_t Be16At(const std::vector<uint8_t>& f, size_t off) {
  return static_cast<uint16_t>(f[off] << 8 | f[off + 1]);
}

TEST_CASE("frames for every protocol parse back and carry valid checksums", "[gen][frame]") {
  struct Case {
    const char* spec;
    uint16_t overhead;  // outer bytes on top of the inner frame (gre: minus inner Ethernet)
  };
  const Case cases[] = {
      {"proto=none", 0},
      {"proto=vxlan", 50},
      {"proto=vxlan ip=6", 70},
      {"proto=geneve", 50},
      {"proto=geneve opts=2 ip=6", 70 + 20},
      {"proto=gretap", 42},
      {"proto=gretap ip=6", 62},
      {"proto=gre", 42 - 14},
      {"proto=gre ip=6 key=0 tunnels=1", 58 - 14},
  };
  for (const Case& c : cases) {
    for (uint16_t size : {64, 570, 1518}) {
      INFO(c.spec << " size " << size);
      GenSpec spec = DefaultSpec();
      REQUIRE(ApplySpecString("flows=3 tunnels=2", spec).ok());
      REQUIRE(ApplySpecString(c.spec, spec).ok());
      REQUIRE(ValidateSpec(spec).ok());
      const uint32_t stream = spec.streams() - 1;
      auto t = BuildTemplate(spec, stream, size);
      REQUIRE(t.ok());
      std::vector<uint8_t> f = t->bytes;
      REQUIRE(f.size() == static_cast<size_t>(size - kFcsLen + c.overhead));
      StampFrame(*t, f.data(), 0x123456789ABCull, 0xFEDCBA987654ull);
      const auto off = FindPayload(f.data(), static_cast<uint32_t>(f.size()), TunnelPorts{});
      REQUIRE(off);
      REQUIRE(*off == t->payload_off);
      const PayloadFields p = ReadPayload(f.data() + *off);
      REQUIRE(p.stream == stream);
      REQUIRE(p.seq == 0x123456789ABCull);
      REQUIRE(p.tsc == 0xFEDCBA987654ull);
      // Inner IPv4 header (just before inner UDP + payload) sums to all ones.
      const size_t inner_ip = *off - 8 - 20;
      REQUIRE(FoldChecksum(RawSum(f.data() + inner_ip, 20)) == 0xFFFF);
      REQUIRE(Be16At(f, inner_ip + 2) == f.size() - inner_ip);
      if (spec.proto == GenProto::kNone) continue;
      if (spec.underlay == 4) {
        REQUIRE(FoldChecksum(RawSum(f.data() + 14, 20)) == 0xFFFF);
        REQUIRE(Be16At(f, 16) == f.size() - 14);
      } else {
        REQUIRE(Be16At(f, 18) == f.size() - 54);
        if (f[20] == 17) {  // UDP over IPv6: the checksum covers the stamp
          uint32_t sum = RawSum(f.data() + 22, 32);
          sum += RawSum(f.data() + 54, f.size() - 54);
          sum += Be16(static_cast<uint16_t>(f.size() - 54)).raw() + Be16(17).raw();
          REQUIRE(FoldChecksum(sum) == 0xFFFF);
        }
      }
      if (spec.proto == GenProto::kVxlan || spec.proto == GenProto::kGeneve) {
        const size_t vni_off = 14 + (spec.underlay == 4 ? 20 : 40) + 8 + 4;
        REQUIRE((f[vni_off] << 16 | f[vni_off + 1] << 8 | f[vni_off + 2]) == 101);  // tunnel 1
      } else if (spec.gre_key) {
        const size_t key_off = 14 + (spec.underlay == 4 ? 20 : 40) + 4;
        REQUIRE(f[key_off + 3] == 101);
      }
    }
  }
}

TEST_CASE("a stamp that wraps the checksum to zero sends all ones", "[gen][frame]") {
  GenSpec spec = DefaultSpec(6);
  spec.proto = GenProto::kVxlan;
  auto t = BuildTemplate(spec, 0, 64);
  REQUIRE(t.ok());
  std::vector<uint8_t> f = t->bytes;
  int checked = 0;
  for (uint64_t seq = 0; seq < 70000; ++seq) {
    StampFrame(*t, f.data(), seq, 0);
    REQUIRE(Be16At(f, t->udp_csum_off) != 0);
    ++checked;
  }
  REQUIRE(checked == 70000);
}

TEST_CASE("the scan finds the payload under an unknown encapsulation", "[gen][payload]") {
  std::vector<uint8_t> f(120, 0xEE);
  WritePayloadHeader(f.data() + 77, 42);
  WritePayloadStamp(f.data() + 77, 9, 10);
  const auto off = FindPayload(f.data(), static_cast<uint32_t>(f.size()), TunnelPorts{});
  REQUIRE(off);
  REQUIRE(*off == 77);
  REQUIRE(ReadPayload(f.data() + 77).stream == 42);
  std::vector<uint8_t> none(300, 0);
  REQUIRE_FALSE(FindPayload(none.data(), 300, TunnelPorts{}));
}

TEST_CASE("pcap export writes the file format", "[gen][pcap]") {
  GenSpec spec = DefaultSpec();
  REQUIRE(ApplySpecString("proto=vxlan size=imix flows=2", spec).ok());
  auto templates = BuildTemplates(spec);
  REQUIRE(templates.ok());
  const std::string path = "gen_test_" + std::to_string(getpid()) + ".pcap";
  REQUIRE(WritePcapTraffic(spec, *templates, path, 24).ok());
  FILE* f = std::fopen(path.c_str(), "rb");
  REQUIRE(f != nullptr);
  std::vector<uint8_t> data(1 << 16);
  const size_t n = std::fread(data.data(), 1, data.size(), f);
  std::fclose(f);
  std::remove(path.c_str());
  uint32_t magic = 0;
  std::memcpy(&magic, data.data(), 4);
  REQUIRE(magic == 0xA1B2C3D4);
  size_t off = 24;
  int records = 0;
  uint64_t bytes = 0;
  while (off + 16 <= n) {
    uint32_t incl = 0;
    std::memcpy(&incl, data.data() + off + 8, 4);
    off += 16 + incl;
    bytes += incl;
    ++records;
  }
  REQUIRE(off == n);
  REQUIRE(records == 24);
  // 2 streams x 12 sizes: 14 x 64, 8 x 570, 2 x 1518 frames, each + 50 outer bytes - FCS.
  REQUIRE(bytes == 14 * 110 + 8 * 616 + 2 * 1564);
}

TEST_CASE("gre seq=1: sequence numbers count up per tunnel across its flows", "[gen][gre]") {
  GenSpec spec = DefaultSpec();
  REQUIRE(ApplySpecString("proto=gretap seq=1 flows=3 tunnels=2", spec).ok());
  REQUIRE(ValidateSpec(spec).ok());
  for (uint32_t tunnel = 0; tunnel < 2; ++tunnel) {
    uint32_t expect = 1;
    for (uint64_t round = 0; round < 4; ++round) {
      for (uint32_t flow = 0; flow < 3; ++flow) {
        auto t = BuildTemplate(spec, tunnel * 3 + flow, 64);
        REQUIRE(t.ok());
        std::vector<uint8_t> f = t->bytes;
        StampFrame(*t, f.data(), round, 0);
        // Ethernet 14 + IPv4 20; GRE flags: K and S set; key, then the sequence number.
        REQUIRE(f[34] == 0x30);
        const uint32_t seq = (f[42] << 24) | (f[43] << 16) | (f[44] << 8) | f[45];
        CHECK(seq == expect++);
      }
    }
  }
}

}  // namespace
}  // namespace tundra::gen
