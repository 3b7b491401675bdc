"""Interop: tundra's ESP (AES-GCM, transport mode over the tunnel's outer IP) against the
Linux kernel's own IPsec, keyed by hand with `ip xfrm state` / `ip xfrm policy`.

The topology of test_kernel_tunnels.py (host ns ── tundra ── kernel VTEP ns), with the
kernel VTEP's tunnel traffic (UDP port 4789 for VXLAN, protocol GRE for gretap) required
to be ESP by xfrm policies in both directions, and tundra's tunnel protected with the
same keys (`tunnel t1 protect out ... in ...`; tundra encrypts with AES-GCM-128 and
decrypts AES-GCM-256). Per case, over IPv4 and IPv6 underlays: ping both ways over both
overlay families, 1 MiB of TCP each way per overlay family (SHA-256 checked), tshark on a
capture of the underlay sees only ESP (no VXLAN or GRE in clear), the kernel's SAs
count no replay or integrity failure, tundra's none either, and no mbuf leaked.

This machine's kernel has neither ESP nor GCM (no CONFIG_INET_ESP, CONFIG_CRYPTO_GCM):
there, the module runs inside user-mode Linux (tests/interop/uml.py), whose kernel has
both, and each case reports its outcome there."""
import os
import signal
import subprocess

import pytest

import uml
from test_kernel_tunnels import KernelPeer
from tundra_netns import kernel_esp_error, kernel_supports, kernel_link_error
from tundra_proc import require_interop, run, wait_until

CASES = {
    "vxlan-ipv4": ("vxlan", "ipv4", "vxlan", []),
    "vxlan-ipv6": ("vxlan", "ipv6", "vxlan", []),
    "gretap-ipv4": ("gretap", "ipv4", "gretap", []),
    "ip6gretap-ipv6": ("ip6gretap", "ipv6", "gretap", ["encaplimit", "none"]),
}
# tundra's outbound SA is the kernel's inbound one and the other way round.
OUT = (0x1001, "0102030405060708090a0b0c0d0e0f10", "11121314")
IN = (0x1002, "2122232425262728292a2b2c2d2e2f30" "3132333435363738393a3b3c3d3e3f40", "41424344")


@pytest.fixture(scope="module", autouse=True)
def preconditions():
    require_interop(tools=("ip", "ping", "sysctl", "tshark", "dumpcap"))


def mode():
    """'direct' (this kernel does ESP), 'uml', or 'skip: why'."""
    if uml.inside():
        return "direct"
    err = kernel_esp_error()
    if err is None:
        return "direct"
    if uml.kernel():
        return "uml"
    return "skip: this kernel cannot hold an ESP SA with AES-GCM (%s), and user-mode-linux " \
        "is not installed to run one" % err


@pytest.fixture(scope="module")
def uml_outcomes(tmp_path_factory, request):
    # The host run's -k, if any, selects inside too.
    results, _ = uml.run_module(__file__, tmp_path_factory.mktemp("uml-esp"),
                                keyword=request.config.getoption("keyword"))
    return results


class EspKernelPeer(KernelPeer):
    # ESP's worst case (header 8, IV 8, padding 3, trailer 2, ICV 16 = 37), rounded up.
    ENCAP_EXTRA = 40

    def _selector(self):
        return ["proto", "udp", "dport", "4789"] if self.ttype == "vxlan" else ["proto", "gre"]

    def _kernel_extra(self):
        v, me, peer = self.vtep_ns, self.remote, self.local
        for (spi, key, salt), src, dst in ((OUT, peer, me), (IN, me, peer)):
            run(["ip", "xfrm", "state", "add", "src", src, "dst", dst, "proto", "esp", "spi",
                 hex(spi), "mode", "transport", "aead", "rfc4106(gcm(aes))",
                 "0x" + key + salt, "128", "replay-window", "64"], ns=v)
        for src, dst, d in ((me, peer, "out"), (peer, me, "in")):
            run(["ip", "xfrm", "policy", "add", "src", src, "dst", dst, *self._selector(),
                 "dir", d, "tmpl", "src", src, "dst", dst, "proto", "esp", "mode",
                 "transport"], ns=v)

    def _tundra_extra(self):
        return ["sa add out1 spi %d aead aes-gcm-128 key %s salt %s" % OUT,
                "sa add in1 spi %d aead aes-gcm-256 key %s salt %s" % IN,
                "tunnel t1 protect out out1 in in1"]

    def kernel_sa_stats(self):
        """{spi: (replay drops, integrity failures, packets)} from `ip -s xfrm state`."""
        out = run(["ip", "-s", "xfrm", "state"], ns=self.vtep_ns).stdout
        sas = {}
        for block in ("\n" + out).split("\nsrc ")[1:]:
            lines = [line.strip() for line in block.splitlines()]
            w = " ".join(lines).split()
            spi = int(w[w.index("spi") + 1].split("(")[0], 16)
            current = lines[lines.index("lifetime current:") + 1]  # "N(bytes), M(packets)"
            packets = int(current.split(",")[1].split("(")[0])
            stats = lines[lines.index("stats:") + 1].split()  # replay-window r replay r failed f
            f = dict(zip(stats[::2], stats[1::2]))
            sas[spi] = (int(f["replay"]), int(f["failed"]), packets)
        return sas


