"""Interop: tundra against the Linux kernel's GENEVE, GRE and GRETAP devices.

The demo topology (scripts/demo.sh), once per tunnel type and underlay:

  ns host  ── veth ── [ns rtr] tundra port 1 (access)
                               tundra port 0 (uplink) ── veth ── ns vtep
  ns vtep: the underlay address on its veth and a kernel tunnel device

L2 types (geneve, gretap, ip6gretap): tundra cross-connects the access port
into the tunnel; the kernel device holds the tenant's peer (10.10.0.2,
fd10::2), the host 10.10.0.1, fd10::1, one subnet across the overlay.

L3 types (gre, ip6gre): tundra's access port is routed (10.1.0.1/24,
fd01::1/64; the host 10.1.0.2, fd01::2 uses it as default gateway) and
routes 10.2.0.0/24, fd02::/64 into the tunnel; the kernel gre device holds
10.2.0.2, fd02::2 and routes the host's subnet back into it.

Each case pings both ways over IPv4 and IPv6 overlays, moves 1 MiB over TCP
each way per overlay family (SHA-256 checked), and checks tundra's tunnel
counters, the kernel device's counters and that no mbuf leaked.

test_df_inherit_matches_kernel sets `df inherit` on both VTEPs (vxlan, geneve),
pings over IPv4 with DF set and clear and over IPv6 both ways, captures the
underlay and checks with tshark that tundra's outer DF bit is the kernel's for
every inner kind.

A case whose kernel lacks the device type is skipped, with the kernel's
error. The vxlan case exercises the same L2 body on kernels without the
others (test_kernel_vxlan.py covers vxlan itself through scripts/demo.sh).
"""
import json
import os
import shutil
import signal
import subprocess

import pytest

from tundra_netns import kernel_link_error, kernel_supports
from tundra_proc import (Topology, Tundra, TundraError, lcore_args, ns_mac, ping, received,
                         require_interop, run, tcp_transfer, wait_until)

VNI = 100
GRE_KEY = 42
UNDERLAY = {
    # underlay: (tundra address, kernel VTEP address, prefix length, IP header)
    "ipv4": ("192.0.2.1", "192.0.2.2", 24, 20),
    "ipv6": ("2001:db8::1", "2001:db8::2", 64, 40),
}

# id: (kernel link type, underlay, tundra type, extra kernel args)
CASES = {
    "vxlan-ipv4": ("vxlan", "ipv4", "vxlan", []),
    "geneve-ipv4": ("geneve", "ipv4", "geneve", []),
    "geneve-ipv6": ("geneve", "ipv6", "geneve", []),
    "gretap-ipv4": ("gretap", "ipv4", "gretap", []),
    # ip6gre/ip6gretap insert an RFC 2473 tunnel encapsulation limit
    # destination option unless told not to; these cases turn it off, the
    # -encaplimit case keeps the kernel's default.
    "ip6gretap-ipv6": ("ip6gretap", "ipv6", "gretap", ["encaplimit", "none"]),
    "ip6gretap-ipv6-encaplimit": ("ip6gretap", "ipv6", "gretap", []),
    "gre-ipv4": ("gre", "ipv4", "gre", []),
    "ip6gre-ipv6": ("ip6gre", "ipv6", "gre", ["encaplimit", "none"]),
}

# `df inherit` on both sides (test_df_inherit_matches_kernel): the kernel's vxlan and
# geneve devices have the option; its GRE devices do not (pmtudisc instead).
DF_CASES = {
    "vxlan-ipv4-df-inherit": ("vxlan", "ipv4", "vxlan", ["df", "inherit"]),
    "geneve-ipv4-df-inherit": ("geneve", "ipv4", "geneve", ["df", "inherit"]),
}


def header_len(ttype, underlay):
    """Outer bytes added on the wire (not counting outer Ethernet)."""
    ip = UNDERLAY[underlay][3]
    if ttype in ("vxlan", "geneve"):
        return ip + 8 + 8                       # UDP + VXLAN/GENEVE (no options)
    return ip + 4 + 4 + 4 + 4                   # GRE + csum + key + seq


