// libFuzzer target for the worker's packet path: parse → classify → decap (frames
// received on the uplink) and classify → encap (frames received on an access port),
// called directly through DispatchBurst (the worker's own dispatch), without ports.
//
// Input format (tests/fuzz/make_corpus.py writes seeds in it):
//   byte 0      control
//                 bit 0     direction: 0 = decap on uplink port 0, 1 = encap on an access port
//                 bits 1-2  burst split: 0 = up to 32 frames per burst, 1 = one frame per
//                           burst, 2 = two bursts (halves), 3 = bursts of 3
//                 bit 3     each frame record starts with a split byte: the first mbuf
//                           segment holds at most that many bytes (0 = a full segment)
//                 bits 4-5  rx offload flags on every mbuf: 0 = none (checksums unknown),
//                           1 = IP+L4 checksum good, 2 = IP checksum bad, 3 = L4 checksum bad
//                 bit 6     encap only: receive on port 2 (routed access, when configured)
//                           instead of port 1 (bridged access)
//                 bit 7     reserved
//   then frame records, at most kMaxFrames:
//               [split byte, if bit 3] [length: 2 bytes big endian] [length bytes]
//               the length is clamped to 9000 and to what is left of the input, so a
//               single-frame input is just "ctl 0xFF 0xFF <frame>".
// Environment: TUNDRA_FUZZ_VERBOSE=1 prints each burst's outcome and drop reasons (handy
// with a list of files: decap_fuzz FILE...); TUNDRA_FUZZ_NO_SPLIT=1 ignores split bytes,
// so only frames over 2048 bytes are chained (to look past a known split-segment bug).
//
// Frames longer than one mbuf's data room (2048 bytes), or than the split byte, become
// chained (multi-segment) mbufs. Under ASan the bytes of each segment's buffer outside
// the packet data (tailroom; and headroom for decap, which never prepends into it) are
// poisoned, so reading past the end of the packet is reported even though mbufs live in
// DPDK's memory, which ASan does not otherwise track.
//
// Invariants (a violation prints what failed and traps, which libFuzzer records as a crash):
//   * every mbuf of a burst ends up exactly once: in ctx.drops, in one ctx.tx[] buffer
//     (as the packet's head, or behind a new head segment encap chained in front), or in
//     the punt ring (GENEVE O bit), or freed by the uplink's neighbor input after learning
//     from it (counted in nd_learned, decap only); the only other mbufs queued are ones the
//     dataplane built from ctx.direct_pool (ICMP errors);
//   * the port drop counters grow by exactly ctx.drop_count; tx_pending names exactly the
//     non-empty tx buffers; each buffer's byte count is the sum of its packets' pkt_len;
//   * every queued mbuf passes rte_mbuf_check; decap output goes to an access port (or is
//     an ARP/ND reply back out of the uplink); encap output goes to the uplink (or is an
//     ARP/ND reply back out of the routed port);
//   * decap output is the input's inner frame (the bytes just before the outer IP end),
//     a VLAN tag pushed or not, where the inner IP header (at 14, at 18 behind an 802.1Q
//     tag, or at 0 for L3 gre) differs only as forwarding allows: its ECN field set by
//     RFC 6040 §4.2 from the outer one (CE over Not-ECT is dropped, never forwarded),
//     the TTL / hop limit one less where routed, the IPv4 checksum patched to match;
//   * encap output is a well-formed outer packet: Ethernet from the uplink's MAC to the
//     neighbor's, IP lengths matching pkt_len, IPv4 header checksum, UDP length and
//     checksum (when non-zero, always over IPv6) and GRE checksum (C bit) all correct,
//     ending with the input frame (whole, VLAN tag stripped, or its IP packet for L3);
//   * after each input, the mempools' in-use counts are back to their baseline (no leak).
// The context is left clean after every burst: tx buffers, drops and punt ring emptied.
//
// The tunnel configuration (mirrored in make_corpus.py):
//   port 0 uplink: 02:00:00:00:00:01, 192.0.2.1/24, 2001:db8::1/64
//   port 1 access (bridged, xconnects below); port 2 access, routed (02:00:00:00:02:01,
//   10.0.0.1/24, fd00::1/64; hosts 10.0.0.2 and fd00::2 at 02:00:00:00:02:02) when
//   TableWriter accepts an address on an access port
//   neighbors 192.0.2.2 and 2001:db8::2 → 02:00:00:00:00:02 on port 0 (192.0.2.3 and
//   2001:db8::3 have none)
//   name      type    local→remote          id       attachment on port 1
//   vx4       vxlan   192.0.2.1→.2          vni 100  untagged (whole port)
//   vx6       vxlan   2001:db8::1→::2       vni 100  vlan 10
//   vx4inh    vxlan   192.0.2.1→.2          vni 103  vlan 11 (ttl/tos/df inherit, udp-csum on)
//   gnv4      geneve  192.0.2.1→.2          vni 200  vlan 20 (option 0x0102:0x01:00000001,
//                                                    and 0x0102:0x81 known)
//   gnv6      geneve  2001:db8::1→::2       vni 200  vlan 21 (same option)
//   gtap4     gretap  192.0.2.1→.2          key 5    vlan 30 (seq on, csum on)
//   gtap6     gretap  2001:db8::1→::2       key 5    vlan 31 (seq on, csum on)
//   gre4      gre     192.0.2.1→.2          no key   routes 10.1.0.0/16 on port 2
//   gre6      gre     2001:db8::1→::2       no key   routes fd00:1::/64 on port 2
//   vx4na     vxlan   192.0.2.1→.2          vni 101  none (no-attachment)
//   vx4nn     vxlan   192.0.2.1→.3          vni 102  vlan 40 (no neighbor)
// A tunnel type TableWriter refuses (not available yet) is skipped with a note on stderr.
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "control/eal_runtime_dir.h"
#include "control/table_writer.h"
#include "dataplane/counters.h"
#include "dataplane/decap.h"
#include "dataplane/encap.h"
#include "dataplane/tables.h"
#include "dataplane/tunnel_spec.h"
#include "dataplane/worker.h"
#include "dataplane/worker_context.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TUNDRA_FUZZ_ASAN 1
#endif
#endif
#if !defined(TUNDRA_FUZZ_ASAN) && defined(__SANITIZE_ADDRESS__)
#define TUNDRA_FUZZ_ASAN 1
#endif
#ifdef TUNDRA_FUZZ_ASAN
#include <sanitizer/asan_interface.h>
#define FUZZ_POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define FUZZ_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define FUZZ_POISON(p, n) ((void)(p), (void)(n))
#define FUZZ_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

