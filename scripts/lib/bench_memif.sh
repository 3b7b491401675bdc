# shellcheck shell=bash
# Two-process loss/latency bench: tundra-gen <-> net_memif <-> tundra. Source it (from
# scripts/bench.sh); it defines functions and variables and runs nothing.
#
#   gen port 0 (net_memif0, client) <-> up.sock  <-> tundra port 0 (uplink, server)
#   gen port 1 (net_memif1, client) <-> acc.sock <-> tundra port 1 (access, server)
#
# decap: gen sends PROTO/UNDERLAY frames on its port 0, counts plain frames on port 1;
# encap: gen sends plain frames on its port 1, counts the encapsulated ones on port 0
# (tundra-gen's receiver parses VXLAN/GENEVE/GRE down to its payload stamp).
#
#   memif_cell  PROTO UNDERLAY DIRECTION SIZE TRIAL_S
#       -> "NDR_MPPS PDR_MPPS MRR_MPPS GBPS_AT_NDR LAT_MIN LAT_AVG LAT_P50 LAT_P90
#           LAT_P99 LAT_P999 LAT_MAX"   (latency in us; NA where not measured)
#   memif_churn PROTO UNDERLAY NDR_MPPS CHURN_LINES TRIAL_S
#       -> "LOSS_PKTS SENT_PKTS MPPS_DURING UPDATES_PER_S"
#   memif_cleanup          kill what is still running, remove sockets/files (EXIT trap)
#
# PROTO vxlan|geneve0|geneve2|gretap|gre|greseq, UNDERLAY v4|v6, DIRECTION encap|decap,
# SIZE inner frame size with FCS (64|512|1500). Results go to stdout, one line;
# progress and reasons for NA go to stderr. NDR/PDR: offered rate of the best trial
# with 0 / <= MEMIF_PDR_LOSS_PCT loss (RFC 2544 search by tundra-gen); MRR: received
# rate of the flat-out trial; GBPS_AT_NDR = NDR x SIZE x 8 / 1000 (inner frames with
# FCS, no preamble/IFG); latency of the trial at MEMIF_LAT_PCT (50) % of NDR.
#
# Roles: tundra is the memif *server* of both links and stays up for the whole cell;
# every tundra-gen run is a new memif client process (a DPDK memif client connects only
# in dev_start, so tundra as the client would not reconnect to a second generator). A
# cell is two generator runs: ndrpdr (MRR trial, NDR search, PDR search) and a fixed
# trial at MEMIF_LAT_PCT of the NDR for latency.
# tundra runs without a prompt and serves its control socket ($MEMIF_DIR/t.sock); every
# command is a tundra-ctl call, bounded by --timeout, whose reply says the command ran
# and whether tundra accepted it, so the script decides when each runs and knows when
# it is done. The generator's stdout goes through a reader that timestamps every line
# (EPOCHREALTIME): that places the churn in the trial.
#
# Disconnects: DPDK 22.11's memif unmaps the shared rings in its interrupt thread when
# the peer leaves, without waiting for a rx burst in progress, so a tundra worker that
# polls while a generator exits can SIGSEGV (reproduced: within ~4-30 generator runs).
# Hence every generator runs with --wait_stdin_eof: after its results it keeps the
# links up; tundra gets `stop` (workers join), then the generator's stdin is closed,
# it disconnects, and tundra gets `start` before the next generator connects.
#
# Rings: the generator's memif rings have 2^MEMIF_RSIZE slots (rsize, default 14 =
# 16384; DPDK's default is 10). memif never drops on the receive side: a full ring
# back-pressures the sender. So the only loss outside tundra's own drop counters is
# tundra's tx-full toward the generator, when the generator (one loop for tx and rx,
# sharing CPU 0) is descheduled longer than the ring lasts. With 1024 slots that, not
# tundra, set the NDR (1.5-3 Mpps while MRR was 7.5-8 for vxlan v4 decap 64 B); with
# 16384 NDR ~ MRR, and generator stalls show up as latency tails instead.
#
# CPUs (2-CPU VM): tundra `taskset -c 0,1 -l 0-1`: control thread on CPU 0, the one
# worker on CPU 1. tundra-gen uses one lcore (tx and rx in one loop): `taskset -c 0
# -l 0`, sharing CPU 0 with tundra's control thread (idle in poll() except while it
# executes churn) and the EAL interrupt threads of both processes (memif sockets). The
# churn's tundra-ctl runs there too (MEMIF_CTL_CPU, default 0), taking turns with the
# control thread, off the worker's CPU.
# Whatever else runs on the machine competes too: on this shared VM the same cell gave
# MRR 0.4 to 8 Mpps depending on other users' load; stderr says when a trial offered
# < 90 % of its target. Latency p50 is ~4-15 us; p90 and above are scheduling.
#
# Memory: $TUNDRA_EAL_MEM from scripts/hugepages.sh. With hugepages both processes
# run --in-memory (no hugepage files or /var/run/dpdk/<prefix> left behind even if
# killed); the generator uses --no-huge when fewer than 64 pages are free, and either
# process retries with --no-huge when EAL could not get the pages it counted on.
# Without hugepages: tundra --no-huge -m 512, gen --no-huge -m 256.
#
# Churn: tundra-gen runs a fixed trial (MEMIF_CHURN_DIR/SIZE, default decap 64 B) at
# MEMIF_CHURN_PCT of NDR_MPPS for TRIAL_S; once it printed its trial line (trial start)
# plus 10 % of TRIAL_S (<= 0.5 s), the churn file (CHURN_LINES alternating
# `tunnel add cN type vxlan local L remote R vni 100000+N` / `tunnel del cN`) goes to
# tundra as one `tundra-ctl -f` batch, each line sent once the one before answered, a
# rejected line ending it (stderr names it). UPDATES_PER_S = lines that succeeded / the
# batch's wall time (the socket's round trip per line included); stderr says where in
# the trial the churn ran and warns when it outlasted the trial. MPPS_DURING is the
# received rate over the whole trial.
#
# Tunables (environment): MEMIF_FLOWS (256), MEMIF_MAX_TRIALS (12 per search),
# MEMIF_PDR_LOSS_PCT (0.5), MEMIF_LAT_PCT (50), MEMIF_CHURN_PCT (90), MEMIF_CHURN_DIR
# (decap), MEMIF_CHURN_SIZE (64), MEMIF_DRAIN_MS (100), MEMIF_RSIZE (14),
# MEMIF_KEEP_LOGS=1 (keep $MEMIF_DIR: tundra.log, search.log, latency.log, churn.log,
# churn.err).

