#!/usr/bin/env bash
# Builds tundra in every build type with both compilers, warnings as errors: g++ and
# clang++ × plain, debug, debugoptimized, release (release also drops asserts, through
# b_ndebug=if-release). One build at a time; a build directory that passes is deleted
# to save disk, a failing one is kept with its log. Ends with "N of M builds passed";
# exits non-zero if any failed.
#
# Usage: scripts/build-matrix.sh [--keep]
# Environment:
#   COMPILERS="g++ clang++"                             the C++ compilers (CXX)
#   BUILDTYPES="plain debug debugoptimized release"     meson build types
#   JOBS=2                                              ninja -j
#   MATRIX_DIR=build-matrix                             where the build directories go
set -uo pipefail
cd "$(dirname "$0")/.."

keep=0
for arg in "$@"; do
  case "$arg" in
    --keep) keep=1 ;;
    *) echo "usage: scripts/build-matrix.sh [--keep]" >&2; exit 2 ;;
  esac
done

compilers=${COMPILERS:-g++ clang++}
buildtypes=${BUILDTYPES:-plain debug debugoptimized release}
jobs=${JOBS:-2}
top=${MATRIX_DIR:-build-matrix}
mkdir -p "$top"

passed=0
failed=()
for cxx in $compilers; do
  if ! command -v "$cxx" >/dev/null 2>&1; then
    echo "== $cxx: not found"
    failed+=("$cxx (not found)")
    continue
  fi
  for bt in $buildtypes; do
    name="$cxx-$bt"
    dir="$top/$name"
    log="$top/$name.log"
    start=$(date +%s)
    echo "== $name: CXX=$cxx meson setup $dir --buildtype=$bt -Dwerror=true; ninja -j$jobs"
    rm -rf "$dir"
    if CXX="$cxx" meson setup "$dir" --buildtype="$bt" -Dwerror=true >"$log" 2>&1 &&
        ninja -C "$dir" -j"$jobs" -k 0 >>"$log" 2>&1; then
      echo "   passed in $(($(date +%s) - start)) s"
      passed=$((passed + 1))
      [ "$keep" = 1 ] || rm -rf "$dir"
    else
      echo "   FAILED after $(($(date +%s) - start)) s (log: $log, build kept in $dir)"
      grep -E -m 20 'error:|warning:|^FAILED' "$log" | sed 's/^/   /'
      failed+=("$name")
    fi
  done
done

total=$((passed + ${#failed[@]}))
echo "== $passed of $total builds passed${failed[*]:+; failed: ${failed[*]}}"
[ "${#failed[@]}" -eq 0 ]
