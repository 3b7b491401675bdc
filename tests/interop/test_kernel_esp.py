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
from tundra_proc import ping, received, require_interop, run, tcp_transfer, wait_until

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
def uml_outcomes(tmp_path_factory):
    results, _ = uml.run_module(__file__, tmp_path_factory.mktemp("uml-esp"))
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
        for fam in (0, 1):
            for ns, addr in ((k.host_ns, k.peer_addrs[fam]), (k.vtep_ns, k.host_addrs[fam])):
                # The first packet waits on ARP/ND across the overlay, which inside
                # user-mode Linux may outlast ping's: resolved first, then counted.
                wait_until(lambda: received(ping(ns, addr, count=1, wait=2)) == 1, 20)
                res = ping(ns, addr, count=3, wait=3)
                assert received(res) == 3, "%s: ping %s from %s:\n%s\n%s" % (
                    case, addr, ns, res.stdout + res.stderr, k.diag())
        payload = tmp_path / "payload"
        payload.write_bytes(os.urandom(1 << 20))
        port = 5501
        for fam in (0, 1):
            for src, dst, addr in ((k.host_ns, k.vtep_ns, k.peer_addrs[fam]),
                                   (k.vtep_ns, k.host_ns, k.host_addrs[fam])):
                why = tcp_transfer(src, dst, addr, port, payload, tmp_path, timeout=60)
                port += 1
                assert why is None, "%s: %s\n%s" % (case, why, k.diag())
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


@pytest.mark.parametrize("case", list(CASES))
def test_kernel_esp(case, tmp_path, request):
    m = mode()
    if m.startswith("skip"):
        pytest.skip(m[6:])
    if m == "direct":
        run_case(case, tmp_path)
        return
    outcome, message = request.getfixturevalue("uml_outcomes").get(
        request.node.name, ("failed", "no result for this case inside user-mode Linux"))
    if outcome == "skipped":
        pytest.skip("inside user-mode Linux: " + message.strip())
    if outcome == "failed":
        pytest.fail("inside user-mode Linux:\n" + message, pytrace=False)
