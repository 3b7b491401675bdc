// The control thread's next-hop resolution (control/nexthops.h): which next hop a path
// takes, the neighbor state machine against a fake clock, and what the dataplane words
// say at each step. Probes are captured and dissected here; their bytes on the wire are
// checked by scapy in tests/interop/test_underlay.py.
#include "control/nexthops.h"

#include <catch2/catch.hpp>
#include <vector>

#include "dataplane/proto/ether.h"
#include "test_util.h"

namespace tundra::testing {
namespace {

struct Sent {
  uint16_t port;
  std::vector<uint8_t> frame;
  bool broadcast() const { return frame[0] == 0xFF || frame[0] == 0x33; }
  IpAddress arp_target() const { return IpAddress::FromV4Bytes(&frame[38]); }
};

struct Resolver {
  Fixture f;
  std::vector<Sent> sent;
  NextHops& nh = f.writer->nexthops();
  uint64_t now = 0;
  Resolver() {
    NeighborTiming t;
    t.reachable_ms = 1000;
    t.retrans_ms = 100;
    t.probes = 2;
    t.max_backoff_ms = 800;
    nh.set_timing(t);
    nh.set_send([this](uint16_t port, const uint8_t* frame, uint16_t len) {
      sent.push_back(Sent{port, std::vector<uint8_t>(frame, frame + len)});
      return true;
    });
  }
  void Advance(uint64_t ms) {
    for (uint64_t end = now + ms; now < end;) nh.Poll(now += 10);
  }
  std::vector<Sent> To(const char* ip) const {
    std::vector<Sent> r;
    for (const Sent& s : sent) {
      if (s.frame.size() >= 42 && s.arp_target() == *IpAddress::Parse(ip)) r.push_back(s);
    }
    return r;
  }
  const UnderlayNeighbor* Neigh(const char* ip) const {
    auto it = nh.neighbors().find(PortAddress{0, *IpAddress::Parse(ip)});
    return it == nh.neighbors().end() ? nullptr : &it->second;
  }
};

MacAddress Mac(const char* m) { return *MacAddress::Parse(m); }
IpAddress Ip(const char* a) { return *IpAddress::Parse(a); }

}  // namespace

TEST_CASE("underlay routes: longest prefix, default route, replace, delete", "[nexthops]") {
  UnderlayRouteTable t;
  t.Set(*IpPrefix::Parse("0.0.0.0/0"), Ip("192.0.2.254"));
  t.Set(*IpPrefix::Parse("198.51.100.0/24"), Ip("192.0.2.253"));
  t.Set(*IpPrefix::Parse("198.51.100.128/25"), Ip("192.0.2.252"));
  t.Set(*IpPrefix::Parse("2001:db8:1::/48"), Ip("2001:db8::fe"));
  CHECK(t.Lookup(Ip("198.51.100.200"))->gateway == Ip("192.0.2.252"));
  CHECK(t.Lookup(Ip("198.51.100.7"))->gateway == Ip("192.0.2.253"));
  CHECK(t.Lookup(Ip("8.8.8.8"))->gateway == Ip("192.0.2.254"));
  CHECK(t.Lookup(Ip("2001:db8:1:2::3"))->gateway == Ip("2001:db8::fe"));
  CHECK(t.Lookup(Ip("2001:db8:2::3")) == nullptr);
  t.Set(*IpPrefix::Parse("198.51.100.128/25"), Ip("192.0.2.251"));  // replaces
  CHECK(t.size() == 4);
  CHECK(t.Lookup(Ip("198.51.100.200"))->gateway == Ip("192.0.2.251"));
  CHECK(t.Erase(*IpPrefix::Parse("198.51.100.128/25")));
  CHECK_FALSE(t.Erase(*IpPrefix::Parse("198.51.100.128/25")));
  CHECK(t.Lookup(Ip("198.51.100.200"))->gateway == Ip("192.0.2.253"));
  CHECK(t.Erase(*IpPrefix::Parse("0.0.0.0/0")));
  CHECK(t.Lookup(Ip("8.8.8.8")) == nullptr);
}

TEST_CASE("a path goes to its remote on-link, else via the route's gateway", "[nexthops]") {
  Resolver r;
  auto on_link = r.nh.AcquirePath(0, Ip("192.0.2.7"));
  auto far = r.nh.AcquirePath(0, Ip("198.51.100.7"));
  REQUIRE(on_link.ok());
  REQUIRE(far.ok());
  CHECK(r.nh.PathVia(*on_link) == Ip("192.0.2.7"));
  CHECK_FALSE(r.nh.PathVia(*far).has_value());
  CHECK(r.f.tables->path_nexthop_id(*far) == 0);  // no-underlay-route
  CHECK(r.nh.AddRoute(*IpPrefix::Parse("198.51.100.0/24"), Ip("10.9.9.9")).code() ==
        absl::StatusCode::kFailedPrecondition);  // gateway not on an uplink's subnet
  REQUIRE(r.nh.AddRoute(*IpPrefix::Parse("198.51.100.0/24"), Ip("192.0.2.254")).ok());
  CHECK(r.nh.AddRoute(*IpPrefix::Parse("198.51.100.0/24"), Ip("192.0.2.253")).code() ==
        absl::StatusCode::kAlreadyExists);
  CHECK(r.nh.PathVia(*far) == Ip("192.0.2.254"));
  // Two tunnels to one remote share the path; the gateway is one next hop for all.
  auto far_again = r.nh.AcquirePath(0, Ip("198.51.100.7"));
  auto far2 = r.nh.AcquirePath(0, Ip("198.51.100.8"));
  CHECK(*far_again == *far);
  CHECK(r.f.tables->path_nexthop_id(*far2) == r.f.tables->path_nexthop_id(*far));
  CHECK(r.Neigh("192.0.2.254")->paths == 2);
  // Unresolved until the gateway answers; then one store re-points both paths.
  CHECK(r.f.tables->PathNextHop(*far) == 0);
  r.nh.Learn(0, Ip("192.0.2.254"), Mac("02:00:00:00:0e:01"), true);
  const MacAddress gw = Mac("02:00:00:00:0e:01");
  CHECK(r.f.tables->PathNextHop(*far) == PackNextHop(gw.bytes.data()));
  CHECK(r.f.tables->PathNextHop(*far2) == PackNextHop(gw.bytes.data()));
  // A static neighbor for the remote itself wins over the route.
  REQUIRE(r.nh.AddStatic(Ip("198.51.100.8"), Mac("02:00:00:00:0f:08"), 0).ok());
  CHECK(r.nh.PathVia(*far2) == Ip("198.51.100.8"));
  CHECK(r.Neigh("192.0.2.254")->paths == 1);
  REQUIRE(r.nh.DelStatic(Ip("198.51.100.8")).ok());
  CHECK(r.nh.PathVia(*far2) == Ip("192.0.2.254"));
  CHECK(r.Neigh("198.51.100.8") == nullptr);
  // Without the route, no next hop; the gateway no path uses is forgotten.
  REQUIRE(r.nh.DelRoute(*IpPrefix::Parse("198.51.100.0/24")).ok());
  CHECK(r.f.tables->PathNextHop(*far) == 0);
  CHECK(r.f.tables->path_nexthop_id(*far) == 0);
  CHECK(r.Neigh("192.0.2.254") == nullptr);
  r.nh.ReleasePath(*far);
  r.nh.ReleasePath(*far_again);
  r.nh.ReleasePath(*far2);
  r.nh.ReleasePath(*on_link);
  CHECK(r.Neigh("192.0.2.7") == nullptr);
}

TEST_CASE("neighbor states: incomplete backs off, reachable refreshes, stale withdraws",
          "[nexthops]") {
  Resolver r;
  auto path = r.nh.AcquirePath(0, Ip("192.0.2.7"));
  REQUIRE(path.ok());
  r.Advance(1600);
  // Asked at once (the first poll, 10 ms), then after 100, 200, 400, 800 ms: 5 by 1510,
  // the next 800 ms later (the cap), not 1600.
  std::vector<Sent> asks = r.To("192.0.2.7");
  CHECK(asks.size() == 5);
  for (const Sent& s : asks) CHECK(s.broadcast());
  CHECK(r.Neigh("192.0.2.7")->state == NeighborState::kIncomplete);
  CHECK(r.f.tables->PathNextHop(*path) == 0);
  // An answer: reachable, published.
  const MacAddress mac = Mac("02:00:00:00:0d:07");
  r.nh.Learn(0, Ip("192.0.2.7"), mac, true);
  CHECK(r.Neigh("192.0.2.7")->state == NeighborState::kReachable);
  CHECK(r.f.tables->PathNextHop(*path) == PackNextHop(mac.bytes.data()));
  // Refresh probes (unicast) start at 3/4 of the reachable time, not before.
  r.sent.clear();
  r.Advance(740);
  CHECK(r.To("192.0.2.7").empty());
  r.Advance(20);
  REQUIRE(r.To("192.0.2.7").size() == 1);
  CHECK_FALSE(r.To("192.0.2.7")[0].broadcast());
  r.nh.Learn(0, Ip("192.0.2.7"), mac, true);  // answered: reachable on
  r.Advance(900);
  CHECK(r.Neigh("192.0.2.7")->state == NeighborState::kReachable);
  // Silence: stale at expiry (MAC still used), withdrawn after `probes` more.
  r.Advance(150);
  CHECK(r.Neigh("192.0.2.7")->state == NeighborState::kStale);
  CHECK(r.f.tables->PathNextHop(*path) == PackNextHop(mac.bytes.data()));
  r.Advance(250);
  CHECK(r.Neigh("192.0.2.7")->state == NeighborState::kIncomplete);
  CHECK(r.f.tables->PathNextHop(*path) == 0);
  // Unasked news (gratuitous ARP) is used at once, as stale, and confirmed by a probe.
  r.sent.clear();
  const MacAddress moved = Mac("02:00:00:00:0d:77");
  r.nh.Learn(0, Ip("192.0.2.7"), moved, false);
  CHECK(r.Neigh("192.0.2.7")->state == NeighborState::kStale);
  CHECK(r.f.tables->PathNextHop(*path) == PackNextHop(moved.bytes.data()));
  r.Advance(20);
  REQUIRE_FALSE(r.To("192.0.2.7").empty());
  CHECK(std::equal(moved.bytes.begin(), moved.bytes.end(), r.To("192.0.2.7")[0].frame.begin()));
  // What a worker saw about an address no path uses is ignored.
  r.nh.Learn(0, Ip("192.0.2.99"), moved, true);
  CHECK(r.Neigh("192.0.2.99") == nullptr);
  r.nh.ReleasePath(*path);
}

TEST_CASE("a static neighbor is never probed and ignores what is learned", "[nexthops]") {
  Resolver r;
  REQUIRE(r.nh.AddStatic(Ip("192.0.2.7"), Mac("02:00:00:00:5a:5a"), 0).ok());
  auto path = r.nh.AcquirePath(0, Ip("192.0.2.7"));
  REQUIRE(path.ok());
  r.nh.Learn(0, Ip("192.0.2.7"), Mac("02:00:00:00:66:66"), true);
  r.Advance(5000);
  CHECK(r.sent.empty());
  CHECK(r.Neigh("192.0.2.7")->state == NeighborState::kStatic);
  CHECK(r.f.tables->PathNextHop(*path) == PackNextHop(Mac("02:00:00:00:5a:5a").bytes.data()));
  // Deleted while a path uses it: an ordinary neighbor, resolved afresh.
  REQUIRE(r.nh.DelStatic(Ip("192.0.2.7")).ok());
  CHECK(r.Neigh("192.0.2.7")->state == NeighborState::kIncomplete);
  CHECK(r.f.tables->PathNextHop(*path) == 0);
  r.Advance(20);
  CHECK(r.To("192.0.2.7").size() == 1);
  CHECK(r.nh.DelStatic(Ip("192.0.2.7")).code() == absl::StatusCode::kNotFound);
  r.nh.ReleasePath(*path);
}

TEST_CASE("a multicast group: its own MAC, joined, refreshed, left; never resolved", "[nexthops]") {
  Resolver r;
  REQUIRE(r.nh.AddRoute(*IpPrefix::Parse("0.0.0.0/0"), Ip("192.0.2.254")).ok());
  auto path = r.nh.AcquirePath(0, Ip("239.1.2.3"));
  REQUIRE(path.ok());
  // Not through the default route's gateway: the group itself, with RFC 1112's MAC.
  CHECK(r.nh.PathVia(*path) == Ip("239.1.2.3"));
  CHECK(r.Neigh("192.0.2.254") == nullptr);
  const UnderlayNeighbor* n = r.Neigh("239.1.2.3");
  REQUIRE(n != nullptr);
  CHECK(n->state == NeighborState::kMulticast);
  CHECK(n->mac == Mac("01:00:5e:01:02:03"));
  CHECK(r.f.tables->PathNextHop(*path) == PackNextHop(n->mac.bytes.data()));
  // IGMPv3 reports: record type at 14 + 24 + 8, group after the record header.
  const auto records = [&] {
    std::vector<int> types;
    for (const Sent& s : r.sent) {
      REQUIRE(s.frame.size() >= 60);
      CHECK(s.frame[23] == 2);  // IGMP
      CHECK(IpAddress::FromV4Bytes(&s.frame[14 + 24 + 8 + 4]) == Ip("239.1.2.3"));
      types.push_back(s.frame[14 + 24 + 8]);
    }
    return types;
  };
  r.Advance(10);
  CHECK(records() == std::vector<int>{4});  // joined at once
  r.Advance(1000);
  CHECK(records() == std::vector<int>{4, 4});  // and once more
  r.Advance(59000);
  CHECK(records() == std::vector<int>{4, 4});  // then the current state every 60 s
  r.Advance(2000);
  CHECK(records() == std::vector<int>{4, 4, 2});
  r.Advance(60000);
  CHECK(records() == std::vector<int>{4, 4, 2, 2});
  // Nothing learned changes it; `neigh add` is refused for a group.
  r.nh.Learn(0, Ip("239.1.2.3"), Mac("02:00:00:00:66:66"), true);
  CHECK(r.Neigh("239.1.2.3")->mac == Mac("01:00:5e:01:02:03"));
  CHECK(r.nh.AddStatic(Ip("239.1.2.3"), Mac("02:00:00:00:66:66"), 0).code() ==
        absl::StatusCode::kInvalidArgument);
  // IPv6: RFC 2464's MAC.
  auto path6 = r.nh.AcquirePath(0, Ip("ff0e::1:2"));
  REQUIRE(path6.ok());
  CHECK(r.Neigh("ff0e::1:2")->mac == Mac("33:33:00:01:00:02"));
  r.nh.ReleasePath(*path6);
  // The last path gone: left, and forgotten.
  r.sent.clear();
  r.nh.ReleasePath(*path);
  CHECK(records() == std::vector<int>{3});
  CHECK(r.Neigh("239.1.2.3") == nullptr);
}

}  // namespace tundra::testing
