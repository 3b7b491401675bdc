# shellcheck shell=bash
# Open vSwitch 3.1 (DPDK userspace datapath, native tunnelling) as a peer dataplane
# for scripts/bench.sh: the same ports, traffic and core layout as tundra —
# net_pcap (rx_pcap=PCAP,infinite_rx=1) as the source, net_null (no-rx=1) as the
# sink, one PMD thread pinned to CPU 1, ovsdb-server and every other vswitchd thread
# on CPU 0. Source it; it defines functions and runs nothing. Adapted from
# ../shared/peers/ovs_bench.sh (REPORT.md §4).
#
#   run_ovs PROTO UNDERLAY DIRECTION SIZE PCAP DUR
#       PROTO vxlan|geneve0|geneve2|gretap|gre, UNDERLAY v4|v6, DIRECTION encap|decap,
#       SIZE the inner frame size (informational: the traffic is PCAP), DUR seconds.
#       Prints exactly one line on stdout, "MPPS CYCLES" (packets received by the PMD
#       over the window / wall time, and pmd-stats-show "avg processing cycles per
#       packet"), or "NA NA" with the reason on stderr. Always returns 0.
#   ovs_capture PROTO UNDERLAY DIRECTION PCAP OUT_PCAP
#       Correctness check: replays PCAP (repeated 32 times) once, without
#       infinite_rx, and writes what OVS sends on the sink port to OUT_PCAP
#       (a net_pcap tx_pcap sink). Returns non-zero on failure.
#   ovs_cleanup
#       Stops whatever this shell's OVS instance still runs and removes its run dir,
#       taps and hugepage files. For the caller's EXIT trap; safe to call any time.
#
# ovs-vswitchd runs in a private network namespace (tovs<pid>): its bridges' LOCAL
# taps carry the VTEP address, and on this host eth0 itself is 192.0.2.2/24 with the
# gateway 192.0.2.1, so in the root namespace the VTEP address would hijack the
# gateway and OVS would route the remote VTEP out of eth0.
#
# Topology (bridges and taps are named per calling shell, tovs-i$$ / tovs-p$$):
#   br-int (netdev): vm0 (ofport 1, access side) <-> tun0 (ofport 2, the tunnel)
#   br-phy (netdev, hwaddr 02:00:00:00:00:01): phy0 (ofport 1, uplink) <-> LOCAL tap
#       with the local VTEP address 192.0.2.1/24 or 2001:db8::1/64
#   encap: vm0 = net_pcap source -> tnl_push -> phy0 = net_null sink
#   decap: phy0 = net_pcap source -> tnl_pop -> recirculation -> vm0 = net_null sink
#
# Environment: OVS_VSWITCHD (binary), OVS_WARMUP (s before the window, default 2),
# OVS_RUN_DIR (default /tmp/tundra_ovs.<pid of the sourcing shell>), OVS_KEEP_LOGS=1
# (ovs_cleanup leaves the logs of each cell in $OVS_RUN_DIR/logs), TUNDRA_EAL_MEM (as
# set by scripts/hugepages.sh: "--no-huge" there makes OVS run without hugepages too).

OVS_VSWITCHD=${OVS_VSWITCHD:-/usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk}
OVS_RUN_DIR=${OVS_RUN_DIR:-/tmp/tundra_ovs.$$}
OVS_WARMUP=${OVS_WARMUP:-2}
# $$ is the sourcing shell's pid in every subshell too, so ovs_cleanup in the EXIT
# trap finds what a run_ovs in a $(...) or <(...) started.
_OVS_BRI=tovs-i$$
_OVS_BRP=tovs-p$$
_OVS_PREFIX=tbench_ovs$$
_OVS_NS=tovs$$

_ovs_log() { echo "[ovs $(date +%T)] $*" >&2; }

# OVS tools against the private instance (ovs-ofctl finds BRIDGE.mgmt in OVS_RUNDIR).
_ovs_vsctl() { ovs-vsctl --db="unix:$OVS_RUN_DIR/db.sock" --timeout=30 "$@"; }
_ovs_appctl() { ovs-appctl --timeout=20 -t "$OVS_RUN_DIR/ovs-vswitchd.ctl" "$@"; }
_ovs_ofctl() { OVS_RUNDIR=$OVS_RUN_DIR ovs-ofctl --timeout=20 "$@"; }