def l2_type(ttype):
    return ttype in ("vxlan", "geneve", "gretap")


@pytest.fixture(scope="module", autouse=True)
def preconditions():
    require_interop()


class KernelPeer:
    """host ns, tundra (in a namespace of its own), kernel VTEP ns. Subclasses add to
    both VTEPs through _kernel_extra() and _tundra_extra(), and take ENCAP_EXTRA more
    bytes from the inner MTU."""
    ENCAP_EXTRA = 0
    TUNDRA_FLAGS = ()

    def __init__(self, workdir, case, spec=None):
        self.case = case
        self.ktype, self.underlay, self.ttype, self.kargs = spec or {**CASES, **DF_CASES}[case]
        self.l2 = l2_type(self.ttype)
        self.workdir = workdir
        pid = os.getpid()
        self.host_ns = "tundra-kh-%d" % pid
        self.rtr_ns = "tundra-kr-%d" % pid
        self.vtep_ns = "tundra-kv-%d" % pid
        self.acc, self.host_if = "tka%d" % pid, "tkh%d" % pid
        self.up, self.vtep_if = "tku%d" % pid, "tkv%d" % pid
        self.kdev = "ktun0"
        self.local, self.remote, self.plen, _ = UNDERLAY[self.underlay]
        # Inner IP MTU: the uplink's 1500 less the outer IP and tunnel
        # headers, less the inner Ethernet header for L2 types, less 8 for
        # the encapsulation limit option when the kernel sends one.
        self.mtu = 1500 - header_len(self.ttype, self.underlay) - (14 if self.l2 else 0)
        if self.ktype.startswith("ip6gre") and "encaplimit" not in self.kargs:
            self.mtu -= 8
        self.mtu -= self.ENCAP_EXTRA
        if self.l2:
            self.host_addrs = ("10.10.0.1", "fd10::1")
            self.peer_addrs = ("10.10.0.2", "fd10::2")
        else:
            self.host_addrs = ("10.1.0.2", "fd01::2")
            self.peer_addrs = ("10.2.0.2", "fd02::2")
        self.topo = Topology()
        self.tundra = None
        self.baseline = None
        try:
            self._build()
        except BaseException:
            self.close()
            raise

    def _kernel_device_args(self):
        if self.ktype == "vxlan":
            return ["id", str(VNI), "local", self.remote, "remote", self.local,
                    "dstport", "4789", "dev", self.vtep_if, *self.kargs]
        if self.ktype == "geneve":
            return ["id", str(VNI), "remote", self.local, "dstport", "6081", *self.kargs]
        return ["local", self.remote, "remote", self.local, "key", str(GRE_KEY),
                "csum", "seq", *self.kargs]

    def _tundra_tunnel(self):
        base = "tunnel add t1 type %s local %s remote %s" % (self.ttype, self.local, self.remote)
        if "df" in self.kargs:
            base += " df " + self.kargs[self.kargs.index("df") + 1]
        if self.ttype == "vxlan":
            return base + " vni %d" % VNI
        if self.ttype == "geneve":
            return base + " vni %d dstport 6081" % VNI
        return base + " key %d csum on seq on" % GRE_KEY

    def _build(self):
        t = self.topo
        for ns in (self.host_ns, self.rtr_ns, self.vtep_ns):
            t.netns(ns)
        t.veth(self.acc, self.host_if)
        t.veth(self.up, self.vtep_if)
        t.tundra_end(self.acc, ns=self.rtr_ns)
        t.tundra_end(self.up, ns=self.rtr_ns)

        # Kernel VTEP: underlay address on the veth, the tunnel device on top.
        v = self.vtep_ns
        t.host_end(self.vtep_if, v, ["%s/%d" % (self.remote, self.plen)])
        run(["ip", "link", "add", self.kdev, "type", self.ktype,
             *self._kernel_device_args()], ns=v)
        run(["sysctl", "-qw", "net.ipv6.conf.%s.accept_dad=0" % self.kdev], ns=v, check=False)
        run(["ip", "link", "set", self.kdev, "mtu", str(self.mtu), "up"], ns=v)
        if self.l2:
            run(["ip", "addr", "add", "%s/24" % self.peer_addrs[0], "dev", self.kdev], ns=v)
            run(["ip", "addr", "add", "%s/64" % self.peer_addrs[1], "dev", self.kdev,
                 "nodad"], ns=v)
        else:
            run(["ip", "addr", "add", "%s/32" % self.peer_addrs[0], "dev", self.kdev], ns=v)
            run(["ip", "addr", "add", "%s/128" % self.peer_addrs[1], "dev", self.kdev,
                 "nodad"], ns=v)
            run(["ip", "route", "add", "10.1.0.0/24", "dev", self.kdev], ns=v)
            run(["ip", "-6", "route", "add", "fd01::/64", "dev", self.kdev], ns=v)
        self._kernel_extra()

        # Tenant host.
        h = self.host_ns
        t.host_end(self.host_if, h, ["%s/24" % self.host_addrs[0],
                                     "%s/64" % self.host_addrs[1]], mtu=self.mtu)
        if not self.l2:
            run(["ip", "route", "add", "default", "via", "10.1.0.1"], ns=h)
            run(["ip", "-6", "route", "add", "default", "via", "fd01::1"], ns=h)

        self.tundra = Tundra("tundra-" + self.case, self.workdir, [self.up, self.acc],
                             lcore_args(), netns=self.rtr_ns, flags=self.TUNDRA_FLAGS)
        self.tundra.start()
        info = self.tundra.show("port info all", "ports", timeout=60)
        if len(info["ports"]) != 2:
            raise TundraError("%d ports probed, not 2; output:\n%s" % (
                len(info["ports"]), self.tundra.tail()))
        self.access_mac = info["ports"][1]["mac"]
        cfg = ["port config 0 role uplink",
               "port config 0 address %s/%d" % (self.local, self.plen),
               "port config 1 role access"]
        if not self.l2:
            cfg += ["port config 1 address 10.1.0.1/24", "port config 1 address fd01::1/64"]
        cfg += ["neigh add %s %s port 0" % (self.remote, ns_mac(v, self.vtep_if)),
                self._tundra_tunnel()]
        if self.l2:
            cfg.append("xconnect add 1 tunnel t1")
        else:
            cfg += ["route add 10.2.0.0/24 tunnel t1", "route add fd02::/64 tunnel t1"]
        cfg += self._tundra_extra()
        cfg.append("start")
        self.tundra.query(*cfg, "show tunnel json", key="tunnels", timeout=60)
        self.baseline = self.tundra.mbufs_in_use(settle=0.3)

    def _kernel_extra(self):
        """More for the kernel VTEP's namespace, before tundra starts."""

    def _tundra_extra(self):
        """More configuration lines for tundra, before `start`."""
        return []

    def learn_host(self):
        """L3: the host resolves its gateway (tundra answers ARP/ND and learns
        it); waits, polling `show neigh json`, until both addresses are in.
        Returns what is missing."""
        for gw in ("10.1.0.1", "fd01::1"):
            ping(self.host_ns, gw, count=1, wait=1, timeout=5)
        host_mac = ns_mac(self.host_ns, self.host_if)

        def learned():
            n = self.tundra.show("neigh", "neighbors")["neighbors"]
            return all(any(e["ip"] == ip and e["mac"] == host_mac and e["learned"] for e in n)
                       for ip in self.host_addrs)
        if wait_until(learned, 5, interval=0.2):
            return None
        return "tundra did not learn %s (%s): %s" % (
            self.host_addrs, host_mac, self.tundra.show("neigh", "neighbors"))

    def check_pings(self, wait=2, warm=False):
        """3 pings each way over both overlay families, every one answered. warm: each
        pair's first packet, which waits on ARP/ND across the overlay, is resolved (and
        not counted) first, for kernels slower than ping's wait (user-mode Linux)."""
        for fam in (0, 1):
            for ns, addr in ((self.host_ns, self.peer_addrs[fam]),
                             (self.vtep_ns, self.host_addrs[fam])):
                if warm:
                    wait_until(lambda: received(ping(ns, addr, count=1, wait=2)) == 1, 20)
                res = ping(ns, addr, count=3, wait=wait)
                assert received(res) == 3, "%s: ping %s from %s:\n%s\n%s" % (
                    self.case, addr, ns, res.stdout + res.stderr, self.diag())

    def check_tcp(self, payload, port, workdir, timeout=20, both_ways=True):
        """`payload` over TCP host → peer (and back, both_ways) per overlay family, from
        port `port` on; SHA-256 checked. Returns the next free port."""
        for fam in (0, 1):
            pairs = [(self.host_ns, self.vtep_ns, self.peer_addrs[fam])]
            if both_ways:
                pairs.append((self.vtep_ns, self.host_ns, self.host_addrs[fam]))
            for src, dst, addr in pairs:
                why = tcp_transfer(src, dst, addr, port, payload, workdir, timeout=timeout)
                port += 1
                assert why is None, "%s: %s\n%s" % (self.case, why, self.diag())
        return port

    def tunnel(self):
        tunnels = self.tundra.show("tunnel stats", "tunnels")["tunnels"]
        t1 = [x for x in tunnels if x["name"] == "t1"]
        assert len(t1) == 1, tunnels
        return t1[0]

    def kernel_stats(self):
        out = run(["ip", "-s", "-j", "link", "show", self.kdev], ns=self.vtep_ns).stdout
        return json.loads(out)[0]["stats64"]

    def diag(self):
        if self.tundra is None or not self.tundra.alive():
            return "tundra not running"
        try:
            t = self.tunnel()
            ports = self.tundra.show("port stats all", "ports")["ports"]
        except TundraError as e:
            return str(e)
        lines = ["t1: encap %d decap %d drops %s" % (
            t["encap_packets"], t["decap_packets"],
            {k: v for k, v in t["drop_reasons"].items() if v})]
        for p in ports:
            lines.append("port %d: rx %d tx %d drops %s" % (
                p["port"], p["rx_packets"], p["tx_packets"],
                {k: v for k, v in p["drop_reasons"].items() if v}))
        try:
            lines.append("kernel %s: %s" % (self.kdev, json.dumps(self.kernel_stats())))
        except (AssertionError, ValueError, KeyError, IndexError) as e:
            lines.append("kernel %s: %s" % (self.kdev, e))
        return "\n".join(lines)

    def close(self):
        return self.topo.teardown(self.tundra)


