#!/usr/bin/env bash
# Installs everything tundra needs to build, test and benchmark on Debian 12.
# Idempotent: packages already present are skipped, so a second run is quick.
#   scripts/install-deps.sh [--ovs]    --ovs: also Open vSwitch's DPDK build, the
#                                      benchmark peer (scripts/bench.sh --peer ovs)
set -euo pipefail

packages=(
  build-essential pkg-config meson ninja-build clang clang-format
  dpdk dpdk-dev libdpdk-dev libpcap-dev libnuma-dev
  libabsl-dev libgflags-dev catch2 libmnl-dev
  python3 python3-scapy python3-pytest tshark
  iproute2 iputils-ping ethtool procps psmisc
  valgrind gnuplot-nox bc
  systemd   # systemd-analyze: the packaging test verifies tundra.service
  user-mode-linux  # a kernel with ESP + GCM for the IPsec interop tests (tests/interop/uml.py)
)
[ "${1:-}" = --ovs ] && packages+=(openvswitch-switch-dpdk)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; answer once, non-interactively.
echo "wireshark-common wireshark-common/install-setuid boolean false" | $SUDO debconf-set-selections
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