# Prints why OVS 3.1 cannot run a cell, nothing if it can.
_ovs_unsupported() {  # PROTO UNDERLAY DIRECTION
  case "$1" in vxlan | geneve0 | geneve2 | gretap | gre) ;; *) echo "unknown protocol '$1'" ;; esac
  case "$2" in v4 | v6) ;; *) echo "unknown underlay '$2'" ;; esac
  case "$3" in encap | decap) ;; *) echo "unknown direction '$3'" ;; esac
}

_ovs_pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1" 2>/dev/null)" 2>/dev/null; }

# Graceful stop of the processes this shell started (by pidfile / unixctl), nothing
# else; then the taps OVS made for the bridges' LOCAL ports.
_ovs_stop() {
  local p d
  if _ovs_pid_alive "$OVS_RUN_DIR/ovs-vswitchd.pid"; then
    p=$(cat "$OVS_RUN_DIR/ovs-vswitchd.pid")
    _ovs_vsctl --if-exists del-br "$_OVS_BRI" >/dev/null 2>&1 || true
    _ovs_vsctl --if-exists del-br "$_OVS_BRP" >/dev/null 2>&1 || true
    _ovs_appctl exit --cleanup >/dev/null 2>&1 || true
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
    if kill -0 "$p" 2>/dev/null; then
      _ovs_log "ovs-vswitchd $p did not exit, SIGTERM"
      kill "$p" 2>/dev/null || true
      for _ in $(seq 25); do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
      kill -0 "$p" 2>/dev/null && kill -9 "$p" 2>/dev/null
    fi
  fi
  if _ovs_pid_alive "$OVS_RUN_DIR/ovsdb-server.pid"; then
    p=$(cat "$OVS_RUN_DIR/ovsdb-server.pid")
    ovs-appctl --timeout=10 -t "$OVS_RUN_DIR/ovsdb-server.ctl" exit >/dev/null 2>&1 ||
      kill "$p" 2>/dev/null || true
    for _ in $(seq 25); do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
    kill -0 "$p" 2>/dev/null && kill -9 "$p" 2>/dev/null
  fi
  if [ -e "/run/netns/$_OVS_NS" ]; then
    for d in "$_OVS_BRI" "$_OVS_BRP"; do
      if ip -n "$_OVS_NS" link show "$d" >/dev/null 2>&1; then
        _ovs_log "removing leftover tap $d"
        ip -n "$_OVS_NS" link del "$d" 2>/dev/null || true
      fi
    done
    ip netns del "$_OVS_NS" 2>/dev/null || true
  fi
  # OVS 3.1 runs EAL with --in-memory (memfd): normally nothing to remove here.
  rm -rf "/var/run/dpdk/$_OVS_PREFIX" 2>/dev/null || true
  rm -f /dev/hugepages/"$_OVS_PREFIX"* 2>/dev/null || true
  rm -f "$OVS_RUN_DIR"/*.pid "$OVS_RUN_DIR"/*.ctl "$OVS_RUN_DIR"/db.sock "$OVS_RUN_DIR"/*.mgmt \
    "$OVS_RUN_DIR"/*.snoop 2>/dev/null || true
  return 0
}

ovs_cleanup() {
  _ovs_stop
  if [ "${OVS_KEEP_LOGS:-0}" = 1 ]; then
    rm -f "$OVS_RUN_DIR"/conf.db "$OVS_RUN_DIR"/*.pcap 2>/dev/null || true
  else
    rm -rf "$OVS_RUN_DIR"
  fi
  return 0
}

# Hugepages when 256 free 2 MB pages (dpdk-socket-mem=512) are there and the caller
# did not choose --no-huge (TUNDRA_EAL_MEM from scripts/hugepages.sh); prints huge|nohuge.
_ovs_mem_mode() {
  local free
  case "${TUNDRA_EAL_MEM:-}" in *--no-huge*)
    _ovs_log "TUNDRA_EAL_MEM has --no-huge: OVS runs without hugepages too"; echo nohuge; return ;;
  esac
  free=$(awk '/HugePages_Free/ {print $2}' /proc/meminfo)
  if [ "${free:-0}" -ge 256 ] && mountpoint -q /dev/hugepages; then
    echo huge
  else
    _ovs_log "only ${free:-0} free 2 MB hugepages (OVS wants 256): running OVS with --no-huge"
    echo nohuge
  fi
}

# DPDK settings for MEM_MODE: EAL main lcore on CPU 0, exactly one PMD, on CPU 1, no PCI
# scan, a private file prefix, the two vdevs. OVS itself adds -c, --socket-mem and
# --in-memory; --no-huge implies legacy memory, which EAL refuses together with
# --in-memory, and OVS leaves --in-memory out when it sees --legacy-mem.
_ovs_dpdk_config() {  # MEM_MODE VDEV0 VDEV1
  local extra="--no-pci --file-prefix $_OVS_PREFIX --vdev $2 --vdev $3"
  if [ "$1" = huge ]; then
    _ovs_vsctl --no-wait set Open_vSwitch . other_config:dpdk-init=true \
      other_config:dpdk-socket-mem=512 other_config:dpdk-lcore-mask=0x1 \
      other_config:pmd-cpu-mask=0x2 "other_config:dpdk-extra=$extra"
  else
    _ovs_vsctl --no-wait set Open_vSwitch . other_config:dpdk-init=true \
      other_config:dpdk-lcore-mask=0x1 other_config:pmd-cpu-mask=0x2 \
      "other_config:dpdk-extra=--no-huge -m 512 --legacy-mem $extra" \
      -- remove Open_vSwitch . other_config dpdk-socket-mem
  fi
}

# ovs-vswitchd in the private namespace; every non-PMD thread on CPU 0 (the PMD
# thread pins itself to CPU 1).
_ovs_launch_vswitchd() {
  ip netns exec "$_OVS_NS" taskset -c 0 env OVS_RUNDIR="$OVS_RUN_DIR" OVS_LOGDIR="$OVS_RUN_DIR" \
    OVS_DBDIR="$OVS_RUN_DIR" "$OVS_VSWITCHD" "unix:$OVS_RUN_DIR/db.sock" \
    --pidfile="$OVS_RUN_DIR/ovs-vswitchd.pid" --unixctl="$OVS_RUN_DIR/ovs-vswitchd.ctl" \
    --log-file="$OVS_RUN_DIR/ovs-vswitchd.log" --detach --no-chdir >/dev/null 2>&1
}

# Writes SRC repeated N times to DST (plain libpcap format, as tundra-gen writes it).
_ovs_pcap_repeat() {  # SRC DST N
  /usr/bin/python3 - "$1" "$2" "$3" <<'PY'
import sys
src, dst, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
data = open(src, "rb").read()
with open(dst, "wb") as f:
    f.write(data[:24])
    for _ in range(n):
        f.write(data[24:])
PY
}

# Starts ovsdb-server + ovs-vswitchd and configures one cell. MODE bench|capture.
# In capture mode SINK_PCAP is the file the sink writes.
_ovs_start() {  # MODE PROTO UNDERLAY DIRECTION PCAP [SINK_PCAP]
  local mode=$1 proto=$2 ul=$3 dir=$4 pcap=$5 sink_pcap=${6:-}
  local local_ip remote_ip plen ipm type tun_opts mem src sink vm0 phy0 f
  local local_mac=02:00:00:00:00:01 remote_mac=02:00:00:00:00:02 vni=100
  if [ "$ul" = v4 ]; then
    local_ip=192.0.2.1 remote_ip=192.0.2.2 plen=24 ipm="ip,nw_dst=192.0.2.2"
  else
    local_ip=2001:db8::1 remote_ip=2001:db8::2 plen=64 ipm="ipv6,ipv6_dst=2001:db8::2"
  fi
  case "$pcap$sink_pcap" in *[[:space:],]*)
    _ovs_log "pcap paths must not contain spaces or commas (dpdk-extra): $pcap $sink_pcap"; return 1 ;;
  esac
  [ -r "$pcap" ] || { _ovs_log "cannot read $pcap"; return 1; }

  _ovs_stop
  mkdir -p "$OVS_RUN_DIR" || return 1
  rm -f "$OVS_RUN_DIR"/conf.db "$OVS_RUN_DIR"/*.log
  ip netns add "$_OVS_NS" || return 1

  # --- the vdevs ---------------------------------------------------------------
  # capture: the input replayed once (no infinite_rx), 32 times over: the first
  # bursts after add-port can die as "miss with failed upcall" (the PMD polls the
  # port before ofproto knows it), the rest must all come out.
  if [ "$mode" = capture ]; then
    _ovs_pcap_repeat "$pcap" "$OVS_RUN_DIR/capsrc.pcap" 32 || return 1
    src="net_pcap0,rx_pcap=$OVS_RUN_DIR/capsrc.pcap"
    rm -f "$sink_pcap"
    sink="net_pcap1,tx_pcap=$sink_pcap"
  else
    src="net_pcap0,rx_pcap=$pcap,infinite_rx=1"
    sink="net_null0,no-rx=1"
  fi
  if [ "$dir" = encap ]; then vm0=$src phy0=$sink; else vm0=$sink phy0=$src; fi

  # --- private ovsdb-server on CPU 0 ----------------------------------------------
  ovsdb-tool create "$OVS_RUN_DIR/conf.db" /usr/share/openvswitch/vswitch.ovsschema || return 1
  taskset -c 0 ovsdb-server "$OVS_RUN_DIR/conf.db" --remote="punix:$OVS_RUN_DIR/db.sock" \
    --pidfile="$OVS_RUN_DIR/ovsdb-server.pid" --unixctl="$OVS_RUN_DIR/ovsdb-server.ctl" \
    --log-file="$OVS_RUN_DIR/ovsdb-server.log" --detach --no-chdir 2>/dev/null ||
    { _ovs_log "ovsdb-server failed to start:"; tail -5 "$OVS_RUN_DIR/ovsdb-server.log" >&2; return 1; }
  _ovs_vsctl --no-wait init || return 1

  # --- DPDK and ovs-vswitchd ---------------------------------------------------------
  # (hugepages can vanish between the check and EAL init on a shared machine: then
  # once more without them)
  mem=$(_ovs_mem_mode)
  _ovs_dpdk_config "$mem" "$vm0" "$phy0" || return 1
  if ! _ovs_launch_vswitchd; then
    if [ "$mem" = huge ] && grep -q "Cannot allocate memory" "$OVS_RUN_DIR/ovs-vswitchd.log"; then
      _ovs_log "EAL could not get its hugepages (taken meanwhile?): retrying with --no-huge"
      mv "$OVS_RUN_DIR/ovs-vswitchd.log" "$OVS_RUN_DIR/ovs-vswitchd-hugepages-failed.log"
      _ovs_dpdk_config nohuge "$vm0" "$phy0" || return 1
      _ovs_launch_vswitchd ||
        { _ovs_log "ovs-vswitchd failed to start:"; tail -20 "$OVS_RUN_DIR/ovs-vswitchd.log" >&2; return 1; }
    else
      _ovs_log "ovs-vswitchd failed to start:"; tail -20 "$OVS_RUN_DIR/ovs-vswitchd.log" >&2; return 1
    fi
  fi

  # --- the tunnel port --------------------------------------------------------------
  tun_opts=("options:remote_ip=$remote_ip" "options:key=$vni")
  case "$proto" in
    vxlan) type=vxlan ;;
    geneve0 | geneve2) type=geneve ;;
    gretap) type=gre ;;                                       # OVS gre = Ethernet payload
    gre) type=gre; tun_opts+=(options:packet_type=legacy_l3) ;;  # IP payload
  esac
  # Over IPv6 tundra sends (and requires) outer UDP checksums (RFC 6935): same here.
  if [ "$ul" = v6 ] && [ "$type" != gre ]; then tun_opts+=(options:csum=true); fi

  # The SOURCE port comes last, once tunnel, flows, neighbor and route exist.
  # mtu_request=1600: OVS drops frames longer than MTU + 18 on dpdk tx, and a 1500 B
  # inner frame is 1546..1590 B encapsulated. (The vdevs have no MTU of their own: OVS
  # warns "does not support MTU configuration" and then uses it anyway.) The mbufs stay
  # 2 KB, as with the default MTU 1500.
  _ovs_add_vm0() {
    _ovs_vsctl add-port "$_OVS_BRI" vm0 -- set Interface vm0 type=dpdk \
      "options:dpdk-devargs=${vm0%%,*}" mtu_request=1600 ofport_request=1
  }
  _ovs_add_phy0() {
    _ovs_vsctl add-port "$_OVS_BRP" phy0 -- set Interface phy0 type=dpdk \
      "options:dpdk-devargs=${phy0%%,*}" mtu_request=1600 ofport_request=1
  }
  _ovs_vsctl add-br "$_OVS_BRI" -- set bridge "$_OVS_BRI" datapath_type=netdev \
    -- add-port "$_OVS_BRI" tun0 -- set Interface tun0 type=$type "${tun_opts[@]}" ofport_request=2 ||
    return 1
  _ovs_vsctl add-br "$_OVS_BRP" -- set bridge "$_OVS_BRP" datapath_type=netdev \
    other_config:hwaddr=$local_mac || return 1
  if [ "$dir" = encap ]; then _ovs_add_phy0 || return 1; else _ovs_add_vm0 || return 1; fi

  # --- OpenFlow: explicit rules, no learning or flooding ----------------------------
  f=$OVS_RUN_DIR/flows_int.txt
  case "$proto" in
    gre)
      # Routed like tundra's gre cell: IP to 10/8 from the access port goes into the
      # tunnel (the legacy_l3 port pops the Ethernet header), decapsulated IP packets
      # get an Ethernet header to the inner host (10.2.0.1 = 02:00:00:00:10:02) from
      # the access MAC 02:00:00:00:00:11; TTL decremented both ways, as a router does.
      cat >"$f" <<EOF
in_port=1,ip,dl_dst=02:00:00:00:00:11,nw_dst=10.0.0.0/8,actions=dec_ttl,output:2
in_port=2,ip,actions=mod_dl_src:02:00:00:00:00:11,mod_dl_dst:02:00:00:00:10:02,dec_ttl,output:1
EOF
      ;;
    geneve2)
      # The two options tundra's geneve2 cell carries: class 0xfff0 type 1 (4 bytes)
      # and type 2 (8 bytes), zero data, pushed on encap; parsed on decap.
      _ovs_ofctl add-tlv-map "$_OVS_BRI" \
        "{class=0xfff0,type=0x01,len=4}->tun_metadata0,{class=0xfff0,type=0x02,len=8}->tun_metadata1" ||
        return 1
      cat >"$f" <<EOF
in_port=1,actions=set_field:0x0->tun_metadata0,set_field:0x0->tun_metadata1,output:2
in_port=2,actions=output:1
EOF
      ;;
    *)
      printf 'in_port=1,actions=output:2\nin_port=2,actions=output:1\n' >"$f"
      ;;
  esac
  _ovs_ofctl replace-flows "$_OVS_BRI" "$f" || return 1
  # br-phy: only the tunnel's own packets go from the VTEP (LOCAL) to the uplink,
  # the tap's kernel chatter (ARP, ND, MLD, RS) is dropped; everything from the
  # uplink goes to LOCAL, where native tunnelling terminates it (tnl_pop).
  printf 'in_port=LOCAL,%s,actions=output:1\nin_port=1,actions=LOCAL\n' "$ipm" \
    >"$OVS_RUN_DIR/flows_phy.txt"
  _ovs_ofctl replace-flows "$_OVS_BRP" "$OVS_RUN_DIR/flows_phy.txt" || return 1

  # --- native tunnelling: VTEP address on the br-phy tap, neighbor, route -----------
  local nsx=(ip netns exec "$_OVS_NS")
  "${nsx[@]}" sysctl -qw "net.ipv6.conf.$_OVS_BRI.disable_ipv6=1" >/dev/null 2>&1 || true
  if [ "$ul" = v4 ]; then
    "${nsx[@]}" sysctl -qw "net.ipv6.conf.$_OVS_BRP.disable_ipv6=1" >/dev/null 2>&1 || true
    ip -n "$_OVS_NS" addr add "$local_ip/$plen" dev "$_OVS_BRP" || return 1
  else
    # IPv6 stays on, as quiet as it gets: no RS, no RA, no DAD.
    "${nsx[@]}" sysctl -qw "net.ipv6.conf.$_OVS_BRP.accept_ra=0" \
      "net.ipv6.conf.$_OVS_BRP.router_solicitations=0" "net.ipv6.conf.$_OVS_BRP.accept_dad=0" \
      "net.ipv6.conf.$_OVS_BRP.disable_ipv6=0" >/dev/null 2>&1 || true
    ip -n "$_OVS_NS" -6 addr add "$local_ip/$plen" dev "$_OVS_BRP" nodad || return 1
  fi
  ip -n "$_OVS_NS" link set "$_OVS_BRP" up || return 1
  ip -n "$_OVS_NS" link set "$_OVS_BRI" up || return 1
  sleep 1
  _ovs_appctl tnl/neigh/set "$_OVS_BRP" "$remote_ip" "$remote_mac" >/dev/null || return 1
  # OVS normally learns the connected route from the kernel; add it in case it did not.
  _ovs_appctl ovs/route/add "$remote_ip/$plen" "$_OVS_BRP" >/dev/null 2>&1 || true
  _ovs_appctl ovs/route/show >"$OVS_RUN_DIR/routes.txt" 2>&1 || true
  sleep 0.5

  # --- finally the traffic source -----------------------------------------------------
  if [ "$dir" = encap ]; then _ovs_add_vm0 || return 1; else _ovs_add_phy0 || return 1; fi
  return 0
}

# "label: VALUE" from pmd-stats-show output.
_ovs_pmd_value() {  # LABEL FILE
  awk -v l="$1" 'index($0, l ":") { sub(".*" l ": *", ""); print $1; exit }' "$2"
}

# TX packets of port NAME from dpctl/show -s.
_ovs_port_tx() {  # NAME
  _ovs_appctl dpctl/show -s 2>/dev/null | awk -v n="$1" '
    $1 == "port" && $3 == n { p = 1; next }
    p && /TX packets:/ { sub(/.*TX packets:/, ""); print $1 + 0; exit }
    $1 == "port" { p = 0 }'
}

# One measurement of an already started cell; prints "MPPS CYCLES".
_ovs_measure() {  # DIRECTION DUR LOGDIR
  local dir=$1 dur=$2 logd=$3 sink t0 t1 tx0 tx1 pkts proc
  local f=$logd/pmd_stats.txt
  [ "$dir" = encap ] && sink=phy0 || sink=vm0
  sleep "$OVS_WARMUP"
  tx0=$(_ovs_port_tx "$sink")
  _ovs_appctl dpif-netdev/pmd-stats-clear >/dev/null || return 1
  t0=$(date +%s.%N)
  sleep "$dur"
  _ovs_appctl dpif-netdev/pmd-stats-show -pmd 1 >"$f" || return 1
  t1=$(date +%s.%N)
  tx1=$(_ovs_port_tx "$sink")
  _ovs_appctl dpctl/dump-flows -m >"$logd/dp_flows.txt" 2>&1 || true
  _ovs_appctl dpctl/show -s >"$logd/ports.txt" 2>&1 || true
  _ovs_appctl dpif-netdev/pmd-rxq-show >"$logd/rxq.txt" 2>&1 || true
  # Where the threads ran (field 39 of /proc/PID/task/TID/stat = last CPU).
  local pid task
  pid=$(cat "$OVS_RUN_DIR/ovs-vswitchd.pid" 2>/dev/null)
  for task in /proc/"$pid"/task/*; do
    [ -r "$task/stat" ] || continue
    echo "$(cat "$task/comm" 2>/dev/null) cpu=$(awk '{print $39}' "$task/stat" 2>/dev/null)"
  done >"$logd/threads.txt" 2>/dev/null
  pkts=$(_ovs_pmd_value "packets received" "$f")
  proc=$(_ovs_pmd_value "avg processing cycles per packet" "$f")
  if [ -z "$pkts" ] || [ "$pkts" = 0 ] || [ -z "$proc" ]; then
    _ovs_log "the PMD received no packets (see $f)"
    return 1
  fi
  # Sanity: what came in must go out of the sink (no drops, no upcalls).
  if [ -n "$tx0" ] && [ -n "$tx1" ]; then
    if ! awk -v r="$pkts" -v t="$((tx1 - tx0))" 'BEGIN { exit !(t >= 0.95 * r) }'; then
      _ovs_log "only $((tx1 - tx0)) of $pkts received packets left $sink: OVS drops (see $logd)"
      return 1
    fi
  fi
  awk -v p="$pkts" -v a="$t0" -v b="$t1" -v c="$proc" \
    'BEGIN { printf "%.3f %.2f\n", p / (b - a) / 1e6, c }'
}

run_ovs() {  # PROTO UNDERLAY DIRECTION SIZE PCAP DUR
  (
    set +e +u
    proto=$1 ul=$2 dir=$3 size=$4 pcap=$5 dur=$6
    cell="$proto $ul $dir ${size}B"
    why=$(_ovs_unsupported "$proto" "$ul" "$dir")
    if [ -n "$why" ]; then
      _ovs_log "$cell: NA: $why"
      echo "NA NA"
      exit 0
    fi
    logd=$OVS_RUN_DIR/logs/$proto-$ul-$dir-$size.$(date +%s%N)
    mkdir -p "$logd"
    res=""
    if _ovs_start bench "$proto" "$ul" "$dir" "$pcap"; then
      res=$(_ovs_measure "$dir" "$dur" "$logd")
    fi
    cp "$OVS_RUN_DIR"/*.log "$OVS_RUN_DIR"/flows_*.txt "$OVS_RUN_DIR"/routes.txt "$logd"/ 2>/dev/null
    _ovs_stop
    if [ -z "$res" ]; then
      grep -hE '\|(WARN|ERR|EMER)\|' "$logd/ovs-vswitchd.log" 2>/dev/null |
        grep -vE 'checksum offload|MTU configuration|1048576 kB hugepages|legacy callbacks|enumerate system datapaths' |
        tail -5 >&2
      _ovs_log "$cell: NA: the OVS run failed (logs: $logd; OVS_KEEP_LOGS=1 keeps them)"
      echo "NA NA"
    else
      _ovs_log "$cell: $res (logs: $logd)"
      echo "$res"
    fi
    exit 0
  )
}

ovs_capture() {  # PROTO UNDERLAY DIRECTION PCAP OUT_PCAP
  (
    set +e +u
    proto=$1 ul=$2 dir=$3 pcap=$4 out=$5
    why=$(_ovs_unsupported "$proto" "$ul" "$dir")
    [ -z "$why" ] || { _ovs_log "NA: $why"; exit 1; }
    logd=$OVS_RUN_DIR/logs/capture-$proto-$ul-$dir.$(date +%s%N)
    mkdir -p "$logd"
    rc=1
    if _ovs_start capture "$proto" "$ul" "$dir" "$pcap" "$out"; then
      sleep 2   # the one-shot source is drained at once
      _ovs_appctl dpctl/dump-flows -m >"$logd/dp_flows.txt" 2>&1
      _ovs_appctl dpif-netdev/pmd-stats-show >"$logd/pmd_stats.txt" 2>&1
      _ovs_appctl dpctl/show -s >"$logd/ports.txt" 2>&1
      rc=0
    fi
    cp "$OVS_RUN_DIR"/*.log "$OVS_RUN_DIR"/flows_*.txt "$OVS_RUN_DIR"/routes.txt "$logd"/ 2>/dev/null
    _ovs_stop   # closes the sink: the pcap is complete only now
    rm -f "$OVS_RUN_DIR/capsrc.pcap"
    _ovs_log "capture $proto $ul $dir: $out (logs: $logd)"
    exit $rc
  )
}
