"""Interop: tundra against the Linux kernel's own VXLAN device.

Runs scripts/demo.sh (network namespaces, veths, net_af_packet ports, a
kernel vxlan VTEP) once per underlay family. The demo's own exit status says
whether ping and TCP crossed both ways; this test also reads the JSON
counters it prints to check the traffic really went through tundra's tunnel
and the kernel's vx0, and that the topology was torn down afterwards.
"""
import json
import re
import subprocess

import pytest

from tundra_netns import ROOT, kernel_supports, netns_unusable_reason

DEMO = ROOT / "scripts" / "demo.sh"
DEMO_TIMEOUT_S = 900  # includes a first build when build/ is cold


@pytest.fixture(scope="module", autouse=True)
def require_netns():
    reason = netns_unusable_reason()
    if reason:
        pytest.skip(reason)
    if not kernel_supports("vxlan"):
        pytest.skip("kernel has no vxlan link type")


def _json_lines(out):
    """{'ports': obj, 'tunnels': obj, 'vtep_vx0': obj} from '[demo] json' lines."""
    found = {}
    for m in re.finditer(r"^\[demo\] json (\S+) (.*)$", out, re.M):
        found[m.group(1)] = json.loads(m.group(2))
    return found


@pytest.mark.parametrize("underlay", ["ipv4", "ipv6"])
def test_demo_kernel_vxlan(underlay):
    try:
        r = subprocess.run([str(DEMO), "--underlay", underlay], cwd=ROOT,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, timeout=DEMO_TIMEOUT_S)
    except subprocess.TimeoutExpired as e:
        pytest.fail("demo.sh --underlay %s ran past %d s:\n%s" % (
            underlay, DEMO_TIMEOUT_S, e.output or ""))
    out = r.stdout
    if r.returncode == 77:
        skip = [l for l in out.splitlines() if "SKIP" in l]
        pytest.skip(skip[-1] if skip else "demo.sh: environment cannot run it")
    assert r.returncode == 0, "demo.sh --underlay %s exited %d:\n%s" % (
        underlay, r.returncode, out)
    assert "[demo] PASS" in out, out

    j = _json_lines(out)
    assert {"ports", "tunnels", "vtep_vx0"} <= j.keys(), out

    t1 = [t for t in j["tunnels"]["tunnels"] if t["name"] == "t1"]
    assert len(t1) == 1, j["tunnels"]
    assert t1[0]["encap_packets"] > 0, t1[0]
    assert t1[0]["decap_packets"] > 0, t1[0]

    ports = {p["port"]: p for p in j["ports"]["ports"]}
    for port in (0, 1):
        assert ports[port]["rx_packets"] > 0, ports
        assert ports[port]["tx_packets"] > 0, ports

    # The kernel VTEP both sent and received through its vxlan device: the
    # only path between the namespaces is the veths tundra owns.
    vx = j["vtep_vx0"][0]["stats64"]
    assert vx["rx"]["packets"] > 0, vx
    assert vx["tx"]["packets"] > 0, vx

    # No mbuf leaked: after the traffic (and `wait idle`), every pool is back
    # to its in-use count from before the traffic.
    assert {"mempools", "mempools_baseline"} <= j.keys(), out
    before = {p["name"]: p["in_use"] for p in j["mempools_baseline"]["mempools"]}
    after = {p["name"]: p["in_use"] for p in j["mempools"]["mempools"]}
    assert after == before, "mbufs in use before %s, after %s" % (before, after)

    # Torn down: the run's namespaces and root-ns veth ends are gone.
    m = re.search(r"topology: tundra-host-(\d+) ", out)
    assert m, out
    pid = m.group(1)
    netns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert "tundra-host-%s" % pid not in netns and "tundra-vtep-%s" % pid not in netns, netns
    for ifname in ("tdu" + pid, "tda" + pid):
        assert subprocess.run(["ip", "link", "show", ifname],
                              capture_output=True).returncode != 0, ifname + " left behind"
