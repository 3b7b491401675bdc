"""Interop: routed access ports and an L3 GRE tunnel, Linux hosts at both ends.

This kernel may lack gre devices, so tundra talks to tundra:

  ns host1  10.1.0.2/24 fd01::2/64, default via 10.1.0.1 / fd01::1
     veth ── [ns rA] tundra A port 1 (access, routed: 10.1.0.1/24 fd01::1/64)
             tundra A port 0 (uplink 192.0.2.1) ── veth pair ──
             [ns rB] tundra B port 0 (uplink 192.0.2.2)
             tundra B port 1 (access, routed: 10.2.0.1/24 fd02::1/64) ── veth
  ns host2  10.2.0.2/24 fd02::2/64, default via 10.2.0.1 / fd02::1

  tunnel g1: gre key 42, seq on, csum on; routes to the far host's prefixes.

No static ARP/ND entries anywhere: the hosts resolve their gateway from
tundra's ARP/ND answers and tundra learns the hosts from their requests.
Each tundra runs in a namespace of its own holding its two veth ends (see
tundra_proc.Tundra on why: DPDK af_packet fanout ids), the uplink veth pair
joining the two; their workers are pinned to different CPUs
(--lcores=0@0,1@1 and --lcores=0@1,1@0).

Known tundra failures these tests report (see each test's docstring):
test_host_learned_without_cli_activity (learned hosts reach the dataplane
only when a command is read), test_first_packet_to_silent_host (no ARP/ND
resolution of unknown hosts), test_show_tunnel_inner_mtu (`show tunnel`
subtracts an inner Ethernet header for L3 gre).

Tests run in file order inside each class (they share one topology): first
the hosts resolve their gateways, then pings, TCP and counters; the last two
tests of TestRoutedGre remove learned hosts on purpose.
"""
import concurrent.futures
import json
import os
import pathlib

import pytest

from tundra_proc import (Topology, Tundra, TundraError, ns_mac, ping, received,
                         require_interop, run, tcp_transfer, wait_until)

PAYLOAD_LEN = 1 << 20
GRE_KEY = 42
# Outer header of g1 (it replaces the inner Ethernet header): Ethernet 14,
# IPv4 20, GRE 4, checksum word 4, key 4, sequence number 4.
GRE_OVERHEAD = 14 + 20 + 4 + 4 + 4 + 4
SMALL_UPLINK_MTU = 1400
SMALL_INNER_MTU = SMALL_UPLINK_MTU - (GRE_OVERHEAD - 14)   # 1364


@pytest.fixture(scope="module", autouse=True)
def preconditions():
    require_interop()


# ------------------------------------------------------------------ setup

SIDES = {
    # side: (uplink address, peer uplink, access v4, access v6, host v4, host v6,
    #        remote prefixes)
    "A": ("192.0.2.1", "192.0.2.2", "10.1.0.1/24", "fd01::1/64", "10.1.0.2/24",
          "fd01::2/64", ("10.2.0.0/24", "fd02::/64")),
    "B": ("192.0.2.2", "192.0.2.1", "10.2.0.1/24", "fd02::1/64", "10.2.0.2/24",
          "fd02::2/64", ("10.1.0.0/24", "fd01::/64")),
}


