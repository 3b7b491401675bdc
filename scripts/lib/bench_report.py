#!/usr/bin/python3
"""Turns scripts/bench.sh's raw runs into bench/results/: latest.csv (medians, one row per
dataplane × cell), latest.md (tables, the issue's targets checked, churn, scale-out) and
chart.dat (the chart's data for bench/chart.gp)."""
import argparse
import csv
import os
import statistics

KEY = ("dataplane", "protocol", "direction", "underlay", "size", "tunnels")
MEMIF_COLS = ("ndr_mpps", "pdr_mpps", "mrr_mpps", "gbps_at_ndr", "lat_min_us", "lat_avg_us",
              "lat_p50_us", "lat_p90_us", "lat_p99_us", "lat_p999_us", "lat_max_us")
# Cost over the floor allowed at 64 B, v4, 1 tunnel (cycles/packet).
COST_TARGETS = {("vxlan", "encap"): 40, ("vxlan", "decap"): 35, ("geneve2", "encap"): 50,
                ("geneve2", "decap"): 50, ("greseq", "encap"): 50, ("greseq", "decap"): 50}
OVS_TARGETS = {"encap": 2.0, "decap": 3.5}


def num(v):
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if f != f else f  # NaN → None


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt(v, digits=2):
    return "–" if v is None else f"{v:.{digits}f}"


