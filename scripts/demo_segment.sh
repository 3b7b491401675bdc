#!/usr/bin/env bash
# A three-VTEP segment: tundra and two Linux kernel VXLAN VTEPs, the second
# behind a Linux router that tundra reaches with `route add ... via` and resolves
# by ARP/ND itself (no `neigh add`), a host behind tundra pinging and sending
# 1 MiB over TCP to the hosts behind the kernels, and what each side learned
# (tundra's `show segment`, `show fdb`, `show route`, `show neigh`, the
# kernels' `bridge fdb`). Needs root (network namespaces).
#
# Usage: scripts/demo_segment.sh [--underlay ipv4|ipv6] [--no-build]
#   --underlay   underlay address family (ipv4)
#   --no-build   skip meson/ninja (use an existing build/control/tundra)
#
# Environment: TUNDRA_BIN (default build/control/tundra), TUNDRA_EAL_MEM (default
# --no-huge -m 512). Exit status: 0 pass, 1 fail, 77 cannot run here.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
args=()
build=1
for a in "$@"; do
  case $a in
    --no-build) build=0 ;;
    -h|--help) sed -n '2,/^$/s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) args+=("$a") ;;
  esac
done
if [[ $build == 1 && -z ${TUNDRA_BIN:-} ]]; then
  [[ -d $ROOT/build ]] || meson setup "$ROOT/build" >/dev/null
  ninja -C "$ROOT/build" control/tundra >/dev/null
fi
exec /usr/bin/python3 "$ROOT/tests/interop/segment_demo.py" "${args[@]}"
