#!/usr/bin/env bash
# Reserves 2 MiB hugepages and mounts hugetlbfs for tundra, if this machine allows it.
# Prints the EAL memory options to use: hugepages when they could be had, else the
# --no-huge fallback every tundra command also works with. Usage:
#   eval "$(scripts/hugepages.sh [PAGES])"   # sets TUNDRA_EAL_MEM
set -u
pages=${1:-512}
dir=/dev/hugepages
nr=/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages
fallback() {
  echo "hugepages.sh: $1; using --no-huge" >&2
  echo "export TUNDRA_EAL_MEM='--no-huge -m 512'"
  exit 0
}
[ -w "$nr" ] || fallback "cannot write $nr"
current=$(cat "$nr")
if [ "$current" -lt "$pages" ]; then
  echo "$pages" > "$nr" 2>/dev/null || fallback "cannot reserve $pages pages"
fi
free=$(awk '/HugePages_Free/ {print $2}' /proc/meminfo)
# 256 free pages (512 MiB) is what one tundra with the default pool needs.
[ "${free:-0}" -ge 256 ] || fallback "only ${free:-0} hugepages free"
if ! mountpoint -q "$dir"; then
  mkdir -p "$dir"
  mount -t hugetlbfs nodev "$dir" 2>/dev/null || fallback "cannot mount hugetlbfs on $dir"
fi
echo "hugepages.sh: $free free 2 MiB pages on $dir" >&2
echo "export TUNDRA_EAL_MEM='--huge-dir=$dir -m 256'"