class Routed:
    """The topology above and its two tundra processes."""

    def __init__(self, workdir, tag, uplink_mtu_a=None):
        pid = os.getpid()
        self.workdir = pathlib.Path(workdir)
        self.topo = Topology()
        self.ns = {"A": "tundra-%sh1-%d" % (tag, pid), "B": "tundra-%sh2-%d" % (tag, pid)}
        # Each tundra runs in a namespace of its own holding its two veth ends.
        self.rtr = {"A": "tundra-%sA-%d" % (tag, pid), "B": "tundra-%sB-%d" % (tag, pid)}
        self.acc = {"A": "t%sa%d" % (tag, pid), "B": "t%sb%d" % (tag, pid)}
        self.host_if = {"A": "t%sh%d" % (tag, pid), "B": "t%si%d" % (tag, pid)}
        self.up = {"A": "t%su%d" % (tag, pid), "B": "t%sv%d" % (tag, pid)}
        self.uplink_mtu = {"A": uplink_mtu_a or 1500, "B": 1500}
        self.tundra = {}
        self.mac = {}          # (side, port) -> tundra's MAC there
        self.host_mac = {}
        self.baseline = {}     # side -> {pool: in_use} before the traffic
        try:
            self._build()
        except BaseException:
            self.close()
            raise

    def _build(self):
        t = self.topo
        for side in "AB":
            t.netns(self.ns[side])
            t.netns(self.rtr[side])
        for side in "AB":
            t.veth(self.acc[side], self.host_if[side])
        t.veth(self.up["A"], self.up["B"])
        for side in "AB":
            t.tundra_end(self.acc[side], ns=self.rtr[side])
            t.tundra_end(self.up[side], ns=self.rtr[side])
        for side in "AB":
            _, _, _, _, h4, h6, _ = SIDES[side]
            ns = self.ns[side]
            t.host_end(self.host_if[side], ns, [h4, h6])
            gw4 = SIDES[side][2].split("/")[0]
            gw6 = SIDES[side][3].split("/")[0]
            run(["ip", "route", "add", "default", "via", gw4], ns=ns)
            run(["ip", "-6", "route", "add", "default", "via", gw6], ns=ns)
            self.host_mac[side] = ns_mac(ns, self.host_if[side])

        # Workers on different CPUs; the control threads share the other one.
        lcores = {"A": ["--lcores=0@0,1@1"], "B": ["--lcores=0@1,1@0"]}
        for side in "AB":
            self.tundra[side] = Tundra(side, self.workdir, [self.up[side], self.acc[side]],
                                       lcores[side], netns=self.rtr[side])
            self.tundra[side].start()
        for side in "AB":
            info = self.tundra[side].show("port info all", "ports", timeout=60)
            if len(info["ports"]) != 2:
                raise TundraError("%s: %d ports probed, not 2; output:\n%s" % (
                    side, len(info["ports"]), self.tundra[side].tail()))
            for p in info["ports"]:
                self.mac[(side, p["port"])] = p["mac"]
        for side in "AB":
            peer = "B" if side == "A" else "A"
            local, remote, acc4, acc6, _, _, prefixes = SIDES[side]
            cfg = ["port config 0 role uplink",
                   "port config 0 address %s/24" % local]
            if self.uplink_mtu[side] != 1500:
                cfg.append("port config 0 mtu %d" % self.uplink_mtu[side])
            cfg += ["port config 1 role access",
                    "port config 1 address %s" % acc4,
                    "port config 1 address %s" % acc6,
                    "neigh add %s %s port 0" % (remote, self.mac[(peer, 0)]),
                    "tunnel add g1 type gre local %s remote %s key %d seq on csum on"
                    % (local, remote, GRE_KEY)]
            cfg += ["route add %s tunnel g1" % p for p in prefixes]
            cfg.append("start")
            # The JSON answer after `start` says every command before it ran;
            # query() raises if tundra rejected any of them.
            self.tundra[side].query(*cfg, "show tunnel json", key="tunnels", timeout=60)
        for side in "AB":
            self.baseline[side] = self.tundra[side].mbufs_in_use(settle=0.3)

    def host_addr(self, side, fam):
        return SIDES[side][4 if fam == 4 else 5].split("/")[0]

    def gateway(self, side, fam):
        return SIDES[side][2 if fam == 4 else 3].split("/")[0]

    def neighbors(self, side):
        return self.tundra[side].show("neigh", "neighbors")["neighbors"]

    def tunnel(self, side):
        tunnels = self.tundra[side].show("tunnel stats", "tunnels")["tunnels"]
        g1 = [x for x in tunnels if x["name"] == "g1"]
        assert len(g1) == 1, tunnels
        return g1[0]

    def diag(self):
        """Counters of both sides, for failure messages."""
        out = []
        for side in "AB":
            T = self.tundra.get(side)
            if T is None or not T.alive():
                out.append("%s: not running" % side)
                continue
            try:
                t = self.tunnel(side)
                drops = {k: v for k, v in t["drop_reasons"].items() if v}
                out.append("%s g1: encap %d decap %d icmp_errors %d drops %s" % (
                    side, t["encap_packets"], t["decap_packets"], t["icmp_errors"], drops))
                ports = self.tundra[side].show("port stats all", "ports")["ports"]
                for p in ports:
                    drops = {k: v for k, v in p["drop_reasons"].items() if v}
                    out.append("%s port %d: rx %d tx %d drops %s" % (
                        side, p["port"], p["rx_packets"], p["tx_packets"], drops))
                out.append("%s neigh: %s" % (side, json.dumps(self.neighbors(side))))
            except TundraError as e:
                out.append("%s: %s" % (side, e))
        return "\n".join(out)

    def close(self):
        """Stops both processes (by PID if quit fails) and deletes exactly
        what the topology made; returns the objects that survived."""
        made = list(self.topo.created)
        for T in self.tundra.values():
            T.stop()
        self.topo.destroy()
        return self.topo.leftovers(made)