def segment_section(path, extra, out):
    """The segment cells (scripts/lib/bench_segment.py) and the control thread's figures
    (bench/micro/control_bench.cc): tables, targets checked, and segments.csv."""
    runs = {}  # (dataplane, cell, fdb, remotes) → [(mpps, cycles)], in rep order
    for line in open(path):
        f = line.strip().split(",")
        if len(f) == 6:
            runs.setdefault(tuple(f[:4]), []).append((num(f[4]), num(f[5])))
    med = {k: (median(r[0] for r in v), median(r[1] for r in v)) for k, v in runs.items()}
    with open(os.path.join(out, "segments.csv"), "w") as f:
        f.write("dataplane,cell,fdb,remotes,mpps,cycles_per_packet,runs\n")
        for k in sorted(runs):
            f.write(",".join(k) + f",{fmt(med[k][0], 3)},{fmt(med[k][1])},{len(runs[k])}\n")

    def diffs(a, b):  # median of per-rep cycle differences b - a
        ra, rb = runs.get(a, []), runs.get(b, [])
        return median(y[1] - x[1] for x, y in zip(ra, rb)
                      if x[1] is not None and y[1] is not None)

    md = ["\n### Segments (vxlan/v4 64 B, single process, one worker)\n",
          "Known unicast through a segment (static FDB entries, 256 flows over the table), "
          "beside the 1-tunnel xconnect cell of the same direction in the same reps; "
          "Δ = the median of per-rep differences.\n",
          "| cell | FDB entries | Mpps | cycles/packet | Δ cycles vs xconnect |",
          "|---|---|---|---|---|"]
    targets = []
    for d in ("encap", "decap"):
        xc = ("tundra", f"xconnect-{d}", "0", "1")
        if xc in med:
            md.append(f"| xconnect {d} | – | {fmt(med[xc][0], 3)} | {fmt(med[xc][1])} | – |")
        sizes = sorted({k[2] for k in med if k[1] == f"ku-{d}"}, key=int)
        for fdb in sizes:
            k = ("tundra", f"ku-{d}", fdb, "1")
            delta = diffs(xc, k)
            md.append(f"| segment {d} | {fdb} | {fmt(med[k][0], 3)} | {fmt(med[k][1])} | "
                      f"{fmt(delta)} |")
            if fdb == sizes[0] and delta is not None:
                targets.append(f"| segment known-unicast {d} within 10 cycles/packet of xconnect "
                               f"| {delta:+.1f} | {'yes' if delta <= 10 else 'no'} |")
        if len(sizes) >= 2:
            small, big = ("tundra", f"ku-{d}", sizes[0], "1"), ("tundra", f"ku-{d}", sizes[-1], "1")
            if med[small][0] and med[big][0]:
                loss = 100 * (1 - med[big][0] / med[small][0])
                targets.append(f"| segment {d}: {sizes[-1]} FDB entries ≤ 10 % slower than "
                               f"{sizes[0]} | {loss:.1f} % fewer Mpps | "
                               f"{'yes' if loss <= 10 else 'no'} |")
    bum = sorted({int(k[3]) for k in med if k[1] == "bum-encap" and k[0] == "tundra"})
    if bum:
        md += ["\nBroadcast from the member, flooded to R remote VTEPs (R copies a frame, each "
               "with its own outer header; the frame's bytes shared). Per copy = cycles per "
               "frame / R; over the floor = (cycles per frame − testpmd io's cycles per "
               "packet on the same pcap) / R.\n",
               "| remotes | frames Mpps | copies Mpps | cycles/frame | cycles/copy | "
               "floor cycles | per copy over the floor |", "|---|---|---|---|---|---|---|"]
        for r in bum:
            t, fl = med.get(("tundra", "bum-encap", "0", str(r))), med.get(
                ("testpmd", "bum-encap", "0", str(r)))
            if t is None or t[0] is None or t[1] is None:
                continue
            over = (t[1] - fl[1]) / r if fl and fl[1] is not None else None
            md.append(f"| {r} | {fmt(t[0] / r, 3)} | {fmt(t[0], 3)} | {fmt(t[1])} | "
                      f"{fmt(t[1] / r)} | {fmt(fl[1] if fl else None)} | {fmt(over)} |")
            if over is not None:
                targets.append(f"| BUM to {r} remotes: ≤ 60 cycles per copy over the floor | "
                               f"{over:.1f} | {'yes' if over <= 60 else 'no'} |")
    learn = [num(e[2]) for e in extra if e[0] == "learn"]
    mac = [num(e[2]) for e in extra if e[0] == "repoint-mac"]
    route = [num(e[2]) for e in extra if e[0] == "repoint-route"]
    if learn:
        n = next(e[1] for e in extra if e[0] == "learn")
        md.append(f"\nControl thread (`build/bench/micro/control_bench`, medians of "
                  f"{len(learn)}): learns {fmt(median(learn) / 1e6)} M new MACs/s ({n} MACs "
                  "through a ring into the FDB)")
        targets.append(f"| learning: ≥ 1M new MACs/s absorbed by the control thread | "
                       f"{median(learn) / 1e6:.2f} M/s | {'yes' if median(learn) >= 1e6 else 'no'} |")
    if mac and route:
        t = next(e[1] for e in extra if e[0] == "repoint-mac")
        md.append(f"and re-points {t} tunnels behind one gateway in {fmt(median(mac), 1)} µs "
                  f"(the gateway's new MAC: one next-hop word) or {fmt(median(route) / 1000)} ms "
                  "(`route replace` to another gateway: one path word per tunnel).")
    if targets:
        md += ["\n| segment target | measured | met |", "|---|---|---|"] + targets
    return md


