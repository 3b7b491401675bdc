#!/usr/bin/env bash
# Installs tundra as a service on Debian 12, as root: the build dependencies
# (scripts/install-deps.sh), a release build in build-release/, `meson install`
# (binaries in PREFIX/bin, tundra.service, /etc/tundra/tundra.conf and tundra.env, man
# pages, the hugepage helper), then `systemctl daemon-reload` where systemd runs. The
# service is neither enabled nor started unless --enable is given.
#
# Idempotent: a second run rebuilds only what changed, and keeps /etc/tundra's files as
# the operator left them (a changed default goes beside an edited file as FILE.dist).
# A running tundra keeps running the old binaries until `systemctl restart tundra`.
#
#   scripts/install.sh [--enable] [--prefix=DIR] [--builddir=DIR] [--no-deps]
#     --enable        also enable tundra.service and start it now
#     --prefix=DIR    install prefix (default /usr/local; the unit goes to
#                     DIR/lib/systemd/system, which systemd reads for /usr and /usr/local)
#     --builddir=DIR  build directory (default build-release in the source tree)
#     --no-deps       do not run scripts/install-deps.sh
# DESTDIR=DIR in the environment stages the install under DIR (meson's DESTDIR) and
# leaves systemd alone.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

enable=0
deps=1
prefix=/usr/local
builddir=$root/build-release
for arg in "$@"; do
  case "$arg" in
    --enable) enable=1 ;;
    --no-deps) deps=0 ;;
    --prefix=*) prefix=${arg#--prefix=} ;;
    --builddir=*) builddir=${arg#--builddir=} ;;
    -h | --help)
      sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "install.sh: unknown argument '$arg' (--help)" >&2
      exit 2
      ;;
  esac
done
if [ "$(id -u)" -ne 0 ]; then
  echo "install.sh: run as root (it installs packages and writes $prefix, /etc)" >&2
  exit 1
fi

if [ "$deps" = 1 ]; then
  bash scripts/install-deps.sh
fi

# /etc whatever the prefix: the unit, the man page and the operator look there.
options=(--buildtype=release --prefix="$prefix" --sysconfdir=/etc -Dtests=false)
if [ -f "$builddir/build.ninja" ]; then
  meson configure "$builddir" "${options[@]}" >/dev/null
else
  meson setup "$builddir" "${options[@]}"
fi
ninja -C "$builddir"
meson install -C "$builddir" --no-rebuild
for dist in "${DESTDIR:-}"/etc/tundra/*.dist; do
  [ -e "$dist" ] || continue
  echo "install.sh: kept your ${dist%.dist}; the new default is beside it: $dist"
done

if [ -n "${DESTDIR:-}" ]; then
  # A staged install (packaging, tests): nothing to tell the running system.
  echo "install.sh: installed under DESTDIR=$DESTDIR"
  exit 0
elif [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
  systemctl daemon-reload
  if [ "$enable" = 1 ]; then
    systemctl enable --now tundra.service
    systemctl --no-pager status tundra.service || true
  elif systemctl is-active --quiet tundra.service; then
    echo "install.sh: tundra.service is running the previous binaries:" \
      "systemctl restart tundra to use these"
  fi
else
  echo "install.sh: systemd is not running here: nothing reloaded or enabled"
  [ "$enable" = 0 ] || exit 1
fi

echo "install.sh: installed. Ports, lcores, memory: /etc/tundra/tundra.env;" \
  "commands: /etc/tundra/tundra.conf; then: systemctl enable --now tundra"