@pytest.mark.parametrize("case", list(CASES))
def test_kernel_tunnel(case, tmp_path):
    ktype = CASES[case][0]
    if not kernel_supports(ktype):
        pytest.skip("kernel has no %s device: %s" % (
            ktype, kernel_link_error(ktype) or "ip link add failed"))
    k = KernelPeer(tmp_path, case)
    try:
        if not k.l2:
            missing = k.learn_host()
            assert missing is None, missing
        k.check_pings()
        payload = tmp_path / "payload"
        payload.write_bytes(os.urandom(1 << 20))
        k.check_tcp(payload, 5401, tmp_path)

        t = k.tunnel()
        assert t["type"] == k.ttype and t["resolved"], t
        assert t["encap_packets"] > 0 and t["decap_packets"] > 0, t
        ks = k.kernel_stats()
        assert ks["rx"]["packets"] > 0 and ks["tx"]["packets"] > 0, ks
        pools, _ = k.tundra.query("wait idle 300", "show mempool json", key="mempools")
        after = {p["name"]: p["in_use"] for p in pools["mempools"]}
        assert after == k.baseline, "mbufs in use before %s, after %s" % (k.baseline, after)
        rc = k.tundra.stop()
        assert rc == 0, "tundra exited %s after quit:\n%s" % (rc, k.tundra.tail())
    finally:
        left = k.close()
    assert not left, "left behind after teardown: %s" % left


