"""Interop: a segment in multicast-group mode (RFC 7348 §4.2) with two Linux
kernel VXLAN VTEPs in `group` mode on one underlay LAN.

  ns h0: host ── veth ── tundra port 1 (member of segment blue)
  tundra port 0 (uplink) ── veth ──┐
  ns v1: kernel vx0 group G ── veth ┼── bridge br0 in ns ul: IGMP/MLD snooping
  ns v2: kernel vx0 group G ── veth ┘   with the bridge as querier

Nobody lists anybody: the kernels have no FDB entries but the group, and
tundra's segment has no remotes but the group and `unknown-remote learn`.
The bridge snoops and queries, so it forwards the group's packets only to
ports that joined: tundra's port gets them only because tundra's IGMPv3 /
MLDv2 reports said so, which the kernel's `bridge mdb` shows. The hosts on
all three ping each other and move 1 MiB over TCP (hash checked); tundra
learns the kernels' VTEPs from what they send to the group.
"""
import json
import os
import pathlib

import pytest

from segment_topology import kernel_vtep, start_tundra, underlay_bridge
from tundra_netns import kernel_supports
from tundra_proc import (Topology, describe, ns_mac, ping, received, require_interop, run,
                         tcp_transfer, wait_until)

VNI = 6000
UNDERLAYS = {
    # family: (tundra, v1, v2, prefix length, group)
    4: ("10.97.0.1", "10.97.0.2", "10.97.0.3", 24, "239.1.1.1"),
    6: ("fd97::1", "fd97::2", "fd97::3", 64, "ff0e::5:1"),
}
OVERLAY4 = ("192.168.60.1", "192.168.60.2", "192.168.60.3")
OVERLAY6 = ("fd60::1", "fd60::2", "fd60::3")


@pytest.fixture(scope="module", autouse=True)
def preconditions():
    require_interop(("ip", "ping", "sysctl", "bridge"))
    if not kernel_supports("vxlan"):
        pytest.skip("kernel has no vxlan link type")


class GroupVteps:
    def __init__(self, workdir, fam):
        pid = os.getpid()
        self.fam = fam
        self.topo = Topology()
        tag = "g%d" % fam
        self.ns = {k: "tundra-%s%s-%d" % (tag, k, pid) for k in ("h0", "tn", "ul", "v1", "v2")}
        self.ifs = {k: "t%s%s%d" % (tag, k, pid) for k in
                    ("acc", "hst", "up", "ub0", "v1e", "ub1", "v2e", "ub2")}
        self.tundra = None
        try:
            self._build(pathlib.Path(workdir))
        except BaseException:
            self.close()
            raise

    def _build(self, workdir):
        t, ns, i = self.topo, self.ns, self.ifs
        local, a1, a2, plen, group = UNDERLAYS[self.fam]
        for n in ns.values():
            t.netns(n)
        t.veth(i["acc"], i["hst"])
        t.veth(i["up"], i["ub0"])
        t.veth(i["v1e"], i["ub1"])
        t.veth(i["v2e"], i["ub2"])
        # Snooping with the bridge as the querier: group traffic reaches only the
        # ports that reported the group (no flooding of registered groups).
        underlay_bridge(t, ns["ul"], [i[p] for p in ("ub0", "ub1", "ub2")], "mcast_snooping",
                        "1", "mcast_querier", "1", "mcast_query_interval", "1000")
        t.tundra_end(i["up"], ns=ns["tn"])
        t.tundra_end(i["acc"], ns=ns["tn"])
        overlay_mtu = 1450 if self.fam == 4 else 1430
        t.host_end(i["hst"], ns["h0"], ["%s/24" % OVERLAY4[0], "%s/64" % OVERLAY6[0]],
                   mtu=overlay_mtu)
        self.host_mac = ns_mac(ns["h0"], i["hst"])
        self.vx_mac = {}
        for k, me, o4, o6 in (("v1", a1, OVERLAY4[1], OVERLAY6[1]),
                              ("v2", a2, OVERLAY4[2], OVERLAY6[2])):
            self.vx_mac[k] = kernel_vtep(t, ns[k], i["%se" % k], "%s/%d" % (me, plen), o4, o6,
                                         VNI, ["group", group])
        self.tundra = start_tundra("grp%d" % self.fam, workdir, [i["up"], i["acc"]], ns["tn"])
        cfg = ["port config 0 role uplink",
               "port config 0 address %s/%d" % (local, plen),
               "port config 1 role access",
               "segment add blue type vxlan local %s vni %d" % (local, VNI),
               "segment blue member port 1",
               "segment blue group %s" % group,
               "segment blue unknown-remote learn",
               "start"]
        self.tundra.query(*cfg, "show segment json", key="segments", timeout=60)
        self.baseline = self.tundra.mbufs_in_use(settle=0.3)

    def mdb_ports(self):
        """The bridge ports the kernel's snooping has as members of the group."""
        group = UNDERLAYS[self.fam][4]
        out = run(["bridge", "-j", "mdb", "show", "dev", "br0"], ns=self.ns["ul"]).stdout
        ports = set()
        for dev in json.loads(out or "[]"):
            for e in dev.get("mdb", []):
                if e.get("grp") == group:
                    ports.add(e.get("port"))
        return ports

    def segment(self):
        return self.tundra.show("segment blue", "segments")["segments"][0]

    def fdb(self):
        return self.tundra.show("fdb blue", "fdb")["fdb"]

    def diag(self):
        mdb = run(["bridge", "mdb", "show"], ns=self.ns["ul"]).stdout
        return describe(self.tundra, "segment blue", "fdb blue", "neigh",
                        "port stats all") + "\nbridge mdb:\n" + mdb

    def close(self):
        return self.topo.teardown(self.tundra)


