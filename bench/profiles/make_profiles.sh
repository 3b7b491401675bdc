#!/usr/bin/env bash
# Writes the benchmark matrix's traffic as pcap files, for generators other than
# tundra-gen (Pktgen-DPDK, TRex, testpmd or tundra with net_pcap infinite_rx=1): the
# exact packets scripts/bench.sh replays, one file per cell.
#
#   bench/profiles/make_profiles.sh [OUT_DIR]     (default bench/profiles/pcap)
#
# Names: PROTO-UNDERLAY-DIRECTION-SIZE-TUNNELS.pcap; "encap" files are the plain inner
# frames a tenant sends into tundra's access port, "decap" files the tunnel packets
# the remote VTEP (192.0.2.2 / 2001:db8::2) sends to tundra's uplink (192.0.2.1 /
# 2001:db8::1, MAC 02:00:00:00:00:01). 256 flows each; tundra's matching config is
# `scripts/lib/bench_cell.py config PROTO UNDERLAY DIRECTION TUNNELS`.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-bench/profiles/pcap}
mkdir -p "$out"
[ -x build/bench/gen/tundra-gen ] || ninja -C build bench/gen/tundra-gen >/dev/null
for proto in vxlan geneve0 geneve2 gretap gre; do
  for ul in v4 v6; do
    for size in 64 512 1500; do
      for dir in encap decap; do
        for tunnels in 1 1000; do
          [ "$dir" = encap ] && [ "$tunnels" != 1 ] && continue  # encap traffic is tunnel-agnostic
          f=$out/$proto-$ul-$dir-$size-$tunnels.pcap
          build/bench/gen/tundra-gen -- --write_pcap="$f" --count=256 --spec="$(
            /usr/bin/python3 scripts/lib/bench_cell.py gen-spec "$proto" "$ul" "$dir" "$size" "$tunnels")" \
            >/dev/null
        done
      done
    done
  done
done
echo "pcap files in $out: $(find "$out" -name "*.pcap" | wc -l)"