def _outer_df_by_inner(pcap, local, remote):
    """{sender: {inner kind: set of outer DF bits}} from a capture of the underlay,
    as tshark dissects it; sender is "tundra" (outer source `local`) or "kernel";
    inner kind is "ipv4-df", "ipv4", "ipv6" or "other" (ARP)."""
    r = run(["tshark", "-r", str(pcap), "-d", "udp.port==6081,geneve", "-T", "fields",
             "-E", "separator=|", "-E", "occurrence=a", "-e", "ip.src", "-e", "ip.flags.df",
             "-e", "eth.type"], timeout=60)
    seen = {"tundra": {}, "kernel": {}}
    for line in r.stdout.splitlines():
        src, df, types = line.split("|")
        srcs, dfs, types = src.split(","), df.split(","), types.split(",")
        if srcs[0] not in (local, remote) or len(types) < 2:
            continue  # not a tunnel packet (the underlay's own ARP)
        inner = types[1]
        if inner == "0x0800":
            kind = "ipv4-df" if dfs[1] in ("1", "True") else "ipv4"
        elif inner == "0x86dd":
            kind = "ipv6"
        else:
            kind = "other"
        sender = "tundra" if srcs[0] == local else "kernel"
        seen[sender].setdefault(kind, set()).add(dfs[0] in ("1", "True"))
    return seen


