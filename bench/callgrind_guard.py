#!/usr/bin/python3
"""Instruction counts per packet of the encap and decap burst functions, per protocol ×
underlay, under callgrind: exact and repeatable on a noisy machine.

  bench/callgrind_guard.py BUILD_DIR                 print the counts
  bench/callgrind_guard.py BUILD_DIR --check         fail when a case grew > 10 % over
                                                     bench/baseline.json
  bench/callgrind_guard.py BUILD_DIR --update        rewrite bench/baseline.json
  --junit FILE                                       also write a JUnit report

Runs build/bench/micro/burst_bench --callgrind under `valgrind --tool=callgrind
--collect-atstart=no`: the benchmark toggles collection around each EncapBurst /
DecapBurst call only and dumps one profile per case, so frame setup and freeing are
not counted.

Trace off: the cases in TRACE_OFF also run without the trace check (DispatchUntraced,
"<case>-untraced"); --check fails when the check costs a burst more than
TRACE_OFF_MAX_PER_BURST instructions (one load, one test, one predictable branch)."""
import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile
from xml.sax.saxutils import escape

HERE = os.path.dirname(os.path.abspath(__file__))
BASELINE = os.path.join(HERE, "baseline.json")
BURSTS = 50
PACKETS = BURSTS * 32
TOLERANCE = 0.10
TRACE_OFF = ["encap-vxlan-v4", "decap-vxlan-v4", "encap-gre-routed-v4", "decap-segment-vxlan-v4"]
TRACE_OFF_MAX_PER_BURST = 4


def measure(build_dir):
    binary = os.path.join(build_dir, "bench", "micro", "burst_bench")
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "cg.out")
        cmd = ["valgrind", "--tool=callgrind", "--collect-atstart=no",
               f"--callgrind-out-file={out}.%p", binary, "--callgrind", f"--bursts={BURSTS}",
               "--untraced=" + ",".join(TRACE_OFF)]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stderr[-3000:]}")
        counts = {}
        for path in glob.glob(out + ".*.*"):
            name = total = None
            with open(path) as f:
                for line in f:
                    if line.startswith("desc: Trigger: Client Request: "):
                        name = line.split(": ", 3)[3].strip()
                    elif line.startswith("summary:") or line.startswith("totals:"):
                        total = int(line.split()[1])
            if name and total is not None:
                counts[name] = total
        if not counts:
            raise RuntimeError("callgrind produced no per-case dumps")
        return dict(sorted(counts.items()))


def trace_off_results(totals):
    """What the trace check costs each TRACE_OFF case per burst, with no trace armed."""
    results = {}
    print(f"\n{'trace off: case':26} {'instr/burst':>12} (checked minus untraced; max "
          f"{TRACE_OFF_MAX_PER_BURST})")
    for name in TRACE_OFF:
        twin = name + "-untraced"
        if name not in totals or twin not in totals:
            results["trace-off " + name] = (False, f"{name}: no untraced twin measured")
            continue
        per_burst = (totals[name] - totals[twin]) / BURSTS
        ok = per_burst <= TRACE_OFF_MAX_PER_BURST
        results["trace-off " + name] = (
            ok, f"{name}: the trace check costs {per_burst:.2f} instructions/burst "
                f"(> {TRACE_OFF_MAX_PER_BURST})")
        print(f"{name:26} {per_burst:12.2f}{'' if ok else '  REGRESSION'}")
    return results


def write_junit(path, results):
    cases = []
    for name, (ok, msg) in results.items():
        body = "" if ok else f'<failure message="{escape(msg, {chr(34): "&quot;"})}"/>'
        cases.append(f'<testcase classname="callgrind" name="{escape(name)}">{body}</testcase>')
    failures = sum(1 for ok, _ in results.values() if not ok)
    with open(path, "w") as f:
        f.write(f'<?xml version="1.0"?>\n<testsuite name="callgrind" tests="{len(results)}" '
                f'failures="{failures}">\n' + "\n".join(cases) + "\n</testsuite>\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build_dir")
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--update", action="store_true")
    ap.add_argument("--junit")
    args = ap.parse_args()
    try:
        totals = measure(args.build_dir)
    except Exception as e:  # a broken benchmark is a failed check, never a pass
        print(f"callgrind: {e}")
        if args.junit:
            write_junit(args.junit, {"burst_bench": (False, str(e))})
        return 1
    baseline = {}
    if os.path.exists(BASELINE):
        with open(BASELINE) as f:
            baseline = json.load(f)["instructions_per_packet"]
    counts = {name: round(total / PACKETS, 1) for name, total in totals.items()
              if not name.endswith("-untraced")}
    results = {}
    print(f"{'case':26} {'instr/pkt':>10} {'baseline':>10} {'change':>8}")
    for name, n in counts.items():
        base = baseline.get(name)
        change = (n - base) / base if base else 0.0
        ok = base is None or change <= TOLERANCE
        results[name] = (ok, f"{name}: {n} instructions/packet, baseline {base} "
                             f"(+{change:.1%} > {TOLERANCE:.0%})")
        print(f"{name:26} {n:10.1f} {base if base else '-':>10} {change:+8.1%}"
              f"{'' if ok else '  REGRESSION'}")
    results.update(trace_off_results(totals))
    if args.update:
        with open(BASELINE, "w") as f:
            json.dump({"about": "instructions per packet of EncapBurst/DecapBurst, 64-byte "
                                "inner frames, bursts of 32 (bench/callgrind_guard.py)",
                       "instructions_per_packet": counts}, f, indent=2)
            f.write("\n")
        print(f"wrote {BASELINE}")
    if args.junit:
        write_junit(args.junit, results)
    if args.check and not all(ok for ok, _ in results.values()):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