def esp_section(path, extra):
    """The ESP cells: per direction and size, medians over reps of per-rep differences:
    each dataplane run paired with its floor run and the plain vxlan run of its rep."""
    reps = {}
    for line in open(path):
        f = line.strip().split(",")
        if len(f) != 8:
            continue
        pc, pf, ec, ef, em = (num(x) for x in f[3:])
        reps.setdefault((f[1], int(f[2])), []).append((pc, pf, ec, ef, em))
    cipher = {}
    kernel = None
    for e in extra:
        if e[0] == "cipher":
            cipher.setdefault(int(e[1]), []).append(num(e[2]))
        elif e[0] == "espkernel":
            kernel = " ".join(e[1:])
    md = ["\n### ESP (vxlan/v4 + AES-GCM-128, one worker; scripts/lib/bench_cell.py vxlan-esp)\n",
          "Each rep runs plain vxlan, its testpmd floor, vxlan with ESP on the tunnel and its "
          "floor, in that order; *cost* = cycles − the floor's, *ESP adds* = ESP cell − plain "
          "cell (medians of per-rep differences). *Cipher* is the ipsec_mb PMD's AES-GCM-128 "
          "alone for one operation of that cell's ESP payload (UDP + VXLAN + inner frame + "
          "trailer, padded to 4 bytes), in the same run (build/bench/micro/burst_bench "
          "--cipher_bytes), and *beyond* = ESP adds − cipher: the target is at most 60. The "
          "decap pcap replays its sequence numbers, so that SA's replay window is off.\n",
          "| dir | size | floor cyc | vxlan cost | vxlan+ESP cost | ESP adds | cipher bytes | "
          "cipher cyc/op | beyond cipher | ≤ 60 | Mpps | Gbps |",
          "|" + "---|" * 12]
    for (direction, size) in sorted(reps, key=lambda k: (k[0], k[1])):
        r = [x for x in reps[(direction, size)] if None not in x]
        if not r:
            continue
        plain_cost = median(x[0] - x[1] for x in r)
        esp_cost = median(x[2] - x[3] for x in r)
        adds = median(x[2] - x[0] for x in r)
        nbytes = (size + 18 + 3) // 4 * 4
        c = median(cipher.get(nbytes, [])) if cipher.get(nbytes) else None
        beyond = adds - c if c is not None else None
        mpps = median(x[4] for x in r)
        md.append(f"| {direction} | {size} | {fmt(median(x[3] for x in r))} | {fmt(plain_cost)} | "
                  f"{fmt(esp_cost)} | {fmt(adds)} | {nbytes} | {fmt(c)} | {fmt(beyond)} | "
                  f"{'–' if beyond is None else ('yes' if beyond <= 60 else 'NO')} | "
                  f"{fmt(mpps)} | {fmt(mpps * size * 8 / 1000)} |")
    if kernel is not None:
        md.append("\nPeer (the Linux kernel's xfrm on a veth pair, one core): " + (
            "not measured: this machine's kernel cannot do ESP with AES-GCM (" + kernel +
            "; CONFIG_INET_ESP and CONFIG_CRYPTO_GCM unset). tests/interop/test_kernel_esp.py "
            "runs the kernel's IPsec inside user-mode Linux for correctness, but a kernel "
            "running as a process is no performance peer."
            if kernel != "available" else
            "not measured by scripts/bench.sh."))
    return md