class MirroredEspPeer(EspKernelPeer):
    """tundra keyed by the kernel of its own namespace (--xfrm): the same SAs and the
    mirror image of the policies installed there with `ip xfrm`, as strongSwan would,
    and no `sa add` or `protect` at all."""
    TUNDRA_FLAGS = ("--xfrm",)

    def _kernel_extra(self):
        super()._kernel_extra()
        self.add_states(self.rtr_ns, OUT, IN)
        for src, dst, d in ((self.local, self.remote, "out"), (self.remote, self.local, "in")):
            run(["ip", "xfrm", "policy", "add", "src", src, "dst", dst, *self._selector(),
                 "dir", d, "tmpl", "src", src, "dst", dst, "proto", "esp", "mode",
                 "transport"], ns=self.rtr_ns)

    def add_states(self, ns, out, inn):
        for (spi, key, salt), src, dst in ((out, self.local, self.remote),
                                           (inn, self.remote, self.local)):
            run(["ip", "xfrm", "state", "add", "src", src, "dst", dst, "proto", "esp", "spi",
                 hex(spi), "mode", "transport", "aead", "rfc4106(gcm(aes))",
                 "0x" + key + salt, "128", "replay-window", "64"], ns=ns)

    def del_states(self, ns, out, inn):
        for (spi, _, _), dst in ((out, self.remote), (inn, self.local)):
            run(["ip", "xfrm", "state", "del", "dst", dst, "proto", "esp", "spi", hex(spi)],
                ns=ns)

    def _tundra_extra(self):
        return []

    def bound(self):
        return {t["name"]: t["sas"] for t in self.tundra.show("xfrm")["tunnels"]}


def underlay_protocols(pcap):
    """tshark's protocol stack of every frame of a capture."""
    r = run(["tshark", "-r", str(pcap), "-T", "fields", "-e", "frame.protocols"], timeout=120)
    return [line for line in r.stdout.splitlines() if line]