namespace {

using namespace tundra;

constexpr uint16_t kUplink = 0;
constexpr uint16_t kAccess = 1;
constexpr uint16_t kRouted = 2;
constexpr uint16_t kNumPorts = 3;
constexpr size_t kMaxFrames = 64;
constexpr size_t kMaxFrameLen = 9000;
constexpr uint32_t kMaxTunnels = 64;
constexpr uint8_t kUplinkMac[6] = {0x02, 0, 0, 0, 0, 0x01};
constexpr uint8_t kNeighborMac[6] = {0x02, 0, 0, 0, 0, 0x02};

bool g_verbose = false;
bool g_no_split = false;  // TUNDRA_FUZZ_NO_SPLIT: ignore split bytes (full segments only)

#define FUZZ_CHECK(cond, ...)                                              \
  do {                                                                     \
    if (!(cond)) [[unlikely]] {                                            \
      std::fprintf(stderr, "decap_fuzz: invariant failed: %s\n  ", #cond); \
      std::fprintf(stderr, __VA_ARGS__);                                   \
      std::fprintf(stderr, "\n");                                          \
      __builtin_trap();                                                    \
    }                                                                      \
  } while (0)

// ---- configuration adapters ----------------------------------------------------------
// TunnelSpec and TableWriter grow GENEVE/GRE support while this target exists; these
// templates set what the current headers have and skip the rest, so the target builds
// against either.

template <typename S>
void SetGreFields(S& s, bool with_key, uint32_t key, bool seq, bool csum) {
  if constexpr (requires {
                  s.has_key = true;
                  s.key = key;
                }) {
    s.has_key = with_key;
    s.key = key;
  } else if (with_key) {
    s.vni = key;  // older spec: the VNI field doubles as the GRE key
  }
  if constexpr (requires { s.seq = seq; }) s.seq = seq;
  if constexpr (requires { s.csum = csum; }) s.csum = csum;
}

template <typename S>
bool AddSpecOption(S& s, uint16_t option_class, uint8_t type, std::vector<uint8_t> data) {
  if constexpr (requires { s.options.emplace_back(); }) {
    auto& o = s.options.emplace_back();
    o.option_class = option_class;
    o.type = type;
    o.data = std::move(data);
    return true;
  } else {
    return false;
  }
}

template <typename W>
bool AddKnownOption(W& w, uint16_t option_class, uint8_t type) {
  if constexpr (requires { w.AddKnownGeneveOption(option_class, type); }) {
    return w.AddKnownGeneveOption(option_class, type).ok();
  } else if constexpr (requires { w.AddGeneveKnownOption(option_class, type); }) {
    return w.AddGeneveKnownOption(option_class, type).ok();
  } else if constexpr (requires { w.AddKnownOption(option_class, type); }) {
    return w.AddKnownOption(option_class, type).ok();
  } else {
    return false;
  }
}

template <typename W>
absl::Status AddRoute(W& w, const IpPrefix& prefix, const std::string& tunnel) {
  if constexpr (requires { w.AddRoute(prefix, tunnel); }) {
    return w.AddRoute(prefix, tunnel);
  } else {
    return absl::UnimplementedError("no TableWriter::AddRoute (yet)");
  }
}

template <typename T>
void ResetState(T& tables, uint32_t id) {
  if constexpr (requires { tables.ResetTunnelState(id); }) tables.ResetTunnelState(id);
}

// What the worker context may hand packets to besides tx and drops (GRE milestone): a
// punt ring to the control thread, and pools for ICMP errors and fragments.
struct Aux {
  rte_ring* punt = nullptr;
  rte_mempool* direct = nullptr;
  rte_mempool* indirect = nullptr;
};

template <typename C>
void AttachAux(C& ctx, Aux& aux) {
  if constexpr (requires { ctx.punt_ring = aux.punt; }) {
    aux.punt = rte_ring_create("fuzz_punt", 64, SOCKET_ID_ANY, RING_F_SC_DEQ);
    if (aux.punt == nullptr) std::abort();
    ctx.punt_ring = aux.punt;
  }
  if constexpr (requires { ctx.direct_pool = aux.direct; }) {
    aux.direct = rte_pktmbuf_pool_create("fuzz_direct", 1023, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                         SOCKET_ID_ANY);
    if (aux.direct == nullptr) std::abort();
    ctx.direct_pool = aux.direct;
  }
  if constexpr (requires { ctx.indirect_pool = aux.indirect; }) {
    aux.indirect = rte_pktmbuf_pool_create("fuzz_indirect", 1023, 0, 0, 0, SOCKET_ID_ANY);
    if (aux.indirect == nullptr) std::abort();
    ctx.indirect_pool = aux.indirect;
  }
}

// ---- the environment, built once -------------------------------------------------------

struct Env {
  rte_mempool* pool = nullptr;
  std::unique_ptr<Tables> tables;
  std::unique_ptr<TableWriter> writer;
  std::unique_ptr<WorkerCounters> counters;
  WorkerContext ctx;
  Aux aux;
  unsigned pool_baseline = 0;  // mbufs in use in pool + aux pools between inputs
  bool routed = false;         // port 2 is a routed access port
  std::vector<uint32_t> state_ids;
};

Env* g_env = nullptr;

void Note(const char* what, const absl::Status& s) {
  std::fprintf(stderr, "decap_fuzz: %s: %s\n", what, std::string(s.message()).c_str());
}

void Must(const char* what, const absl::Status& s) {
  if (s.ok()) return;
  Note(what, s);
  std::abort();
}

IpAddress Ip(const char* text) {
  auto a = IpAddress::Parse(text);
  if (!a) std::abort();
  return *a;
}
IpPrefix Prefix(const char* text) {
  auto p = IpPrefix::Parse(text);
  if (!p) std::abort();
  return *p;
}
MacAddress Mac(const char* text) {
  auto m = MacAddress::Parse(text);
  if (!m) std::abort();
  return *m;
}

struct TunnelDef {
  const char* name;
  TunnelType type;
  bool v6;
  const char* remote;
  uint32_t vni_or_key;  // VNI, or the GRE key (0 with no key)
  int vlan;             // xconnect on port 1: -1 none, 0 untagged, else the VLAN
  bool inherit = false;
};

void Configure(Env& e) {
  TableWriter& w = *e.writer;
  Must("port 0 role", w.SetPortRole(kUplink, PortRole::kUplink));
  Must("port 1 role", w.SetPortRole(kAccess, PortRole::kAccess));
  Must("port 2 role", w.SetPortRole(kRouted, PortRole::kAccess));
  Must("port 0 mac", w.SetPortMac(kUplink, Mac("02:00:00:00:00:01")));
  Must("port 0 v4", w.SetPortAddress(kUplink, Prefix("192.0.2.1/24")));
  Must("port 0 v6", w.SetPortAddress(kUplink, Prefix("2001:db8::1/64")));
  Must("port 2 mac", w.SetPortMac(kRouted, Mac("02:00:00:00:02:01")));
  // A routed access port has an address of its own (GRE milestone); refused before it.
  if (absl::Status s = w.SetPortAddress(kRouted, Prefix("10.0.0.1/24")); s.ok()) {
    e.routed = true;
    (void)w.SetPortAddress(kRouted, Prefix("fd00::1/64"));
  } else {
    Note("port 2 stays a bridged access port without tunnels", s);
  }
  Must("neigh v4", w.AddNeighbor(Ip("192.0.2.2"), Mac("02:00:00:00:00:02"), kUplink));
  Must("neigh v6", w.AddNeighbor(Ip("2001:db8::2"), Mac("02:00:00:00:00:02"), kUplink));
  if (e.routed) {
    // Hosts behind the routed port (inner destinations of decapsulated gre packets).
    (void)w.AddNeighbor(Ip("10.0.0.2"), Mac("02:00:00:00:02:02"), kRouted);
    (void)w.AddNeighbor(Ip("fd00::2"), Mac("02:00:00:00:02:02"), kRouted);
  }
  if (!AddKnownOption(w, 0x0102, 0x81)) {
    std::fprintf(stderr, "decap_fuzz: no 'geneve option known' API (yet); skipped\n");
  }

  const TunnelDef defs[] = {
      {"vx4", TunnelType::kVxlan, false, "192.0.2.2", 100, 0},
      {"vx6", TunnelType::kVxlan, true, "2001:db8::2", 100, 10},
      {"vx4inh", TunnelType::kVxlan, false, "192.0.2.2", 103, 11, true},
      {"gnv4", TunnelType::kGeneve, false, "192.0.2.2", 200, 20},
      {"gnv6", TunnelType::kGeneve, true, "2001:db8::2", 200, 21},
      {"gtap4", TunnelType::kGretap, false, "192.0.2.2", 5, 30},
      {"gtap6", TunnelType::kGretap, true, "2001:db8::2", 5, 31},
      {"gre4", TunnelType::kGre, false, "192.0.2.2", 0, -1},
      {"gre6", TunnelType::kGre, true, "2001:db8::2", 0, -1},
      {"vx4na", TunnelType::kVxlan, false, "192.0.2.2", 101, -1},
      {"vx4nn", TunnelType::kVxlan, false, "192.0.2.3", 102, 40},
  };
  for (const TunnelDef& d : defs) {
    TunnelSpec s;
    s.name = d.name;
    s.type = d.type;
    s.local = Ip(d.v6 ? "2001:db8::1" : "192.0.2.1");
    s.remote = Ip(d.remote);
    if (d.type == TunnelType::kVxlan || d.type == TunnelType::kGeneve) {
      s.vni = d.vni_or_key;
    } else {
      SetGreFields(s, d.vni_or_key != 0, d.vni_or_key, d.type == TunnelType::kGretap,
                   d.type == TunnelType::kGretap);
    }
    if (d.type == TunnelType::kGeneve &&
        !AddSpecOption(s, 0x0102, 0x01, std::vector<uint8_t>{0, 0, 0, 1})) {
      std::fprintf(stderr, "decap_fuzz: TunnelSpec has no GENEVE options (yet)\n");
    }
    if (d.inherit) {
      s.ttl_inherit = true;
      s.tos_inherit = true;
      s.df = DfMode::kInherit;
      s.udp_csum = true;
    }
    if (absl::Status st = w.AddTunnel(s); !st.ok()) {
      Note(("tunnel " + std::string(d.name) + " skipped").c_str(), st);
      continue;
    }
    e.state_ids.push_back(w.tunnels().find(d.name)->second.id);
    if (d.vlan >= 0) {
      if (absl::Status st = w.AddXconnect(kAccess, static_cast<uint16_t>(d.vlan), d.name);
          !st.ok()) {
        Note(("xconnect for " + std::string(d.name)).c_str(), st);
      }
    }
    if (d.type == TunnelType::kGre && e.routed) {
      const char* prefix = d.v6 ? "fd00:1::/64" : "10.1.0.0/16";
      if (absl::Status st = AddRoute(w, Prefix(prefix), d.name); !st.ok()) {
        Note(("route " + std::string(prefix) + " via " + d.name).c_str(), st);
      }
      e.tables->ReclaimAll();  // each route change rebuilds the LPM tables: free the old
    }
  }
}

// ---- per input ---------------------------------------------------------------------------

struct Frame {
  const uint8_t* data = nullptr;
  size_t len = 0;
  size_t first_seg = 0;  // 0: a full segment
};

unsigned InUse(const Env& e) {
  unsigned n = rte_mempool_in_use_count(e.pool);
  if (e.aux.direct != nullptr) n += rte_mempool_in_use_count(e.aux.direct);
  if (e.aux.indirect != nullptr) n += rte_mempool_in_use_count(e.aux.indirect);
  return n;
}

uint64_t SumPortDrops(const WorkerCounters& c) {
  uint64_t sum = 0;
  for (const PortCounters& p : c.ports) {
    for (const Counter& d : p.drops) sum += d.Get();
  }
  return sum;
}

// Frames the uplink's neighbor input took in (ARP / neighbor advertisements for us) and
// freed after posting what they taught to the control thread.
uint64_t SumLearned(const WorkerCounters& c) {
  uint64_t sum = 0;
  for (const PortCounters& p : c.ports) sum += p.nd_learned.Get();
  return sum;
}

void UnpoisonSegment(rte_mbuf* s) { FUZZ_UNPOISON(s->buf_addr, s->buf_len); }

// Poisons the parts of each segment's buffer that hold no packet data, except `slack`
// bytes after the end of the last segment's data (room a legitimate append may use).
void PoisonOutsideData(rte_mbuf* m, bool headroom, size_t slack) {
  for (rte_mbuf* s = m; s != nullptr; s = s->next) {
    auto* buf = static_cast<uint8_t*>(s->buf_addr);
    auto* data = rte_pktmbuf_mtod(s, uint8_t*);
    auto* end = data + s->data_len;
    if (s->next == nullptr) end += std::min<size_t>(slack, buf + s->buf_len - end);
    if (headroom || s != m) FUZZ_POISON(buf, static_cast<size_t>(data - buf));
    FUZZ_POISON(end, static_cast<size_t>(buf + s->buf_len - end));
  }
}

// A neighbor solicitation becomes an advertisement in place, appending the target
// link-layer option when the solicitation had none (neighbor_reply.cc): leave room.
constexpr size_t kReplySlack = 16;
size_t AppendSlack(const Frame& f) {
  const bool icmp6 = f.len >= 21 && f.data[12] == 0x86 && f.data[13] == 0xDD && f.data[20] == 58;
  return icmp6 ? kReplySlack : 0;
}

void UnpoisonAll(rte_mbuf* m) {
  for (rte_mbuf* s = m; s != nullptr; s = s->next) UnpoisonSegment(s);
}

rte_mbuf* AllocSegment(rte_mempool* pool) {
  rte_mbuf* s = rte_pktmbuf_alloc(pool);
  FUZZ_CHECK(s != nullptr, "mempool exhausted: %u in use", rte_mempool_in_use_count(pool));
  UnpoisonSegment(s);
  return s;
}

rte_mbuf* BuildMbuf(rte_mempool* pool, const Frame& f, uint64_t ol_flags) {
  rte_mbuf* head = AllocSegment(pool);
  size_t off = 0;
  size_t cap = rte_pktmbuf_tailroom(head);
  if (f.first_seg != 0) cap = std::min(cap, f.first_seg);
  size_t chunk = std::min(f.len, cap);
  if (chunk != 0) {
    char* p = rte_pktmbuf_append(head, static_cast<uint16_t>(chunk));
    FUZZ_CHECK(p != nullptr, "append %zu", chunk);
    std::memcpy(p, f.data, chunk);
  }
  off = chunk;
  while (off < f.len) {
    rte_mbuf* s = AllocSegment(pool);
    chunk = std::min<size_t>(f.len - off, rte_pktmbuf_tailroom(s));
    std::memcpy(rte_pktmbuf_mtod(s, uint8_t*), f.data + off, chunk);
    s->data_len = static_cast<uint16_t>(chunk);
    s->pkt_len = static_cast<uint32_t>(chunk);
    FUZZ_CHECK(rte_pktmbuf_chain(head, s) == 0, "chain");
    off += chunk;
  }
  head->ol_flags = ol_flags;
  return head;
}

// How many of the frame's bytes BuildMbuf puts in the first segment.
size_t FirstSegLen(const Frame& f) {
  size_t cap = RTE_MBUF_DEFAULT_DATAROOM;  // a fresh segment's tailroom
  if (f.first_seg != 0) cap = std::min(cap, f.first_seg);
  return std::min(f.len, cap);
}

std::vector<uint8_t> Linear(const rte_mbuf* m) {
  std::vector<uint8_t> out(rte_pktmbuf_pkt_len(m));
  size_t off = 0;
  for (const rte_mbuf* s = m; s != nullptr; s = s->next) {
    std::memcpy(out.data() + off, rte_pktmbuf_mtod(s, const uint8_t*), s->data_len);
    off += s->data_len;
  }
  return out;
}

uint16_t Get16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }

uint32_t Sum16(const uint8_t* p, size_t n, uint32_t sum = 0) {
  for (size_t i = 0; i + 1 < n; i += 2) sum += Get16(p + i);
  if (n & 1) sum += uint32_t{p[n - 1]} << 8;
  return sum;
}
uint16_t Fold(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}

// RFC 6040 §4.2 (normal mode), Figure 4: the ECN field of the decapsulated packet, by
// the arriving inner ECN field (row) and outer ECN field (column), each indexed by its
// code point (0 Not-ECT, 1 ECT(1), 2 ECT(0), 3 CE); -1 = drop. Written out from the RFC
// on purpose rather than taken from dataplane/, so the oracle stays independent.
constexpr int kRfc6040Decap[4][4] = {
    //      outer: Not-ECT ECT(1) ECT(0)  CE
    /* Not-ECT */ {0, 0, 0, -1},
    /* ECT(1)  */ {1, 1, 1, 3},
    /* ECT(0)  */ {2, 1, 2, 3},
    /* CE      */ {3, 3, 3, 3},
};

// What forwarding may do to the inner IP header, besides nothing.
struct InnerRewrite {
  int outer_ecn = -1;   // RFC 6040 decapsulation with this outer ECN; -1: ECN stays
  uint8_t ttl_dec = 0;  // 1 where the packet is routed (RFC 1812 §5.3.1)
  // Input offset where the first mbuf segment ends: the dataplane rewrites only a header
  // it has whole in the first segment (a known gap: an inner IP header that straddles
  // segments keeps its ECN field, which real NICs' 2 KB first segments never cause).
  size_t first_seg_end = SIZE_MAX;
};

// The offset of an Ethernet frame's IP header: 14, or 18 behind one 802.1Q tag (-1: none).
int IpOffsetOf(const std::vector<uint8_t>& f) {
  if (f.size() < 14) return -1;
  const auto is_ip = [](uint16_t t) { return t == 0x0800 || t == 0x86DD; };
  const uint16_t t = Get16(f.data() + 12);
  if (is_ip(t)) return 14;
  if (t == 0x8100 && f.size() >= 18 && is_ip(Get16(f.data() + 16))) return 18;
  return -1;
}

// Why `cand` is not `in[end - cand.size(), end)` forwarded as `rw` allows ("" if it is).
// `ip_off` is where cand's IP header starts (-1: not IP, every byte must match). In that
// header only these may differ: the ECN field, as RFC 6040 says (the DSCP never); the
// TTL / hop limit, decremented by rw.ttl_dec; and the IPv4 header checksum, patched
// incrementally for both (RFC 1624: the header's one's complement sum is unchanged).
std::string InnerMismatch(const std::vector<uint8_t>& cand, int ip_off, const uint8_t* in,
                          size_t end, const InnerRewrite& rw) {
  if (cand.size() > end) return "longer than the input's inner frame";
  const size_t start = end - cand.size();
  const uint8_t* ref = in + start;
  const uint8_t* got = cand.data();
  std::vector<bool> checked(cand.size(), false);
  char why[160];
  const uint8_t version = ip_off >= 0 && static_cast<size_t>(ip_off) < cand.size()
                              ? static_cast<uint8_t>(ref[ip_off] >> 4)
                              : 0;
  const size_t hdr_len = version == 4 ? 20 : version == 6 ? 40 : 0;
  if (hdr_len != 0 && ip_off + hdr_len <= cand.size()) {
    const size_t b = static_cast<size_t>(ip_off);
    const bool whole_in_first_seg = start + b + hdr_len <= rw.first_seg_end;
    // The ECN field: IPv4 TOS bits 0-1; IPv6 traffic class bits 0-1 (byte 1 bits 4-5).
    const int shift = version == 4 ? 0 : 4;
    const int in_ecn = (ref[b + 1] >> shift) & 3;
    const int out_ecn = (got[b + 1] >> shift) & 3;
    const int want = rw.outer_ecn < 0 ? in_ecn : kRfc6040Decap[in_ecn][rw.outer_ecn];
    if (want < 0 && whole_in_first_seg) {
      return "forwarded a CE-marked packet whose inner header is Not-ECT (RFC 6040 §4.2: drop)";
    }
    if (out_ecn != want && !(!whole_in_first_seg && out_ecn == in_ecn)) {
      std::snprintf(why, sizeof(why), "inner IPv%u ECN %d, expected %d (inner %d, outer %d)",
                    version, out_ecn, want, in_ecn, rw.outer_ecn);
      return why;
    }
    const uint8_t ecn_bits = static_cast<uint8_t>(3 << shift);
    if (got[b] != ref[b] || (got[b + 1] & ~ecn_bits) != (ref[b + 1] & ~ecn_bits)) {
      std::snprintf(why, sizeof(why), "inner IPv%u version/DSCP %02x%02x, input %02x%02x", version,
                    got[b], got[b + 1], ref[b], ref[b + 1]);
      return why;
    }
    checked[b] = checked[b + 1] = true;
    const size_t ttl = b + (version == 4 ? 8 : 7);
    if (got[ttl] != static_cast<uint8_t>(ref[ttl] - rw.ttl_dec)) {
      std::snprintf(why, sizeof(why), "inner TTL/hop limit %u, input %u, decremented by %u",
                    got[ttl], ref[ttl], rw.ttl_dec);
      return why;
    }
    checked[ttl] = true;
    if (version == 4) {
      // Words 0 (version, TOS), 4 (TTL, protocol) and 5 (checksum) may change, their
      // one's complement sum may not (0x0000 and 0xFFFF are both zero).
      const auto sum = [b](const uint8_t* h) {
        const uint16_t f = Fold(Get16(h + b) + Get16(h + b + 8) + Get16(h + b + 10));
        return f == 0xFFFF ? 0 : f;
      };
      if (sum(got) != sum(ref)) {
        std::snprintf(why, sizeof(why),
                      "inner IPv4 checksum %04x not patched for the rewrite (input %04x)",
                      Get16(got + b + 10), Get16(ref + b + 10));
        return why;
      }
      checked[b + 10] = checked[b + 11] = true;
    }
  }
  for (size_t i = 0; i < cand.size(); ++i) {
    if (!checked[i] && got[i] != ref[i]) {
      std::snprintf(why, sizeof(why), "byte %zu is %02x, input %02x", i, got[i], ref[i]);
      return why;
    }
  }
  return "";
}

std::string Hex(const std::vector<uint8_t>& v, size_t max = 96) {
  std::string s;
  char b[4];
  for (size_t i = 0; i < v.size() && i < max; ++i) {
    std::snprintf(b, sizeof(b), "%02x", v[i]);
    s += b;
  }
  if (v.size() > max) s += "...";
  return s;
}

void CheckDecapOutput(const Frame& in, uint16_t port, const rte_mbuf* m) {
  const std::vector<uint8_t> out = Linear(m);
  if (port == kUplink) {  // an ARP reply or a neighbor advertisement
    FUZZ_CHECK(out.size() >= 14, "reply of %zu bytes", out.size());
    const uint16_t type = Get16(out.data() + 12);
    FUZZ_CHECK(type == 0x0806 || type == 0x86DD, "reply ethertype %04x", type);
    FUZZ_CHECK(std::memcmp(out.data() + 6, kUplinkMac, 6) == 0, "reply src MAC: %s",
               Hex(out, 14).c_str());
    return;
  }
  FUZZ_CHECK(port == kAccess || port == kRouted, "decap output on port %u", port);
  FUZZ_CHECK(out.size() >= 14, "decapsulated frame of %zu bytes", out.size());
  // Where the outer IP packet ends in the input (decap trims anything past it).
  FUZZ_CHECK(in.len >= 14, "decapsulated an input of %zu bytes", in.len);
  const uint16_t outer_type = Get16(in.data + 12);
  size_t end = 0;
  if (outer_type == 0x0800 && in.len >= 18) end = 14 + Get16(in.data + 16);
  if (outer_type == 0x86DD && in.len >= 20) end = 14 + 40 + Get16(in.data + 18);
  if (end == 0) return;  // outer not plain Ethernet/IP: nothing to compare against
  FUZZ_CHECK(end <= in.len, "outer IP end %zu past the input's %zu bytes", end, in.len);
  // RFC 6040 reads the outer ECN field from the outer IP header at offset 14.
  InnerRewrite rw;
  rw.outer_ecn = outer_type == 0x0800 ? in.data[15] & 3 : (in.data[15] >> 4) & 3;
  rw.first_seg_end = FirstSegLen(in);
  std::string why;
  if (port == kRouted) {
    // gre (L3): a fresh Ethernet header in front of the inner IP packet, routed.
    rw.ttl_dec = 1;
    const std::vector<uint8_t> ip(out.begin() + 14, out.end());
    why = InnerMismatch(ip, 0, in.data, end, rw);
  } else {
    // Ethernet: the inner frame as it came (untagged or 802.1Q-tagged itself), or behind
    // a VLAN tag the attachment pushed.
    why = InnerMismatch(out, IpOffsetOf(out), in.data, end, rw);
    if (!why.empty() && out.size() >= 18 && Get16(out.data() + 12) == 0x8100) {
      std::vector<uint8_t> untagged(out.begin(), out.begin() + 12);
      untagged.insert(untagged.end(), out.begin() + 16, out.end());
      const std::string why_untagged =
          InnerMismatch(untagged, IpOffsetOf(untagged), in.data, end, rw);
      why = why_untagged.empty() ? "" : why + "; without the outer tag: " + why_untagged;
    }
  }
  FUZZ_CHECK(
      why.empty(),
      "decap output on port %u is not the input's inner frame: %s\n  out: %s\n  in:  %s", port,
      why.c_str(), Hex(out).c_str(),
      Hex(std::vector<uint8_t>(in.data, in.data + std::min<size_t>(in.len, 160)), 160).c_str());
}

bool EndsWith(const std::vector<uint8_t>& out, const uint8_t* p, size_t n) {
  return n <= out.size() && (n == 0 || std::memcmp(out.data() + out.size() - n, p, n) == 0);
}

constexpr uint8_t kRoutedMac[6] = {0x02, 0, 0, 0, 0x02, 0x01};

void CheckEncapOutput(const Frame& in, uint16_t rx_port, uint16_t port, const rte_mbuf* m) {
  const std::vector<uint8_t> out = Linear(m);
  if (rx_port == kRouted && port == kRouted) {  // ARP/ND answered by the routed port
    FUZZ_CHECK(out.size() >= 14, "reply of %zu bytes", out.size());
    const uint16_t type = Get16(out.data() + 12);
    FUZZ_CHECK(type == 0x0806 || type == 0x86DD, "reply ethertype %04x", type);
    FUZZ_CHECK(std::memcmp(out.data() + 6, kRoutedMac, 6) == 0, "reply src MAC: %s",
               Hex(out, 14).c_str());
    return;
  }
  FUZZ_CHECK(port == kUplink, "encap output on port %u", port);
  FUZZ_CHECK(out.size() >= 14 + 20, "encapsulated packet of %zu bytes", out.size());
  const uint8_t* o = out.data();
  FUZZ_CHECK(std::memcmp(o, kNeighborMac, 6) == 0 && std::memcmp(o + 6, kUplinkMac, 6) == 0,
             "outer MACs: %s", Hex(out, 14).c_str());
  const uint16_t type = Get16(o + 12);
  const uint64_t ol = m->ol_flags;
  size_t l4 = 0, l4_len = 0;
  uint8_t proto = 0;
  uint32_t pseudo = 0;
  if (type == 0x0800) {
    FUZZ_CHECK((o[14] >> 4) == 4 && (o[14] & 0xF) >= 5, "outer IPv4 version/ihl %02x", o[14]);
    const size_t ihl = (o[14] & 0xF) * 4u;
    FUZZ_CHECK(Get16(o + 16) == out.size() - 14, "outer IPv4 total length %u, packet %zu",
               Get16(o + 16), out.size());
    if (!(ol & RTE_MBUF_F_TX_IP_CKSUM)) {
      FUZZ_CHECK(Fold(Sum16(o + 14, ihl)) == 0xFFFF, "outer IPv4 header checksum: %s",
                 Hex(out, 34).c_str());
    }
    proto = o[23];
    l4 = 14 + ihl;
    l4_len = out.size() - l4;
    pseudo = Sum16(o + 26, 8) + proto + static_cast<uint32_t>(l4_len);
  } else {
    FUZZ_CHECK(type == 0x86DD, "outer ethertype %04x", type);
    FUZZ_CHECK(out.size() >= 14 + 40 && (o[14] >> 4) == 6, "outer IPv6 header");
    FUZZ_CHECK(Get16(o + 18) == out.size() - 54, "outer IPv6 payload length %u, packet %zu",
               Get16(o + 18), out.size());
    proto = o[20];
    l4 = 54;
    l4_len = out.size() - l4;
    pseudo = Sum16(o + 22, 32) + proto + static_cast<uint32_t>(l4_len);
  }
  if (proto == 17) {
    FUZZ_CHECK(l4_len >= 8 && Get16(o + l4 + 4) == l4_len, "outer UDP length %u, expected %zu",
               l4_len >= 8 ? Get16(o + l4 + 4) : 0, l4_len);
    const uint16_t ck = Get16(o + l4 + 6);
    if (type == 0x86DD)
      FUZZ_CHECK(ck != 0 || (ol & RTE_MBUF_F_TX_UDP_CKSUM), "zero UDP checksum over IPv6");
    if (ck != 0 && !(ol & RTE_MBUF_F_TX_UDP_CKSUM)) {
      FUZZ_CHECK(Fold(Sum16(o + l4, l4_len, pseudo)) == 0xFFFF, "outer UDP checksum: %s",
                 Hex(out).c_str());
    }
  } else if (proto == 47) {
    FUZZ_CHECK(l4_len >= 4, "GRE header truncated");
    if (Get16(o + l4) & 0x8000) {
      FUZZ_CHECK(Fold(Sum16(o + l4, l4_len)) == 0xFFFF, "GRE checksum: %s", Hex(out).c_str());
    }
  } else {
    FUZZ_CHECK(false, "outer protocol %u", proto);
  }
  // The inner frame rides at the end: as received, without its VLAN tag (VLAN
  // attachments strip it), or as its IP packet (L3 gre from a routed port).
  bool ok = EndsWith(out, in.data, in.len);
  if (!ok && in.len >= 18 && Get16(in.data + 12) == 0x8100) {
    std::vector<uint8_t> untagged(in.data, in.data + 12);
    untagged.insert(untagged.end(), in.data + 16, in.data + in.len);
    ok = EndsWith(out, untagged.data(), untagged.size());
    if (!ok) ok = EndsWith(out, in.data + 18, in.len - 18);
  }
  if (!ok && rx_port == kRouted && in.len > 14) {
    // A routed port forwards the IP packet like a router: TTL/hop limit decremented,
    // anything past the IP packet's own length (Ethernet padding) left behind.
    size_t ip_len = in.len - 14;
    if (in.len >= 18 && (in.data[14] >> 4) == 4) ip_len = Get16(in.data + 16);
    if (in.len >= 20 && (in.data[14] >> 4) == 6) ip_len = 40 + Get16(in.data + 18);
    ip_len = std::min(ip_len, in.len - 14);
    const std::vector<uint8_t> ip(in.data + 14, in.data + 14 + ip_len);
    if (ip.size() <= out.size()) {
      const std::vector<uint8_t> tail(out.end() - static_cast<long>(ip.size()), out.end());
      InnerRewrite rw;
      rw.ttl_dec = 1;
      ok = InnerMismatch(tail, 0, ip.data(), ip.size(), rw).empty();
    }
  }
  FUZZ_CHECK(ok, "encap output does not end with the input frame\n  out: %s\n  in:  %s",
             Hex(out).c_str(), Hex(std::vector<uint8_t>(in.data, in.data + in.len)).c_str());
}

void RunBurst(Env& e, bool encap, uint16_t rx_port, const Frame* frames, uint16_t n,
              uint64_t ol_flags) {
  WorkerContext& ctx = e.ctx;
  rte_mbuf* pkts[kBurstSize];
  rte_mbuf* orig[kBurstSize];
  for (uint16_t i = 0; i < n; ++i) {
    pkts[i] = orig[i] = BuildMbuf(e.pool, frames[i], ol_flags);
    PoisonOutsideData(pkts[i], /*headroom=*/!encap, encap ? 0 : AppendSlack(frames[i]));
  }
  const uint64_t drops_before = SumPortDrops(*e.counters);
  const uint64_t learned_before = SumLearned(*e.counters);

  // The worker's own dispatch: the port's role picks decap, routing or encap.
  DispatchBurst(ctx, rx_port, pkts, n);

  // Every mbuf lands exactly once: in drops or in one tx buffer.
  int seen[kBurstSize] = {};
  auto index_of = [&](const rte_mbuf* m) {
    for (uint16_t i = 0; i < n; ++i) {
      if (orig[i] == m) return static_cast<int>(i);
    }
    return -1;
  };
  // An output is one of the burst's mbufs, or a new head segment chained in front of one
  // (encap when the header outgrew the headroom), or a packet the dataplane made itself
  // (ICMP error) from the context's direct pool: -2.
  auto output_index_of = [&](const rte_mbuf* m) {
    for (const rte_mbuf* s = m; s != nullptr; s = s->next) {
      if (const int i = index_of(s); i >= 0) return i;
    }
    return (e.aux.direct != nullptr && m->pool == e.aux.direct) ? -2 : -1;
  };
  // Punted mbufs (handed to the control thread) count as delivered.
  rte_mbuf* punted[kBurstSize * 2];
  unsigned npunted = 0;
  if (e.aux.punt != nullptr) {
    npunted = rte_ring_dequeue_burst(e.aux.punt, reinterpret_cast<void**>(punted), kBurstSize * 2,
                                     nullptr);
  }
  for (unsigned k = 0; k < npunted; ++k) {
    const int i = index_of(punted[k]);
    FUZZ_CHECK(i >= 0, "punted[%u] is not an mbuf of this burst", k);
    FUZZ_CHECK(seen[i]++ == 0, "mbuf %d punted twice", i);
  }
  FUZZ_CHECK(ctx.drop_count <= n, "drop_count %u > burst %u", ctx.drop_count, n);
  for (uint16_t d = 0; d < ctx.drop_count; ++d) {
    const int i = index_of(ctx.drops[d]);
    FUZZ_CHECK(i >= 0, "drops[%u] is not an mbuf of this burst", d);
    FUZZ_CHECK(seen[i]++ == 0, "mbuf %d dropped twice", i);
  }
  const uint64_t drops_after = SumPortDrops(*e.counters);
  FUZZ_CHECK(drops_after - drops_before == ctx.drop_count,
             "drop counters grew by %llu for %u dropped mbufs",
             static_cast<unsigned long long>(drops_after - drops_before), ctx.drop_count);
  unsigned queued = 0;
  for (uint16_t p = 0; p < RTE_MAX_ETHPORTS; ++p) {
    TxBuffer& b = ctx.tx[p];
    const bool pending = (ctx.tx_pending >> p) & 1;
    // A stage marks a port pending when it starts a run to it (WorkerContext::Tx); every
    // packet of the run may still be dropped, so only "queued but not pending" is a bug.
    FUZZ_CHECK(pending || b.count == 0, "port %u: tx_pending %d with %u queued", p, pending,
               b.count);
    FUZZ_CHECK(b.count <= kBurstSize, "port %u: %u queued", p, b.count);
    uint64_t bytes = 0;
    for (uint16_t k = 0; k < b.count; ++k) {
      rte_mbuf* m = b.pkts[k];
      const int i = output_index_of(m);
      FUZZ_CHECK(i != -1, "tx[%u].pkts[%u] is not an mbuf of this burst", p, k);
      UnpoisonAll(m);  // the checks below read it whole
      const char* why = nullptr;
      FUZZ_CHECK(rte_mbuf_check(m, 1, &why) == 0, "queued mbuf %d is corrupt: %s", i,
                 why ? why : "?");
      bytes += rte_pktmbuf_pkt_len(m);
      if (i == -2) continue;  // generated (ICMP error): not one of the burst's packets
      FUZZ_CHECK(seen[i]++ == 0, "mbuf %d queued twice or queued and dropped/punted", i);
      if (encap) {
        CheckEncapOutput(frames[i], rx_port, p, m);
      } else {
        CheckDecapOutput(frames[i], p, m);
      }
      ++queued;
    }
    FUZZ_CHECK(b.bytes == bytes, "port %u: tx bytes %llu, packets hold %llu", p,
               static_cast<unsigned long long>(b.bytes), static_cast<unsigned long long>(bytes));
  }
  // Taken in by the neighbor input: only from the uplink, and only by decap.
  const auto learned = static_cast<unsigned>(SumLearned(*e.counters) - learned_before);
  FUZZ_CHECK(learned == 0 || (!encap && rx_port == kUplink), "%u frames learned on port %u (%s)",
             learned, rx_port, encap ? "encap" : "decap");
  FUZZ_CHECK(queued + ctx.drop_count + npunted + learned == n,
             "%u queued + %u dropped + %u punted + %u learned != %u received", queued,
             ctx.drop_count, npunted, learned, n);

  if (g_verbose) {
    std::fprintf(
        stderr,
        "decap_fuzz: %s burst of %u on port %u: %u queued, %u dropped, %u punted, %u learned\n",
        encap ? "encap" : "decap", n, rx_port, queued, ctx.drop_count, npunted, learned);
  }

  // Leave the context clean: free everything, as Flush() would after tx.
  for (uint16_t p = 0; p < RTE_MAX_ETHPORTS; ++p) {
    TxBuffer& b = ctx.tx[p];
    for (uint16_t k = 0; k < b.count; ++k) UnpoisonAll(b.pkts[k]);
    rte_pktmbuf_free_bulk(b.pkts, b.count);
    b.count = 0;
    b.bytes = 0;
  }
  ctx.tx_pending = 0;
  for (unsigned k = 0; k < npunted; ++k) {
    UnpoisonAll(punted[k]);
    rte_pktmbuf_free(punted[k]);
  }
  for (uint16_t d = 0; d < ctx.drop_count; ++d) UnpoisonAll(ctx.drops[d]);
  rte_pktmbuf_free_bulk(ctx.drops, ctx.drop_count);
  ctx.drop_count = 0;
}

void PrintDropDeltas(const WorkerCounters& before, const WorkerCounters& after) {
  for (int p = 0; p < kNumPorts; ++p) {
    for (int r = 0; r < kNumDropReasons; ++r) {
      const uint64_t d = after.ports[p].drops[r].Get() - before.ports[p].drops[r].Get();
      if (d != 0) {
        std::fprintf(stderr, "decap_fuzz:   port %d drop %s: %llu\n", p,
                     DropReasonName(static_cast<DropReason>(r)),
                     static_cast<unsigned long long>(d));
      }
    }
    const uint64_t nd = after.ports[p].nd_replies.Get() - before.ports[p].nd_replies.Get();
    if (nd != 0)
      std::fprintf(stderr, "decap_fuzz:   port %d nd/arp replies: %llu\n", p,
                   static_cast<unsigned long long>(nd));
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  (void)argc;
  g_verbose = std::getenv("TUNDRA_FUZZ_VERBOSE") != nullptr;
  g_no_split = std::getenv("TUNDRA_FUZZ_NO_SPLIT") != nullptr;
  std::string prefix = "--file-prefix=tundra_fuzz_" + std::to_string(getpid());
  std::string prog = (*argv)[0];
  // 512 MB rather than the unit tests' 256: a route change builds a new LPM table
  // (64 MB for IPv4 alone) before the old one is reclaimed.
  const char* args[] = {prog.c_str(),  "-l",  "0",           "--no-pci",       "--no-huge",
                        "-m",          "512", "--no-shconf", "--no-telemetry", "--log-level=error",
                        prefix.c_str()};
  std::vector<char*> eal;
  for (const char* a : args) eal.push_back(const_cast<char*>(a));
  eal.push_back(nullptr);
  if (rte_eal_init(static_cast<int>(eal.size() - 1), eal.data()) < 0) {
    std::fprintf(stderr, "decap_fuzz: EAL init failed: %s\n", rte_strerror(rte_errno));
    std::abort();
  }
  RemoveEalRuntimeDirAtExit();
  auto* e = new Env();
  // No per-lcore cache, so rte_mempool_in_use_count is exact.
  e->pool =
      rte_pktmbuf_pool_create("fuzz_pool", 4095, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
  if (e->pool == nullptr) {
    std::fprintf(stderr, "decap_fuzz: mempool: %s\n", rte_strerror(rte_errno));
    std::abort();
  }
  Tables::Config c;
  c.max_tunnels = kMaxTunnels;
  c.max_workers = 2;
  auto t = Tables::Create(c);
  if (!t.ok()) {
    Note("Tables::Create", t.status());
    std::abort();
  }
  e->tables = std::move(*t);
  e->writer = std::make_unique<TableWriter>(*e->tables, kNumPorts);
  e->counters = std::make_unique<WorkerCounters>(kMaxTunnels + 1);
  e->ctx.tables = e->tables.get();
  e->ctx.counters = e->counters.get();
  AttachAux(e->ctx, e->aux);
  Configure(*e);
  // Free the entries Configure() replaced (nothing reads the tables concurrently), so
  // leak checks see only what an input leaks.
  e->tables->ReclaimAll();
  e->pool_baseline = InUse(*e);
  g_env = e;
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  Env& e = *g_env;
  const uint8_t ctl = data[0];
  const bool encap = ctl & 0x01;
  const unsigned split = (ctl >> 1) & 0x03;
  const bool split_bytes = ctl & 0x08;
  static constexpr uint64_t kOffloads[4] = {
      0, RTE_MBUF_F_RX_IP_CKSUM_GOOD | RTE_MBUF_F_RX_L4_CKSUM_GOOD, RTE_MBUF_F_RX_IP_CKSUM_BAD,
      RTE_MBUF_F_RX_L4_CKSUM_BAD};
  const uint64_t ol_flags = kOffloads[(ctl >> 4) & 0x03];
  const uint16_t rx_port = !encap ? kUplink : ((ctl & 0x40) && e.routed) ? kRouted : kAccess;

  Frame frames[kMaxFrames];
  size_t nframes = 0;
  size_t i = 1;
  while (i < size && nframes < kMaxFrames) {
    Frame& f = frames[nframes];
    f.first_seg = 0;
    if (split_bytes) f.first_seg = data[i++];
    if (g_no_split) f.first_seg = 0;
    if (i + 2 > size) break;
    const size_t want = Get16(data + i);
    i += 2;
    f.data = data + i;
    f.len = std::min({want, kMaxFrameLen, size - i});
    i += f.len;
    ++nframes;
  }
  if (nframes == 0) return 0;

  for (uint32_t id : e.state_ids) ResetState(*e.tables, id);
  std::unique_ptr<WorkerCounters> before;
  if (g_verbose) {
    before = std::make_unique<WorkerCounters>(1);
    for (int p = 0; p < kNumPorts; ++p) {
      for (int r = 0; r < kNumDropReasons; ++r) {
        before->ports[p].drops[r].Add(e.counters->ports[p].drops[r].Get());
      }
      before->ports[p].nd_replies.Add(e.counters->ports[p].nd_replies.Get());
    }
  }

  const size_t per_burst[4] = {kBurstSize, 1, (nframes + 1) / 2, 3};
  const size_t step = std::min<size_t>(std::max<size_t>(per_burst[split], 1), kBurstSize);
  for (size_t b = 0; b < nframes; b += step) {
    const auto n = static_cast<uint16_t>(std::min(step, nframes - b));
    RunBurst(e, encap, rx_port, frames + b, n, ol_flags);
  }

  if (g_verbose) PrintDropDeltas(*before, *e.counters);
  const unsigned in_use = InUse(e);
  FUZZ_CHECK(in_use == e.pool_baseline, "mempool leak: %u mbufs in use after the input, %u before",
             in_use, e.pool_baseline);
  return 0;
}
