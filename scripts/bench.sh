#!/usr/bin/env bash
# Single-process throughput: tundra and the testpmd io floor on identical ports and
# traffic, side by side in the same run. Ports: net_pcap replaying a tundra-gen pcap
# forever (infinite_rx=1) → net_null (no-rx=1), one worker core — the setup
# ../shared/peers measured the floor and OVS-DPDK on (25 cycles/packet for testpmd io).
#
#   scripts/bench.sh [--quick] [--reps N] [--duration S]
#
# Each cell runs REPS times per dataplane; the median is reported. Writes
# bench/results/latest.csv (dataplane,protocol,direction,underlay,size,tunnels,mpps,
# cycles_per_packet), latest.md (with tundra's cost over the floor) and machine.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

quick=0
reps=3
dur=3
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1; shift ;;
    --reps) reps=$2; shift 2 ;;
    --duration) dur=$2; shift 2 ;;
    *) echo "usage: scripts/bench.sh [--quick] [--reps N] [--duration S]" >&2; exit 2 ;;
  esac
done

bash scripts/install-deps.sh >/dev/null
[ -x build/control/tundra ] || { meson setup build >/dev/null; }
ninja -C build >/dev/null
eval "$(bash scripts/hugepages.sh 512 2>/dev/null)"
mem=${TUNDRA_EAL_MEM:---no-huge -m 512}

out=bench/results
tmp=$(mktemp -d /tmp/tundra_bench.XXXXXX)
trap 'rm -rf "$tmp"; rm -f /dev/hugepages/tbench_*' EXIT
mkdir -p "$out"
csv=$out/latest.csv
raw=$tmp/raw.csv
echo "dataplane,protocol,direction,underlay,size,tunnels,mpps,cycles_per_packet" >"$raw"

{
  echo "date: $(date -u +%FT%TZ)"
  grep -m1 "model name" /proc/cpuinfo
  echo "cores: $(nproc)"
  echo "tsc_mhz: $(awk '/tsc: Detected/ {print $(NF-2)}' <(dmesg 2>/dev/null) | tail -1)"
  echo "dpdk: $(pkg-config --modversion libdpdk)"
  echo "eal memory: $mem"
} >"$out/machine.txt"

# protocol label → tundra-gen proto/opts and tundra tunnel options
gen_spec() {  # PROTO UNDERLAY DIRECTION SIZE
  local proto=$1 ul=$2 dir=$3 size=$4 p opts=0
  case "$proto" in
    vxlan) p=vxlan ;; geneve0) p=geneve ;; geneve2) p=geneve; opts=2 ;;
    gretap) p=gretap ;; gre) p=gre ;;
  esac
  if [ "$dir" = encap ]; then
    # Inner frames as a tenant sends them (for gre: to the routed access port's MAC).
    echo "proto=none size=$size flows=256 inner_dmac=02:00:00:00:00:11"
  else
    echo "proto=$p opts=$opts ip=${ul#v} size=$size flows=256 tunnels=1"
  fi
}

tundra_config() {  # PROTO UNDERLAY DIRECTION
  local proto=$1 ul=$2 local_ip remote_ip prefix
  if [ "$ul" = v4 ]; then local_ip=192.0.2.1; remote_ip=192.0.2.2; prefix=24
  else local_ip=2001:db8::1; remote_ip=2001:db8::2; prefix=64; fi
  local type opts=""
  case "$proto" in
    vxlan) type=vxlan; opts="vni 100" ;;
    geneve0) type=geneve; opts="vni 100" ;;
    geneve2) type=geneve; opts="vni 100 option 0xfff0:0x01:00000000 option 0xfff0:0x02:0000000000000000" ;;
    gretap) type=gretap; opts="key 100" ;;
    gre) type=gre; opts="key 100" ;;
  esac
  cat <<CFG
port config 0 role uplink
port config 0 address $local_ip/$prefix
port config 0 mac 02:00:00:00:00:01
port config 1 role access
port config 1 mac 02:00:00:00:00:11
neigh add $remote_ip 02:00:00:00:00:02 port 0
tunnel add t type $type local $local_ip remote $remote_ip $opts
CFG
  if [ "$proto" = gre ]; then
    echo "port config 1 address 10.2.0.254/16"
    echo "neigh add 10.2.0.1 02:00:00:00:10:02 port 1"
    echo "route add 10.0.0.0/8 tunnel t"
  else
    echo "xconnect add 1 tunnel t"
  fi
  echo "start"
  echo "sleep 1000"
  echo "clear stats"
  echo "sleep $((dur * 1000))"
  echo "show fwd stats json"
  echo "show port stats all json"
  echo "quit"
}

