// RawSum (16 bytes a step) against DPDK's own 16-bit-at-a-time sum as the oracle, over
// every length and alignment a packet can have.
#include "dataplane/proto/checksum.h"

#include <rte_ip.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <cstring>
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
  SECTION("SumWords16 and SumWords agree, with an initial sum") {
    for (size_t off = 0; off < 4; ++off) {
      for (size_t len = 0; len <= 1600; ++len) {
        const uint32_t initial = static_cast<uint32_t>(rng()) >> 12;
        const uint32_t a = SumWords16(buf.data() + off, static_cast<uint16_t>(len), initial);
        const uint64_t b = SumWords(buf.data() + off, len, initial);
        if (a != b) FAIL("offset " << off << " length " << len << ": " << a << " != " << b);
      }
    }
  }
  SECTION("all ones, the largest lane values") {
    std::vector<uint8_t> ones(65535, 0xFF);
    CHECK(FoldChecksum(RawSum(ones.data(), ones.size())) ==
          rte_raw_cksum(ones.data(), ones.size()));
  }
  SECTION("all ones around the 64 KiB chunk's end: the most blocks in one chunk") {
    std::vector<uint8_t> ones(65536 + 40, 0xFF);
    for (size_t len = 65536 - 17; len <= ones.size(); ++len) {
      // Every word is 0xFFFF (the odd last byte 0x00FF): the folded sum is 0xFFFF unless
      // there is just that byte beyond whole words.
      uint64_t want = (len / 2) * uint64_t{0xFFFF} + (len % 2 ? 0xFF : 0);
      while (want >> 16) want = (want & 0xFFFF) + (want >> 16);
      if (FoldChecksum(RawSum(ones.data(), len)) != want) FAIL("length " << len);
    }
  }
  SECTION("past one 64 KiB chunk, with an initial sum") {
    // rte_raw_cksum's 32-bit sum would overflow here: the oracle is a 64-bit sum of the
    // 16-bit words in memory order, folded.
    for (uint8_t fill : {uint8_t{0xFF}, uint8_t{0}}) {
      std::vector<uint8_t> big(3 * 65536 + 77, fill);
      if (fill == 0)
        for (auto& b : big) b = static_cast<uint8_t>(rng());
      for (uint64_t initial : {uint64_t{0}, uint64_t{0x3FFFFFFFFFFFFFFF}}) {
        uint64_t want = initial;
        for (size_t i = 0; i + 1 < big.size(); i += 2) {
          uint16_t w;
          std::memcpy(&w, &big[i], 2);
          want += w;
        }
        want += big.back();  // the odd last byte, zero-padded (little-endian memory order)
        uint64_t folded = want;
        while (folded >> 16) folded = (folded & 0xFFFF) + (folded >> 16);
        INFO("fill " << int(fill) << " initial " << initial);
        CHECK(FoldChecksum(RawSum(big.data(), big.size(), initial)) == folded);
      }
    }
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

TEST_CASE("FoldChecksum and FoldChecksum64 are end-around-carry folding", "[checksum]") {
  std::mt19937_64 rng(13);
  const uint64_t edges[] = {
      0,           1,          0xFFFF,         0x10000,        0x1FFFE,
      0xFFFF0001,  0xFFFFFFFF, 0x100000000ULL, 0x1FFFFFFFFULL, 0xFFFFFFFF00000001ULL,
      ~uint64_t{0}};
  for (uint64_t x : edges) {
    INFO(x);
    if (x >> 32 == 0) CHECK(FoldChecksum(static_cast<uint32_t>(x)) == FoldAll(x));
    CHECK(FoldChecksum64(x) == FoldAll(x));
  }
  for (uint64_t x = 0; x < (uint64_t{1} << 20); ++x) {
    if (FoldChecksum(static_cast<uint32_t>(x)) != FoldAll(x)) FAIL(x);
  }
  for (int i = 0; i < 1000000; ++i) {
    const uint64_t x = rng();
    if (FoldChecksum(static_cast<uint32_t>(x)) != FoldAll(static_cast<uint32_t>(x))) FAIL(x);
    if (FoldChecksum64(x) != FoldAll(x)) FAIL(x);
  }
}

}  // namespace
}  // namespace tundra
