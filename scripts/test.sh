#!/usr/bin/env bash
# Installs what is missing, builds tundra twice (optimised, and with ASan + UBSan), and
# runs every test: Catch2 unit tests and the pcap functional suite on both builds, and
# the kernel interop tests. Ends with "N passed, N failed, N skipped"; exits non-zero
# when anything failed. Usage: scripts/test.sh [--no-asan] [--no-interop]
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

asan=1
interop=1
for arg in "$@"; do
  case "$arg" in
    --no-asan) asan=0 ;;
    --no-interop) interop=0 ;;
    *) echo "usage: scripts/test.sh [--no-asan] [--no-interop]" >&2; exit 2 ;;
  esac
done

bash scripts/install-deps.sh || { echo "install-deps failed"; echo "0 passed, 1 failed"; exit 1; }
eval "$(bash scripts/hugepages.sh 512)"
export TUNDRA_EAL_MEM
PY=/usr/bin/python3  # Debian's scapy is installed for this interpreter

results=$root/build/test-results
reports=()

# CI builds with warnings as errors (-Dwerror=true); a user's plain `meson setup build`
# does not, so a newer compiler's new warning never stops someone from building.
build() {  # build DIR [meson options...]
  local dir=$1
  shift
  if [ ! -f "$dir/build.ninja" ]; then
    meson setup "$dir" -Dwerror=true "$@" >"$dir.setup.log" 2>&1 ||
      { cat "$dir.setup.log"; return 1; }
  else
    # A directory set up by hand may lack it.
    meson configure "$dir" -Dwerror=true >/dev/null || return 1
  fi
  ninja -C "$dir" || return 1
}

if ! build build; then
  echo "build failed"
  echo "0 passed, 1 failed"
  exit 1
fi
rm -rf "$results"
mkdir -p "$results"

# The warnings guard: the build above is g++ debugoptimized; this one is the other
# compiler and the build type that compiles asserts out (b_ndebug=if-release), both
# with -Werror (about 2 minutes on 2 cores). scripts/build-matrix.sh covers all eight
# compiler × build-type combinations.
echo "== warnings guard (clang++, release, -Werror)"
guard_log="$results/werror-guard.log"
if CXX=clang++ build build-clang-release --buildtype=release >"$guard_log" 2>&1; then
  guard_case='<testcase classname="build" name="clang_release_werror"/>'
  echo "clang++ release build passed"
else
  grep -E -m 20 'error:|^FAILED' "$guard_log"
  guard_case="<testcase classname=\"build\" name=\"clang_release_werror\"><failure \
message=\"clang++ release -Werror build failed (see $guard_log)\"/></testcase>"
  echo "clang++ release build FAILED (log: $guard_log)"
fi
printf '<testsuites><testsuite name="build">%s</testsuite></testsuites>\n' "$guard_case" \
  >"$results/werror-guard.xml"
reports+=("$results/werror-guard.xml")

run_unit() {  # run_unit BUILD_DIR NAME
  echo "== unit tests ($2)"
  "$1/tests/unit/unit_tests" -r junit -o "$results/$2.xml" >"$results/$2.log" 2>&1
  tail -n 3 "$results/$2.log"
  reports+=("$results/$2.xml")
}

run_pytest() {  # run_pytest NAME DIR [env...]
  local name=$1 dir=$2
  shift 2
  echo "== $name"
  env "$@" "$PY" -m pytest "$dir" -q -rs -p no:cacheprovider --junitxml="$results/$name.xml" 2>&1 |
    tail -n 25
  reports+=("$results/$name.xml")
}

run_unit build unit

echo "== traffic generator tests"
build/bench/gen/gen_tests -r junit -o "$results/gen.xml" >"$results/gen.log" 2>&1
tail -n 3 "$results/gen.log"
reports+=("$results/gen.xml")

echo "== instruction counts (callgrind regression guard, bench/baseline.json)"
/usr/bin/python3 bench/callgrind_guard.py build --check --junit "$results/callgrind.xml" | tail -n 20
reports+=("$results/callgrind.xml")
run_pytest functional tests/functional TUNDRA_BIN="$root/build/control/tundra"

if [ "$asan" = 1 ]; then
  # DPDK's own headers load through unaligned pointers by design (x86); every other
  # UBSan finding is fatal.
  if build build-asan -Dbuildtype=debug -Db_sanitize=address,undefined -Db_lundef=false -Dverify_fast_path=true \
      -Dcpp_args=-fno-sanitize=alignment -Dcpp_link_args=-fno-sanitize=alignment; then
    export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
    export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
    run_unit build-asan unit-asan
    run_pytest functional-asan tests/functional TUNDRA_BIN="$root/build-asan/control/tundra" \
      TUNDRA_SANITIZED=1
    unset ASAN_OPTIONS UBSAN_OPTIONS
  else
    echo "sanitizer build failed"
    reports+=("$results/asan-build-failed.xml")
  fi
fi

echo "== fuzzing: packet path and command grammar (libFuzzer, ${FUZZ_SECONDS:-60} s in all)"
bash tests/fuzz/run.sh "$results/fuzz.xml" 2>&1 | grep -E "^fuzz: (.*(passed|FAIL|skipped)|reproduce)|invariant failed|ERROR:"
reports+=("$results/fuzz.xml")

if [ "$interop" = 1 ]; then
  run_pytest interop tests/interop TUNDRA_BIN="$root/build/control/tundra"
fi

# Hugepage files of any tundra test process that died without cleaning up.
rm -f /dev/hugepages/tundra_* 2>/dev/null

echo "== summary"
"$PY" scripts/junit_summary.py "${reports[@]}"