def run_case(case, tmp_path):
    if not kernel_supports(CASES[case][0]):
        pytest.skip("kernel has no %s device: %s" % (CASES[case][0],
                                                      kernel_link_error(CASES[case][0])))
    k = EspKernelPeer(tmp_path, case, CASES[case])
    cap = None
    try:
        pcap = tmp_path / "underlay.pcap"
        cap = subprocess.Popen(["ip", "netns", "exec", k.vtep_ns, "dumpcap", "-q", "-i",
                                k.vtep_if, "-w", str(pcap)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        assert wait_until(lambda: pcap.exists() and pcap.stat().st_size > 0, 30), \
            "dumpcap did not start"
        k.check_pings(wait=3, warm=True)
        payload = tmp_path / "payload"
        payload.write_bytes(os.urandom(1 << 20))
        k.check_tcp(payload, 5501, tmp_path, timeout=60)
        cap.send_signal(signal.SIGTERM)  # our own child, by its PID
        cap.wait(timeout=30)
        cap = None

        stacks = underlay_protocols(pcap)
        esp = [s for s in stacks if s.endswith(":esp")]
        clear = [s for s in stacks if ":vxlan" in s or ":gre" in s or ":udp" in s]
        assert not clear, "tunnel traffic in clear on the underlay: %s" % clear[:5]
        assert len(esp) > 2000, "%d ESP frames of %d captured" % (len(esp), len(stacks))

        sas = {s["name"]: s for s in k.tundra.show("sa", "sas")["sas"]}
        for name in ("out1", "in1"):
            s = sas[name]
            assert s["packets"] > 1000 and s["tunnel"] == "t1", s
            assert (s["auth_failed"], s["replay"], s["malformed"], s["no_room"]) == \
                (0, 0, 0, 0), s
        kernel = k.kernel_sa_stats()
        assert set(kernel) == {OUT[0], IN[0]}, kernel
        assert all(r == f == 0 and n > 1000 for r, f, n in kernel.values()), kernel
        t = k.tunnel()
        assert t["encap_packets"] > 1000 and t["decap_packets"] > 1000, t
        pools, _ = k.tundra.query("wait idle 300", "show mempool json", key="mempools")
        after = {p["name"]: p["in_use"] for p in pools["mempools"]}
        assert after == k.baseline, "mbufs in use before %s, after %s" % (k.baseline, after)
        rc = k.tundra.stop()
        assert rc == 0, "tundra exited %s after quit:\n%s" % (rc, k.tundra.tail())
    finally:
        if cap is not None:
            cap.kill()
            cap.wait(timeout=10)
        left = k.close()
    assert not left, "left behind after teardown: %s" % left


def here_or_in_uml(request, body, *args):
    """Runs body(*args) on a kernel with ESP; elsewhere reports this test's outcome from
    the module's run inside user-mode Linux."""
    m = mode()
    if m.startswith("skip"):
        pytest.skip(m[6:])
    if m == "direct":
        body(*args)
        return
    outcome, message = request.getfixturevalue("uml_outcomes").get(
        request.node.name, ("failed", "no result for this case inside user-mode Linux"))
    if outcome == "skipped":
        pytest.skip("inside user-mode Linux: " + message.strip())
    if outcome == "failed":
        pytest.fail("inside user-mode Linux:\n" + message, pytrace=False)


@pytest.mark.parametrize("case", list(CASES))
def test_kernel_esp(case, tmp_path, request):
    here_or_in_uml(request, run_case, case, tmp_path)


# The rekey's new pair: what strongSwan would install before deleting the old one.
OUT2 = (0x1003, "5152535455565758595a5b5c5d5e5f60", "61626364")
IN2 = (0x1004, "7172737475767778797a7b7c7d7e7f80" "8182838485868788898a8b8c8d8e8f90", "91929394")


def run_mirrored(case, tmp_path):
    k = MirroredEspPeer(tmp_path, case, CASES[case])
    try:
        want = "out xfrm-%08x in xfrm-%08x" % (OUT[0], IN[0])
        assert wait_until(lambda: k.bound().get("t1") == want, 30), \
            "tundra did not take the kernel's SAs: %s" % k.tundra.show("xfrm")
        assert k.tundra.show("tunnel", "tunnels")["tunnels"][0]["name"] == "t1"

        def traffic(port):
            k.check_pings(wait=3, warm=True)
            k.check_tcp(payload, port, tmp_path, timeout=60, both_ways=False)

        payload = tmp_path / "payload"
        payload.write_bytes(os.urandom(1 << 20))
        traffic(5601)
        # A rekey as strongSwan does it: the new pair in both kernels, then the old pair
        # goes. tundra follows: both inbound SAs, then the new ones alone; the old
        # mirrored SAs are deleted (keys wiped).
        for ns in (k.vtep_ns, k.rtr_ns):
            k.add_states(ns, OUT2, IN2)
        both = "out xfrm-%08x in xfrm-%08x in xfrm-%08x" % (OUT2[0], IN2[0], IN[0])
        assert wait_until(lambda: k.bound().get("t1") == both, 30), k.bound()
        for ns in (k.vtep_ns, k.rtr_ns):
            k.del_states(ns, OUT, IN)
        new = "out xfrm-%08x in xfrm-%08x" % (OUT2[0], IN2[0])
        assert wait_until(lambda: k.bound().get("t1") == new, 30), k.bound()
        traffic(5611)
        sas = {s["name"]: s for s in k.tundra.show("sa", "sas")["sas"]}
        assert set(sas) == {"xfrm-%08x" % OUT2[0], "xfrm-%08x" % IN2[0]}, sorted(sas)
        # Pings both ways and TCP from the host: many out, at least the ACKs in.
        assert all(s["packets"] > 10 and s["auth_failed"] == 0 for s in sas.values()), sas
        # The policies go: the tunnel is the kernel's no more (and sends in clear).
        run(["ip", "xfrm", "policy", "flush"], ns=k.rtr_ns)
        assert wait_until(lambda: k.bound() == {}, 30), k.bound()
        assert k.tundra.show("sa", "sas")["sas"][0]["tunnel"] == ""
        rc = k.tundra.stop()
        assert rc == 0, "tundra exited %s after quit:\n%s" % (rc, k.tundra.tail())
    finally:
        left = k.close()
    assert not left, "left behind after teardown: %s" % left


@pytest.mark.parametrize("case", ["vxlan-ipv4", "ip6gretap-ipv6"])
def test_kernel_esp_mirrored_from_xfrm(case, tmp_path, request):
    """tundra --xfrm: its SAs come from the kernel's xfrm tables of its namespace, which
    `ip xfrm` fills as an IKE daemon would: taken when policy and SAs are there,
    followed through a make-before-break rekey, let go when the policy goes."""
    here_or_in_uml(request, run_mirrored, case, tmp_path)


def test_xfrm_mirror_follows_policies_on_this_kernel(tmp_path):
    """What every kernel can hold (policies need no ESP): tundra --xfrm dumps the
    policies already there at start, follows new and deleted ones, reports a tunnel
    its outbound policy selects as waiting for SAs, and leaves a tunnel protected by hand
    alone; without --xfrm, `show xfrm` says the mirror is off."""
    from tundra_proc import Topology, Tundra, TundraError, lcore_args
    if uml.inside():
        pytest.skip("run on the host (needs no ESP)")
    pid = os.getpid()
    ns, a, b = "tundra-xm-%d" % pid, "txa%d" % pid, "txb%d" % pid
    topo, t = Topology(), None
    try:
        topo.netns(ns)
        topo.veth(a, b)
        topo.tundra_end(a, ns=ns)
        topo.tundra_end(b, ns=ns)
        sel = ["proto", "udp", "dport", "4789"]

        def policy(verb, src, dst, d, *tmpl):
            run(["ip", "xfrm", "policy", verb, "src", src, "dst", dst, *sel, "dir", d, *tmpl],
                ns=ns)

        tmpl = lambda s, d: ["tmpl", "src", s, "dst", d, "proto", "esp", "mode", "transport"]  # noqa
        policy("add", "192.0.2.1", "192.0.2.2", "out", *tmpl("192.0.2.1", "192.0.2.2"))
        t = Tundra("xm", tmp_path, [a, b], lcore_args(), netns=ns, flags=("--xfrm",))
        t.start()
        t.send("port config 0 role uplink", "port config 0 address 192.0.2.1/24",
               "tunnel add t1 type vxlan local 192.0.2.1 remote 192.0.2.2 vni 100",
               "tunnel add t2 type vxlan local 192.0.2.1 remote 192.0.2.3 vni 200",
               "sa add h1 spi 0x5001 aead aes-gcm-128 key %s salt %s" % OUT[1:],
               "sa add h2 spi 0x5002 aead aes-gcm-128 key %s salt %s" % OUT[1:],
               "tunnel t2 protect out h1 in h2")
        x = lambda: t.show("xfrm")  # noqa: E731
        assert wait_until(lambda: x()["synced"] and x()["waiting"] == [{"name": "t1"}], 10), \
            (x()["waiting"], x()["tunnels"], x()["synced"])
        assert [(p["dir"], p["selector"], p["esp_transport"]) for p in x()["policies"]] == \
            [("out", "192.0.2.1/32 > 192.0.2.2/32 proto 17 dport 4789", True)]
        # One for t2 (protected by hand: not the mirror's) and one inbound: no change to t1.
        policy("add", "192.0.2.1", "192.0.2.3", "out", *tmpl("192.0.2.1", "192.0.2.3"))
        policy("add", "192.0.2.2", "192.0.2.1", "in", *tmpl("192.0.2.2", "192.0.2.1"))
        assert wait_until(lambda: len(x()["policies"]) == 3, 10), x()
        assert x()["waiting"] == [{"name": "t1"}] and x()["tunnels"] == []
        assert {s["name"]: s["tunnel"] for s in t.show("sa", "sas")["sas"]} == \
            {"h1": "t2", "h2": "t2"}
        policy("del", "192.0.2.1", "192.0.2.2", "out")
        assert wait_until(lambda: len(x()["policies"]) == 2 and x()["waiting"] == [], 10), \
            (x()["waiting"], x()["tunnels"])
        run(["ip", "xfrm", "policy", "flush"], ns=ns)
        assert wait_until(lambda: x()["policies"] == [], 10), x()
        assert x()["errors"] == 0 and x()["resyncs"] == 0
        assert t.stop() == 0
        t = Tundra("xm-off", tmp_path, [a, b], lcore_args(), netns=ns)
        t.start()
        with pytest.raises(TundraError, match="the xfrm mirror is off"):
            t.show("xfrm")
        assert t.stop() == 0
        t = None
    finally:
        left = topo.teardown(t)
    assert not left, "left behind after teardown: %s" % left
