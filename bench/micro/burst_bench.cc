// Cost of the encap and decap burst functions per protocol × underlay, without ports:
// frames are built in memory, run through EncapBurst/DecapBurst 32 at a time, and the
// queued output is freed outside the measured region.
//
//   burst_bench                      TSC cycles per packet (noisy on a shared machine)
//   valgrind --tool=callgrind --collect-atstart=no burst_bench --callgrind
//                                    exact instruction counts: each case is one
//                                    callgrind dump named after it (scripts/bench.sh
//                                    --callgrind and the regression guard read them)
//   burst_bench --untraced=encap-vxlan-v4,decap-vxlan-v4
//                                    each named case also without the trace check
//                                    (DispatchUntraced), burst by burst in turn: what
//                                    the check costs with no trace armed
//   burst_bench --only=none --cipher_bytes=84,1420
//                                    the cipher's own cost: AES-GCM-128 encryptions of
//                                    that many bytes, as ESP's (the ESP cells of
//                                    scripts/bench.sh print it beside theirs)
#include <gflags/gflags.h>
#include <rte_cryptodev.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <unistd.h>
#include <valgrind/callgrind.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "control/eal_runtime_dir.h"
#include "control/table_writer.h"
#include "dataplane/esp.h"
#include "dataplane/header_template.h"
#include "dataplane/worker.h"

DEFINE_bool(callgrind, false, "Collect and dump callgrind counts per case (run under valgrind)");
DEFINE_uint32(bursts, 2000, "Bursts of 32 packets per case");
DEFINE_uint32(inner_size, 64, "Inner frame size in bytes (without FCS)");
DEFINE_string(only, "", "Run only cases whose name contains this");
DEFINE_string(cipher_bytes, "",
              "Comma-separated byte counts: AES-GCM-128 encryption of that many bytes (8-byte "
              "AAD, 16-byte tag) by the ipsec_mb PMD in CPU-crypto mode, 32 per call as ESP "
              "does, in TSC cycles per operation");
DEFINE_string(untraced, "",
              "Comma-separated case names (encap-vxlan-v4, ...) also measured without the "
              "trace check (DispatchUntraced), as <name>-untraced");