def _learned(neighbors, ip, mac, port=1):
    return any(n["ip"] == ip and n["mac"] == mac and n["port"] == port and n["learned"]
               for n in neighbors)


def resolve_gateways(r):
    """Each host resolves its gateway (v4 and v6) the ordinary way: by
    sending to it. tundra answers these pings (test_echo_ping.py covers
    that); what matters here is the ARP/ND exchange they start."""
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda a: ping(*a, count=1, wait=1, timeout=5),
                      [(r.ns[side], r.gateway(side, fam)) for side in "AB" for fam in (4, 6)]))


def wait_hosts_learned(r, timeout=5):
    """Polls `show neigh json` on both tundras until each lists its host's
    v4 and v6 addresses as learned; returns what is missing (empty: all)."""
    missing = []
    for side in "AB":
        want = [(r.host_addr(side, fam), r.host_mac[side]) for fam in (4, 6)]
        ok = wait_until(lambda: all(_learned(r.neighbors(side), ip, mac) for ip, mac in want),
                        timeout, interval=0.2)
        if not ok:
            missing.append("%s lacks %s; has %s" % (side, want, r.neighbors(side)))
    return missing


def host_neigh(ns, addr):
    fam = "-6" if ":" in addr else "-4"
    out = run(["ip", "-j", fam, "neigh", "show", addr], ns=ns).stdout
    entries = json.loads(out or "[]")
    return entries[0] if entries else None


# ------------------------------------------------------------------ tests

