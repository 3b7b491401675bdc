// RawSum (16 bytes a step) against DPDK's own 16-bit-at-a-time sum as the oracle, over
// every length and alignment a packet can have.
#include "dataplane/proto/checksum.h"

#include <rte_ip.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <random>
#include <vector>

namespace tundra {
namespace {

TEST_CASE("RawSum folds to rte_raw_cksum for every length and alignment", "[checksum]") {
  std::mt19937 rng(7);
  std::vector<uint8_t> buf(4096 + 16);
  for (auto& b : buf) b = static_cast<uint8_t>(rng());
  for (size_t off = 0; off < 16; ++off) {
    for (size_t len = 0; len <= 1600; ++len) {
      const uint16_t want = rte_raw_cksum(buf.data() + off, len);
      if (FoldChecksum(RawSum(buf.data() + off, len)) != want) {
        FAIL("offset " << off << " length " << len);
      }
    }
  }
  SECTION("all ones, the largest lane values") {
    std::vector<uint8_t> ones(65535, 0xFF);
    CHECK(FoldChecksum(RawSum(ones.data(), ones.size())) ==
          rte_raw_cksum(ones.data(), ones.size()));
  }
}

// Folds a 64-bit sum the long way: end-around carries until it fits 16 bits.
uint16_t FoldAll(uint64_t sum) {
  while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}

TEST_CASE("SumIsAllOnes is folding to 0xFFFF", "[checksum]") {
  std::mt19937_64 rng(11);
  const uint64_t edges[] = {0,          1,          0xFFFE,         0xFFFF,
                            0x10000,    0x1FFFE,    0x1FFFF,        0x2FFFD,
                            0xFFFFFFFF, 0xFFFEFFFF, 0x3FFFFFFFCULL, 0x4FFFFFFFBULL};
  for (uint64_t x : edges) {
    INFO(x);
    CHECK(SumIsAllOnes(x) == (FoldAll(x) == 0xFFFF));
  }
  // The range a 20-byte IPv4 header's words reach, and random 36-bit sums.
  for (uint64_t x = 0; x < (uint64_t{1} << 20); ++x) {
    if (SumIsAllOnes(x) != (FoldAll(x) == 0xFFFF)) FAIL(x);
  }
  for (int i = 0; i < 1000000; ++i) {
    const uint64_t x = rng() >> 28;
    if (SumIsAllOnes(x) != (FoldAll(x) == 0xFFFF)) FAIL(x);
  }
}

}  // namespace
}  // namespace tundra
