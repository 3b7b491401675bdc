#!/usr/bin/env bash
# Builds the libFuzzer tree if needed, writes the seed corpus, replays the regression
# inputs, then fuzzes decap_fuzz for FUZZ_SECONDS (default 60). Exits non-zero on any
# crash, invariant violation, leak or sanitizer report; writes a JUnit report with one
# testcase "fuzz_decap" (skipped, with the reason, where clang/libFuzzer is missing).
#
# Usage: tests/fuzz/run.sh [JUNIT_XML]          (or FUZZ_JUNIT=path)
# Environment:
#   FUZZ_SECONDS=60          fuzzing time
#   FUZZ_BUILD_DIR=build-fuzz  the clang + ASan/UBSan + libFuzzer build directory
#   FUZZ_ARTIFACTS=DIR       where crash inputs go (default $FUZZ_BUILD_DIR/fuzz-artifacts)
#   FUZZ_CORPUS=DIR          keep the corpus here instead of a temporary directory
#   FUZZ_ARGS="..."          extra libFuzzer flags (e.g. -seed=1 -jobs=2)
#   TUNDRA_FUZZ_NO_SPLIT=1   passed to the target: only frames over 2048 bytes are chained
set -uo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)

junit=${1:-${FUZZ_JUNIT:-}}
seconds=${FUZZ_SECONDS:-60}
build=${FUZZ_BUILD_DIR:-build-fuzz}
case "$build" in /*) ;; *) build="$root/$build" ;; esac
artifacts=${FUZZ_ARTIFACTS:-$build/fuzz-artifacts}
regressions="$root/tests/fuzz/regressions"
PY=/usr/bin/python3  # Debian's scapy is installed for this interpreter
CXX_FUZZ=${CXX_FUZZ:-clang++}

xml_escape() {
  sed -e 's/&/\&amp;/g' -e 's/</\&lt;/g' -e 's/>/\&gt;/g' -e 's/"/\&quot;/g' |
    tr -d '\000-\010\013\014\016-\037'
}

# write_junit RESULT(pass|fail|skip) MESSAGE [LOGFILE] [SECONDS]
write_junit() {
  [ -n "$junit" ] || return 0
  local result=$1 message=$2 log=${3:-} time=${4:-0}
  mkdir -p "$(dirname "$junit")"
  local failures=0 skipped=0 body=""
  local msg
  msg=$(printf '%s' "$message" | xml_escape)
  case "$result" in
    fail)
      failures=1
      body="<failure message=\"$msg\">$(tail -n 120 "$log" 2>/dev/null | xml_escape)</failure>"
      ;;
    skip)
      skipped=1
      body="<skipped message=\"$msg\"/>"
      ;;
  esac
  local out=""
  if [ -n "$log" ] && [ -f "$log" ]; then
    out="<system-out>$(grep -E '^(stat::|#[0-9]+ +DONE|INFO: (Loaded|seed corpus))|decap_fuzz:' "$log" |
      tail -n 40 | xml_escape)</system-out>"
  fi
  cat >"$junit" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<testsuites>
  <testsuite name="fuzz" tests="1" failures="$failures" errors="0" skipped="$skipped" time="$time">
    <testcase classname="fuzz" name="fuzz_decap" time="$time">$body$out</testcase>
  </testsuite>
</testsuites>
EOF
}

skip() {
  echo "fuzz: skipped: $1"
  write_junit skip "$1"
  exit 0
}

fail() {  # fail MESSAGE [LOG]
  echo "fuzz: FAILED: $1"
  write_junit fail "$1" "${2:-}" "${3:-0}"
  exit 1
}

# ---- toolchain ---------------------------------------------------------------------------
command -v "$CXX_FUZZ" >/dev/null 2>&1 || skip "$CXX_FUZZ not found (libFuzzer needs clang)"
probe_dir=$(mktemp -d)
trap 'rm -rf "$probe_dir"' EXIT
cat >"$probe_dir/probe.cc" <<'EOF'
#include <cstddef>
#include <cstdint>
extern "C" int LLVMFuzzerTestOneInput(const uint8_t*, size_t) { return 0; }
EOF
if ! "$CXX_FUZZ" -fsanitize=fuzzer,address,undefined "$probe_dir/probe.cc" \
    -o "$probe_dir/probe" >"$probe_dir/probe.log" 2>&1; then
  skip "$CXX_FUZZ cannot link -fsanitize=fuzzer,address,undefined (libFuzzer/compiler-rt missing): $(head -c 300 "$probe_dir/probe.log")"
fi
[ -x "$PY" ] && "$PY" -c 'import scapy' 2>/dev/null || skip "$PY with scapy not found (seed corpus)"

# ---- build -------------------------------------------------------------------------------
bin="$build/tests/fuzz/decap_fuzz"
build_log="$probe_dir/build.log"
if [ ! -f "$build/build.ninja" ]; then
  echo "fuzz: configuring $build"
  if ! CXX="$CXX_FUZZ" meson setup "$build" -Dfuzz=true -Dtests=false \
      -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debugoptimized \
      "-Dcpp_args=-fsanitize=fuzzer-no-link -fno-sanitize=alignment" \
      -Dcpp_link_args=-fno-sanitize=alignment >"$build_log" 2>&1; then
    cat "$build_log"
    fail "meson setup of $build failed" "$build_log"
  fi
fi
echo "fuzz: building $bin"
if ! ninja -C "$build" tests/fuzz/decap_fuzz >"$build_log" 2>&1; then
  tail -n 60 "$build_log"
  fail "building decap_fuzz failed" "$build_log"
fi
[ -x "$bin" ] || fail "$bin was not built (is $build configured with -Dfuzz=true and clang?)"

# ---- corpus ------------------------------------------------------------------------------
corpus=${FUZZ_CORPUS:-$probe_dir/corpus}
mkdir -p "$corpus" "$artifacts"
"$PY" tests/fuzz/make_corpus.py "$corpus" || fail "make_corpus.py failed"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
log="$build/fuzz_decap.log"
start=$(date +%s)
: >"$log"

sanitizer_report() {
  grep -qE '(ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|invariant failed|SUMMARY: )' "$1"
}

# ---- regressions: every saved crash input, replayed one by one -----------------------------
mapfile -t reg_files < <(find "$regressions" -maxdepth 1 -type f ! -name 'README*' | sort)
failed_regs=()
if [ "${#reg_files[@]}" -gt 0 ]; then
  echo "fuzz: replaying ${#reg_files[@]} regression input(s)"
  for f in "${reg_files[@]}"; do
    one="$probe_dir/regression.log"
    "$bin" -rss_limit_mb=2048 -timeout=25 "$f" >"$one" 2>&1
    rc=$?
    cat "$one" >>"$log"
    if [ $rc -ne 0 ] || sanitizer_report "$one"; then
      failed_regs+=("$(basename "$f")")
      echo "fuzz:   FAIL $(basename "$f"): $(grep -m1 -E -A1 'invariant failed|ERROR: AddressSanitizer|runtime error:' "$one" | tr '\n' ' ' | cut -c1-200)"
    else
      echo "fuzz:   ok   $(basename "$f")"
    fi
  done
  if [ "${#failed_regs[@]}" -gt 0 ]; then
    fail "${#failed_regs[@]} regression input(s) fail: ${failed_regs[*]} (see $log)" "$log" \
      $(($(date +%s) - start))
  fi
fi

# ---- fuzz ----------------------------------------------------------------------------------
echo "fuzz: fuzzing decap_fuzz for ${seconds}s (log: $log)"
# shellcheck disable=SC2086
"$bin" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=25 -print_final_stats=1 \
  -artifact_prefix="$artifacts/" ${FUZZ_ARGS:-} "$corpus" "$regressions" >>"$log" 2>&1
rc=$?
elapsed=$(($(date +%s) - start))
grep -E '^(stat::|#[0-9]+ +DONE)' "$log" | tail -n 8
if [ $rc -ne 0 ] || sanitizer_report "$log"; then
  grep -E 'invariant failed|ERROR:|runtime error:|SUMMARY:|Test unit written to' "$log" | head -n 20
  echo "fuzz: reproduce with: $bin <crash-file>; minimise with:"
  echo "      $bin -minimize_crash=1 -runs=100000 -exact_artifact_path=tests/fuzz/regressions/NAME <crash-file>"
  fail "decap_fuzz found a crash/leak/sanitizer report (rc $rc): artifacts in $artifacts" "$log" "$elapsed"
fi
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
cov=$(grep -oE 'DONE +cov: [0-9]+ ft: [0-9]+' "$log" | tail -n 1)
echo "fuzz: passed: ${execs:-?} inputs, ${rate:-?} exec/s, ${cov:-?}"
write_junit pass "" "$log" "$elapsed"
exit 0
