#!/usr/bin/env bash
# Builds the libFuzzer tree if needed, then for each target: writes its seed corpus,
# replays its regression inputs, and fuzzes it. The targets:
#   decap    decap_fuzz: the worker's parse/classify/decap and encap paths
#   command  command_fuzz: the command grammar and config files (every line applies
#            whole or changes nothing)
#   segment  segment_fuzz: segments' flooding, learning and suppression with the control
#            thread's side applied between bursts
# Exits non-zero on any crash, invariant violation, leak or sanitizer report; writes a
# JUnit report with one testcase per target, "fuzz_decap", "fuzz_command", ... (skipped,
# with the reason, where clang/libFuzzer is missing).
#
# Usage: tests/fuzz/run.sh [JUNIT_XML]          (or FUZZ_JUNIT=path)
# Environment:
#   FUZZ_SECONDS=60          fuzzing time in all, split evenly between the targets run
#   FUZZ_TARGETS="decap command segment"  which targets (e.g. FUZZ_TARGETS=decap FUZZ_SECONDS=900)
#   FUZZ_BUILD_DIR=build-fuzz  the clang + ASan/UBSan + libFuzzer build directory
#   FUZZ_ARTIFACTS=DIR       where crash inputs go (default $FUZZ_BUILD_DIR/fuzz-artifacts/TARGET)
#   FUZZ_CORPUS=DIR          keep the corpora here (DIR/TARGET) instead of a temporary directory
#   FUZZ_ARGS="..."          extra libFuzzer flags for every target (e.g. -seed=1)
#   TUNDRA_FUZZ_NO_SPLIT=1   passed to decap_fuzz: only frames over 2048 bytes are chained
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
root=$(pwd)

