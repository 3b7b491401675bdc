"""Interop: one tundra segment with two Linux kernel VXLAN VTEPs, one of them
behind a Linux router (the topology is segment_topology.py's): the host behind
tundra pings and moves 1 MiB over TCP to and from the hosts on the kernels' vx0
devices, over an IPv4 and an IPv6 underlay; nobody has a static neighbor entry,
tundra resolves v1 and the router itself and routes to v2 via the router; both
sides learn each other's MACs from traffic; no mbuf leaks.
"""
import json
import os

import pytest

from segment_topology import OVERLAY4, OVERLAY6, PAYLOAD_LEN, ROUTERS, UNDERLAYS, ThreeVteps
from tundra_netns import kernel_supports
from tundra_proc import ping, received, require_interop, run, tcp_transfer, wait_until


@pytest.fixture(scope="module", autouse=True)
def preconditions():
    require_interop(("ip", "ping", "sysctl", "bridge"))
    if not kernel_supports("vxlan"):
        pytest.skip("kernel has no vxlan link type")


@pytest.fixture(scope="module", params=[4, 6], ids=["ipv4-underlay", "ipv6-underlay"])
def vteps(request, tmp_path_factory):
    v = ThreeVteps(tmp_path_factory.mktemp("seg%d" % request.param), request.param)
    yield v
    left = v.close()
    assert not left, "left behind after teardown: %s" % left


def test_host_pings_both_kernel_vteps(vteps):
    for i, k in ((1, "v1"), (2, "v2")):
        for addr in (OVERLAY4[i], OVERLAY6[i]):
            r = ping(vteps.ns["h0"], addr, count=3)
            assert received(r) >= 2, "h0 -> %s (%s): %s\n%s" % (
                addr, k, r.stdout + r.stderr, vteps.diag())
    # And the kernels back, towards the host behind tundra.
    for k in ("v1", "v2"):
        r = ping(vteps.ns[k], OVERLAY4[0], count=2)
        assert received(r) >= 1, "%s -> h0: %s\n%s" % (k, r.stdout + r.stderr, vteps.diag())


def test_tcp_1mib_both_ways(vteps, tmp_path):
    payload = tmp_path / "payload"
    payload.write_bytes(os.urandom(PAYLOAD_LEN))
    for frm, to, addr, port in (("h0", "v1", OVERLAY4[1], 5201), ("v2", "h0", OVERLAY4[0], 5202),
                                ("h0", "v2", OVERLAY6[2], 5203)):
        err = tcp_transfer(vteps.ns[frm], vteps.ns[to], addr, port, payload, tmp_path)
        assert err is None, "%s -> %s: %s\n%s" % (frm, to, err, vteps.diag())


def test_both_sides_learned(vteps):
    local, a1, a2, _ = UNDERLAYS[vteps.fam]
    want = {vteps.host_mac: ("port", 1), vteps.vx_mac["v1"]: ("remote", a1),
            vteps.vx_mac["v2"]: ("remote", a2)}

    def learned():
        got = {e["mac"]: ("port", e["port"]) if "port" in e else ("remote", e["remote"])
               for e in vteps.fdb() if e["kind"] == "learned"}
        return all(got.get(m) == w for m, w in want.items())

    assert wait_until(learned, 5, interval=0.2), "want %s\n%s" % (want, vteps.diag())
    # The kernels learned tundra's host behind tundra's VTEP address.
    for k in ("v1", "v2"):
        out = run(["bridge", "-j", "fdb", "show", "dev", "vx0"], ns=vteps.ns[k]).stdout
        entries = json.loads(out or "[]")
        assert any(e.get("mac") == vteps.host_mac and e.get("dst") == local for e in entries), (
            k, entries)
    seg = vteps.segment()
    assert seg["learned"] >= 3 and seg["flooded"] >= 1, seg
    assert seg["drops"] == vteps.drops_at_start, "%s\n%s" % (json.dumps(seg["drop_reasons"]), vteps.diag())
    for r in seg["remotes"]:
        assert r["decap_packets"] > 0 and r["encap_packets"] > 0, seg


def test_underlay_resolved_by_tundra(vteps):
    """tundra found v1's and the router's MACs itself (no `neigh add`), v2's
    remote goes through the router, and the kernels resolved tundra's VTEP
    address by asking it."""
    local, a1, a2, _ = UNDERLAYS[vteps.fam]
    router = ROUTERS[vteps.fam][0]
    neighbors = {n["ip"]: n for n in vteps.neighbors() if n["port"] == 0}
    for ip, mac in ((a1, vteps.v1_mac), (router, vteps.router_mac)):
        n = neighbors.get(ip)
        assert n is not None, "%s not a neighbor\n%s" % (ip, vteps.diag())
        assert n["mac"] == mac and n["learned"] and n["state"] in ("reachable", "stale"), n
    assert a2 not in neighbors, neighbors
    remotes = {r["ip"]: r for r in vteps.segment()["remotes"]}
    assert remotes[a1]["next_hop"] == a1 and remotes[a2]["next_hop"] == router, remotes
    # v1 holds tundra's MAC for tundra's VTEP address (from tundra's request or its
    # answer), the router too; v2 holds the router's.
    tundra_mac = vteps.tundra.show("port info 0", "ports")["ports"][0]["mac"]
    for k, ip, mac in (("v1", local, tundra_mac), ("rt", local, tundra_mac),
                       ("v2", ROUTERS[vteps.fam][1], vteps.router_far_mac)):
        out = run(["ip", "-j", "neigh", "show", ip], ns=vteps.ns[k]).stdout
        assert any(e.get("lladdr") == mac for e in json.loads(out or "[]")), (k, ip, mac, out)


def test_no_mbuf_leak(vteps):
    assert wait_until(lambda: vteps.tundra.mbufs_in_use() == vteps.baseline, 5,
                      interval=0.2), "baseline %s\n%s" % (vteps.baseline, vteps.diag())
