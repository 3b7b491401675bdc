#!/usr/bin/env bash
# tundra's benchmark matrix, CSIT style: every cell measured side by side, in the same
# run and on identical ports and traffic, against the testpmd io floor and (--peer ovs)
# Open vSwitch's DPDK datapath with its native tunneling.
#
#   scripts/bench.sh [--quick] [--peer ovs] [--reps N] [--duration S] [--trial S]
#                    [--protocols "..."] [--underlays "..."] [--sizes "..."]
#                    [--tunnels "..."] [--directions "..."] [--no-memif]
#                    [--workers "1 2"] [--churn LINES] [--fdb "1000 1000000"]
#                    [--remotes "1 8 64"] [--no-segments | --only-segments]
#                    [--esp-sizes "64 1400" | --no-esp] [--out DIR]
#
# Matrix (default): {encap, decap} × {vxlan, geneve0, geneve2 (2 options), gretap, gre
# (key), greseq (key + seq)} × {v4, v6 underlay} × {64, 512, 1500 B inner} × {1, 1000, 1000000 tunnels}.
# --quick: vxlan, geneve2 and greseq (gre with key and sequence numbers) over v4 at 64 B, 1 tunnel, plus the two-process
# loss/latency cells for vxlan (about 4 minutes).
#
# Two setups per cell (DESIGN.md §7, ../shared/peers/REPORT.md):
#  * single process — net_pcap replaying the cell's pcap forever (infinite_rx=1) → the
#    dataplane → net_null (no-rx=1); one worker on CPU 1. Mpps and the worker's busy
#    TSC cycles per packet (tundra: `show fwd stats`; testpmd: --record-core-cycles;
#    OVS: pmd-stats-show processing cycles). REPS runs each, medians reported.
#  * two processes — tundra-gen ↔ net_memif ↔ tundra (tunnels = 1 cells): NDR, PDR
#    (0.5 % loss), MRR, and latency percentiles at 50 % of NDR (scripts/lib/bench_memif.sh).
# Plus, unless --quick: the loss-under-churn run (vxlan/v4 decap at 90 % of its NDR
# while the control thread adds and deletes CHURN other tunnels) and scale-out by
# workers (vxlan/v4 64 B decap, pcap with one rx queue per worker).
# Segment cells (vxlan/v4 64 B, scripts/lib/bench_segment.py), unless --no-segments (and
# not with --quick): known-unicast encap and decap through a segment with --fdb static
# FDB entries, side by side with the 1-tunnel xconnect cells; BUM flooded to --remotes
# remote VTEPs (cycles per copy); and the control thread's learning rate and next-hop
# re-point time for 100k tunnels behind one gateway (build/bench/micro/control_bench).
#
# ESP cells (unless --no-esp, --quick or --only-segments): vxlan/v4 with ESP AES-GCM-128 on
# the tunnel (bench_cell.py vxlan-esp), encap and decap at --esp-sizes, each rep beside
# plain vxlan and both testpmd floors; and the cipher's own cost for each size's ESP
# payload in the same run (burst_bench --cipher_bytes): what ESP adds beyond the cipher.
#
# Trace off (always): what the pipeline trace's check costs with no trace armed — vxlan/v4
# 64 B encap and decap bursts through DispatchBurst and, burst by burst in turn,
# DispatchUntraced (no check), TSC cycles per packet (build/bench/micro/burst_bench).
#
# Writes under bench/results/ (or --out): latest.csv (one row per dataplane × cell),
# latest.md (the table, the targets, churn, scale-out), latest.png (chart), machine.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
umask 077  # the ESP cells' configs hold keys: tundra refuses them readable by others
args=$(printf "%q " "$@")

