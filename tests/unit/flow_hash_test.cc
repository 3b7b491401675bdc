#include "dataplane/flow_hash.h"

#include <set>

#include "test_util.h"

namespace tundra::testing {
namespace {

uint16_t PortFor(const std::vector<uint8_t>& frame) {
  rte_mbuf* m = MbufFrom(frame);
  const uint16_t port =
      SourcePortFromHash(InnerFlowHash(m, rte_pktmbuf_mtod(m, const uint8_t*), frame.size()));
  rte_pktmbuf_free(m);
  return port;
}

TEST_CASE("flow hash source ports are stable per flow and spread across flows", "[flowhash]") {
  std::set<uint16_t> ports;
  for (uint16_t flow = 0; flow < 1000; ++flow) {
    const uint16_t p = PortFor(InnerUdp4(1024 + flow, 80));
    CHECK(p >= 49152);
    // Same flow, different payload: same port.
    CHECK(PortFor(InnerUdp4(1024 + flow, 80, 200)) == p);
    ports.insert(p);
  }
  // 1000 flows into 16384 ports: a fair hash leaves only a few dozen collisions.
  CHECK(ports.size() > 950);
}

TEST_CASE("non-IP frames hash on their Ethernet header", "[flowhash]") {
  std::vector<uint8_t> a(60, 0), b(60, 0);
  a[12] = b[12] = 0x88;
  a[13] = b[13] = 0xB5;
  b[11] = 1;  // another source MAC
  CHECK(PortFor(a) >= 49152);
  CHECK(PortFor(a) == PortFor(a));
  CHECK(PortFor(a) != PortFor(b));
}

}  // namespace
}  // namespace tundra::testing
