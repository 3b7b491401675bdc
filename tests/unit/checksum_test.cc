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

}  // namespace
}  // namespace tundra
