#!/usr/bin/env bash
# tundra demo: a tenant host and a Linux kernel VXLAN VTEP, each in its own
# network namespace, joined only through tundra (DPDK, net_af_packet ports).
#
#   ns tundra-host-<pid>  10.10.0.1/24 fd10::1/64
#        veth ─── [root ns] net_af_packet1 = tundra port 1 (access, xconnect)
#                                  tundra  ═══ VXLAN VNI 100 ═══╗
#        veth ─── [root ns] net_af_packet0 = tundra port 0 (uplink 192.0.2.1)
#   ns tundra-vtep-<pid>  192.0.2.2/24 on the veth, kernel vxlan vx0 with
#                         10.10.0.2/24 fd10::2/64 (the tenant's peer)
#
# Proof that the overlay works: ping both ways over IPv4 and IPv6 overlays,
# and a 1 MiB TCP transfer each way (per overlay family) whose SHA-256 is
# checked on the receiving side. Prints tundra's port and tunnel counters
# (human and JSON) and the kernel VTEP's vx0 counters, then tears down.
#
# tundra runs without a prompt and is driven through its control socket
# ($TMP/t.sock) with tundra-ctl: each command's reply says it ran and whether
# it was accepted.
#
# Usage: scripts/demo.sh [--underlay ipv4|ipv6] [--keep-going] [--no-build] [--segment]
#   --underlay     underlay address family between tundra and the VTEP (ipv4)
#   --segment      the multipoint demo instead: one segment, tundra and two
#                  kernel VTEPs (runs scripts/demo_segment.sh)
#   --keep-going   run every step even after a failure (exit status still 1)
#   --no-build     skip meson/ninja (use an existing build/control/tundra)
# Environment:
#   TUNDRA_EAL_MEM  EAL memory options (default: what scripts/hugepages.sh
#                   offers, else "--no-huge -m 512"; --huge-unlink is added
#                   when hugepages are used)
#   TUNDRA_BIN      tundra binary to run (default build/control/tundra)
#   TUNDRA_CTL_BIN  tundra-ctl to drive it with (default: next to TUNDRA_BIN)
#   TUNDRA_DEMO_KEEP_LOGS=1  keep the run's scratch directory (logs) on exit
#
# Exit status: 0 when all traffic crossed and the counters agree; 1 when a
# step failed (a "[demo] FAIL" line says which); 2 usage; 77 when the machine
# cannot run it (not root, no network namespaces); 130/143 on SIGINT/SIGTERM.
# Machine-readable lines: "[demo] json <what> <one JSON document>", where
# <what> is ports, tunnels, mempools (after the traffic, quiesced),
# mempools_baseline (before it) or vtep_vx0 (`ip -s -j link show vx0`).

# Functions run from traps and through wait_for look unreachable to shellcheck.
# shellcheck disable=SC2317
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/lib/topology.sh
source "$ROOT/scripts/lib/topology.sh"
PY=/usr/bin/python3

underlay=ipv4
keep_going=0
do_build=1
segment=0
usage() { sed -n '2,/^$/s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; }
while [ $# -gt 0 ]; do
  case $1 in
    --underlay) underlay=${2:-}; shift 2 || { usage >&2; exit 2; } ;;
    --underlay=*) underlay=${1#*=}; shift ;;
    --keep-going) keep_going=1; shift ;;
    --no-build) do_build=0; shift ;;
    --segment) segment=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "demo: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done
case $underlay in ipv4|ipv6) ;; *) echo "demo: --underlay must be ipv4 or ipv6" >&2; exit 2 ;; esac
if [ "$segment" = 1 ]; then
  build_flag=()
  [ "$do_build" = 1 ] || build_flag=(--no-build)
  exec "$(dirname "${BASH_SOURCE[0]}")/demo_segment.sh" --underlay "$underlay" "${build_flag[@]}"
fi

say() { printf '[demo] %s\n' "$*"; }
failures=()
# fail STEP WHY — records a failed step; stops the demo unless --keep-going.
fail() {
  failures+=("$1")
  say "$1: FAIL${2:+ ($2)}"
  if [ "$keep_going" -eq 0 ]; then
    finish
  fi
}
ok() { say "$1: ok"; }
indent() { sed 's/^/[demo]   | /'; }   # quotes other programs' output