namespace tundra {
namespace {

struct Case {
  const char* name;
  TunnelType type;
  bool v6;
  int geneve_options;  // GENEVE: number of 4-byte options
  bool gre_key, gre_seq;
  bool routed = false;  // L3 gre behind a routed access port (RouteBurst / DeliverRouted)
  // Decap traffic spread over this many tunnels (VNI / key 100..), a different one for
  // each packet in turn; L2 tunnels are attached to VLANs 1.. of the access port.
  uint32_t tunnels = 1;
  // A segment instead of an xconnect, with this many remote VTEPs (192.0.2.2, .3, ...):
  // known unicast through static FDB entries, or with `bum` broadcast frames flooded to
  // every remote (encap only: one copy per remote, counted per copy).
  uint32_t segment_remotes = 0;
  bool bum = false;
  // Known unicast between this many host pairs, frame i of a burst of pair i % hosts
  // (02:00:00:<k>:0a:01 ↔ 02:00:00:<k>:0a:02): a new MAC pair every frame, as in
  // scripts/bench.sh's segment cells, rather than one conversation per burst.
  uint32_t segment_hosts = 1;
};

constexpr Case kCases[] = {
    {"vxlan-v4", TunnelType::kVxlan, false, 0, false, false},
    {"vxlan-v6", TunnelType::kVxlan, true, 0, false, false},
    {"geneve0-v4", TunnelType::kGeneve, false, 0, false, false},
    {"geneve2-v4", TunnelType::kGeneve, false, 2, false, false},
    {"geneve2-v6", TunnelType::kGeneve, true, 2, false, false},
    {"gre-key-v4", TunnelType::kGretap, false, 0, true, false},
    {"gre-key-seq-v4", TunnelType::kGretap, false, 0, true, true},
    {"gretap-v6", TunnelType::kGretap, true, 0, false, false},
    {"gre-routed-v4", TunnelType::kGre, false, 0, true, false, true},
    {"gre-routed-seq-v4", TunnelType::kGre, false, 0, true, true, true},
    {"vxlan-v4-256t", TunnelType::kVxlan, false, 0, false, false, false, 256},
    {"gre-routed-v4-256t", TunnelType::kGre, false, 0, true, false, true, 256},
    {"segment-vxlan-v4", TunnelType::kVxlan, false, 0, false, false, false, 1, 1},
    {"segment-vxlan-v4-32h", TunnelType::kVxlan, false, 0, false, false, false, 1, 1, false, 32},
    {"segment-flood1-vxlan-v4", TunnelType::kVxlan, false, 0, false, false, false, 1, 1, true},
    {"segment-flood8-vxlan-v4", TunnelType::kVxlan, false, 0, false, false, false, 1, 8, true},
    {"segment-flood64-vxlan-v4", TunnelType::kVxlan, false, 0, false, false, false, 1, 64, true},
};

// The inner frames' MACs (InnerFrame): from the host behind the access port to one
// behind the remote.
constexpr const char* kLocalHost = "02:00:00:00:0a:01";
constexpr const char* kRemoteHost = "02:00:00:00:0a:02";

// The inner frame of flow `i`: Ethernet/IPv4/UDP, `size` bytes, from 10.0.0.1 to
// 10.0.<i> (routed: from 10.0.<i> to 10.0.0.1, the one host behind the access port).
std::vector<uint8_t> InnerFrame(uint32_t i, uint32_t size, bool routed) {
  std::vector<uint8_t> f(size, 0);
  const uint8_t hdr[] = {2,
                         0,
                         0,
                         0,
                         0x0a,
                         2,
                         2,
                         0,
                         0,
                         0,
                         0x0a,
                         1,
                         0x08,
                         0x00,  // Ethernet
                         0x45,
                         0,
                         0,
                         0,
                         0,
                         0,
                         0,
                         0,
                         64,
                         17,
                         0,
                         0,  // IPv4
                         10,
                         0,
                         0,
                         1,
                         10,
                         0,
                         static_cast<uint8_t>(i >> 8),
                         static_cast<uint8_t>(i)};
  std::memcpy(f.data(), hdr, sizeof(hdr));
  if (routed) std::swap_ranges(f.begin() + 26, f.begin() + 30, f.begin() + 30);
  const uint16_t ip_len = static_cast<uint16_t>(size - 14);
  f[16] = ip_len >> 8;
  f[17] = ip_len & 0xFF;
  f[34] = 0x04;
  f[35] = static_cast<uint8_t>(i);  // UDP source port varies by flow
  f[37] = 80;
  const uint16_t udp_len = static_cast<uint16_t>(ip_len - 20);
  f[38] = udp_len >> 8;
  f[39] = udp_len & 0xFF;
  uint32_t sum = 0;  // IPv4 header checksum (a router checks it)
  for (int k = 14; k < 34; k += 2) sum += (f[k] << 8) | f[k + 1];
  while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
  f[24] = static_cast<uint8_t>(~sum >> 8);
  f[25] = static_cast<uint8_t>(~sum);
  return f;
}

struct Bench {
  std::unique_ptr<Tables> tables;
  std::unique_ptr<TableWriter> writer;
  std::unique_ptr<WorkerCounters> counters;
  WorkerContext ctx;
  rte_mempool* pool = nullptr;
};

void Require(const absl::Status& s) {
  if (!s.ok()) {
    std::fprintf(stderr, "setup failed: %s\n", std::string(s.message()).c_str());
    std::exit(1);
  }
}

std::unique_ptr<Bench> Setup(const Case& c, rte_mempool* pool) {
  auto b = std::make_unique<Bench>();
  Tables::Config tc;
  tc.max_tunnels = 1024;
  tc.max_workers = 1;
  b->tables = std::move(*Tables::Create(tc));
  b->writer = std::make_unique<TableWriter>(*b->tables, 2);
  b->counters = std::make_unique<WorkerCounters>(tc.max_tunnels + 1);
  b->ctx.tables = b->tables.get();
  b->ctx.counters = b->counters.get();
  b->pool = pool;
  TableWriter& w = *b->writer;
  Require(w.SetPortRole(0, PortRole::kUplink));
  Require(w.SetPortRole(1, PortRole::kAccess));
  Require(w.SetPortMac(0, *MacAddress::Parse("02:00:00:00:00:01")));
  Require(w.SetPortAddress(0, *IpPrefix::Parse(c.v6 ? "2001:db8::1/64" : "192.0.2.1/24")));
  Require(w.AddNeighbor(*IpAddress::Parse(c.v6 ? "2001:db8::2" : "192.0.2.2"),
                        *MacAddress::Parse("02:00:00:00:00:02"), 0));
  TunnelSpec s;
  s.name = "t";
  s.type = c.type;
  s.local = *IpAddress::Parse(c.v6 ? "2001:db8::1" : "192.0.2.1");
  s.remote = *IpAddress::Parse(c.v6 ? "2001:db8::2" : "192.0.2.2");
  s.vni = 100;
  s.has_key = c.gre_key;
  s.key = 5;
  s.seq = c.gre_seq;
  for (int o = 0; o < c.geneve_options; ++o) {
    s.options.push_back({static_cast<uint16_t>(0x0100 + o), 0x01, {1, 2, 3, 4}});
  }
  if (c.segment_remotes != 0) {
    Require(w.AddSegment(s));
    Require(w.AddSegmentMember("t", 1, 0));
    for (uint32_t r = 0; r < c.segment_remotes; ++r) {
      const std::string ip = absl::StrCat("192.0.2.", 2 + r);
      Require(w.AddNeighbor(*IpAddress::Parse(ip), *MacAddress::Parse("02:00:00:00:00:02"), 0));
      Require(w.AddSegmentRemote("t", *IpAddress::Parse(ip)));
    }
    // Every host static: known unicast both ways, and no learn events in the way.
    for (uint32_t k = 0; k < c.segment_hosts; ++k) {
      MacAddress local = *MacAddress::Parse(kLocalHost), remote = *MacAddress::Parse(kRemoteHost);
      local.bytes[3] = remote.bytes[3] = static_cast<uint8_t>(k);
      Require(w.AddFdb("t", local, 1, 0, std::nullopt));
      Require(w.AddFdb("t", remote, 0, 0, *IpAddress::Parse("192.0.2.2")));
    }
    return b;
  }
  Require(w.AddTunnel(s));
  for (uint32_t k = 1; k < c.tunnels; ++k) {
    TunnelSpec o = s;
    // StrCat, not "t" + std::to_string(k): g++ 12 at -O3 warns -Wrestrict inside
    // std::string's operator+ (a known false positive of that compiler).
    o.name = absl::StrCat("t", k);
    o.vni = s.vni + k;
    o.key = s.key + k;
    Require(w.AddTunnel(o));
    if (!c.routed) Require(w.AddXconnect(1, static_cast<uint16_t>(k), o.name));
  }
  if (c.routed) {
    Require(w.SetPortMac(1, *MacAddress::Parse("02:00:00:00:0a:02")));
    Require(w.SetPortAddress(1, *IpPrefix::Parse("10.255.0.254/8")));
    Require(
        w.AddNeighbor(*IpAddress::Parse("10.0.0.1"), *MacAddress::Parse("02:00:00:00:0a:01"), 1));
    Require(w.AddRoute(*IpPrefix::Parse("10.0.0.0/8"), "t"));
  } else {
    Require(w.AddXconnect(1, 0, "t"));
  }
  return b;
}

std::vector<rte_mbuf*> Alloc(rte_mempool* pool, const std::vector<std::vector<uint8_t>>& frames) {
  std::vector<rte_mbuf*> m(frames.size());
  for (size_t i = 0; i < frames.size(); ++i) {
    m[i] = rte_pktmbuf_alloc(pool);
    char* p = rte_pktmbuf_append(m[i], static_cast<uint16_t>(frames[i].size()));
    std::memcpy(p, frames[i].data(), frames[i].size());
  }
  return m;
}

// Takes what a burst queued on `port` (and its drops) out of the context.
std::vector<std::vector<uint8_t>> Drain(WorkerContext& ctx, uint16_t port, bool keep) {
  std::vector<std::vector<uint8_t>> out;
  TxBuffer& b = ctx.tx[port];
  for (uint16_t i = 0; i < b.count && keep; ++i) {
    std::vector<uint8_t> bytes(rte_pktmbuf_pkt_len(b.pkts[i]));
    const void* data = rte_pktmbuf_read(b.pkts[i], 0, bytes.size(), bytes.data());
    if (data != bytes.data()) std::memcpy(bytes.data(), data, bytes.size());
    out.push_back(std::move(bytes));
  }
  rte_pktmbuf_free_bulk(b.pkts, b.count);
  b.count = 0;
  b.bytes = 0;
  ctx.tx_pending = 0;
  rte_pktmbuf_free_bulk(ctx.drops, ctx.drop_count);
  ctx.drop_count = 0;
  return out;
}

// Swaps MACs and addresses so an encap output reads as the remote's packet to us.
void Mirror(std::vector<uint8_t>& p) {
  for (int i = 0; i < 6; ++i) std::swap(p[i], p[6 + i]);
  if (p[12] == 0x08) {
    for (int i = 0; i < 4; ++i) std::swap(p[26 + i], p[30 + i]);
  } else {
    for (int i = 0; i < 16; ++i) std::swap(p[22 + i], p[38 + i]);
  }
}

// One way to run a case's bursts, and what it measured.
struct Variant {
  std::string name;
  void (*dispatch)(WorkerContext&, uint16_t, rte_mbuf**, uint16_t);
  uint64_t cycles = 0, forwarded = 0;
};

// --untraced, split.
std::vector<std::string> untraced_cases;

void Run(const Case& c, rte_mempool* pool) {
  std::unique_ptr<Bench> b = Setup(c, pool);
  std::vector<std::vector<uint8_t>> inner;
  for (uint32_t i = 0; i < kBurstSize; ++i) {
    inner.push_back(InnerFrame(i, FLAGS_inner_size, c.routed));
    inner.back()[3] = inner.back()[9] = static_cast<uint8_t>(i % c.segment_hosts);
  }
  // Decap input: this tunnel's own encap output, mirrored.
  std::vector<rte_mbuf*> m = Alloc(pool, inner);
  DispatchBurst(b->ctx, 1, m.data(), kBurstSize);
  std::vector<std::vector<uint8_t>> outer = Drain(b->ctx, 0, true);
  if (outer.size() != kBurstSize) {
    std::fprintf(stderr, "%s: encap produced %zu packets\n", c.name, outer.size());
    std::exit(1);
  }
  for (auto& p : outer) Mirror(p);
  // A segment's decap input comes from the remote host to the local one.
  const size_t inner_off = outer[0].size() - inner[0].size();
  for (auto& p : outer) {
    for (size_t i = 0; i < 6 && c.segment_remotes != 0; ++i) {
      std::swap(p[inner_off + i], p[inner_off + 6 + i]);
    }
  }
  // Flooding: broadcast frames.
  for (auto& f : inner) {
    if (c.bum) std::fill(f.begin(), f.begin() + 6, 0xFF);
  }
  // Spread over the tunnels: packet i of a burst to tunnel (i * 7) % tunnels.
  for (size_t i = 0; i < outer.size() && c.tunnels > 1; ++i) {
    const uint32_t k = static_cast<uint32_t>(i * 7) % c.tunnels;
    std::vector<uint8_t>& p = outer[i];
    if (c.type == TunnelType::kVxlan) {
      const uint32_t vni = 100 + k;  // bytes 46..48 (IPv4, UDP checksum 0)
      p[46] = static_cast<uint8_t>(vni >> 16), p[47] = static_cast<uint8_t>(vni >> 8);
      p[48] = static_cast<uint8_t>(vni);
    } else {
      const uint32_t key = 5 + k;  // GRE key at 38..41
      p[38] = static_cast<uint8_t>(key >> 24), p[39] = static_cast<uint8_t>(key >> 16);
      p[40] = static_cast<uint8_t>(key >> 8), p[41] = static_cast<uint8_t>(key);
    }
  }

  for (bool encap : {true, false}) {
    if (c.bum && !encap) continue;
    const std::string name = std::string(encap ? "encap-" : "decap-") + c.name;
    if (!FLAGS_only.empty() && name.find(FLAGS_only) == std::string::npos) continue;
    const uint16_t rx_port = encap ? 1 : 0;
    const uint16_t tx_port = encap ? 0 : 1;
    // The case as the worker runs it (DispatchBurst) and, for the cases --untraced
    // names, its twin without the trace check: what the check costs with tracing off.
    std::vector<Variant> variants = {{name, &DispatchBurst}};
    if (std::find(untraced_cases.begin(), untraced_cases.end(), name) != untraced_cases.end()) {
      variants.push_back({name + "-untraced", &DispatchUntraced});
    }
    std::vector<std::vector<uint8_t>> input = encap ? inner : outer;
    uint32_t burst_no = 0;
    // One burst through `v`: frames in, the measured call, what it sent counted and freed.
    auto run_burst = [&](Variant& v, bool measured = true) {
      // GRE sequence numbers go on from burst to burst, as a sender's do: replaying one
      // burst's numbers would measure the out-of-order path instead.
      ++burst_no;
      if (!encap && c.gre_seq && !c.v6) {
        for (uint32_t i = 0; i < kBurstSize; ++i) {
          const uint32_t seq = burst_no * kBurstSize + i;  // GRE sequence at 42..45
          std::vector<uint8_t>& p = input[i];
          p[42] = static_cast<uint8_t>(seq >> 24), p[43] = static_cast<uint8_t>(seq >> 16);
          p[44] = static_cast<uint8_t>(seq >> 8), p[45] = static_cast<uint8_t>(seq);
        }
      }
      m = Alloc(pool, input);
      const uint64_t sent_before = b->ctx.counters->ports[tx_port].tx_packets.Get();
      const uint64_t t0 = rte_rdtsc_precise();
      if (FLAGS_callgrind && measured) CALLGRIND_TOGGLE_COLLECT;
      v.dispatch(b->ctx, rx_port, m.data(), kBurstSize);
      if (FLAGS_callgrind && measured) CALLGRIND_TOGGLE_COLLECT;
      const uint64_t cycles = rte_rdtsc_precise() - t0;
      // What the burst sent at once (full tx buffers) and what it left buffered.
      const uint64_t sent =
          b->ctx.counters->ports[tx_port].tx_packets.Get() - sent_before + b->ctx.tx[tx_port].count;
      Drain(b->ctx, tx_port, false);
      if (!measured) return;
      v.cycles += cycles;
      v.forwarded += sent;
    };
    // First bursts, not measured, fill what a case's first packets would otherwise pay
    // for alone (per-worker caches, lazily bound symbols).
    for (Variant& v : variants) {
      for (int i = 0; i < 4; ++i) run_burst(v, false);
    }
    if (FLAGS_callgrind) {
      // One dump per variant: callgrind's counters are global, so variants run in turn.
      for (Variant& v : variants) {
        CALLGRIND_ZERO_STATS;
        for (uint32_t it = 0; it < FLAGS_bursts; ++it) run_burst(v);
        CALLGRIND_DUMP_STATS_AT(v.name.c_str());
      }
    } else {
      // Variants interleaved burst by burst, so a noisy neighbour costs them alike.
      for (uint32_t it = 0; it < FLAGS_bursts; ++it) {
        for (Variant& v : variants) run_burst(v);
      }
    }
    // A flood sends one copy per remote: counted, and reported, per copy.
    const uint64_t packets = uint64_t{FLAGS_bursts} * kBurstSize * (c.bum ? c.segment_remotes : 1);
    for (const Variant& v : variants) {
      if (v.forwarded != packets) {
        std::fprintf(stderr, "%s: forwarded %lu of %lu\n", v.name.c_str(), v.forwarded, packets);
        for (int r = 0; r < kNumDropReasons; ++r) {
          if (uint64_t d = b->counters->ports[rx_port].drops[r].Get()) {
            std::fprintf(stderr, "  %s: %lu\n", DropReasonName(static_cast<DropReason>(r)), d);
          }
        }
        std::exit(1);
      }
      std::printf("{\"case\":\"%s\",\"packets\":%lu,\"cycles_per_packet\":%.2f}\n", v.name.c_str(),
                  packets, static_cast<double>(v.cycles) / packets);
    }
  }
}

// The cipher alone, as EspSa calls it per burst: 32 in-place AES-GCM-128 encryptions of
// `bytes` bytes each with an 8-byte AAD (SPI, sequence number) and a 16-byte tag.
void RunCipher(uint32_t bytes) {
  absl::StatusOr<std::unique_ptr<EspCrypto>> crypto = EspCrypto::Create(4, SOCKET_ID_ANY);
  Require(crypto.status());
  static const uint8_t kKey[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
  rte_crypto_sym_xform xform = {};
  xform.type = RTE_CRYPTO_SYM_XFORM_AEAD;
  xform.aead.op = RTE_CRYPTO_AEAD_OP_ENCRYPT;
  xform.aead.algo = RTE_CRYPTO_AEAD_AES_GCM;
  xform.aead.key.data = kKey;
  xform.aead.key.length = sizeof(kKey);
  xform.aead.iv.offset = 0;  // CPU crypto takes the IV by pointer
  xform.aead.iv.length = 12;
  xform.aead.digest_length = 16;
  xform.aead.aad_length = 8;
  void* session =
      rte_cryptodev_sym_session_create((*crypto)->dev_id(), &xform, (*crypto)->session_pool());
  if (session == nullptr) {
    std::fprintf(stderr, "cipher: no session\n");
    std::exit(1);
  }
  std::vector<uint8_t> data(size_t{kBurstSize} * bytes, 0x5a);
  uint8_t iv[kBurstSize][12] = {}, aad[kBurstSize][8] = {}, tag[kBurstSize][16];
  rte_crypto_vec vec[kBurstSize];
  rte_crypto_sgl sgl[kBurstSize];
  rte_crypto_va_iova_ptr ivp[kBurstSize], aadp[kBurstSize], tagp[kBurstSize];
  int32_t status[kBurstSize];
  for (uint32_t i = 0; i < kBurstSize; ++i) {
    vec[i] = {};
    vec[i].base = data.data() + size_t{i} * bytes;
    vec[i].len = bytes;
    sgl[i] = {&vec[i], 1};
    ivp[i] = {};
    ivp[i].va = iv[i];
    aadp[i] = {};
    aadp[i].va = aad[i];
    tagp[i] = {};
    tagp[i].va = tag[i];
  }
  rte_crypto_sym_vec sv = {};
  sv.num = kBurstSize;
  sv.src_sgl = sgl;
  sv.iv = ivp;
  sv.aad = aadp;
  sv.digest = tagp;
  sv.status = status;
  rte_crypto_sym_ofs ofs = {};
  uint64_t cycles = 0, done = 0;
  for (uint32_t it = 0; it < FLAGS_bursts + 4; ++it) {
    for (uint32_t i = 0; i < kBurstSize; ++i) iv[i][11] = static_cast<uint8_t>(it);  // new IVs
    const uint64_t t0 = rte_rdtsc_precise();
    const uint32_t n = rte_cryptodev_sym_cpu_crypto_process((*crypto)->dev_id(), session, ofs, &sv);
    const uint64_t t = rte_rdtsc_precise() - t0;
    if (n != kBurstSize) {
      std::fprintf(stderr, "cipher: %u of %u encrypted\n", n, kBurstSize);
      std::exit(1);
    }
    if (it < 4) continue;  // warm-up
    cycles += t;
    done += n;
  }
  rte_cryptodev_sym_session_free((*crypto)->dev_id(), session);
  std::printf("{\"cipher_bytes\":%u,\"ops\":%lu,\"cycles_per_op\":%.2f}\n", bytes, done,
              static_cast<double>(cycles) / done);
}

}  // namespace
}  // namespace tundra

int main(int argc, char** argv) {
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  tundra::untraced_cases = absl::StrSplit(FLAGS_untraced, ',', absl::SkipEmpty());
  const std::string prefix = "--file-prefix=tundra_bench_" + std::to_string(getpid());
  // Two null ports (0 uplink, 1 access): a burst that sends more than a tx buffer holds
  // (a flood to many remotes) sends the rest there, as it would to a NIC.
  const char* eal[] = {"burst_bench",
                       "-l",
                       "0",
                       "--no-pci",
                       "--no-huge",
                       "-m",
                       "512",
                       "--log-level=error",
                       prefix.c_str(),
                       "--no-shconf",
                       "--vdev=net_null0,copy=0",
                       "--vdev=net_null1,copy=0"};
  if (rte_eal_init(12, const_cast<char**>(eal)) < 0) {
    std::fprintf(stderr, "EAL init failed\n");
    return 1;
  }
  tundra::RemoveEalRuntimeDirAtExit();
  rte_mempool* pool =
      rte_pktmbuf_pool_create("bench", 8191, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
  for (uint16_t port = 0; port < 2; ++port) {
    rte_eth_conf conf = {};
    if (rte_eth_dev_configure(port, 1, 1, &conf) != 0 ||
        rte_eth_rx_queue_setup(port, 0, 64, SOCKET_ID_ANY, nullptr, pool) != 0 ||
        rte_eth_tx_queue_setup(port, 0, 64, SOCKET_ID_ANY, nullptr) != 0 ||
        rte_eth_dev_start(port) != 0) {
      std::fprintf(stderr, "null port %u setup failed\n", port);
      return 1;
    }
  }
  for (const auto& c : tundra::kCases) tundra::Run(c, pool);
  const std::vector<std::string> cipher_bytes =
      absl::StrSplit(FLAGS_cipher_bytes, ',', absl::SkipEmpty());
  for (const std::string& b : cipher_bytes) tundra::RunCipher(static_cast<uint32_t>(std::stoul(b)));
  rte_mempool_free(pool);
  rte_eal_cleanup();
  return 0;
}