run_tundra() {  # PCAP DIRECTION CONFIG → "mpps cycles"
  local pcap=$1 dir=$2 cfg=$3 rx tx
  # port 0 = uplink, port 1 = access; the pcap feeds the side the direction reads.
  if [ "$dir" = encap ]; then
    rx0="net_null0,no-rx=1"; rx1="net_pcap0,rx_pcap=$pcap,infinite_rx=1"
  else
    rx0="net_pcap0,rx_pcap=$pcap,infinite_rx=1"; rx1="net_null0,no-rx=1"
  fi
  timeout $((dur + 30)) taskset -c 0,1 build/control/tundra -l 0-1 --no-pci $mem \
    --file-prefix=tbench_t --log-level=error --vdev="$rx0" --vdev="$rx1" -- --config="$cfg" \
    2>/dev/null | /usr/bin/python3 -c '
import json, sys
dur = float(sys.argv[1])
fwd = None
for line in sys.stdin:
    if line.startswith("{\"workers\""):
        fwd = json.loads(line)
w = fwd["workers"][0]
packets, cycles = w["packets"], w["cycles_per_packet"]
print("%.3f %.2f" % (packets / dur / 1e6, cycles))' "$dur"
}

run_testpmd() {  # PCAP → "mpps cycles"
  local pcap=$1 log=$tmp/testpmd.log
  { sleep 2; echo "show port stats all"; sleep "$dur"; echo "show port stats all"; echo stop;
    sleep 2; echo quit; } |
    timeout $((dur + 30)) taskset -c 0,1 dpdk-testpmd -l 0,1 --no-pci $mem --file-prefix=tbench_p \
      --log-level=lib.eal:error --vdev="net_pcap0,rx_pcap=$pcap,infinite_rx=1" \
      --vdev=net_null0,no-rx=1 -- -i --auto-start --nb-cores=1 --forward-mode=io --burst=32 \
      --record-core-cycles --no-flush-rx --no-lsc-interrupt --total-num-mbufs=16384 >"$log" 2>&1 || true
  # The last two Rx-pps lines are the measurement window (source port, sink port);
  # "total cycles / total io packets" is testpmd's --record-core-cycles figure (the
  # prompt's echo can split its "CPU cycles/packet" line).
  /usr/bin/python3 - "$log" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
pps = [int(v) for v in re.findall(r"Rx-pps:\s+(\d+)", text)]
m = re.findall(r"total cycles=(\d+) / total io packets=(\d+)", text)
mpps = sum(pps[-2:]) / 1e6 if len(pps) >= 2 else 0.0
cyc = int(m[-1][0]) / int(m[-1][1]) if m and int(m[-1][1]) else float("nan")
print("%.3f %.2f" % (mpps, cyc))
PY
}

if [ "$quick" = 1 ]; then
  protocols="vxlan gre"; underlays="v4"; sizes="64"
else
  protocols="vxlan geneve0 geneve2 gretap gre"; underlays="v4 v6"; sizes="64 512 1500"
fi

for proto in $protocols; do
  for ul in $underlays; do
    for size in $sizes; do
      for dir in encap decap; do
        pcap=$tmp/$proto-$ul-$dir-$size.pcap
        build/bench/gen/tundra-gen -- --spec="$(gen_spec "$proto" "$ul" "$dir" "$size")" \
          --write_pcap="$pcap" --count=256 >/dev/null
        tundra_config "$proto" "$ul" "$dir" >"$tmp/run.cfg"
        for r in $(seq "$reps"); do
          read -r mpps cyc < <(run_tundra "$pcap" "$dir" "$tmp/run.cfg")
          echo "tundra,$proto,$dir,$ul,$size,1,$mpps,$cyc" | tee -a "$raw"
          read -r mpps cyc < <(run_testpmd "$pcap")
          echo "testpmd,$proto,$dir,$ul,$size,1,$mpps,$cyc" | tee -a "$raw"
        done
      done
    done
  done
done

/usr/bin/python3 - "$raw" "$csv" "$out/latest.md" <<'PY'
import csv, statistics, sys
raw, out_csv, out_md = sys.argv[1:4]
rows = list(csv.DictReader(open(raw)))
cells = {}
for r in rows:
    key = tuple(r[k] for k in ("dataplane", "protocol", "direction", "underlay", "size", "tunnels"))
    cells.setdefault(key, []).append(r)
with open(out_csv, "w") as f:
    f.write("dataplane,protocol,direction,underlay,size,tunnels,mpps,cycles_per_packet\n")
    med = {}
    for key, rs in cells.items():
        mpps = statistics.median(float(r["mpps"]) for r in rs)
        cyc = statistics.median(float(r["cycles_per_packet"]) for r in rs
                                if r["cycles_per_packet"] not in ("", "NA"))
        med[key] = (mpps, cyc)
        f.write(",".join(key) + f",{mpps:.3f},{cyc:.2f}\n")
with open(out_md, "w") as f:
    f.write("| protocol | direction | underlay | size | tundra Mpps | tundra cyc/pkt | testpmd io Mpps |"
            " floor cyc/pkt | tundra cost over floor |\n|---|---|---|---|---|---|---|---|---|\n")
    for key, (mpps, cyc) in sorted(med.items()):
        if key[0] != "tundra":
            continue
        floor = med.get(("testpmd",) + key[1:])
        if floor:
            f.write(f"| {key[1]} | {key[2]} | {key[3]} | {key[4]} | {mpps:.2f} | {cyc:.1f} | "
                    f"{floor[0]:.2f} | {floor[1]:.1f} | {cyc - floor[1]:.1f} |\n")
print(open(out_md).read())
PY
echo "wrote $csv, $out/latest.md, $out/machine.txt"