# ---------------------------------------------------------------- teardown
TMP=""
SOCK=""
TUNDRA_PID=""
BG_PIDS=()
cleaned=0
cleanup() {
  [ "$cleaned" -eq 1 ] && return
  cleaned=1
  set +e
  local p
  for p in "${BG_PIDS[@]}"; do
    kill "$p" 2>/dev/null
  done
  if [ -n "$TUNDRA_PID" ] && kill -0 "$TUNDRA_PID" 2>/dev/null; then
    ctl --timeout=5 quit >/dev/null 2>&1
    wait_for 10 tundra_exited || { kill -TERM "$TUNDRA_PID" 2>/dev/null; wait_for 5 tundra_exited; } ||
      kill -KILL "$TUNDRA_PID" 2>/dev/null
    reap_tundra
  fi
  [ ${#TOPO_CREATED[@]} -gt 0 ] && said_teardown=1 || said_teardown=0
  topo_destroy
  # DPDK's runtime directory for our --file-prefix (ours alone: unique name).
  rm -rf "/var/run/dpdk/demo_$$"
  if [ -n "$TMP" ]; then
    if [ "${TUNDRA_DEMO_KEEP_LOGS:-0}" = 1 ]; then
      say "logs kept in $TMP"
    else
      rm -rf "$TMP"
    fi
  fi
  [ "$said_teardown" -eq 1 ] && say "torn down"
  return 0
}
# finish [STATUS] — prints the verdict, tears down and exits (STATUS, or
# 0/1 by the recorded failures).
finish() {
  if [ -n "$TMP" ] && [ -f "$TMP/tundra.log" ] && [ ${#failures[@]} -gt 0 ]; then
    # tundra's counters (drop reasons), then its own output.
    if tundra_alive; then
      say "tundra's counters:"
      { ctl --timeout=5 show port stats all; ctl --timeout=5 show tunnel stats; } 2>&1 | indent
    fi
    say "last lines of tundra's output:"
    tail -n 40 "$TMP/tundra.log" | indent
  fi
  cleanup
  if [ ${#failures[@]} -eq 0 ]; then
    say "PASS (underlay $underlay): all overlay traffic crossed tundra"
    exit 0
  fi
  local all
  all=$(printf '%s; ' "${failures[@]}")
  say "FAIL (underlay $underlay): ${all%; }"
  exit "${1:-1}"
}
on_signal() {
  trap - INT TERM
  say "interrupted by SIG$1"
  failures+=("interrupted")
  finish $((128 + $2))
}
trap cleanup EXIT
trap 'on_signal INT 2' INT
trap 'on_signal TERM 15' TERM

# wait_for SECONDS CMD... — polls CMD every 0.1 s until it succeeds.
wait_for() {
  local deadline=$((SECONDS + $1)); shift
  while ! "$@"; do
    [ "$SECONDS" -ge "$deadline" ] && return 1
    sleep 0.1
  done
  return 0
}
tundra_exited() { ! kill -0 "$TUNDRA_PID" 2>/dev/null; }
# reap_tundra — collects tundra's exit status into TUNDRA_RC and forgets its
# PID, so nothing signals a PID the system may hand to another process.
TUNDRA_RC=""
reap_tundra() {
  wait "$TUNDRA_PID" 2>/dev/null
  TUNDRA_RC=$?
  TUNDRA_PID=""
}
tundra_alive() { [ -n "$TUNDRA_PID" ] && kill -0 "$TUNDRA_PID" 2>/dev/null; }

# ------------------------------------------------------------ preconditions
if [ "$(id -u)" -ne 0 ]; then
  say "SKIP: needs root (network namespaces, veths, AF_PACKET)"
  exit 77
fi
if ! topo_netns_usable; then
  say "SKIP: cannot create network namespaces here (ip netns add failed)"
  exit 77
fi

say "underlay $underlay"
if [ -x "$ROOT/scripts/install-deps.sh" ] || [ -f "$ROOT/scripts/install-deps.sh" ]; then
  if bash "$ROOT/scripts/install-deps.sh" 2>&1 | indent; then ok "dependencies"
  else fail "dependencies" "scripts/install-deps.sh failed"; fi
fi
for tool in ip ping sysctl sha256sum; do
  command -v "$tool" >/dev/null || fail "dependencies" "'$tool' not found"
done
[ -x "$PY" ] || fail "dependencies" "$PY not found"

TUNDRA=${TUNDRA_BIN:-$ROOT/build/control/tundra}
TUNDRA_CTL=${TUNDRA_CTL_BIN:-$(dirname "$TUNDRA")/tundra-ctl}
if [ -z "${TUNDRA_BIN:-}" ] && [ "$do_build" -eq 1 ]; then
  if [ ! -f "$ROOT/build/build.ninja" ]; then
    say "meson setup build"
    (cd "$ROOT" && meson setup build) 2>&1 | tail -n 20 | indent
  fi
  if build_out=$(cd "$ROOT" && ninja -C build 2>&1); then
    ok "build"
  else
    tail -n 30 <<<"$build_out" | indent
    fail "build" "ninja -C build failed"
  fi
fi
[ -x "$TUNDRA" ] || fail "build" "$TUNDRA missing or not executable"
[ -x "$TUNDRA_CTL" ] || fail "build" "$TUNDRA_CTL missing or not executable"

# EAL memory: TUNDRA_EAL_MEM, else what scripts/hugepages.sh offers (it
# prints "export TUNDRA_EAL_MEM='...'": hugepages when it could reserve them,
# else --no-huge), else --no-huge.
if [ -n "${TUNDRA_EAL_MEM:-}" ]; then
  EAL_MEM=${TUNDRA_EAL_MEM}
else
  EAL_MEM="--no-huge -m 512"
  if [ -f "$ROOT/scripts/hugepages.sh" ]; then
    hp_err=$(mktemp)
    hp_out=$(bash "$ROOT/scripts/hugepages.sh" 2>"$hp_err")
    indent <"$hp_err"; rm -f "$hp_err"
    hp_mem=$(sed -n "s/^export TUNDRA_EAL_MEM='\([^']*\)'.*/\1/p" <<<"$hp_out" | tail -n 1)
    [ -n "$hp_mem" ] && EAL_MEM=$hp_mem
  fi
fi
# Our --file-prefix is unique per run: without --huge-unlink its hugepage
# files would stay behind in hugetlbfs, holding the pages, after tundra exits.
case " $EAL_MEM " in
  *" --no-huge "*|*" --huge-unlink"*|*" --in-memory "*) ;;
  *) EAL_MEM="$EAL_MEM --huge-unlink" ;;
esac
say "EAL memory: $EAL_MEM"

# ----------------------------------------------------------------- topology
TMP=$(mktemp -d /tmp/tundra-demo.XXXXXX)
topo_names $$ "$underlay"
if topo_create; then
  ok "topology: $TOPO_HOST_NS ($TOPO_HOST_V4, $TOPO_HOST_V6) <-> tundra <-> $TOPO_VTEP_NS (vx0 $TOPO_PEER_V4, $TOPO_PEER_V6; underlay $TOPO_VTEP_UL)"
else
  fail "topology" "building namespaces/veths/vxlan failed"
  finish
fi
VTEP_MAC=$(topo_vtep_mac)

# ------------------------------------------------------------ start tundra
LOG=$TMP/tundra.log
SOCK=$TMP/t.sock   # short: a UNIX socket path has at most 107 bytes
# ctl [--json] [--timeout=S] WORDS... — one command over the control socket:
# its output on stdout, "error: ..." on stderr; exit 0 ok, 1 rejected, 2 no tundra.
ctl() { "$TUNDRA_CTL" --socket="$SOCK" "$@"; }
# shellcheck disable=SC2086  # EAL_MEM is a list of options
"$TUNDRA" -l 0-1 --no-pci $EAL_MEM --file-prefix="demo_$$" \
  --vdev="net_af_packet0,iface=$TOPO_UP_IF" --vdev="net_af_packet1,iface=$TOPO_ACC_IF" \
  -- --socket="$SOCK" </dev/null >"$LOG" 2>&1 &
TUNDRA_PID=$!
say "tundra started as pid $TUNDRA_PID: $TUNDRA -l 0-1 --no-pci $EAL_MEM --file-prefix=demo_$$ --vdev=net_af_packet0,iface=$TOPO_UP_IF --vdev=net_af_packet1,iface=$TOPO_ACC_IF -- --socket=$SOCK"

# The socket answers once tundra is up (EAL, ports probed); tundra-ctl exits 2
# until then.
tundra_answers() {
  tundra_alive || return 0
  ctl --timeout=5 help quit >/dev/null 2>&1
}
if ! wait_for 90 tundra_answers; then
  fail "start tundra" "no answer on $SOCK within 90 s"; finish
fi
if ! tundra_alive; then
  reap_tundra; fail "start tundra" "tundra exited with status $TUNDRA_RC before answering"; finish
fi

config=(
  "port config 0 role uplink"
  "port config 0 address $TOPO_TUNDRA_UL/$TOPO_UL_PLEN"
  "port config 1 role access"
  "neigh add $TOPO_VTEP_UL $VTEP_MAC port 0"
  "tunnel add t1 type vxlan local $TOPO_TUNDRA_UL remote $TOPO_VTEP_UL vni $TOPO_VNI"
  "xconnect add 1 tunnel t1"
  "start"
)
for c in "${config[@]}"; do say "tundra> $c"; done
# One batch: each line runs once the one before answered; the first rejected
# one stops it ("FILE:LINE: error: ...").
printf '%s\n' "${config[@]}" >"$TMP/config"
if out=$(ctl --timeout=60 -f "$TMP/config" 2>&1); then
  ok "tundra configured and started"
else
  indent <<<"$out"
  fail "configure tundra" "a command was rejected or not answered"
fi
# json WHAT — `show WHAT json` on one line (for the "[demo] json" lines).
json() { ctl --timeout=15 --json show "$@" | tr -d '\n'; }
# The baseline once tundra's first frames are out (as after the traffic below).
if ctl --timeout=15 wait idle 300 >/dev/null && j=$(json mempool); then
  say "json mempools_baseline $j"
fi

# ------------------------------------------------------------------ traffic
nsx() { ip netns exec "$1" "${@:2}"; }

ping_check() {   # NS-label NS ADDR
  local label=$1 ns=$2 addr=$3 fam=-4 out
  [[ $addr == *:* ]] && fam=-6
  if out=$(nsx "$ns" ping "$fam" -c 3 -i 0.3 -W 2 "$addr" 2>&1); then
    ok "ping $addr from $label ($(grep -o '[0-9]* received' <<<"$out") of 3)"
  else
    indent <<<"$out"
    fail "ping $addr from $label"
  fi
}
ping_check tundra-host "$TOPO_HOST_NS" "$TOPO_PEER_V4"
ping_check tundra-vtep "$TOPO_VTEP_NS" "$TOPO_HOST_V4"
ping_check tundra-host "$TOPO_HOST_NS" "$TOPO_PEER_V6"
ping_check tundra-vtep "$TOPO_VTEP_NS" "$TOPO_HOST_V6"

PAYLOAD=$TMP/payload
head -c $((1024 * 1024)) /dev/urandom >"$PAYLOAD"
PAYLOAD_SHA=$(sha256sum "$PAYLOAD" | cut -d' ' -f1)
PAYLOAD_LEN=$(stat -c %s "$PAYLOAD")
tcp_port=5201
tcp_check() {    # FROM-label FROM-NS TO-label TO-NS TO-ADDR
  local from=$1 from_ns=$2 to=$3 to_ns=$4 addr=$5 port=$tcp_port step ready out spid got
  tcp_port=$((tcp_port + 1))
  step="tcp 1 MiB $from -> $to [$addr]:$port"
  ready=$TMP/ready.$port out=$TMP/server.$port
  nsx "$to_ns" timeout 60 "$PY" "$TOPO_TCP_PY" server "$addr" "$port" "$ready" 30 >"$out" 2>&1 &
  spid=$!
  BG_PIDS=("$spid")   # only the live server: a reaped PID may be reused
  if ! wait_for 10 test -e "$ready"; then
    kill "$spid" 2>/dev/null
    wait "$spid" 2>/dev/null
    BG_PIDS=()
    fail "$step" "server did not start: $(cat "$out")"
    return
  fi
  local cout crc
  cout=$(nsx "$from_ns" timeout 60 "$PY" "$TOPO_TCP_PY" client "$addr" "$port" "$PAYLOAD" 20 2>&1)
  crc=$?
  if [ $crc -ne 0 ]; then
    kill "$spid" 2>/dev/null
    wait "$spid" 2>/dev/null
    BG_PIDS=()
    fail "$step" "sender failed (status $crc): $(tail -n 1 <<<"$cout")"
    return
  fi
  wait "$spid" 2>/dev/null
  BG_PIDS=()
  got=$(tail -n 1 "$out")
  if [ "$got" = "$PAYLOAD_LEN $PAYLOAD_SHA" ]; then
    ok "$step (sha256 ${PAYLOAD_SHA:0:16}... matches on $to)"
  else
    fail "$step" "receiver got '${got:-nothing}', sent '$PAYLOAD_LEN $PAYLOAD_SHA'"
  fi
}
tcp_check tundra-host "$TOPO_HOST_NS" tundra-vtep "$TOPO_VTEP_NS" "$TOPO_PEER_V4"
tcp_check tundra-vtep "$TOPO_VTEP_NS" tundra-host "$TOPO_HOST_NS" "$TOPO_HOST_V4"
tcp_check tundra-host "$TOPO_HOST_NS" tundra-vtep "$TOPO_VTEP_NS" "$TOPO_PEER_V6"
tcp_check tundra-vtep "$TOPO_VTEP_NS" tundra-host "$TOPO_HOST_NS" "$TOPO_HOST_V6"

# ----------------------------------------------------------------- counters
say "tundra counters:"
if text=$(ctl --timeout=15 show port stats all) && j=$(json port stats all); then
  indent <<<"$text"
  say "json ports $j"
else
  fail "counters" "no answer to 'show port stats all'"
fi
TUNNELS_JSON=""
if text=$(ctl --timeout=15 show tunnel stats) && j=$(json tunnel stats); then
  indent <<<"$text"
  say "json tunnels $j"
  TUNNELS_JSON=$j
else
  fail "counters" "no answer to 'show tunnel stats'"
fi
# Quiesce first so no mbuf is in flight, then compare with the baseline.
if ctl --timeout=15 wait idle 300 >/dev/null && text=$(ctl --timeout=15 show mempool) &&
    j=$(json mempool); then
  indent <<<"$text"
  say "json mempools $j"
fi
VX_JSON=$(topo_vx_stats_json)
say "json vtep_vx0 $VX_JSON"

# The counters must agree that the traffic went through tundra's tunnel and
# the kernel VTEP's vx0 (there is no other path between the namespaces).
PY_COUNTERS='
import json, sys
tunnels, vx = sys.argv[1], sys.argv[2]
problems = []
try:
    t = [t for t in json.loads(tunnels)["tunnels"] if t.get("name") == "t1"]
    if not t:
        problems.append("tunnel t1 missing from show tunnel stats json")
    else:
        for k in ("encap_packets", "decap_packets"):
            if not t[0].get(k, 0) > 0:
                problems.append("tundra t1 %s = %s" % (k, t[0].get(k)))
except (ValueError, KeyError, TypeError) as e:
    problems.append("bad tunnel json: %s" % e)
try:
    s = json.loads(vx)[0]["stats64"]
    for d in ("rx", "tx"):
        if not s[d]["packets"] > 0:
            problems.append("vtep vx0 %s packets = %d" % (d, s[d]["packets"]))
    print("vtep vx0 rx %d tx %d packets" % (s["rx"]["packets"], s["tx"]["packets"]))
except (ValueError, KeyError, IndexError, TypeError) as e:
    problems.append("bad vx0 json: %s" % e)
for p in problems:
    print("problem: " + p)
sys.exit(1 if problems else 0)
'
if out=$("$PY" -c "$PY_COUNTERS" "$TUNNELS_JSON" "$VX_JSON"); then
  ok "counters: tunnel t1 encap/decap > 0, $out"
else
  indent <<<"$out"
  fail "counters"
fi

# ----------------------------------------------------------------- shutdown
if tundra_alive; then
  ctl --timeout=10 quit 2>&1 | indent
  if wait_for 15 tundra_exited; then
    reap_tundra
    if [ "$TUNDRA_RC" -eq 0 ]; then ok "tundra quit"; else fail "tundra quit" "exit status $TUNDRA_RC"; fi
  else
    fail "tundra quit" "still running 15 s after 'quit'"
  fi
else
  reap_tundra
  fail "tundra" "tundra died during the demo (exit status $TUNDRA_RC)"
fi
finish
