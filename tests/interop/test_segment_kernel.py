"""Interop: one tundra segment with two Linux kernel VXLAN VTEPs (the topology
is segment_topology.py's): the host behind tundra pings and moves 1 MiB over TCP
to and from the hosts on the kernels' vx0 devices, over an IPv4 and an IPv6
underlay; both sides learn each other's MACs from traffic; no mbuf leaks.
"""
import json
import os

import pytest

from segment_topology import OVERLAY4, OVERLAY6, PAYLOAD_LEN, UNDERLAYS, ThreeVteps
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
    assert seg["drops"] == 0, seg
    for r in seg["remotes"]:
        assert r["decap_packets"] > 0 and r["encap_packets"] > 0, seg


def test_no_mbuf_leak(vteps):
    def settled():
        pools = vteps.tundra.show("mempool", "mempools")["mempools"]
        return {p["name"]: p["in_use"] for p in pools} == vteps.baseline
    assert wait_until(settled, 5, interval=0.2), vteps.diag()
