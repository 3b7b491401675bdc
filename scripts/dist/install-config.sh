#!/bin/sh
# meson install script (scripts/dist/meson.build): installs the default files of
# /etc/tundra without ever overwriting an operator's edits, the way a package manager
# treats configuration files:
#   absent                 -> installed
#   same as the default    -> left alone
#   edited                 -> left alone; the new default goes beside it as FILE.dist
# Usage: install-config.sh DIR FILE...   (DIR relative: under the install prefix)
set -eu
[ $# -ge 2 ] || { echo "usage: install-config.sh DIR FILE..." >&2; exit 2; }
dir=$1
shift
case "$dir" in
  /*) dest="${DESTDIR:-}$dir" ;;
  *) dest="${MESON_INSTALL_DESTDIR_PREFIX:?run by meson install}/$dir" ;;
esac
say() { [ -n "${MESON_INSTALL_QUIET:-}" ] || echo "$@"; }

install -d -m 0755 "$dest"
for src in "$@"; do
  name=$(basename "$src")
  target="$dest/$name"
  if [ ! -e "$target" ]; then
    install -m 0644 "$src" "$target"
    say "Installing $name to $dest"
  elif cmp -s "$src" "$target"; then
    say "Keeping $target (unchanged default)"
  else
    install -m 0644 "$src" "$target.dist"
    say "Keeping $target (edited); the new default is $target.dist"
  fi
done