MEMIF_ROOT=${MEMIF_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
MEMIF_TUNDRA=${MEMIF_TUNDRA:-$MEMIF_ROOT/build/control/tundra}
MEMIF_CTL=${MEMIF_CTL:-$(dirname "$MEMIF_TUNDRA")/tundra-ctl}
MEMIF_GEN=${MEMIF_GEN:-$MEMIF_ROOT/build/bench/gen/tundra-gen}
MEMIF_PY=${MEMIF_PY:-/usr/bin/python3}
MEMIF_FLOWS=${MEMIF_FLOWS:-256}
MEMIF_MAX_TRIALS=${MEMIF_MAX_TRIALS:-12}
MEMIF_PDR_LOSS_PCT=${MEMIF_PDR_LOSS_PCT:-0.5}
MEMIF_LAT_PCT=${MEMIF_LAT_PCT:-50}
MEMIF_CHURN_PCT=${MEMIF_CHURN_PCT:-90}
MEMIF_CHURN_DIR=${MEMIF_CHURN_DIR:-decap}
MEMIF_CHURN_SIZE=${MEMIF_CHURN_SIZE:-64}
MEMIF_DRAIN_MS=${MEMIF_DRAIN_MS:-100}
MEMIF_RSIZE=${MEMIF_RSIZE:-14}
MEMIF_KEEP_LOGS=${MEMIF_KEEP_LOGS:-0}
MEMIF_TUNDRA_CPUS=${MEMIF_TUNDRA_CPUS:-0,1}
MEMIF_GEN_CPU=${MEMIF_GEN_CPU:-0}
MEMIF_CTL_CPU=${MEMIF_CTL_CPU:-0}
# $$ is the sourcing shell's pid also inside $(...) subshells, so processes started by
# a memif_cell that runs in a command substitution are still found by memif_cleanup
# in the parent: every pid is written to $MEMIF_DIR/pids.
MEMIF_DIR=${MEMIF_DIR:-${TMPDIR:-/tmp}/tundra_memif.$$}
MEMIF_PREFIX_T=tmemif_t$$
MEMIF_PREFIX_G=tmemif_g$$
MEMIF_TUN_PID=""
MEMIF_GEN_FD=""
MEMIF_GEN_NOHUGE=0

_memif_log() { echo "memif: $*" >&2; }

# Wall time in microseconds (EPOCHREALTIME's radix character follows the locale).
_memif_us() { echo "${EPOCHREALTIME//[!0-9]/}"; }

# Deadlines in microseconds: _memif_deadline SECONDS (fractional) -> now + S.
_memif_deadline() { echo $(( $(_memif_us) + $(echo "$1 * 1000000 / 1" | bc) )); }
_memif_before() { [ "${EPOCHREALTIME//[!0-9]/}" -lt "$1" ]; }

# A process's start time (clock ticks since boot), to tell it from a recycled pid.
_memif_starttime() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
  stat=${stat##*) }
  # shellcheck disable=SC2086
  set -- $stat
  echo "${20:-}"
}

# _memif_track PID NAME: remember a process so memif_cleanup can end it by pid.
_memif_track() { echo "$1 $2 $(_memif_starttime "$1")" >>"$MEMIF_DIR/pids"; }

# Ends one process: TERM, up to 5 s, then KILL. With START, only if the pid still
# belongs to the process that was tracked (a recycled pid is left alone).
_memif_end_pid() {  # PID [START]
  local pid=$1 start=${2:-} _i
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
  if [ -n "$start" ] && [ "$(_memif_starttime "$pid")" != "$start" ]; then return 0; fi
  kill -TERM "$pid" 2>/dev/null || return 0
  for _i in $(seq 50); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
}

_memif_wait_pid() {  # PID SECONDS -> 0 when it ended in time
  local pid=$1 dl
  dl=$(_memif_deadline "$2")
  while kill -0 "$pid" 2>/dev/null; do
    _memif_before "$dl" || return 1
    sleep 0.05
  done
  return 0
}

_memif_remove_dpdk_files() {
  rm -f /dev/hugepages/"$MEMIF_PREFIX_T"map_* /dev/hugepages/"$MEMIF_PREFIX_G"map_* 2>/dev/null
  rm -rf "/var/run/dpdk/$MEMIF_PREFIX_T" "/var/run/dpdk/$MEMIF_PREFIX_G" 2>/dev/null
  true
}

memif_cleanup() {
  if [ -f "$MEMIF_DIR/pids" ]; then
    local pid name start
    while read -r pid name start; do _memif_end_pid "$pid" "$start"; done <"$MEMIF_DIR/pids"
  fi
  if [ -n "$MEMIF_GEN_FD" ]; then
    eval "exec $MEMIF_GEN_FD>&-" 2>/dev/null
    MEMIF_GEN_FD=""
  fi
  MEMIF_TUN_PID=""
  _memif_remove_dpdk_files
  if [ "$MEMIF_KEEP_LOGS" = 1 ] && [ -d "$MEMIF_DIR" ]; then
    rm -f "$MEMIF_DIR"/*.sock "$MEMIF_DIR"/*.fifo
    _memif_log "logs kept in $MEMIF_DIR"
  else
    rm -rf "$MEMIF_DIR"
  fi
  true
}

_memif_check_tools() {
  local f
  for f in "$MEMIF_TUNDRA" "$MEMIF_CTL" "$MEMIF_GEN"; do
    [ -x "$f" ] || { _memif_log "$f is not built"; return 1; }
  done
  [ -x "$MEMIF_PY" ] || { _memif_log "$MEMIF_PY missing"; return 1; }
  command -v bc >/dev/null || { _memif_log "bc missing"; return 1; }
  mkdir -p "$MEMIF_DIR"
}

# EAL memory options: hugepages (--in-memory) when bench.sh got them, else --no-huge.
_memif_tundra_mem() {
  local mem=${TUNDRA_EAL_MEM:---no-huge -m 512}
  case "$mem" in *--no-huge*) echo "$mem" ;; *) echo "$mem --in-memory" ;; esac
}
_memif_gen_mem() {
  local mem=${TUNDRA_EAL_MEM:---no-huge} free dir
  case "$mem" in
    *--no-huge*) echo "--no-huge -m 256"; return ;;
  esac
  if [ "$MEMIF_GEN_NOHUGE" = 1 ]; then echo "--no-huge -m 256"; return; fi
  free=$(awk '/HugePages_Free/ {print $2}' /proc/meminfo)
  dir=$(echo "$mem" | grep -o -e '--huge-dir=[^ ]*' || true)
  if [ "${free:-0}" -ge 64 ]; then echo "$dir -m 128 --in-memory"; else
    _memif_log "only ${free:-0} hugepages free: tundra-gen uses --no-huge"
    echo "--no-huge -m 256"
  fi
}

# --- addressing (mirrors scripts/bench.sh gen_spec/tundra_config) -------------------


# The cell's traffic and tundra configuration come from scripts/lib/bench_cell.py, as
# for the single-process setup (one tunnel).
_memif_gen_spec() {  # PROTO UNDERLAY DIRECTION SIZE
  "$MEMIF_PY" "$MEMIF_ROOT/scripts/lib/bench_cell.py" gen-spec "$1" "$2" "$3" "$4" 1 |
    sed "s/flows=[0-9]*/flows=$MEMIF_FLOWS/"
}

_memif_tundra_config() {  # PROTO UNDERLAY
  "$MEMIF_PY" "$MEMIF_ROOT/scripts/lib/bench_cell.py" config "$1" "$2" decap 1 --setup-only
}

# --- tundra ---------------------------------------------------------------------------

# Copies stdin to stdout, each line prefixed with the wall time it arrived.
_memif_stamp() {
  local line
  while IFS= read -r line; do printf '%s %s\n' "${EPOCHREALTIME/,/.}" "$line"; done
}

# _memif_wait_log FILE REGEX SECONDS [PID] -> 0 once a line matches; 1 on timeout or
# when PID (the process that writes the file) is gone without printing it.
_memif_wait_log() {
  local file=$1 re=$2 dl pid=${4:-}
  dl=$(_memif_deadline "$3")
  while _memif_before "$dl"; do
    grep -q -E -- "$re" "$file" 2>/dev/null && return 0
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
      grep -q -E -- "$re" "$file" 2>/dev/null && return 0
      return 1
    fi
    sleep 0.02
  done
  return 1
}

# _memif_ctl [--json] TIMEOUT_S WORDS... | -f FILE: tundra-ctl on tundra's control
# socket, each reply awaited at most TIMEOUT_S. Exit 0 ok, 1 rejected ("error: ..." on
# stderr), 2 no answer.
_memif_ctl() {
  local json=()
  [ "$1" = --json ] && { json=(--json); shift; }
  "$MEMIF_CTL" --socket="$MEMIF_DIR/t.sock" "${json[@]}" --timeout="$1" "${@:2}"
}

_memif_start_tundra() {  # PROTO UNDERLAY -> tundra configured, memif sockets listening
  local cfg=$MEMIF_DIR/tundra.cfg mem rc
  _memif_tundra_config "$1" "$2" >"$cfg" || return 1
  mem=$(_memif_tundra_mem)
  rc=0
  _memif_try_tundra "$mem" || rc=$?
  if [ "$rc" = 2 ] && [ "$mem" != "--no-huge -m 512" ]; then
    # The machine is shared: hugepages that were free a moment ago may be gone.
    _memif_log "tundra found too little hugepage memory; retrying with --no-huge -m 512"
    _memif_stop_tundra
    rc=0
    _memif_try_tundra "--no-huge -m 512" || rc=$?
  fi
  return "$rc"
}

# _memif_try_tundra MEM -> 0 started, 2 failed for memory, 1 other failure.
_memif_try_tundra() {
  local mem=$1 cfg=$MEMIF_DIR/tundra.cfg dl
  rm -f "$MEMIF_DIR/t.sock" "$MEMIF_DIR/up.sock" "$MEMIF_DIR/acc.sock"
  # shellcheck disable=SC2086  # $mem is a list of options
  taskset -c "$MEMIF_TUNDRA_CPUS" "$MEMIF_TUNDRA" -l 0-1 --no-pci $mem \
    --file-prefix="$MEMIF_PREFIX_T" --log-level=error \
    --vdev="net_memif0,role=server,id=0,socket=$MEMIF_DIR/up.sock,socket-abstract=no" \
    --vdev="net_memif1,role=server,id=0,socket=$MEMIF_DIR/acc.sock,socket-abstract=no" \
    -- --config="$cfg" --socket="$MEMIF_DIR/t.sock" \
    </dev/null >"$MEMIF_DIR/tundra.log" 2>"$MEMIF_DIR/tundra.err" &
  MEMIF_TUN_PID=$!
  _memif_track "$MEMIF_TUN_PID" tundra
  # Deterministic start: the socket answers only once the whole config ran, so a reply
  # means tundra is configured (the memif listeners exist since EAL probing). The ports
  # and the worker start with each generator run (_memif_gen).
  dl=$(_memif_deadline 30)
  until _memif_ctl 5 help quit >/dev/null 2>&1; do
    if ! kill -0 "$MEMIF_TUN_PID" 2>/dev/null || ! _memif_before "$dl"; then
      _memif_log "tundra did not start: $(tail -n 3 "$MEMIF_DIR/tundra.err" | tr '\n' ' ')"
      if grep -q -E "Cannot init memory|Not enough memory|Cannot get hugepage" "$MEMIF_DIR/tundra.err"
      then return 2; fi
      return 1
    fi
    sleep 0.05
  done
  if [ ! -S "$MEMIF_DIR/up.sock" ] || [ ! -S "$MEMIF_DIR/acc.sock" ]; then
    _memif_log "tundra's memif sockets are missing"
    return 1
  fi
}

# Drop reasons tundra counted (non-zero ones), for stderr diagnostics.
_memif_tundra_drops() {
  _memif_ctl --json 10 show port stats all 2>/dev/null | "$MEMIF_PY" -c '
import json, sys
try:
    d = json.loads(sys.stdin.read())
except ValueError:
    sys.exit(0)
out = []
for p in d["ports"]:
    r = {k: v for k, v in p["drop_reasons"].items() if v}
    out.append("port %d %s rx %d tx %d drops %s" % (p["port"], p["role"], p["rx_packets"],
               p["tx_packets"], r or 0))
print("; ".join(out))' || true
}

_memif_stop_tundra() {
  if [ -n "$MEMIF_TUN_PID" ] && kill -0 "$MEMIF_TUN_PID" 2>/dev/null; then
    _memif_ctl 5 quit >/dev/null 2>&1 || true
    _memif_wait_pid "$MEMIF_TUN_PID" 10 || { _memif_log "tundra did not quit; killing it"
      _memif_end_pid "$MEMIF_TUN_PID"; }
  fi
  if [ -n "$MEMIF_TUN_PID" ]; then wait "$MEMIF_TUN_PID" 2>/dev/null || true; fi
  MEMIF_TUN_PID=""
}

# --- tundra-gen -------------------------------------------------------------------------

# tundra's workers stop polling before a generator disconnects (see _memif_gen_finish)
# and start again before the next one connects.
_memif_tundra_run() {  # start|stop
  local err
  if ! err=$(_memif_ctl 10 "$1" 2>&1 >/dev/null); then
    _memif_log "tundra: $1 failed: ${err:-no answer}"
    return 1
  fi
}

# _memif_gen_launch NAME TIMEOUT_S -- GEN_FLAGS...: starts one tundra-gen as memif client
# of both links, in the background; its stdout (line-buffered, timestamped) goes to
# $MEMIF_DIR/NAME.log. Sets MEMIF_GEN_PID, MEMIF_GEN_FD (its stdin), MEMIF_GEN_NAME.
_memif_gen_launch() {
  local name=$1 limit=$2 fifo=$MEMIF_DIR/$1.fifo in=$MEMIF_DIR/$1_in.fifo mem
  shift 3
  mem=$(_memif_gen_mem)
  rm -f "$fifo" "$in"
  mkfifo "$fifo" "$in" || return 1
  _memif_stamp <"$fifo" >"$MEMIF_DIR/$name.log" &
  MEMIF_GEN_RPID=$!
  _memif_track "$MEMIF_GEN_RPID" stamp
  exec {MEMIF_GEN_FD}<>"$in"
  MEMIF_GEN_NAME=$name
  MEMIF_GEN_LIMIT=$limit
  # --wait_stdin_eof: the generator keeps its links up after the run until its stdin
  # closes, so that tundra's worker is stopped before the memif peer goes away.
  # shellcheck disable=SC2086
  taskset -c "$MEMIF_GEN_CPU" stdbuf -oL "$MEMIF_GEN" -l 0 --no-pci $mem \
    --file-prefix="$MEMIF_PREFIX_G" --log-level=error \
    --vdev="net_memif0,role=client,id=0,rsize=$MEMIF_RSIZE,socket=$MEMIF_DIR/up.sock,socket-abstract=no" \
    --vdev="net_memif1,role=client,id=0,rsize=$MEMIF_RSIZE,socket=$MEMIF_DIR/acc.sock,socket-abstract=no" \
    -- --link_wait_s=10 --drain_ms="$MEMIF_DRAIN_MS" --wait_stdin_eof --hold_max_s=60 "$@" \
    <"$in" >"$fifo" 2>"$MEMIF_DIR/$name.err" {MEMIF_GEN_FD}>&- &
  MEMIF_GEN_PID=$!
  _memif_track "$MEMIF_GEN_PID" gen
}

# Waits (at most the launch's TIMEOUT_S) until the generator printed its results, stops
# tundra's worker, lets the generator close its links and exit. Returns its exit
# status (124 when it overran and was killed).
_memif_gen_finish() {
  local name=$MEMIF_GEN_NAME pid=$MEMIF_GEN_PID rc=0 done=0
  if _memif_wait_log "$MEMIF_DIR/$name.log" 'tundra-gen: done; ports stay open' \
      "$MEMIF_GEN_LIMIT" "$pid"; then
    done=1
  fi
  _memif_tundra_run stop || true
  eval "exec $MEMIF_GEN_FD>&-"
  MEMIF_GEN_FD=""
  if [ "$done" = 1 ] && _memif_wait_pid "$pid" 15; then
    wait "$pid" || rc=$?
  elif ! kill -0 "$pid" 2>/dev/null; then
    wait "$pid" || rc=$?
  else
    _memif_log "tundra-gen ($name) ran past ${MEMIF_GEN_LIMIT}s; killing it"
    _memif_end_pid "$pid"
    wait "$pid" 2>/dev/null || true
    rc=124
  fi
  _memif_wait_pid "$MEMIF_GEN_RPID" 5 || _memif_end_pid "$MEMIF_GEN_RPID"
  wait "$MEMIF_GEN_RPID" 2>/dev/null || true
  rm -f "$MEMIF_DIR/$name.fifo" "$MEMIF_DIR/${name}_in.fifo"
  if [ "$rc" != 0 ]; then
    _memif_log "tundra-gen ($name) exit $rc: $(tail -n 3 "$MEMIF_DIR/$name.err" | tr '\n' ' ')"
  fi
  return "$rc"
}

# _memif_gen NAME TIMEOUT_S -- GEN_FLAGS...: one generator run against the running tundra.
_memif_gen() {
  local rc=0
  _memif_tundra_run start || return 1
  _memif_gen_launch "$@" || return 1
  _memif_gen_finish || rc=$?
  if [ "$rc" != 0 ] && [ "$MEMIF_GEN_NOHUGE" != 1 ] &&
      grep -q -E "Cannot init memory|Not enough memory|Cannot get hugepage" "$MEMIF_DIR/$1.err"; then
    _memif_log "tundra-gen found too little hugepage memory; retrying with --no-huge"
    MEMIF_GEN_NOHUGE=1
    rc=0
    _memif_tundra_run start || return 1
    _memif_gen_launch "$@" || return 1
    _memif_gen_finish || rc=$?
  fi
  return "$rc"
}

# The JSON result line of a gen log (timestamp stripped).
_memif_gen_json() { grep '{"mode"' "$1" | tail -n 1 | cut -d' ' -f2-; }

# --- public ------------------------------------------------------------------------------

_memif_args_ok() {  # PROTO UNDERLAY [DIRECTION]
  case "$1" in vxlan|geneve0|geneve2|gretap|gre|greseq) ;; *) _memif_log "bad PROTO '$1'"; return 1 ;; esac
  case "$2" in v4|v6) ;; *) _memif_log "bad UNDERLAY '$2'"; return 1 ;; esac
  case "${3:-encap}" in encap|decap) ;; *) _memif_log "bad DIRECTION '$3'"; return 1 ;; esac
}

