#!/usr/bin/python3
"""Route-table scale: times N `route add` then N `route del` in one tundra and reports
the wall time and the peak memory of each phase.

  bench/route_scale.py BINARY [N] [--mem=ARGS]

Half the routes are IPv4 /24s (10.0.0.0/8 on), half IPv6 /48s (2001:db8::/32 on), all
into one gre tunnel, loaded from a config file before `start` (as a router's initial
table is). Each phase is a run of its own: a run of the set-up alone, one that adds,
and one that adds then deletes; a phase's time is the difference of two runs. Memory
is the peak RSS with --no-huge (DPDK's heap is then ordinary anonymous memory that
rte_zmalloc touches), so it counts the route tables wherever they live.
"""

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SETUP = [
    "port config 0 role uplink",
    "port config 0 address 192.0.2.1/24",
    "port config 1 role access",
    "port config 1 address 10.255.255.1/24",
    "tunnel add t1 type gre local 192.0.2.1 remote 192.0.2.2",
]


def prefixes(n):
    for i in range(n):
        if i % 2 == 0:
            j = i // 2
            yield f"{10 + (j >> 16)}.{(j >> 8) & 255}.{j & 255}.0/24"
        else:
            j = i // 2
            yield f"2001:db8:{j:x}::/48"


def run(binary, lines, mem):
    with tempfile.TemporaryDirectory() as d:
        cfg = Path(d) / "run.cfg"
        cfg.write_text("\n".join(lines + ["quit"]) + "\n")
        prefix = f"rscale{int(time.time() * 1e6)}"
        cmd = ["/usr/bin/time", "-f", "%M", binary, "-l", "0-1", "--no-pci", *mem.split(),
               f"--file-prefix={prefix}",
               f"--vdev=net_null0", f"--vdev=net_null1", "--", f"--config={cfg}", "--socket=none"]
        t0 = time.monotonic()
        p = subprocess.run(cmd, capture_output=True, text=True)
        wall = time.monotonic() - t0
        shutil.rmtree(f"/var/run/dpdk/{prefix}", ignore_errors=True)
        if p.returncode != 0:
            sys.exit(f"tundra failed ({p.returncode}):\n{p.stdout[-2000:]}\n{p.stderr[-2000:]}")
        rss_kb = int(p.stderr.strip().splitlines()[-1])
        return wall, rss_kb / 1024


def main():
    binary = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 and not sys.argv[2].startswith("--") else 100000
    mem = "--no-huge -m 2048"
    for a in sys.argv[2:]:
        if a.startswith("--mem="):
            mem = a[len("--mem="):]
    ps = list(prefixes(n))
    adds = [f"route add {p} tunnel t1" for p in ps]
    dels = [f"route del {p}" for p in ps]
    base_t, base_m = run(binary, SETUP, mem)
    add_t, add_m = run(binary, SETUP + adds, mem)
    del_t, del_m = run(binary, SETUP + adds + dels, mem)
    print(f"routes={n} setup: {base_t:.2f} s, peak RSS {base_m:.0f} MiB")
    print(f"  {n} adds: {add_t - base_t:.2f} s ({(add_t - base_t) / n * 1e6:.1f} us each),"
          f" peak RSS {add_m:.0f} MiB (+{add_m - base_m:.0f})")
    print(f"  {n} dels: {del_t - add_t:.2f} s ({(del_t - add_t) / n * 1e6:.1f} us each),"
          f" peak RSS {del_m:.0f} MiB (+{del_m - base_m:.0f})")


if __name__ == "__main__":
    main()
