"""Helpers for interop tests: network namespaces and kernel tunnel support.

scripts/lib/topology.sh holds the recipes (probing, namespace and veth-end
setup) that scripts/demo.sh and these tests share; topology_sh() runs one of
its functions, so both sides do the same.
"""
import os
import pathlib
import shlex
import subprocess

ROOT = pathlib.Path(__file__).resolve().parents[2]
TOPOLOGY_SH = ROOT / "scripts" / "lib" / "topology.sh"


def topology_sh(func, *args, check=True, timeout=60):
    """Runs scripts/lib/topology.sh's function `func` with `args` in a fresh
    bash; returns the CompletedProcess. With check, a failure raises
    AssertionError naming the call and its stderr."""
    cmd = 'source "$0"; %s "$@"' % func
    r = subprocess.run(["bash", "-c", cmd, str(TOPOLOGY_SH), *map(str, args)],
                       capture_output=True, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise AssertionError("topology.sh `%s` exited %d: %s" % (
            shlex.join([func, *map(str, args)]), r.returncode,
            (r.stderr or r.stdout).strip()))
    return r


def netns_unusable_reason():
    """None if this process can create network namespaces, else why not."""
    if os.geteuid() != 0:
        return "needs root to create network namespaces"
    r = topology_sh("topo_netns_usable", check=False)
    if r.returncode != 0:
        return "cannot create network namespaces: `ip netns add` failed: %s" % (
            r.stderr.strip() or "exit status %d" % r.returncode)
    return None


def kernel_link_error(link_type):
    """Why the kernel cannot create a link of this type (vxlan, geneve,
    gretap, gre, ip6gre, ip6gretap): the `ip link add` error text, probed in
    a scratch namespace; None if it can."""
    r = topology_sh("topo_kernel_supports", link_type, check=False)
    if r.returncode == 0:
        return None
    return r.stderr.strip() or "exit status %d" % r.returncode


def kernel_supports(link_type):
    """True if the kernel can create a link of this type."""
    return kernel_link_error(link_type) is None


def kernel_esp_error():
    """Why the kernel cannot hold an ESP transport SA with AES-GCM (no CONFIG_INET_ESP or
    CONFIG_CRYPTO_GCM): `ip xfrm state add`'s error, probed in a scratch namespace; None if
    it can."""
    r = topology_sh("topo_kernel_esp", check=False)
    if r.returncode == 0:
        return None
    return r.stderr.strip() or "exit status %d" % r.returncode
