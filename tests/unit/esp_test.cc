// ESP transport mode with AES-GCM (dataplane/esp.h) against known answers computed by
// an independent implementation (scapy's SecurityAssociation over python-cryptography,
// the same key, salt, SPI 0x1000 and sequence number 1; IV = the sequence number, as
// librte_ipsec sends it), then each way a packet must be refused, by its reason.
#include "dataplane/esp.h"

#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <vector>

#include "tests/unit/test_util.h"

namespace tundra::testing {
namespace {

std::vector<uint8_t> Hex(std::string_view h) {
  std::vector<uint8_t> v;
  for (size_t i = 0; i + 1 < h.size(); i += 2) {
    v.push_back(static_cast<uint8_t>(std::stoi(std::string(h.substr(i, 2)), nullptr, 16)));
  }
  return v;
}

const uint8_t kKey[16] = {0x3a, 0x1f, 0x0c, 0x77, 0xe2, 0xd9, 0x4b, 0x8a,
                          0x5c, 0x66, 0xf0, 0x1d, 0x92, 0xab, 0x3e, 0x4f};
const uint8_t kOtherKey[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

// VXLAN over IPv4 and IPv6, before and after ESP.
constexpr char kIn4[] =
    "02000000000202000000000108004500006e000040004011b67bc0000201c0000202c00012b5005a00000c0000"
    "0300006400020000000a02020000000a0108004500003c00070000401166a80a0000010a00000203e807d00028"
    "93c074756e6472612d6573702d6b6174212174756e6472612d6573702d6b61742121";
constexpr char kOut4[] =
    "020000000002020000000001080045000090000040004032b638c0000201c00002020000100000000001000000"
    "00000000010eb4f2335a0b85410b821313d55ea839935bae87eb19674c9c26052d791b857e318e06c60c54724c"
    "6c8337bc09eceee0d876918ea3cb9524c56e1aa6c549673f001e2efcd9b1d440238495b2851e66915d0744aaee"
    "e4d4ed064c7a6e5c5ef355391acadee5de0c14ccfb9a2d";
constexpr char kIn6[] =
    "02000000000202000000000186dd60000000005a114020010db800000000000000000000000120010db8000000"
    "000000000000000002c00012b5005a55450c00000300006400020000000a02020000000a0108004500003c0007"
    "0000401166a80a0000010a00000203e807d0002893c074756e6472612d6573702d6b6174212174756e6472612d"
    "6573702d6b61742121";
constexpr char kOut6[] =
    "02000000000202000000000186dd60000000007c324020010db800000000000000000000000120010db8000000"
    "000000000000000002000010000000000100000000000000010eb4f2335a0bd0040b821313d55ea839935bae87"
    "eb19674c9c26052d791b857e318e06c60c54724c6c8337bc09eceee0d876918ea3cb9524c56e1aa6c549673f00"
    "1e2efcd9b1d440238495b2851e66915d0744aaeee4d4ed064c7a6e76624d62923a5ec30969c365ee17e76c";

// Lives until the process ends (after EAL's cleanup: never destroyed).
EspCrypto& Crypto() {
  static EspCrypto* crypto = [] {
    absl::StatusOr<std::unique_ptr<EspCrypto>> c = EspCrypto::Create(64, SOCKET_ID_ANY);
    INFO((c.ok() ? "" : std::string(c.status().message())));
    REQUIRE(c.ok());
    return c->release();
  }();
  return *crypto;
}

std::unique_ptr<EspSa> MakeSa(EspDirection dir, uint8_t family, bool esn = false,
                              const uint8_t* key = kKey, uint32_t window = 64,
                              uint64_t initial_seq = 0) {
  EspParams p;
  p.spi = 0x1000;
  p.key = key;
  p.key_len = 16;
  const uint8_t salt[4] = {0xc0, 0xff, 0xee, 0x42};
  std::memcpy(p.salt, salt, 4);
  p.esn = esn;
  p.replay_window = window;
  p.initial_seq = initial_seq;
  absl::StatusOr<std::unique_ptr<EspSa>> sa = EspSa::Create(Crypto(), p, dir, family);
  INFO((sa.ok() ? "" : std::string(sa.status().message())));
  REQUIRE(sa.ok());
  return std::move(*sa);
}

uint16_t allowed = 0;  // Protect's answer, unused by most tests

rte_mbuf* Packet(const std::vector<uint8_t>& bytes, uint8_t family) {
  rte_mbuf* m = MbufFrom(bytes);
  m->l2_len = 14;
  m->l3_len = family == 4 ? 20 : 40;
  return m;
}

// Runs Unprotect on one packet; returns its error (kNone when it passed).
EspError UnprotectOne(EspSa& sa, rte_mbuf*& m) {
  EspError err[1] = {EspError::kNone};
  const uint16_t ok = sa.Unprotect(&m, 1, err);
  return ok == 1 ? EspError::kNone : err[0];
}

TEST_CASE("ESP protect matches the independent encryption, unprotect restores", "[esp]") {
  for (uint8_t family : {4, 6}) {
    INFO("IPv" << int(family));
    const std::vector<uint8_t> in = Hex(family == 4 ? kIn4 : kIn6);
    const std::vector<uint8_t> out = Hex(family == 4 ? kOut4 : kOut6);
    std::unique_ptr<EspSa> tx = MakeSa(EspDirection::kOutbound, family);
    std::unique_ptr<EspSa> rx = MakeSa(EspDirection::kInbound, family);
    rte_mbuf* m = Packet(in, family);
    REQUIRE(tx->Protect(&m, 1, &allowed) == 1);
    CHECK(BytesOf(m) == out);
    REQUIRE(UnprotectOne(*rx, m) == EspError::kNone);
    CHECK(BytesOf(m) == in);
    rte_pktmbuf_free(m);
  }
}

TEST_CASE("ESP refuses altered, misdirected, short and replayed packets by reason", "[esp]") {
  const std::vector<uint8_t> out = Hex(kOut4);
  std::unique_ptr<EspSa> rx = MakeSa(EspDirection::kInbound, 4);

  std::vector<uint8_t> altered = out;
  altered[60] ^= 0x01;  // a ciphertext byte
  rte_mbuf* m = Packet(altered, 4);
  CHECK(UnprotectOne(*rx, m) == EspError::kAuthFailed);
  rte_pktmbuf_free(m);

  std::vector<uint8_t> icv = out;
  icv.back() ^= 0x80;  // the ICV itself
  m = Packet(icv, 4);
  CHECK(UnprotectOne(*rx, m) == EspError::kAuthFailed);
  rte_pktmbuf_free(m);

  std::unique_ptr<EspSa> wrong_key = MakeSa(EspDirection::kInbound, 4, false, kOtherKey);
  m = Packet(out, 4);
  CHECK(UnprotectOne(*wrong_key, m) == EspError::kAuthFailed);
  rte_pktmbuf_free(m);

  for (size_t cut : {34u + 8u, 34u + 16u, 34u + 31u, 34u + 33u}) {
    INFO("cut to " << cut);
    m = Packet(std::vector<uint8_t>(out.begin(), out.begin() + cut), 4);
    CHECK(UnprotectOne(*rx, m) == EspError::kMalformed);
    rte_pktmbuf_free(m);
  }

  // The good packet passes once; again, it is a replay.
  m = Packet(out, 4);
  CHECK(UnprotectOne(*rx, m) == EspError::kNone);
  rte_pktmbuf_free(m);
  m = Packet(out, 4);
  CHECK(UnprotectOne(*rx, m) == EspError::kReplay);
  rte_pktmbuf_free(m);
}

TEST_CASE("ESP anti-replay: behind the window refused, inside it once each", "[esp]") {
  std::unique_ptr<EspSa> tx = MakeSa(EspDirection::kOutbound, 4);
  std::unique_ptr<EspSa> rx = MakeSa(EspDirection::kInbound, 4);
  const std::vector<uint8_t> in = Hex(kIn4);
  std::vector<rte_mbuf*> sent;
  for (int i = 0; i < 100; ++i) {  // sequence numbers 1..100
    rte_mbuf* m = Packet(in, 4);
    REQUIRE(tx->Protect(&m, 1, &allowed) == 1);
    sent.push_back(m);
  }
  CHECK(UnprotectOne(*rx, sent[99]) == EspError::kNone);   // 100: the window is 37..100
  CHECK(UnprotectOne(*rx, sent[0]) == EspError::kReplay);  // 1: behind it
  CHECK(UnprotectOne(*rx, sent[50]) == EspError::kNone);   // 51: inside, new
  // A burst with one packet twice: the first passes, the second is the replay.
  rte_mbuf* dup = Packet(BytesOf(sent[60]), 4);
  rte_mbuf* burst[2] = {sent[60], dup};
  EspError err[2] = {};
  CHECK(rx->Unprotect(burst, 2, err) == 1);
  CHECK(err[1] == EspError::kReplay);
  for (rte_mbuf* m : sent) rte_pktmbuf_free(m);
  rte_pktmbuf_free(dup);
}

TEST_CASE("ESP with extended sequence numbers round-trips", "[esp]") {
  std::unique_ptr<EspSa> tx = MakeSa(EspDirection::kOutbound, 6, true);
  std::unique_ptr<EspSa> rx = MakeSa(EspDirection::kInbound, 6, true);
  const std::vector<uint8_t> in = Hex(kIn6);
  for (int i = 0; i < 3; ++i) {
    rte_mbuf* m = Packet(in, 6);
    REQUIRE(tx->Protect(&m, 1, &allowed) == 1);
    CHECK(BytesOf(m) != in);
    REQUIRE(UnprotectOne(*rx, m) == EspError::kNone);
    CHECK(BytesOf(m) == in);
    rte_pktmbuf_free(m);
  }
}

TEST_CASE("ESP replays of every sequence number are refused (not only librte_ipsec's)", "[esp]") {
  // librte_ipsec's window never records sequence numbers whose low six bits are 32..63
  // (replay_window.h): a replay of 33..64 must still be refused, burst after burst.
  std::unique_ptr<EspSa> tx = MakeSa(EspDirection::kOutbound, 4);
  std::unique_ptr<EspSa> rx = MakeSa(EspDirection::kInbound, 4);
  const std::vector<uint8_t> in = Hex(kIn4);
  for (int i = 1; i <= 70; ++i) {
    INFO("sequence number " << i);
    rte_mbuf* m = Packet(in, 4);
    REQUIRE(tx->Protect(&m, 1, &allowed) == 1);
    rte_mbuf* again = Packet(BytesOf(m), 4);
    CHECK(UnprotectOne(*rx, m) == EspError::kNone);
    CHECK(UnprotectOne(*rx, again) == EspError::kReplay);
    rte_pktmbuf_free(m);
    rte_pktmbuf_free(again);
  }
}

TEST_CASE("ESP sequence numbers wrap into the high half with ESN", "[esp]") {
  // Sending from 2^32 - 2: the 32 bits on the wire wrap, the 64-bit numbers go on.
  const uint64_t start = (uint64_t{1} << 32) - 2;
  std::unique_ptr<EspSa> tx = MakeSa(EspDirection::kOutbound, 4, true, kKey, 64, start);
  std::unique_ptr<EspSa> rx = MakeSa(EspDirection::kInbound, 4, true, kKey, 64, start - 1);
  const std::vector<uint8_t> in = Hex(kIn4);
  std::vector<std::vector<uint8_t>> wire;
  for (int i = 0; i < 6; ++i) {  // 2^32-2 .. 2^32+3: low halves fffffffe .. 00000003
    rte_mbuf* m = Packet(in, 4);
    REQUIRE(tx->Protect(&m, 1, &allowed) == 1);
    wire.push_back(BytesOf(m));
    REQUIRE(UnprotectOne(*rx, m) == EspError::kNone);
    CHECK(BytesOf(m) == in);
    rte_pktmbuf_free(m);
  }
  CHECK(wire[0][38] == 0xff);  // the ESP sequence field (bytes 38..41): fffffffe
  CHECK(wire[5][41] == 0x03);
  for (const auto& w : wire) {  // each again: a replay, across the wrap too
    rte_mbuf* m = Packet(w, 4);
    CHECK(UnprotectOne(*rx, m) == EspError::kReplay);
    rte_pktmbuf_free(m);
  }
  // Without ESN the receiver sees the low half only: after the wrap, 1 is far behind.
  std::unique_ptr<EspSa> plain = MakeSa(EspDirection::kInbound, 4, false, kKey, 64, 0xffffffff);
  rte_mbuf* m = Packet(wire[3], 4);  // 2^32 + 1: low half 00000001
  CHECK(UnprotectOne(*plain, m) == EspError::kReplay);
  rte_pktmbuf_free(m);
}

TEST_CASE("ESP lifetime: the packet limit is exact, then everything is refused", "[esp]") {
  EspParams p;
  p.spi = 0x1000;
  p.key = kKey;
  p.lifetime_packets = 5;
  absl::StatusOr<std::unique_ptr<EspSa>> tx =
      EspSa::Create(Crypto(), p, EspDirection::kOutbound, 4);
  absl::StatusOr<std::unique_ptr<EspSa>> rx = EspSa::Create(Crypto(), p, EspDirection::kInbound, 4);
  REQUIRE((tx.ok() && rx.ok()));
  const std::vector<uint8_t> in = Hex(kIn4);
  rte_mbuf* burst[8];
  for (rte_mbuf*& m : burst) m = Packet(in, 4);
  CHECK((*tx)->Protect(burst, 8, &allowed) == 5);
  CHECK(allowed == 5);
  CHECK((*tx)->expired());
  EspError err[8] = {};
  CHECK((*rx)->Unprotect(burst, 5, err) == 5);  // the receiver's own limit: 5, exactly
  rte_mbuf* late = Packet(in, 4);
  CHECK((*tx)->Protect(&late, 1, &allowed) == 0);
  CHECK((*tx)->stats().packets == 5);
  CHECK((*tx)->stats().expired == 4);
  for (rte_mbuf* m : burst) rte_pktmbuf_free(m);
  rte_pktmbuf_free(late);
}

TEST_CASE("replay window: edges, sizes, ESN reconstruction", "[esp]") {
  ReplayWindow w(64, false);
  CHECK_FALSE(w.Check(0));
  CHECK(w.Update(100));
  CHECK(w.Update(37));  // the lowest inside: 100 - 64 + 1
  CHECK_FALSE(w.Check(36));
  CHECK_FALSE(w.Update(37));
  CHECK(w.Update(164));  // moves the window by 64: 37..100 fall out
  CHECK_FALSE(w.Check(100));
  CHECK(w.Check(101));
  ReplayWindow big(4096, false);
  CHECK(big.Update(5000));
  CHECK(big.Update(905));
  CHECK_FALSE(big.Check(904));
  CHECK_FALSE(big.Update(905));
  ReplayWindow off(0, false);
  CHECK(off.Update(5));
  CHECK(off.Update(5));
  ReplayWindow esn(64, true, (uint64_t{7} << 32) | 10);
  CHECK(esn.Reconstruct(5) == ((uint64_t{7} << 32) | 5));
  CHECK(esn.Reconstruct(0xfffffff0) == ((uint64_t{6} << 32) | 0xfffffff0));  // case B
  ReplayWindow high(64, true, (uint64_t{7} << 32) | 1000);
  CHECK(high.Reconstruct(2000) == ((uint64_t{7} << 32) | 2000));
  CHECK(high.Reconstruct(5) == ((uint64_t{8} << 32) | 5));  // case A: below the edge
}

}  // namespace
}  // namespace tundra::testing