junit=${1:-${FUZZ_JUNIT:-}}
seconds=${FUZZ_SECONDS:-60}
read -r -a targets <<<"${FUZZ_TARGETS:-decap command segment}"
build=${FUZZ_BUILD_DIR:-build-fuzz}
case "$build" in /*) ;; *) build="$root/$build" ;; esac
PY=/usr/bin/python3  # Debian's scapy is installed for this interpreter
CXX_FUZZ=${CXX_FUZZ:-clang++}

[ "${#targets[@]}" -gt 0 ] || { echo "fuzz: FUZZ_TARGETS names no target" >&2; exit 2; }
for t in "${targets[@]}"; do
  case "$t" in decap | command | segment) ;; *) echo "fuzz: unknown target '$t' (decap, command, segment)" >&2; exit 2 ;; esac
done
per_target=$((seconds / ${#targets[@]}))
[ "$per_target" -ge 1 ] || per_target=1

xml_escape() {
  sed -e 's/&/\&amp;/g' -e 's/</\&lt;/g' -e 's/>/\&gt;/g' -e 's/"/\&quot;/g' |
    tr -d '\000-\010\013\014\016-\037'
}

# One <testcase> per target, written out together at the end.
cases=()
n_fail=0
n_skip=0
total_time=0

# add_case TARGET RESULT(pass|fail|skip) MESSAGE [LOGFILE] [SECONDS]
add_case() {
  local target=$1 result=$2 message=$3 log=${4:-} time=${5:-0}
  local body="" msg
  msg=$(printf '%s' "$message" | xml_escape)
  case "$result" in
    fail)
      n_fail=$((n_fail + 1))
      body="<failure message=\"$msg\">$(tail -n 120 "$log" 2>/dev/null | xml_escape)</failure>"
      ;;
    skip)
      n_skip=$((n_skip + 1))
      body="<skipped message=\"$msg\"/>"
      ;;
  esac
  if [ -n "$log" ] && [ -f "$log" ]; then
    body+="<system-out>$(grep -E '^(stat::|#[0-9]+ +DONE|INFO: (Loaded|seed corpus))|(decap|command|segment)_fuzz:' "$log" |
      tail -n 40 | xml_escape)</system-out>"
  fi
  total_time=$((total_time + time))
  cases+=("    <testcase classname=\"fuzz\" name=\"fuzz_$target\" time=\"$time\">$body</testcase>")
}

write_junit() {
  [ -n "$junit" ] || return 0
  mkdir -p "$(dirname "$junit")"
  {
    echo '<?xml version="1.0" encoding="UTF-8"?>'
    echo '<testsuites>'
    echo "  <testsuite name=\"fuzz\" tests=\"${#cases[@]}\" failures=\"$n_fail\" errors=\"0\" skipped=\"$n_skip\" time=\"$total_time\">"
    printf '%s\n' "${cases[@]}"
    echo '  </testsuite>'
    echo '</testsuites>'
  } >"$junit"
}

skip_all() {
  echo "fuzz: skipped: $1"
  for t in "${targets[@]}"; do add_case "$t" skip "$1"; done
  write_junit
  exit 0
}

fail_all() {  # fail_all MESSAGE [LOG]
  echo "fuzz: FAILED: $1"
  for t in "${targets[@]}"; do add_case "$t" fail "$1" "${2:-}"; done
  write_junit
  exit 1
}

# ---- toolchain ---------------------------------------------------------------------------
command -v "$CXX_FUZZ" >/dev/null 2>&1 || skip_all "$CXX_FUZZ not found (libFuzzer needs clang)"
probe_dir=$(mktemp -d)
trap 'rm -rf "$probe_dir"' EXIT
cat >"$probe_dir/probe.cc" <<'EOF'
#include <cstddef>
#include <cstdint>
extern "C" int LLVMFuzzerTestOneInput(const uint8_t*, size_t) { return 0; }
EOF
if ! "$CXX_FUZZ" -fsanitize=fuzzer,address,undefined "$probe_dir/probe.cc" \
    -o "$probe_dir/probe" >"$probe_dir/probe.log" 2>&1; then
  skip_all "$CXX_FUZZ cannot link -fsanitize=fuzzer,address,undefined (libFuzzer/compiler-rt missing): $(head -c 300 "$probe_dir/probe.log")"
fi

# ---- build -------------------------------------------------------------------------------
build_log="$probe_dir/build.log"
if [ ! -f "$build/build.ninja" ]; then
  echo "fuzz: configuring $build"
  if ! CXX="$CXX_FUZZ" meson setup "$build" -Dfuzz=true -Dtests=false \
      -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debugoptimized -Dverify_fast_path=true \
      "-Dcpp_args=-fsanitize=fuzzer-no-link -fno-sanitize=alignment" \
      -Dcpp_link_args=-fno-sanitize=alignment >"$build_log" 2>&1; then
    cat "$build_log"
    fail_all "meson setup of $build failed" "$build_log"
  fi
fi
ninja_targets=()
for t in "${targets[@]}"; do ninja_targets+=("tests/fuzz/${t}_fuzz"); done
echo "fuzz: building ${ninja_targets[*]}"
if ! ninja -C "$build" "${ninja_targets[@]}" >"$build_log" 2>&1; then
  tail -n 60 "$build_log"
  fail_all "building ${ninja_targets[*]} failed" "$build_log"
fi

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

sanitizer_report() {
  grep -qE '(ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|invariant failed|SUMMARY: )' "$1"
}

# run_target TARGET: corpus, regressions, fuzzing; adds the target's testcase.
run_target() {
  local t=$1
  local bin="$build/tests/fuzz/${t}_fuzz"
  local regressions="$root/tests/fuzz/regressions/$t"
  local artifacts=${FUZZ_ARTIFACTS:-$build/fuzz-artifacts}/$t
  local corpus=${FUZZ_CORPUS:-$probe_dir/corpus}/$t
  local log="$build/fuzz_$t.log"
  local start elapsed rc
  local -a extra=()
  start=$(date +%s)
  : >"$log"
  if [ ! -x "$bin" ]; then
    add_case "$t" fail "$bin was not built (is $build configured with -Dfuzz=true and clang?)"
    return
  fi
  mkdir -p "$corpus" "$artifacts" "$regressions"
  case "$t" in
    decap)
      if ! "$PY" -c 'import scapy' 2>/dev/null; then
        echo "fuzz: $t: skipped: $PY with scapy not found (seed corpus)"
        add_case "$t" skip "$PY with scapy not found (seed corpus)"
        return
      fi
      "$PY" tests/fuzz/make_corpus.py "$corpus" >>"$log" 2>&1
      rc=$?
      ;;
    command)
      "$PY" tests/fuzz/make_command_corpus.py "$corpus" >>"$log" 2>&1
      rc=$?
      # Grammar keywords help mutation; inputs of a few dozen lines are enough to reach
      # any state (3 ports, 8 tunnels), and each line costs an engine pass or more.
      extra=(-dict="$root/tests/fuzz/command.dict" -max_len=2048)
      ;;
    segment)
      "$PY" tests/fuzz/make_segment_corpus.py "$corpus" >>"$log" 2>&1
      rc=$?
      ;;
  esac
  if [ $rc -ne 0 ]; then
    add_case "$t" fail "writing the $t seed corpus failed" "$log"
    return
  fi

  # Regressions: every saved input, replayed in one process (one EAL start, not one per
  # file); after a failure, the files after the failing one in a new process.
  local -a reg_files=() failed_regs=() rest=()
  mapfile -t reg_files < <(find "$regressions" -maxdepth 1 -type f ! -name 'README*' | sort)
  if [ "${#reg_files[@]}" -gt 0 ]; then
    echo "fuzz: $t: replaying ${#reg_files[@]} regression input(s)"
    local one="$probe_dir/regression.log" bad i
    rest=("${reg_files[@]}")
    while [ "${#rest[@]}" -gt 0 ]; do
      "$bin" -rss_limit_mb=3072 -timeout=25 "${rest[@]}" >"$one" 2>&1
      rc=$?
      cat "$one" >>"$log"
      if [ $rc -eq 0 ] && ! sanitizer_report "$one"; then
        break
      fi
      # libFuzzer names each file before running it: the last one named failed.
      bad=$(sed -n 's/^Running: //p' "$one" | tail -n 1)
      [ -n "$bad" ] || bad=${rest[0]}
      failed_regs+=("$(basename "$bad")")
      echo "fuzz:   FAIL $(basename "$bad"): $(grep -m1 -E -A1 'invariant failed|ERROR: AddressSanitizer|runtime error:' "$one" | tr '\n' ' ' | cut -c1-200)"
      for i in "${!rest[@]}"; do
        if [ "${rest[$i]}" = "$bad" ]; then
          rest=("${rest[@]:$((i + 1))}")
          break
        fi
        [ "$i" -lt $((${#rest[@]} - 1)) ] || rest=()  # not found: stop
      done
    done
    if [ "${#failed_regs[@]}" -gt 0 ]; then
      echo "fuzz: FAILED: $t: ${#failed_regs[@]} regression input(s)"
      add_case "$t" fail "${#failed_regs[@]} regression input(s) fail: ${failed_regs[*]} (see $log)" \
        "$log" $(($(date +%s) - start))
      return
    fi
    echo "fuzz:   all ${#reg_files[@]} passed"
  fi

  echo "fuzz: $t: fuzzing ${t}_fuzz for ${per_target}s (log: $log)"
  # shellcheck disable=SC2086
  "$bin" -max_total_time="$per_target" -rss_limit_mb=3072 -timeout=25 -print_final_stats=1 \
    -artifact_prefix="$artifacts/" "${extra[@]}" ${FUZZ_ARGS:-} "$corpus" "$regressions" \
    >>"$log" 2>&1
  rc=$?
  elapsed=$(($(date +%s) - start))
  grep -E '^(stat::|#[0-9]+ +DONE)' "$log" | tail -n 8
  if [ $rc -ne 0 ] || sanitizer_report "$log"; then
    grep -E 'invariant failed|ERROR:|runtime error:|SUMMARY:|Test unit written to' "$log" | head -n 20
    echo "fuzz: reproduce with: $bin <crash-file>; minimise with:"
    echo "      $bin -minimize_crash=1 -runs=100000 -exact_artifact_path=tests/fuzz/regressions/$t/NAME <crash-file>"
    echo "fuzz: FAILED: $t"
    add_case "$t" fail "${t}_fuzz found a crash/leak/sanitizer report (rc $rc): artifacts in $artifacts" \
      "$log" "$elapsed"
    return
  fi
  local execs rate cov
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
  cov=$(grep -oE 'DONE +cov: [0-9]+ ft: [0-9]+' "$log" | tail -n 1)
  echo "fuzz: $t: passed: ${execs:-?} inputs, ${rate:-?} exec/s, ${cov:-?}"
  add_case "$t" pass "" "$log" "$elapsed"
}

for t in "${targets[@]}"; do run_target "$t"; done
write_junit
if [ "$n_fail" -gt 0 ]; then
  echo "fuzz: FAILED: $n_fail of ${#targets[@]} target(s)"
  exit 1
fi
exit 0