quick=0 reps=3 dur=3 trial=1 peer="" memif=1 churn=100000 workers="1 2" out=bench/results
protocols="vxlan geneve0 geneve2 gretap gre greseq" underlays="v4 v6" sizes="64 512 1500"
tunnel_counts="1 1000 1000000" directions="encap decap"
segments=1 fdb_sizes="1000 1000000" flood_remotes="1 8 64" esp=1 esp_sizes="64 1400"
usage() { sed -n '6,10p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1; protocols="vxlan geneve2 greseq"; underlays=v4; sizes=64; tunnel_counts=1
             dur=2; trial=0.5; churn=0; workers=""; segments=0; esp=0; shift ;;
    --peer) [ "${2:-}" = ovs ] || usage; peer=ovs; shift 2 ;;
    --reps) reps=$2; shift 2 ;;
    --duration) dur=$2; shift 2 ;;
    --trial) trial=$2; shift 2 ;;
    --protocols) protocols=$2; shift 2 ;;
    --underlays) underlays=$2; shift 2 ;;
    --sizes) sizes=$2; shift 2 ;;
    --tunnels) tunnel_counts=$2; shift 2 ;;
    --directions) directions=$2; shift 2 ;;
    --no-memif) memif=0; shift ;;
    --workers) workers=$2; shift 2 ;;
    --churn) churn=$2; shift 2 ;;
    --fdb) fdb_sizes=$2; shift 2 ;;
    --remotes) flood_remotes=$2; shift 2 ;;
    --no-segments) segments=0; shift ;;
    --only-segments) segments=1; protocols=""; memif=0; churn=0; workers=""; esp=0; shift ;;
    --esp-sizes) esp_sizes=$2; shift 2 ;;
    --no-esp) esp=0; shift ;;
    --out) out=$2; shift 2 ;;
    *) usage ;;
  esac
done

bash scripts/install-deps.sh ${peer:+--$peer} >/dev/null
[ -d build ] || meson setup build >/dev/null
ninja -C build control/tundra control/tundra-ctl bench/gen/tundra-gen bench/micro/control_bench \
  bench/micro/burst_bench >/dev/null
eval "$(bash scripts/hugepages.sh 512 2>/dev/null)"
mem=${TUNDRA_EAL_MEM:---no-huge -m 512}
export TUNDRA_EAL_MEM=$mem
PY=/usr/bin/python3
cell_py="$PY scripts/lib/bench_cell.py"

tmp=$(mktemp -d /tmp/tundra_bench.XXXXXX)
# shellcheck source=scripts/lib/bench_memif.sh
source scripts/lib/bench_memif.sh
[ -n "$peer" ] && source scripts/lib/bench_ovs.sh
cleanup() {
  memif_cleanup || true
  [ -n "$peer" ] && { ovs_cleanup || true; }
  rm -rf "$tmp"
  rm -f /dev/hugepages/tbench_*
}
trap cleanup EXIT
mkdir -p "$out"
raw=$tmp/raw.csv        # one line per run: dataplane,protocol,direction,underlay,size,tunnels,mpps,cycles
seg_raw=$tmp/segment.csv  # dataplane,cell,fdb,remotes,mpps,cycles (segment cells)
memif_raw=$tmp/memif.csv
extra=$tmp/extra.txt    # churn and scale-out lines for the report
esp_raw=$tmp/esp.csv    # rep,direction,size,plain cyc,plain floor cyc,esp cyc,esp floor cyc,esp mpps
: >"$raw"
: >"$esp_raw"
: >"$seg_raw"
: >"$memif_raw"
: >"$extra"

{
  echo "date: $(date -u +%FT%TZ)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
  echo "cores: $(nproc)"
  echo "tsc_mhz: $(awk '/tsc: Detected/ {print $(NF-2)}' <(dmesg 2>/dev/null) | tail -1)"
  echo "cpu_mhz: $(awk -F: '/cpu MHz/ {print $2+0; exit}' /proc/cpuinfo)"
  echo "kernel: $(uname -r)"
  echo "dpdk: $(pkg-config --modversion libdpdk)"
  [ -n "$peer" ] && echo "ovs: $(ovs-vswitchd --version 2>/dev/null | head -1)"
  echo "eal memory: $mem"
  echo "command: scripts/bench.sh $args"
} >"$out/machine.txt"

