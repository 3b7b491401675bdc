"""scripts/demo_segment.sh: a three-VTEP segment, shown step by step.

Builds segment_topology.py's topology (tundra and two kernel VXLAN VTEPs, one
behind a Linux router; no static neighbor anywhere),
pings from the host behind tundra to both kernels' hosts, moves 1 MiB over
TCP, prints what tundra and the kernels learned, and tears everything down.
Exit status: 0 pass, 1 fail, 77 cannot run here (no namespaces, no vxlan).
"""
import argparse
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from segment_topology import OVERLAY4, OVERLAY6, PAYLOAD_LEN, ThreeVteps  # noqa: E402
from tundra_netns import kernel_supports, netns_unusable_reason  # noqa: E402
from tundra_proc import ping, received, run, tcp_transfer  # noqa: E402


def say(*words):
    print("[segment-demo]", *words, flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--underlay", choices=("ipv4", "ipv6"), default="ipv4")
    args = ap.parse_args()
    reason = netns_unusable_reason() or (None if kernel_supports("vxlan")
                                         else "kernel has no vxlan link type")
    if reason:
        say("SKIP:", reason)
        return 77
    fam = 4 if args.underlay == "ipv4" else 6
    failures = []
    with tempfile.TemporaryDirectory(prefix="tundra-segment-demo-") as work:
        say("building: host h0 -- tundra -- underlay LAN -- kernel VTEP v1, and router "
            "-- kernel VTEP v2 (%s)" % args.underlay)
        v = ThreeVteps(work, fam)
        try:
            say("tundra runs as pid %d, control socket %s" % (v.tundra.proc.pid, v.tundra.sock))
            for i, k in ((1, "v1"), (2, "v2")):
                for addr in (OVERLAY4[i], OVERLAY6[i]):
                    ok = received(ping(v.ns["h0"], addr, count=3)) >= 2
                    say("ping h0 -> %s (%s): %s" % (addr, k, "ok" if ok else "FAILED"))
                    if not ok:
                        failures.append("ping " + addr)
            payload = os.path.join(work, "payload")
            with open(payload, "wb") as f:
                f.write(os.urandom(PAYLOAD_LEN))
            err = tcp_transfer(v.ns["h0"], v.ns["v1"], OVERLAY4[1], 5301, payload, work)
            say("TCP 1 MiB h0 -> v1: %s" % ("ok (SHA-256 matches)" if err is None else err))
            if err is not None:
                failures.append("tcp")
            for what in ("segment blue", "fdb blue", "route", "neigh"):
                text = v.tundra.send("show %s" % what)
                say("tundra-ctl --socket=%s show %s\n%s" % (v.tundra.sock, what, text.rstrip()))
            for k in ("v1", "v2"):
                out = run(["bridge", "fdb", "show", "dev", "vx0"], ns=v.ns[k]).stdout
                say("%s: bridge fdb show dev vx0\n%s" % (k, out.rstrip()))
        finally:
            left = v.close()
            say("torn down" + (": LEFT BEHIND %s" % left if left else ""))
            if left:
                failures.append("teardown")
    say("PASS" if not failures else "FAIL: " + ", ".join(failures))
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
