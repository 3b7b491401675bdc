"""Interop: the Linux kernel pings tundra's own addresses with iputils ping.

  ns peer  192.0.2.2/24 2001:db8::2/64 ── veth ── tundra port 0 (uplink,
                                                   VTEP 192.0.2.1, 2001:db8::1)
  ns host  10.1.0.2/24 fd01::2/64      ── veth ── tundra port 1 (routed access,
                                                   10.1.0.1/24, fd01::1/64)

No static neighbor entries: the kernel resolves tundra from its ARP/ND
answers, then pings the VTEP addresses and the gateway addresses, IPv4 and
IPv6, with small, odd and large payloads. ping itself checks each reply
(source address, identifier, sequence number, data); the test checks every
request got its reply, tundra's echo_replies counters are exact and its
mbufs are back to where they were. Skipped (visibly) when namespaces or
`ping` are not available; scripts/install-deps.sh installs iputils-ping.
"""
import os
import pathlib

import pytest

from tundra_proc import Topology, Tundra, TundraError, ping, received, require_interop

# (ping -s payload sizes): the default, odd ones, and one near the MTU
SIZES = (56, 1, 333, 1400)
COUNT = 2

VTEP4, VTEP6 = "192.0.2.1", "2001:db8::1"
PEER4, PEER6 = "192.0.2.2/24", "2001:db8::2/64"
GW4, GW6 = "10.1.0.1", "fd01::1"
HOST4, HOST6 = "10.1.0.2/24", "fd01::2/64"


@pytest.fixture(scope="module", autouse=True)
def preconditions():
    require_interop(tools=("ip", "ping", "sysctl", "timeout"))


class EchoTopology:
    def __init__(self, workdir):
        pid = os.getpid()
        # Names unique to this process and to this test ("e"): other
        # engineers' interop tests may run at the same time.
        self.peer_ns = "tundra-epeer-%d" % pid
        self.host_ns = "tundra-ehost-%d" % pid
        self.rtr_ns = "tundra-ertr-%d" % pid
        self.up, self.up_peer = "teu%d" % pid, "tev%d" % pid
        self.acc, self.acc_host = "tea%d" % pid, "teh%d" % pid
        self.topo = Topology()
        self.tundra = None
        try:
            self._build(pathlib.Path(workdir))
        except BaseException:
            self.close()
            raise

    def _build(self, workdir):
        t = self.topo
        for ns in (self.peer_ns, self.host_ns, self.rtr_ns):
            t.netns(ns)
        t.veth(self.up, self.up_peer)
        t.veth(self.acc, self.acc_host)
        t.tundra_end(self.up, ns=self.rtr_ns)
        t.tundra_end(self.acc, ns=self.rtr_ns)
        t.host_end(self.up_peer, self.peer_ns, [PEER4, PEER6])
        t.host_end(self.acc_host, self.host_ns, [HOST4, HOST6])
        self.tundra = Tundra("echo", workdir, [self.up, self.acc], ["--lcores=0@0,1@1"],
                             netns=self.rtr_ns)
        self.tundra.start()
        self.tundra.query("port config 0 role uplink",
                          "port config 0 address %s/24" % VTEP4,
                          "port config 0 address %s/64" % VTEP6,
                          "port config 1 role access",
                          "port config 1 address %s/24" % GW4,
                          "port config 1 address %s/64" % GW6,
                          "start", "show port info all json", key="ports", timeout=60)
        self.baseline = self.tundra.mbufs_in_use(settle=0.3)

    def port(self, p):
        ports = self.tundra.show("port stats all", "ports")["ports"]
        return [e for e in ports if e["port"] == p][0]

    def close(self):
        made = list(self.topo.created)
        if self.tundra is not None:
            self.tundra.stop()
        self.topo.destroy()
        return self.topo.leftovers(made)


@pytest.fixture(scope="module")
def topo(tmp_path_factory):
    e = EchoTopology(tmp_path_factory.mktemp("echo"))
    yield e
    left = e.close()
    assert not left, "left behind after teardown: %s" % left


TARGETS = [("peer", VTEP4, 0), ("peer", VTEP6, 0), ("host", GW4, 1), ("host", GW6, 1)]


@pytest.mark.parametrize("who,addr,port", TARGETS,
                         ids=["vtep-v4", "vtep-v6", "gateway-v4", "gateway-v6"])
def test_kernel_pings_tundra(topo, who, addr, port):
    ns = topo.peer_ns if who == "peer" else topo.host_ns
    # The first ping also makes the kernel resolve tundra (ARP / ND); a
    # request lost to that is resent below, so count replies, not requests.
    ping(ns, addr, count=1, wait=2, timeout=10)
    before = topo.port(port)
    sent = 0
    for size in SIZES:
        r = ping(ns, addr, count=COUNT, size=size, interval=0.2, wait=2)
        sent += COUNT
        assert received(r) == COUNT, (
            "ping -s %d %s from %s: %d of %d replies\n%s\n%s\ntundra port %d: %s" % (
                size, addr, who, received(r), COUNT, r.stdout, r.stderr, port,
                topo.port(port)))
        assert "DUP!" not in r.stdout and "wrong data" not in r.stdout, r.stdout
    after = topo.port(port)
    assert after["echo_replies"] - before["echo_replies"] == sent, (before, after)
    # The kernel sends other things too (MLD, router solicitations): only the
    # echo drop reasons must not move.
    for k in ("bad-icmp", "ip-options", "ip-fragment"):
        assert after["drop_reasons"][k] == before["drop_reasons"][k], (k, before, after)


def test_mempool_back_to_baseline(topo):
    try:
        now = topo.tundra.mbufs_in_use()
    except TundraError as e:
        pytest.fail(str(e))
    assert now == topo.baseline, "mbufs in use: %s, before the pings: %s" % (
        now, topo.baseline)