class TestRoutedGre:
    """Ping, TCP, learning and counters with the default MTU."""

    @pytest.fixture(scope="class")
    def r(self, tmp_path_factory):
        routed = Routed(tmp_path_factory.mktemp("routed"), "r")
        yield routed
        left = routed.close()
        assert not left, "left behind after teardown: %s" % left

    def test_hosts_resolve_gateway_and_are_learned(self, r):
        resolve_gateways(r)
        for side in "AB":
            tundra_mac = r.mac[(side, 1)]
            for fam in (4, 6):
                gw = r.gateway(side, fam)
                e = host_neigh(r.ns[side], gw)
                assert e is not None, "host%s has no neighbor entry for %s" % (
                    "1" if side == "A" else "2", gw)
                assert e.get("lladdr") == tundra_mac, (gw, e, tundra_mac)
                assert set(e.get("state", [])) & {"REACHABLE", "STALE", "DELAY", "PROBE"}, e
                assert "PERMANENT" not in e.get("state", []), e
        missing = wait_hosts_learned(r)
        assert not missing, "tundra did not learn the hosts:\n%s" % "\n".join(missing)

    @pytest.mark.parametrize("src,fam", [("A", 4), ("B", 4), ("A", 6), ("B", 6)],
                             ids=["host1-host2-v4", "host2-host1-v4",
                                  "host1-host2-v6", "host2-host1-v6"])
    def test_ping(self, r, src, fam):
        dst = "B" if src == "A" else "A"
        res = ping(r.ns[src], r.host_addr(dst, fam), count=3, wait=2)
        assert received(res) == 3, "ping %s -> %s:\n%s\n%s" % (
            src, r.host_addr(dst, fam), res.stdout + res.stderr, r.diag())

    @pytest.mark.parametrize("src,fam,port", [("A", 4, 5301), ("B", 4, 5302),
                                              ("A", 6, 5303), ("B", 6, 5304)],
                             ids=["host1-host2-v4", "host2-host1-v4",
                                  "host1-host2-v6", "host2-host1-v6"])
    def test_tcp_1mib(self, r, src, fam, port):
        dst = "B" if src == "A" else "A"
        payload = r.workdir / "payload"
        if not payload.exists():
            payload.write_bytes(os.urandom(PAYLOAD_LEN))
        # Fail fast (not after TCP timeouts) when the path is down.
        if received(ping(r.ns[src], r.host_addr(dst, fam), count=1, wait=2)) != 1:
            pytest.fail("no path %s -> %s (ping failed):\n%s" % (
                src, r.host_addr(dst, fam), r.diag()))
        why = tcp_transfer(r.ns[src], r.ns[dst], r.host_addr(dst, fam), port, payload,
                           r.workdir, timeout=20)
        assert why is None, "%s\n%s" % (why, r.diag())

    def test_counters_and_mempool(self, r):
        for side in "AB":
            t = r.tunnel(side)
            assert t["type"] == "gre" and t["resolved"], t
            assert t["encap_packets"] > 0 and t["decap_packets"] > 0, t
            assert t["drop_reasons"]["bad-gre-checksum"] == 0, t
            assert t["seq_out_of_order"] == 0 and t["seq_duplicate"] == 0, t
        for side in "AB":
            T = r.tundra[side]
            pools, _ = T.query("wait idle 300", "show mempool json", key="mempools")
            after = {p["name"]: p["in_use"] for p in pools["mempools"]}
            assert after == r.baseline[side], "%s: mbufs in use before %s, after %s" % (
                side, r.baseline[side], after)

    def test_host_learned_without_cli_activity(self, r):
        """A host tundra learns while nobody types a command must be usable.

        tundra A forgets host1 (`neigh del`), host1 forgets its gateway, then
        host1 pings host2 with no command sent to either tundra meanwhile:
        host1's ARP request must be enough for A to deliver the replies."""
        A = r.tundra["A"]
        h1 = r.host_addr("A", 4)
        A.query("neigh del %s" % h1, "show neigh json", key="neighbors")
        run(["ip", "neigh", "flush", "dev", r.host_if["A"]], ns=r.ns["A"])
        res = ping(r.ns["A"], r.host_addr("B", 4), count=4, interval=0.5, wait=2)
        got = received(res)
        # Evidence for a failure: A's table before and after one more command
        # (the control thread applies learned hosts between commands).
        first = A.show("neigh", "neighbors")["neighbors"]
        second = A.show("neigh", "neighbors")["neighbors"]
        assert got >= 3, (
            "host1 -> host2 got %d of 4 replies after host1 re-resolved its gateway "
            "and no command was sent to tundra.\n%s\n"
            "show neigh json on A, first query after the ping: %s\n"
            "second query: %s\n%s" % (got, res.stdout.strip(), first, second, r.diag()))

    def test_first_packet_to_silent_host(self, r):
        """A router resolves a destination host it has not heard from.

        tundra B forgets host2; host2 keeps its gateway entry, so it sends no
        ARP of its own. host1 pings host2: B must ask (ARP) for 10.2.0.2."""
        B = r.tundra["B"]
        h2 = r.host_addr("B", 4)
        B.query("neigh del %s" % h2, "show neigh json", key="neighbors")
        before = r.tunnel("B")["drop_reasons"]["no-neighbor"]
        res = ping(r.ns["A"], h2, count=4, interval=0.5, wait=2)
        got = received(res)
        after = r.tunnel("B")["drop_reasons"]["no-neighbor"]
        # Put host2 back for whatever runs after this test.
        ping(r.ns["B"], r.host_addr("A", 4), count=1, wait=2)
        assert got >= 3, (
            "host1 -> host2 (host2 silent, unknown to tundra B) got %d of 4 replies; "
            "B's g1 no-neighbor drops went %d -> %d, i.e. B dropped the decapsulated "
            "requests instead of resolving %s\n%s\n%s" % (
                got, before, after, h2, res.stdout.strip(), r.diag()))