@pytest.mark.parametrize("case", list(DF_CASES))
def test_df_inherit_matches_kernel(case, tmp_path):
    """Both VTEPs with `df inherit`: for every inner kind (IPv4 with and without DF,
    IPv6, ARP) tundra's outer DF bit is the kernel's."""
    ktype = DF_CASES[case][0]
    if not kernel_supports(ktype):
        pytest.skip("kernel has no %s device: %s" % (
            ktype, kernel_link_error(ktype) or "ip link add failed"))
    if shutil.which("tshark") is None:
        pytest.skip("'tshark' not installed")
    k = KernelPeer(tmp_path, case)
    cap = None
    try:
        pcap = tmp_path / "underlay.pcap"
        cap = subprocess.Popen(["ip", "netns", "exec", k.vtep_ns, "tshark", "-q", "-i",
                                k.vtep_if, "-w", str(pcap)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        assert wait_until(lambda: pcap.exists() and pcap.stat().st_size > 0, 15), \
            "tshark did not start capturing"
        # Each side pings the other over IPv4 with DF set and with DF clear, and over IPv6.
        for ns, peer in ((k.host_ns, k.peer_addrs), (k.vtep_ns, k.host_addrs)):
            for pmtu in ("do", "dont"):
                res = run(["ping", "-4", "-c", "2", "-i", "0.2", "-W", "2", "-M", pmtu,
                           peer[0]], ns=ns, check=False, timeout=20)
                assert received(res) == 2, res.stdout + res.stderr + k.diag()
            res = ping(ns, peer[1], count=2, interval=0.2)
            assert received(res) == 2, res.stdout + res.stderr + k.diag()
        cap.send_signal(signal.SIGINT)
        cap.wait(timeout=15)
        seen = _outer_df_by_inner(pcap, k.local, k.remote)
        for kind in ("ipv4-df", "ipv4", "ipv6"):
            for sender in ("tundra", "kernel"):
                assert kind in seen[sender], "no %s packet from %s: %s" % (kind, sender, seen)
        for kind in seen["tundra"].keys() & seen["kernel"].keys():
            assert seen["tundra"][kind] == seen["kernel"][kind], (
                "outer DF for inner %s: tundra %s, kernel %s" % (
                    kind, seen["tundra"][kind], seen["kernel"][kind]))
        assert seen["tundra"]["ipv6"] == {True}
    finally:
        if cap is not None and cap.poll() is None:
            cap.kill()
            cap.wait()
        left = k.close()
    assert not left, "left behind after teardown: %s" % left
