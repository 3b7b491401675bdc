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
TUNDRA_PID=""
TUNDRA_FD_OPEN=0
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
    [ "$TUNDRA_FD_OPEN" -eq 1 ] && echo quit >&3 2>/dev/null
    wait_for 10 tundra_exited || { kill -TERM "$TUNDRA_PID" 2>/dev/null; wait_for 5 tundra_exited; } ||
      kill -KILL "$TUNDRA_PID" 2>/dev/null
    reap_tundra
  fi
  [ "$TUNDRA_FD_OPEN" -eq 1 ] && exec 3>&-
  TUNDRA_FD_OPEN=0
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
    # Put tundra's counters (drop reasons) into its output before quoting it.
    if [ "$TUNDRA_FD_OPEN" -eq 1 ] && tundra_alive; then
      query 5 tunnels "show port stats all" "show tunnel stats" "show tunnel stats json" || true
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
FIFO=$TMP/tundra.in
LOG=$TMP/tundra.log
mkfifo "$FIFO"
# Read-write open never blocks on a FIFO; tundra gets EOF only when we close.
exec 3<>"$FIFO"
TUNDRA_FD_OPEN=1
: >"$LOG"
# shellcheck disable=SC2086  # EAL_MEM is a list of options
"$TUNDRA" -l 0-1 --no-pci $EAL_MEM --file-prefix="demo_$$" \
  --vdev="net_af_packet0,iface=$TOPO_UP_IF" --vdev="net_af_packet1,iface=$TOPO_ACC_IF" \
  -- --interactive <"$FIFO" >"$LOG" 2>&1 3>&- &
TUNDRA_PID=$!
say "tundra started as pid $TUNDRA_PID: $TUNDRA -l 0-1 --no-pci $EAL_MEM --file-prefix=demo_$$ --vdev=net_af_packet0,iface=$TOPO_UP_IF --vdev=net_af_packet1,iface=$TOPO_ACC_IF -- --interactive"

send() { tundra_alive && printf '%s\n' "$*" >&3; }

# Scans tundra's output from byte OFFSET for a complete line holding a JSON
# object whose first key is KEY; prints the compact JSON, then the text that
# came before it (the human output of earlier commands). Exit 1: not yet.
PY_SCAN='
import json, sys
path, off, key = sys.argv[1], int(sys.argv[2]), sys.argv[3]
data = open(path, "rb").read()[off:].decode("utf-8", "replace")
lines = data.split("\n")[:-1]          # complete lines only
for i, line in enumerate(lines):
    j = line.find("{\"" + key + "\"")
    if j < 0:
        continue
    try:
        obj = json.loads(line[j:])
    except ValueError:
        continue
    print(json.dumps(obj, separators=(",", ":")))
    print("\n".join(lines[:i] + ([line[:j]] if line[:j].strip() else [])))
    sys.exit(0)
sys.exit(1)
'
# query TIMEOUT KEY CMD... — sends the CMDs, waits for a JSON answer with
# KEY; sets REPLY_JSON and REPLY_TEXT (everything printed before it).
REPLY_JSON="" REPLY_TEXT=""
_scan_out=""
_scan() { _scan_out=$("$PY" -c "$PY_SCAN" "$LOG" "$1" "$2") || { ! tundra_alive && return 2; return 1; }; }
query() {
  local timeout=$1 key=$2 off c rc; shift 2
  off=$(stat -c %s "$LOG")
  for c in "$@"; do send "$c" || return 2; done
  REPLY_JSON="" REPLY_TEXT=""
  local deadline=$((SECONDS + timeout))
  while true; do
    _scan "$off" "$key"; rc=$?
    [ $rc -eq 0 ] && break
    [ $rc -eq 2 ] && return 2
    [ "$SECONDS" -ge "$deadline" ] && return 1
    sleep 0.1
  done
  REPLY_JSON=$(head -n 1 <<<"$_scan_out")
  REPLY_TEXT=$(tail -n +2 <<<"$_scan_out")
  return 0
}

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
# The JSON answer after "start" says the commands before it were all run.
query 90 ports "${config[@]}" "show port stats all json"
case $? in
  0) ;;
  2) reap_tundra; fail "start tundra" "tundra exited with status $TUNDRA_RC before answering"; finish ;;
  *) fail "start tundra" "no answer to 'show port stats all json' within 90 s (is output flushed per command?)"; finish ;;
esac
if grep -Eq '(^|[ >])error:' <<<"$REPLY_TEXT"; then
  grep -E '(^|[ >])error:' <<<"$REPLY_TEXT" | indent
  fail "configure tundra" "a command was rejected"
else
  ok "tundra configured and started"
fi
if query 15 mempools "show mempool json"; then
  say "json mempools_baseline $REPLY_JSON"
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
  nsx "$to_ns" timeout 60 "$PY" -c "$TOPO_PY_TCP_SERVER" "$addr" "$port" "$ready" 30 >"$out" 2>&1 &
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
  cout=$(nsx "$from_ns" timeout 60 "$PY" -c "$TOPO_PY_TCP_CLIENT" "$addr" "$port" "$PAYLOAD" 20 2>&1)
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
if query 15 ports "show port stats all" "show port stats all json"; then
  indent <<<"$REPLY_TEXT"
  say "json ports $REPLY_JSON"
else
  fail "counters" "no answer to 'show port stats all json'"
fi
if query 15 tunnels "show tunnel stats" "show tunnel stats json"; then
  indent <<<"$REPLY_TEXT"
  say "json tunnels $REPLY_JSON"
  TUNNELS_JSON=$REPLY_JSON
else
  fail "counters" "no answer to 'show tunnel stats json'"
  TUNNELS_JSON=""
fi
# Quiesce first so no mbuf is in flight, then compare with the baseline.
if query 15 mempools "wait idle 300" "show mempool" "show mempool json"; then
  indent <<<"$REPLY_TEXT"
  say "json mempools $REPLY_JSON"
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
  send quit
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