def main():
    ap = argparse.ArgumentParser()
    for a in ("raw", "memif", "extra", "machine", "out", "command"):
        ap.add_argument("--" + a, required=True)
    ap.add_argument("--segments", help="the segment cells' raw runs (scripts/bench.sh)")
    ap.add_argument("--esp", help="the ESP cells' raw runs (scripts/bench.sh)")
    a = ap.parse_args()

    runs = {}
    for line in open(a.raw):
        f = line.strip().split(",")
        if len(f) != 8:
            continue
        runs.setdefault(tuple(f[:6]), []).append((num(f[6]), num(f[7])))
    cells = {k: (median(r[0] for r in v), median(r[1] for r in v), len(v))
             for k, v in runs.items()}
    memif = {}
    for line in open(a.memif):
        f = line.strip().split(",")
        if len(f) == 4 + len(MEMIF_COLS):
            memif[tuple(f[:4])] = [num(x) for x in f[4:]]

    def floor_of(key):
        """The testpmd row of a cell (measured at the first tunnel count only)."""
        for k, v in cells.items():
            if k[0] == "testpmd" and k[1:5] == key[1:5]:
                return v
        return None

    def cost_of(key):
        """Median over reps of (dataplane − floor) cycles, each rep paired with the floor
        run made right after it: the machine's slow drifts cancel out."""
        floor_runs = next((v for k, v in runs.items() if k[0] == "testpmd" and k[1:5] == key[1:5]),
                          None)
        if not floor_runs:
            return None
        return median(t[1] - f[1] for t, f in zip(runs[key], floor_runs)
                      if t[1] is not None and f[1] is not None)

    rows = []
    for key in sorted(cells, key=lambda k: (k[1], k[2], k[3], int(k[4]), int(k[5]), k[0])):
        mpps, cyc, n = cells[key]
        size = int(key[4])
        row = dict(zip(KEY, key))
        row.update(mpps=mpps, cycles_per_packet=cyc, runs=n,
                   gbps=None if mpps is None else mpps * size * 8 / 1000)
        fl = floor_of(key)
        row["floor_cycles"] = fl[1] if fl else None
        row["cost_over_floor"] = cost_of(key) if key[0] != "testpmd" else None
        m = memif.get(key[1:5]) if key[0] == "tundra" and key[5] == "1" else None
        for i, c in enumerate(MEMIF_COLS):
            row[c] = m[i] if m else None
        rows.append(row)

    cols = list(KEY) + ["mpps", "cycles_per_packet", "gbps", "floor_cycles", "cost_over_floor",
                        "runs"] + list(MEMIF_COLS)
    with open(os.path.join(a.out, "latest.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(cols)
        for r in rows:
            w.writerow(["NA" if r[c] is None else (f"{r[c]:.4g}" if isinstance(r[c], float)
                                                   else r[c]) for c in cols])

    def get(dp, proto, direction, ul="v4", size="64", tunnels="1"):
        return cells.get((dp, proto, direction, ul, size, tunnels))

    md = []
    md.append("## Results\n")
    md.append("Machine: " + "; ".join(l.strip() for l in open(a.machine) if l.strip()
                                     and not l.startswith("command")) + "\n")
    md.append(f"Command: `{a.command}`\n")
    md.append("Single process (pcap → dataplane → null, one worker core, medians): Mpps and "
              "busy TSC cycles/packet; *cost* = tundra's cycles − the testpmd io floor's on the "
              "same ports and traffic (median of the per-rep differences, each tundra run paired "
              "with the floor run right after it). Two processes (tundra-gen ↔ memif ↔ tundra): NDR/PDR/MRR "
              "Mpps and latency (µs) at 50 % of NDR. Gbps: inner frames (with FCS) at the "
              "single-process rate.\n")
    md.append("| protocol | dir | underlay | size | tunnels | tundra Mpps | tundra cyc | "
              "floor Mpps | floor cyc | cost | ovs Mpps | ovs cyc | tundra/ovs | Gbps | "
              "NDR | PDR | MRR | lat p50/p99/p99.9 |")
    md.append("|" + "---|" * 18)
    for r in rows:
        if r["dataplane"] != "tundra":
            continue
        k = (r["protocol"], r["direction"], r["underlay"], r["size"])
        fl = floor_of(("tundra",) + k)
        ovs = cells.get(("ovs",) + k + ("1",))
        ratio = (r["mpps"] / ovs[0]) if (ovs and ovs[0] and r["mpps"]) else None
        lat = "/".join(fmt(r[c], 1) for c in ("lat_p50_us", "lat_p99_us", "lat_p999_us")) \
            if r["lat_p50_us"] is not None else "–"
        md.append(f"| {k[0]} | {k[1]} | {k[2]} | {k[3]} | {r['tunnels']} | {fmt(r['mpps'])} | "
                  f"{fmt(r['cycles_per_packet'], 1)} | {fmt(fl[0] if fl else None)} | "
                  f"{fmt(fl[1] if fl else None, 1)} | {fmt(r['cost_over_floor'], 1)} | "
                  f"{fmt(ovs[0] if ovs else None)} | {fmt(ovs[1] if ovs else None, 1)} | "
                  f"{fmt(ratio)} | {fmt(r['gbps'])} | {fmt(r['ndr_mpps'])} | "
                  f"{fmt(r['pdr_mpps'])} | {fmt(r['mrr_mpps'])} | {lat} |")

    md.append("\n### Targets (64 B, IPv4 underlay, one worker)\n")
    md.append("| target | measured | met |")
    md.append("|---|---|---|")
    for (proto, direction), limit in COST_TARGETS.items():
        t = get("tundra", proto, direction)
        cost = cost_of(("tundra", proto, direction, "v4", "64", "1")) if t else None
        if cost is not None:
            md.append(f"| {proto} {direction}: cost over floor ≤ {limit} cyc | {cost:.1f} | "
                      f"{'yes' if cost <= limit else 'no'} |")
    for proto in sorted({k[1] for k in cells}):
        for direction, want in OVS_TARGETS.items():
            t, o = get("tundra", proto, direction), get("ovs", proto, direction)
            if t and o and t[0] and o[0]:
                ratio = t[0] / o[0]
                md.append(f"| {proto} {direction}: ≥ {want}× OVS Mpps | {ratio:.2f}× | "
                          f"{'yes' if ratio >= want else 'no'} |")
    for k in sorted(cells):
        if k[0] == "tundra" and k[5] == "1000000":
            one = cells.get(k[:5] + ("1",))
            if one and one[0] and cells[k][0]:
                loss = 100 * (1 - cells[k][0] / one[0])
                md.append(f"| {k[1]} {k[2]} {k[3]} {k[4]} B: 1M tunnels ≤ 15 % fewer Mpps than 1 | "
                          f"{loss:.1f} % fewer | {'yes' if loss <= 15 else 'no'} |")

    extra = [l.split() for l in open(a.extra) if l.strip()]
    churn = [e for e in extra if e[0] == "churn"]
    if churn:
        _, ndr, lines, loss, sent, mpps, ups = churn[-1][:7]
        md.append(f"| no loss at 90 % of NDR ({float(ndr) * 0.9:.3f} Mpps) during {lines} tunnel "
                  f"add/del | lost {loss} of {sent}; {mpps} Mpps; {ups} updates/s | "
                  f"{'yes' if loss == '0' else 'no'} |")
    scale = {}
    for e in extra:
        if e[0] == "workers" and num(e[2]) is not None:
            scale.setdefault(int(e[1]), []).append(num(e[2]))
    if scale:
        md.append("\n### Scale-out by workers (vxlan/v4 64 B decap, single process)\n")
        md.append(f"This machine has {os.cpu_count()} CPUs: one worker runs alone on CPU 1; a "
                  "second worker shares CPU 0 with the (sleeping) control thread.\n")
        md.append("| workers | Mpps (median) | × one worker | per-worker linearity |")
        md.append("|---|---|---|---|")
        base = median(scale.get(1, [])) or None
        for nw in sorted(scale):
            m = median(scale[nw])
            md.append(f"| {nw} | {fmt(m)} | {fmt(m / base if base else None)} | "
                      f"{fmt(m / (base * nw) if base else None)} |")
    trace_off = {}
    for e in extra:
        if e[0] == "traceoff":
            trace_off.setdefault(e[1], []).append((num(e[2]), num(e[3])))
    if trace_off:
        md.append("\n### Trace off (vxlan/v4 64 B bursts, build/bench/micro/burst_bench)\n")
        md.append("The worker's DispatchBurst checks once per burst whether a trace is armed; "
                  "DispatchUntraced is the same burst without the check. Both run burst by "
                  "burst in turn in one process, TSC cycles per packet, medians of the reps. "
                  "The exact figure is callgrind's (bench/callgrind_guard.py): 3 "
                  "instructions per burst of 32.\n")
        md.append("| case | with the check | without | difference |")
        md.append("|---|---|---|---|")
        for case in sorted(trace_off):
            with_check = median([p[0] for p in trace_off[case]])
            without = median([p[1] for p in trace_off[case]])
            md.append(f"| {case} | {fmt(with_check)} | {fmt(without)} | "
                      f"{fmt(with_check - without if with_check and without else None)} |")
    if a.segments and os.path.getsize(a.segments) > 0:
        md += segment_section(a.segments, extra, a.out)
    if a.esp and os.path.getsize(a.esp) > 0:
        md += esp_section(a.esp, extra)
    with open(os.path.join(a.out, "latest.md"), "w") as f:
        f.write("\n".join(md) + "\n")

    # Chart data: one line per 1-tunnel cell: label, tundra, testpmd, ovs Mpps.
    with open(os.path.join(a.out, "chart.dat"), "w") as f:
        f.write("cell tundra testpmd ovs\n")
        for k in sorted({k[1:5] for k in cells}, key=lambda k: (k[0], k[1], k[2], int(k[3]))):
            vals = []
            for dp in ("tundra", "testpmd", "ovs"):
                c = cells.get((dp,) + k + ("1",))
                vals.append(fmt(c[0] if c else None).replace("–", "NaN"))
            f.write(f"{k[0]}-{k[1]}-{k[2]}-{k[3]} " + " ".join(vals) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()