class TestRoutedGreMtu:
    """tundra A's uplink at MTU 1400: oversized DF packets from host1 get
    ICMP fragmentation-needed / packet-too-big from tundra, and the host's
    route cache learns the tunnel's inner MTU."""

    @pytest.fixture(scope="class")
    def r(self, tmp_path_factory):
        routed = Routed(tmp_path_factory.mktemp("routed-mtu"), "m",
                        uplink_mtu_a=SMALL_UPLINK_MTU)
        try:
            resolve_gateways(routed)
            missing = wait_hosts_learned(routed)
            assert not missing, "tundra did not learn the hosts:\n%s" % "\n".join(missing)
        except BaseException:
            routed.close()
            raise
        yield routed
        left = routed.close()
        assert not left, "left behind after teardown: %s" % left

    @pytest.mark.parametrize("fam", [4, 6])
    def test_too_big_reaches_host(self, r, fam):
        dst = r.host_addr("B", fam)
        icmp_before = r.tunnel("A")["icmp_errors"]
        # 1400 bytes of payload: 1428 (v4) / 1448 (v6) > inner MTU 1364.
        big = ping(r.ns["A"], dst, count=2, size=1400, df=True, interval=0.5, wait=2)
        text = big.stdout + big.stderr
        assert big.returncode != 0, "oversized DF ping went through:\n%s" % text
        assert any(s in text.lower() for s in ("frag needed", "message too long",
                                               "packet too big")), text
        assert str(SMALL_INNER_MTU) in text, (
            "expected mtu %d in ping's report:\n%s" % (SMALL_INNER_MTU, text))
        # The host's route cache holds the MTU from tundra's ICMP error.
        route = run(["ip", "-%d" % fam, "route", "get", dst], ns=r.ns["A"]).stdout
        assert "mtu %d" % SMALL_INNER_MTU in route, route
        t = r.tunnel("A")
        assert t["icmp_errors"] > icmp_before, t
        assert t["drop_reasons"]["mtu-exceeded"] > 0, t

        small = ping(r.ns["A"], dst, count=3, size=1300, df=True, interval=0.3, wait=2)
        assert received(small) == 3, "1300-byte DF ping:\n%s\n%s" % (
            small.stdout + small.stderr, r.diag())

    def test_tcp_under_small_mtu(self, r):
        payload = r.workdir / "payload"
        payload.write_bytes(os.urandom(PAYLOAD_LEN))
        for fam, port in ((4, 5311), (6, 5312)):
            why = tcp_transfer(r.ns["A"], r.ns["B"], r.host_addr("B", fam), port, payload,
                               r.workdir, timeout=20)
            assert why is None, "%s\n%s" % (why, r.diag())

    def test_show_tunnel_inner_mtu(self, r):
        """`show tunnel json` reports the inner MTU the dataplane enforces
        (g1 is L3: no inner Ethernet header)."""
        t = r.tunnel("A")
        assert t["overhead"] == GRE_OVERHEAD, t
        assert t["inner_mtu"] == SMALL_INNER_MTU, (
            "show tunnel says inner_mtu %d, the dataplane's ICMP errors say %d "
            "(uplink MTU %d - (overhead %d - 14))" % (
                t["inner_mtu"], SMALL_INNER_MTU, SMALL_UPLINK_MTU, t["overhead"]))