@pytest.fixture(scope="module", params=[4, 6], ids=["ipv4-underlay", "ipv6-underlay"])
def vteps(request, tmp_path_factory):
    v = GroupVteps(tmp_path_factory.mktemp("grp%d" % request.param), request.param)
    yield v
    left = v.close()
    assert not left, "left behind after teardown: %s" % left


def test_tundra_joined_the_group(vteps):
    """The bridge's snooping took tundra's report: its port is a member."""
    up_port = vteps.ifs["ub0"]
    assert wait_until(lambda: up_port in vteps.mdb_ports(), 10, interval=0.2), vteps.diag()
    assert {vteps.ifs["ub1"], vteps.ifs["ub2"]} <= vteps.mdb_ports(), vteps.diag()


def test_hosts_ping_through_the_group(vteps):
    for i in (1, 2):
        for addr in (OVERLAY4[i], OVERLAY6[i]):
            r = ping(vteps.ns["h0"], addr, count=3)
            assert received(r) >= 2, "h0 -> %s: %s\n%s" % (addr, r.stdout + r.stderr,
                                                           vteps.diag())
    for k in ("v1", "v2"):
        r = ping(vteps.ns[k], OVERLAY4[0], count=2)
        assert received(r) >= 1, "%s -> h0: %s\n%s" % (k, r.stdout + r.stderr, vteps.diag())


def test_tcp_1mib_both_ways(vteps, tmp_path):
    payload = tmp_path / "payload"
    payload.write_bytes(os.urandom(1 << 20))
    for frm, to, addr, port in (("h0", "v1", OVERLAY4[1], 5301), ("v2", "h0", OVERLAY4[0], 5302),
                                ("h0", "v2", OVERLAY6[2], 5303)):
        err = tcp_transfer(vteps.ns[frm], vteps.ns[to], addr, port, payload, tmp_path)
        assert err is None, "%s -> %s: %s\n%s" % (frm, to, err, vteps.diag())


def test_remotes_learned_from_the_group(vteps):
    """tundra learned both kernels' VTEPs (listed nowhere) and their MACs; BUM
    went to the group; the kernels learned tundra's host at tundra's VTEP."""
    local, a1, a2, _, group = UNDERLAYS[vteps.fam]
    want = {vteps.vx_mac["v1"]: a1, vteps.vx_mac["v2"]: a2}

    def learned():
        got = {e["mac"]: e.get("remote") for e in vteps.fdb() if e["kind"] == "learned"}
        return all(got.get(m) == r for m, r in want.items())

    assert wait_until(learned, 5, interval=0.2), "want %s\n%s" % (want, vteps.diag())
    seg = vteps.segment()
    assert seg["group"] == group and seg["group_encap_packets"] > 0, seg
    assert sorted(r["ip"] for r in seg["remotes"] if r["learned"]) == sorted([a1, a2]), seg
    # A remote learned from the group is resolved (ARP/ND) on its first use, and encap
    # drops while its next hop is unresolved (tables.h, rule 11): a frame sent to it in
    # that moment may be a no-neighbor drop, at most one per learned remote. Nothing else.
    others = {r: n for r, n in seg["drop_reasons"].items() if n and r != "no-neighbor"}
    assert not others and seg["drop_reasons"].get("no-neighbor", 0) <= 2, \
        "%s\n%s" % (json.dumps(seg["drop_reasons"]), vteps.diag())
    for k in ("v1", "v2"):
        out = run(["bridge", "-j", "fdb", "show", "dev", "vx0"], ns=vteps.ns[k]).stdout
        entries = json.loads(out or "[]")
        assert any(e.get("mac") == vteps.host_mac and e.get("dst") == local for e in entries), (
            k, entries)


def test_no_mbuf_leak(vteps):
    assert wait_until(lambda: vteps.tundra.mbufs_in_use() == vteps.baseline, 5,
                      interval=0.2), "baseline %s\n%s" % (vteps.baseline, vteps.diag())