max_tunnels() { echo $(($1 + 65536)); }

# tundra on pcap → null: prints "mpps cycles" (median-free: one run).
run_tundra() {  # PCAP DIRECTION CONFIG TUNNELS [WORKERS [EXTRA_TIMEOUT_S [FLAG...]]]
  local pcap=$1 dir=$2 cfg=$3 tunnels=$4 nw=${5:-1} more=${6:-0} up acc lcores q
  shift $(($# < 6 ? $# : 6))
  # port 0 = uplink, port 1 = access; the pcap feeds the side the direction reads, one
  # rx queue per worker (RSS is not needed: each queue replays the whole pcap).
  local src="net_pcap0" sink="net_null0,no-rx=1"
  for q in $(seq "$nw"); do src="$src,rx_pcap=$pcap"; done
  src="$src,infinite_rx=1"
  if [ "$dir" = encap ]; then up=$sink; acc=$src; else up=$src; acc=$sink; fi
  # Workers on CPU 1 first; on this 2-CPU machine a second worker shares CPU 0 with the
  # (sleeping) control thread.
  lcores="0@0"
  for q in $(seq "$nw"); do lcores="$lcores,$q@$((q % 2))"; done
  local timeout_s=$((dur + 60 + tunnels / 20000 + more))
  timeout "$timeout_s" taskset -c 0,1 build/control/tundra --lcores="$lcores" --no-pci $mem \
    --file-prefix=tbench_t --log-level=error --vdev="$up" --vdev="$acc" -- --config="$cfg" --socket=none \
    --max_tunnels="$(max_tunnels "$tunnels")" "$@" 2>"$tmp/tundra.err" | $PY -c '
import json, sys
dur = float(sys.argv[1])
fwd = ports = None
for line in sys.stdin:
    if line.startswith("{\"workers\""):
        fwd = json.loads(line)
    elif line.startswith("{\"ports\""):
        ports = json.loads(line)["ports"]
if fwd is None or ports is None:
    print("NA NA"); sys.exit(0)
# Mpps counts what left the ports (a dropped packet is no throughput); cycles are the
# worker busy cycles per received packet, as testpmd reports them.
sent = sum(p["tx_packets"] for p in ports)
received = sum(p["rx_packets"] for p in ports)
drops = {k: v for p in ports for k, v in p["drop_reasons"].items() if v}
if received and sent < 0.99 * received:
    print("tundra: sent %d of %d received; drops %s" % (sent, received, drops), file=sys.stderr)
cycles = [w["cycles_per_packet"] for w in fwd["workers"] if w["packets"]]
print("%.3f %.2f" % (sent / dur / 1e6, sum(cycles) / len(cycles) if cycles else float("nan")))' \
    "$(echo "$dur" | awk '{print $1}')" || echo "NA NA"
}

run_testpmd() {  # PCAP → "mpps cycles"
  local pcap=$1 log=$tmp/testpmd.log
  { sleep 2; echo "show port stats all"; sleep "$dur"; echo "show port stats all"; echo stop
    sleep 2; echo quit; } |
    timeout $((dur + 30)) taskset -c 0,1 dpdk-testpmd -l 0,1 --no-pci $mem --file-prefix=tbench_p \
      --log-level=lib.eal:error --vdev="net_pcap0,rx_pcap=$pcap,infinite_rx=1" \
      --vdev=net_null0,no-rx=1 -- -i --auto-start --nb-cores=1 --forward-mode=io --burst=32 \
      --record-core-cycles --no-flush-rx --no-lsc-interrupt --total-num-mbufs=16384 >"$log" 2>&1 || true
  # The last two Rx-pps lines are the measurement window (source port, sink port);
  # "total cycles / total io packets" is testpmd's --record-core-cycles figure.
  $PY - "$log" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
pps = [int(v) for v in re.findall(r"Rx-pps:\s+(\d+)", text)]
m = re.findall(r"total cycles=(\d+) / total io packets=(\d+)", text)
mpps = sum(pps[-2:]) / 1e6 if len(pps) >= 2 else 0.0
cyc = int(m[-1][0]) / int(m[-1][1]) if m and int(m[-1][1]) else float("nan")
print("%.3f %.2f" % (mpps, cyc))
PY
}

make_pcap() {  # PROTO UNDERLAY DIRECTION SIZE TUNNELS OUT
  build/bench/gen/tundra-gen --no-huge -m 256 --file-prefix=tbench_g --log-level=error -- \
    --spec="$($cell_py gen-spec "$1" "$2" "$3" "$4" "$5")" --write_pcap="$6" --count=256 >/dev/null
}

echo "== single process: pcap → dataplane → null (reps $reps, ${dur}s each)" >&2
for proto in $protocols; do
  for ul in $underlays; do
    for size in $sizes; do
      for dir in $directions; do
        for tunnels in $tunnel_counts; do
          pcap=$tmp/$proto-$ul-$dir-$size-$tunnels.pcap
          make_pcap "$proto" "$ul" "$dir" "$size" "$tunnels" "$pcap"
          $cell_py config "$proto" "$ul" "$dir" "$tunnels" --measure-ms $((dur * 1000)) >"$tmp/run.cfg"
          for _r in $(seq "$reps"); do
            read -r mpps cyc < <(run_tundra "$pcap" "$dir" "$tmp/run.cfg" "$tunnels")
            echo "tundra,$proto,$dir,$ul,$size,$tunnels,$mpps,$cyc" | tee -a "$raw" >&2
            # The floor and the peer do not depend on the tunnel count: measured once.
            if [ "$tunnels" = "$(echo $tunnel_counts | cut -d' ' -f1)" ]; then
              read -r mpps cyc < <(run_testpmd "$pcap")
              echo "testpmd,$proto,$dir,$ul,$size,$tunnels,$mpps,$cyc" | tee -a "$raw" >&2
              if [ -n "$peer" ]; then
                read -r mpps cyc < <(run_ovs "$proto" "$ul" "$dir" "$size" "$pcap" "$dur")
                echo "ovs,$proto,$dir,$ul,$size,$tunnels,$mpps,$cyc" | tee -a "$raw" >&2
              fi
            fi
          done
        done
      done
    done
  done
done

if [ "$memif" = 1 ]; then
  echo "== two processes: tundra-gen ↔ memif ↔ tundra (NDR/PDR/MRR, latency at 50 % NDR)" >&2
  memif_protocols=$protocols memif_sizes=$sizes
  [ "$quick" = 1 ] && memif_protocols=vxlan
  for proto in $memif_protocols; do
    for ul in $underlays; do
      for size in $memif_sizes; do
        for dir in $directions; do
          res=$(memif_cell "$proto" "$ul" "$dir" "$size" "$trial")
          echo "$proto,$dir,$ul,$size,$(echo "$res" | tr ' ' ',')" | tee -a "$memif_raw" >&2
        done
      done
    done
  done
fi

if [ "$churn" -gt 0 ]; then
  echo "== loss under churn: vxlan/v4 64 B decap at 90 % of NDR, $churn tunnel add/del lines" >&2
  ndr=$(awk -F, '$1=="vxlan" && $2=="decap" && $3=="v4" && $4=="64" {print $5}' "$memif_raw" | tail -1)
  if [ -z "$ndr" ] || [ "$ndr" = NA ]; then
    ndr=$(memif_cell vxlan v4 decap 64 "$trial" | cut -d' ' -f1)
  fi
  if [ "$ndr" != NA ]; then
    # The trial covers the churn: one pipelined tundra-ctl batch (the control thread does
    # ~100k updates/s here).
    res=$(memif_churn vxlan v4 "$ndr" "$churn" $((churn / 40000 + 2)))
    echo "churn $ndr $churn $res" | tee -a "$extra" >&2
  fi
fi

for nw in $workers; do
  echo "== scale-out: vxlan/v4 64 B decap, $nw worker(s)" >&2
  pcap=$tmp/scale.pcap
  make_pcap vxlan v4 decap 64 1 "$pcap"
  $cell_py config vxlan v4 decap 1 --measure-ms $((dur * 1000)) >"$tmp/run.cfg"
  for _r in $(seq "$reps"); do
    read -r mpps cyc < <(run_tundra "$pcap" decap "$tmp/run.cfg" 1 "$nw")
    echo "workers $nw $mpps $cyc" | tee -a "$extra" >&2
  done
done

if [ "$segments" = 1 ]; then
  echo "== segments: vxlan/v4 64 B, known unicast and flooding, beside the xconnect cells" >&2
  seg_py="$PY scripts/lib/bench_segment.py"
  for dir in encap decap; do
    make_pcap vxlan v4 "$dir" 64 1 "$tmp/xc-$dir.pcap"
    $cell_py config vxlan v4 "$dir" 1 --measure-ms $((dur * 1000)) >"$tmp/xc-$dir.cfg"
    for fdb in $fdb_sizes; do
      $seg_py pcap "ku-$dir" "$tmp/ku-$dir-$fdb.pcap" --fdb "$fdb"
      $seg_py config "ku-$dir" --fdb "$fdb" --measure-ms $((dur * 1000)) >"$tmp/ku-$dir-$fdb.cfg"
    done
    # Interleaved per rep: the xconnect cell, then the segment cell at each FDB size.
    for _r in $(seq "$reps"); do
      read -r mpps cyc < <(run_tundra "$tmp/xc-$dir.pcap" "$dir" "$tmp/xc-$dir.cfg" 1)
      echo "tundra,xconnect-$dir,0,1,$mpps,$cyc" | tee -a "$seg_raw" >&2
      for fdb in $fdb_sizes; do
        # --max_fdb_entries: room for the static entries and the learned hosts.
        read -r mpps cyc < <(run_tundra "$tmp/ku-$dir-$fdb.pcap" "$dir" "$tmp/ku-$dir-$fdb.cfg" 1 1 \
          $((fdb / 20000)) --max_fdb_entries=$((fdb + 65536)))
        echo "tundra,ku-$dir,$fdb,1,$mpps,$cyc" | tee -a "$seg_raw" >&2
      done
    done
  done
  for remotes in $flood_remotes; do
    $PY scripts/lib/bench_segment.py pcap bum-encap "$tmp/bum.pcap"
    $seg_py config bum-encap --remotes "$remotes" --measure-ms $((dur * 1000)) >"$tmp/bum.cfg"
    for _r in $(seq "$reps"); do
      read -r mpps cyc < <(run_tundra "$tmp/bum.pcap" encap "$tmp/bum.cfg" "$remotes")
      echo "tundra,bum-encap,0,$remotes,$mpps,$cyc" | tee -a "$seg_raw" >&2
      read -r mpps cyc < <(run_testpmd "$tmp/bum.pcap")
      echo "testpmd,bum-encap,0,$remotes,$mpps,$cyc" | tee -a "$seg_raw" >&2
    done
  done
  echo "== control thread: learning rate, next-hop re-point (build/bench/micro/control_bench)" >&2
  for _r in $(seq "$reps"); do
    taskset -c 0 build/bench/micro/control_bench --macs=1000000 --tunnels=100000 |
      tee -a "$tmp/control.jsonl" >&2
  done
  $PY - "$tmp/control.jsonl" >>"$extra" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    o = json.loads(line)
    if o["case"] == "learn":
        print("learn", o["macs"], "%.0f" % o["macs_per_second"])
    else:
        print(o["case"], o["tunnels"], o["us"])
PY
fi

if [ "$esp" = 1 ]; then
  echo "== ESP: vxlan/v4 + AES-GCM-128 beside plain vxlan, one worker (reps $reps)" >&2
  for size in $esp_sizes; do
    for dir in encap decap; do
      plain=$tmp/esp-plain-$dir-$size.pcap
      make_pcap vxlan v4 "$dir" "$size" 1 "$plain"
      sealed=$plain
      if [ "$dir" = decap ]; then
        sealed=$tmp/esp-$dir-$size.pcap
        $cell_py esp-pcap "$plain" "$sealed"
      fi
      $cell_py config vxlan v4 "$dir" 1 --measure-ms $((dur * 1000)) >"$tmp/esp-plain.cfg"
      $cell_py config vxlan-esp v4 "$dir" 1 --measure-ms $((dur * 1000)) >"$tmp/esp.cfg"
      for r in $(seq "$reps"); do
        read -r _ pc < <(run_tundra "$plain" "$dir" "$tmp/esp-plain.cfg" 1)
        read -r _ pf < <(run_testpmd "$plain")
        read -r em ec < <(run_tundra "$sealed" "$dir" "$tmp/esp.cfg" 1)
        read -r fm ef < <(run_testpmd "$sealed")
        echo "tundra,vxlan-esp,$dir,v4,$size,1,$em,$ec" >>"$raw"
        echo "testpmd,vxlan-esp,$dir,v4,$size,1,$fm,$ef" >>"$raw"
        echo "$r,$dir,$size,$pc,$pf,$ec,$ef,$em" | tee -a "$esp_raw" >&2
      done
    done
  done
  # ESP encrypts the UDP and VXLAN headers (16 bytes), the inner frame and the trailer
  # (2 bytes), padded to 4: the cipher's operation for each size is that long.
  bytes=$(for s in $esp_sizes; do echo $(((s + 18 + 3) / 4 * 4)); done | paste -sd,)
  for _r in $(seq "$reps"); do
    taskset -c 1 build/bench/micro/burst_bench --only=none --cipher_bytes="$bytes" \
      --bursts=20000 | $PY -c '
import json, sys
for o in map(json.loads, sys.stdin):
    print("cipher", o["cipher_bytes"], o["cycles_per_op"])' | tee -a "$extra" >&2
  done
  why=$(bash -c 'source scripts/lib/topology.sh; topo_kernel_esp' 2>&1) && why=""
  echo "espkernel ${why:-available}" >>"$extra"
fi

echo "== trace off: the trace check's cost with no trace armed (burst_bench, same run)" >&2
for _r in $(seq "$reps"); do
  taskset -c 1 build/bench/micro/burst_bench --only=vxlan-v4 --bursts=200000 \
    --untraced=encap-vxlan-v4,decap-vxlan-v4 | $PY -c '
import json, sys
c = {o["case"]: o["cycles_per_packet"] for o in map(json.loads, sys.stdin)}
for case in ("encap-vxlan-v4", "decap-vxlan-v4"):
    print("traceoff", case, c[case], c[case + "-untraced"])' | tee -a "$extra" >&2
done

$PY scripts/lib/bench_report.py --raw "$raw" --memif "$memif_raw" --extra "$extra" \
  --segments "$seg_raw" --esp "$esp_raw" \
  --machine "$out/machine.txt" --out "$out" --command "scripts/bench.sh $args"
if command -v gnuplot >/dev/null; then
  gnuplot -e "datafile='$out/chart.dat'; outfile='$out/latest.png'" bench/chart.gp 2>/dev/null &&
    echo "wrote $out/latest.png" >&2
fi
echo "wrote $out/latest.csv, $out/latest.md, $out/machine.txt" >&2
