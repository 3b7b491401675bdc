"""Helpers for interop tests: network namespaces and kernel tunnel support.

The bash side of the same checks lives in scripts/lib/topology.sh; these call
it so both agree.
"""
import os
import pathlib
import subprocess

ROOT = pathlib.Path(__file__).resolve().parents[2]
TOPOLOGY_SH = ROOT / "scripts" / "lib" / "topology.sh"


def _topology(func, *args):
    cmd = 'source "$0"; %s "$@"' % func
    return subprocess.run(["bash", "-c", cmd, str(TOPOLOGY_SH), *args],
                          capture_output=True, text=True, timeout=60)


def netns_unusable_reason():
    """None if this process can create network namespaces, else why not."""
    if os.geteuid() != 0:
        return "needs root to create network namespaces"
    probe = "tundra-probe-py-%d" % os.getpid()
    r = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if r.returncode != 0:
        return "cannot create network namespaces: `ip netns add` failed: %s" % (
            r.stderr.strip() or "exit status %d" % r.returncode)
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


def kernel_supports(link_type):
    """True if the kernel can create a link of this type (vxlan, geneve,
    gretap, gre, ip6gre, ip6gretap) — probed in a scratch namespace."""
    return _topology("topo_kernel_supports", link_type).returncode == 0