memif_cell() {  # PROTO UNDERLAY DIRECTION SIZE TRIAL_S
  local proto=$1 ul=$2 dir=$3 size=$4 trial=$5 na="NA NA NA NA NA NA NA NA NA NA NA"
  local spec tx rx limit res ndr=NA pdr=NA mrr=NA gbps=NA lat="NA NA NA NA NA NA NA" rate
  if ! _memif_args_ok "$proto" "$ul" "$dir" || ! _memif_check_tools; then echo "$na"; return 0; fi
  spec=$(_memif_gen_spec "$proto" "$ul" "$dir" "$size")
  if [ "$dir" = encap ]; then tx=1; rx=0; else tx=0; rx=1; fi
  _memif_log "cell $proto $ul $dir ${size}B, ${trial}s trials"
  if ! _memif_start_tundra "$proto" "$ul"; then
    _memif_stop_tundra
    echo "$na"
    return 0
  fi
  # ndrpdr = 1 MRR trial (flat out; also the search's upper bound) + NDR search + PDR
  # search from the NDR up, each at most MEMIF_MAX_TRIALS trials.
  limit=$(echo "(1 + 2 * $MEMIF_MAX_TRIALS) * ($trial + $MEMIF_DRAIN_MS / 1000 + 0.2) + 20" | bc -l)
  if _memif_gen search "$limit" -- --tx_port=$tx --rx_port=$rx --spec="$spec" --mode=ndrpdr \
      --duration="$trial" --max_trials="$MEMIF_MAX_TRIALS" --pdr_loss_pct="$MEMIF_PDR_LOSS_PCT"; then
    res=$(_memif_gen_json "$MEMIF_DIR/search.log" | "$MEMIF_PY" -c '
import json, re, sys
size = float(sys.argv[1]); log = sys.argv[2]
try:
    d = json.loads(sys.stdin.read())
except ValueError:
    print("NA NA NA NA"); sys.exit(0)
ndr, pdr = d.get("ndr_mpps") or 0, d.get("pdr_mpps") or 0
if ndr and pdr < ndr:  # a 0-loss trial passes PDR too; lower only if the offered rate fell
    print("memif: PDR search offered less than the NDR trial: PDR = NDR", file=sys.stderr)
    pdr = ndr
mrr = None
short = paced = 0
for line in open(log):  # trial 1 is the flat-out (MRR) trial: its received rate
    m = re.search(r"trial\s+1\s+target\s+max\s+Mpps\s+offered\s+([\d.]+)\s+rx\s+([\d.]+)", line)
    if m:
        mrr = float(m.group(2))
    m = re.search(r"trial\s+\d+\s+target\s+([\d.]+)\s+Mpps\s+offered\s+([\d.]+)", line)
    if m:
        paced += 1
        short += float(m.group(2)) < 0.9 * float(m.group(1))
if short:
    print("memif: %d of %d paced trials offered < 90 %% of their target (the generator "
          "short of CPU 0, or memif back-pressure from tundra): NDR/PDR are what was "
          "offered" % (short, paced), file=sys.stderr)
f = lambda v: "%.4f" % v if v else "NA"
print(f(ndr), f(pdr), "%.4f" % mrr if mrr is not None else "NA",
      "%.3f" % (ndr * size * 8 / 1000) if ndr else "NA")' "$size" "$MEMIF_DIR/search.log" || true)
    read -r ndr pdr mrr gbps <<<"$res"
    [ "$ndr" = NA ] && _memif_log "no trial passed with 0 loss: NDR not found"
    [ "$pdr" = NA ] && _memif_log "no trial passed with <= $MEMIF_PDR_LOSS_PCT % loss: PDR not found"
    [ "$mrr" = NA ] && _memif_log "no MRR trial in the output"
  else
    _memif_log "search failed"
  fi
  if [ "$ndr" != NA ]; then
    rate=$(echo "$ndr * $MEMIF_LAT_PCT / 100" | bc -l)
    limit=$(echo "$trial + $MEMIF_DRAIN_MS / 1000 + 20" | bc -l)
    if _memif_gen latency "$limit" -- --tx_port=$tx --rx_port=$rx --spec="$spec" --mode=fixed \
        --rate="$rate" --duration="$trial"; then
      lat=$(_memif_gen_json "$MEMIF_DIR/latency.log" | "$MEMIF_PY" -c '
import json, sys
try:
    d = json.loads(sys.stdin.read())
except ValueError:
    print("NA NA NA NA NA NA NA"); sys.exit(0)
if not d["received"]:
    print("NA NA NA NA NA NA NA"); sys.exit(0)
if d["lost"]:
    print("memif: latency trial lost %d of %d packets" % (d["lost"], d["sent"]), file=sys.stderr)
if d["offered_mpps"] < 0.9 * float(sys.argv[1]):
    print("memif: latency trial offered %.4f of %.4f Mpps (generator short of CPU 0?)"
          % (d["offered_mpps"], float(sys.argv[1])), file=sys.stderr)
l = d["latency_us"]
print(" ".join("%.3f" % l[k] for k in ("min", "avg", "p50", "p90", "p99", "p999", "max")))' \
        "$rate" || true)
    else
      _memif_log "latency trial failed"
    fi
  else
    _memif_log "no latency trial (needs an NDR)"
  fi
  _memif_log "tundra counters: $(_memif_tundra_drops)"
  _memif_stop_tundra
  _memif_remove_dpdk_files
  echo "$ndr $pdr $mrr $gbps $lat"
}

memif_churn() {  # PROTO UNDERLAY NDR_MPPS CHURN_LINES TRIAL_S
  local proto=$1 ul=$2 ndr=$3 lines=$4 trial=$5 na="NA NA NA NA" spec rate limit
  local churn=$MEMIF_DIR/churn.cmds gpid t_gen res lead t0 t1 crc done_lines=""
  local ups=NA tx rx
  if ! _memif_args_ok "$proto" "$ul" || ! _memif_check_tools; then echo "$na"; return 0; fi
  case "$ndr" in ''|NA|0|0.0*) _memif_log "churn needs an NDR (got '$ndr')"; echo "$na"; return 0 ;; esac
  # Other tunnels of the protocol, never the measured one (vni/key 100): cN, 100000+N.
  "$MEMIF_PY" "$MEMIF_ROOT/scripts/lib/bench_cell.py" churn "$proto" "$ul" "$lines" >"$churn"
  # Traffic on the measured tunnel t: by default decap at 64 B (the direction whose
  # per-packet lookup reads the table the churn rewrites); NDR_MPPS should come from
  # that cell.
  spec=$(_memif_gen_spec "$proto" "$ul" "$MEMIF_CHURN_DIR" "$MEMIF_CHURN_SIZE")
  if [ "$MEMIF_CHURN_DIR" = encap ]; then tx=1; rx=0; else tx=0; rx=1; fi
  rate=$(echo "$ndr * $MEMIF_CHURN_PCT / 100" | bc -l)
  _memif_log "churn $proto $ul: $lines updates during a ${trial}s trial at $(printf '%.4f' "$rate") Mpps"
  if ! _memif_start_tundra "$proto" "$ul"; then
    _memif_stop_tundra
    echo "$na"
    return 0
  fi
  limit=$(echo "$trial + $MEMIF_DRAIN_MS / 1000 + 20" | bc -l)
  if ! _memif_tundra_run start || ! _memif_gen_launch churn "$limit" -- --tx_port=$tx \
      --rx_port=$rx --spec="$spec" --mode=fixed --rate="$rate" --duration="$trial"; then
    _memif_stop_tundra
    echo "$na"
    return 0
  fi
  gpid=$MEMIF_GEN_PID
  # The generator prints its "tundra-gen: <spec>, tx .. rx .., N s trials" line after
  # both links came up, right before the trial starts.
  if _memif_wait_log "$MEMIF_DIR/churn.log" 'tundra-gen: .* s trials' 20 "$gpid"; then
    t_gen=$(grep -m1 -E 'tundra-gen: .* s trials' "$MEMIF_DIR/churn.log" | cut -d' ' -f1 || true)
    # Let the traffic settle for 10 % of the trial (at most 0.5 s), then churn.
    lead=$(echo "l = $trial / 10; if (l > 0.5) l = 0.5; l" | bc -l)
    sleep "$lead"
    # One batch, each line once the one before answered; timed from here. tundra-ctl
    # runs on the control thread's CPU: it takes turns with it, never the worker's CPU.
    t0=$EPOCHREALTIME
    crc=0
    timeout "$limit" taskset -c "$MEMIF_CTL_CPU" "$MEMIF_CTL" --socket="$MEMIF_DIR/t.sock" \
      --timeout=10 -f "$churn" >/dev/null 2>"$MEMIF_DIR/churn.err" || crc=$?
    t1=$EPOCHREALTIME
    case $crc in
      0) done_lines=$lines ;;
      1) # "FILE:LINE: error: ...": the lines before it ran.
        done_lines=$(sed -n 's/^[^:]*:\([0-9]*\): error: .*/\1/p' "$MEMIF_DIR/churn.err" | head -n 1)
        _memif_log "churn stopped: $(head -n 1 "$MEMIF_DIR/churn.err")"
        done_lines=$(( ${done_lines:-1} - 1 )) ;;
      *) _memif_log "tundra did not finish the churn (tundra-ctl exit $crc):" \
           "$(head -n 1 "$MEMIF_DIR/churn.err")"
        done_lines="" ;;
    esac
  else
    _memif_log "tundra-gen did not start its trial"
  fi
  _memif_gen_finish || true
  if [ -n "${done_lines:-}" ]; then
    ups=$("$MEMIF_PY" - "${t0/,/.}" "${t1/,/.}" "$done_lines" "$t_gen" "$trial" <<'PY' || true
import sys
t0, t1, ok, t_gen, trial = (float(v) for v in sys.argv[1:6])
if t1 <= t0:
    print("NA"); sys.exit(0)
print("memif: churn ran %.3f s, from %.3f s to %.3f s into the %.3f s trial"
      % (t1 - t0, t0 - t_gen, t1 - t_gen, trial), file=sys.stderr)
if t1 > t_gen + trial:
    print("memif: the churn outlasted the trial: raise TRIAL_S", file=sys.stderr)
if t1 - t0 < 0.1:
    print("memif: the churn took under 0.1 s; the timestamps are good to about a "
          "millisecond: use more CHURN_LINES for a precise rate", file=sys.stderr)
print("%.0f" % (ok / (t1 - t0)))
PY
)
  fi
  res=$(_memif_gen_json "$MEMIF_DIR/churn.log" | "$MEMIF_PY" -c '
import json, sys
try:
    d = json.loads(sys.stdin.read())
except ValueError:
    print("NA NA NA"); sys.exit(0)
if d["offered_mpps"] < 0.9 * float(sys.argv[1]):
    print("memif: the churn trial offered %.4f of %.4f Mpps (generator short of CPU 0?)"
          % (d["offered_mpps"], float(sys.argv[1])), file=sys.stderr)
print(d["lost"], d["sent"], "%.4f" % d["rx_mpps"])' "$rate" || true)
  [ -n "$res" ] || res="NA NA NA"
  _memif_log "tundra counters: $(_memif_tundra_drops)"
  _memif_stop_tundra
  _memif_remove_dpdk_files
  echo "$res $ups"
}
