# shellcheck shell=bash
# Shared helpers for tundra's namespace topologies (scripts/demo.sh, interop
# tests). Source it; it defines functions and variables, runs nothing.
#
#   ns $TOPO_HOST_NS (tenant host)  -- $TOPO_HOST_IF | $TOPO_ACC_IF  [root ns] -> tundra port 1 (access)
#   ns $TOPO_VTEP_NS (remote VTEP)  -- $TOPO_VTEP_IF | $TOPO_UP_IF   [root ns] -> tundra port 0 (uplink)
#
# The root-ns ends carry no addresses: tundra owns them through net_af_packet.
# Every object made here is recorded in TOPO_CREATED so topo_destroy deletes
# exactly what this process created and nothing else.

# shellcheck disable=SC2034  # variables are for the sourcing scripts
# Overlay and underlay addressing (RFC 5737 / RFC 3849 documentation ranges).
TOPO_HOST_V4=10.10.0.1
TOPO_PEER_V4=10.10.0.2
TOPO_HOST_V6=fd10::1
TOPO_PEER_V6=fd10::2
TOPO_VNI=100
TOPO_VXLAN_PORT=4789

TOPO_CREATED=()

topo_log() { printf '[topo] %s\n' "$*"; }

# topo_names SUFFIX UNDERLAY — sets all names and underlay addresses.
# SUFFIX should be unique per run (the caller's $$); interface names stay
# within IFNAMSIZ-1 = 15 characters ("tdvu" + 7-digit pid = 11).
topo_names() {
  local sfx=$1 underlay=$2
  TOPO_HOST_NS=tundra-host-$sfx
  TOPO_VTEP_NS=tundra-vtep-$sfx
  TOPO_UP_IF=tdu$sfx       # root ns, tundra uplink (port 0)
  TOPO_ACC_IF=tda$sfx      # root ns, tundra access (port 1)
  TOPO_VTEP_IF=tdv$sfx     # in the vtep ns (unique names keep captures and
  TOPO_HOST_IF=tdh$sfx     # error messages unambiguous)
  TOPO_VX_IF=vx0           # kernel vxlan device in the vtep ns
  TOPO_UNDERLAY=$underlay
  case $underlay in
    ipv4)
      TOPO_TUNDRA_UL=192.0.2.1 TOPO_VTEP_UL=192.0.2.2 TOPO_UL_PLEN=24
      TOPO_OVERLAY_MTU=1450 ;;   # 1500 - 14 eth - 20 ip - 8 udp - 8 vxlan
    ipv6)
      TOPO_TUNDRA_UL=2001:db8::1 TOPO_VTEP_UL=2001:db8::2 TOPO_UL_PLEN=64
      TOPO_OVERLAY_MTU=1430 ;;   # 1500 - 14 eth - 40 ip6 - 8 udp - 8 vxlan
    *) echo "topology: unknown underlay '$underlay' (ipv4|ipv6)" >&2; return 2 ;;
  esac
}

# topo_netns_usable — can this process create network namespaces at all? On failure
# `ip netns add`'s error is on stderr.
topo_netns_usable() {
  local probe=tundra-probe-$$-$RANDOM err
  err=$(ip netns add "$probe" 2>&1) || { echo "${err:-ip netns add failed}" >&2; return 1; }
  ip netns del "$probe" 2>/dev/null
  return 0
}

# topo_kernel_supports TYPE — 0 if the kernel can create a link of TYPE (vxlan,
# geneve, gretap, gre, ip6gre, ip6gretap, ...); else 1 with the reason (`ip link
# add`'s error) on stderr. Probes in a scratch namespace so nothing leaks into the
# caller's. tests/interop/tundra_netns.py asks this function too.
topo_kernel_supports() {
  local type=$1 probe=tundra-probe-$$-$RANDOM args err rc
  case $type in
    vxlan)     args=(id 1 dstport 4789 local 192.0.2.1) ;;
    geneve)    args=(id 1 remote 192.0.2.2) ;;
    gre|gretap) args=(local 192.0.2.1 remote 192.0.2.2) ;;
    ip6gre|ip6gretap) args=(local 2001:db8::1 remote 2001:db8::2) ;;
    *)         args=() ;;
  esac
  err=$(ip netns add "$probe" 2>&1) || {
    echo "cannot create a probe namespace: $err" >&2; return 1; }
  err=$(ip -n "$probe" link add tprobe0 type "$type" "${args[@]}" 2>&1)
  rc=$?
  ip netns del "$probe" 2>/dev/null
  [ "$rc" -eq 0 ] || echo "${err:-exit status $rc}" >&2
  return $rc
}

# topo_kernel_esp — succeeds if the kernel can hold an ESP transport-mode SA with
# AES-GCM (rfc4106(gcm(aes))), probed in a scratch namespace; else prints why not.
topo_kernel_esp() {
  local probe=tundra-probe-$$-$RANDOM err rc
  err=$(ip netns add "$probe" 2>&1) || {
    echo "cannot create a probe namespace: $err" >&2; return 1; }
  err=$(ip -n "$probe" xfrm state add src 192.0.2.1 dst 192.0.2.2 proto esp spi 0x100 \
        mode transport aead 'rfc4106(gcm(aes))' 0x$(printf '%040d' 1) 128 2>&1)
  rc=$?
  ip netns del "$probe" 2>/dev/null
  [ "$rc" -eq 0 ] || echo "${err:-exit status $rc}" >&2
  return $rc
}

# The recipes below for namespaces and veth ends are the ones the interop tests use
# too (tests/interop/tundra_proc.Topology calls them through tundra_netns.topology_sh).

# topo_netns_init NS — a new namespace's basics: lo up, and "no DAD" for every
# interface made in it or moved there later.
topo_netns_init() {
  ip netns exec "$1" ip link set lo up &&
    ip netns exec "$1" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
}

# topo_offloads_off IF [NS] — no checksum/segmentation offloads on a veth end: veths
# otherwise hand AF_PACKET partial checksums and GSO/GRO super-frames. Each feature
# separately: not every one exists everywhere. Never fails.
topo_offloads_off() {
  local ifname=$1 pre=() feat
  [ -n "${2:-}" ] && pre=(ip netns exec "$2")
  command -v ethtool >/dev/null || return 0
  for feat in tx rx tso gso gro; do
    "${pre[@]}" ethtool -K "$ifname" "$feat" off >/dev/null 2>&1 || true
  done
}

# topo_tundra_end IF [NS [MTU]] — a veth end tundra owns through net_af_packet, in NS
# (already moved there) or, NS empty, in the root ns: no IPv6 (so the kernel sends
# nothing of its own on it), offloads off, promiscuous, MTU if given, up.
topo_tundra_end() {
  local ifname=$1 mtu=${3:-} pre=()
  [ -n "${2:-}" ] && pre=(ip netns exec "$2")
  "${pre[@]}" sysctl -qw "net.ipv6.conf.$ifname.disable_ipv6=1" || return 1
  topo_offloads_off "$ifname" "${2:-}"
  "${pre[@]}" ip link set "$ifname" promisc on || return 1
  if [ -n "$mtu" ]; then "${pre[@]}" ip link set "$ifname" mtu "$mtu" || return 1; fi
  "${pre[@]}" ip link set "$ifname" up
}

# topo_host_end IF NS MTU [ADDR/PLEN...] — a kernel-side veth end in NS (already moved
# there): no DAD, offloads off, MTU (empty: left as it is), up, then the addresses
# (IPv6 ones nodad).
topo_host_end() {
  local ifname=$1 ns=$2 mtu=$3 a nodad pre=(ip netns exec "$2")
  shift 3
  "${pre[@]}" sysctl -qw "net.ipv6.conf.$ifname.accept_dad=0" || return 1
  topo_offloads_off "$ifname" "$ns"
  if [ -n "$mtu" ]; then "${pre[@]}" ip link set "$ifname" mtu "$mtu" || return 1; fi
  "${pre[@]}" ip link set "$ifname" up || return 1
  for a in "$@"; do
    nodad=()
    [[ $a == *:* ]] && nodad=(nodad)
    "${pre[@]}" ip addr add "$a" dev "$ifname" "${nodad[@]}" || return 1
  done
}

# topo_create — builds the whole topology for the names set by topo_names.
topo_create() {
  local n
  for n in "$TOPO_HOST_NS" "$TOPO_VTEP_NS"; do
    ip netns add "$n" || { echo "topology: ip netns add $n failed" >&2; return 1; }
    TOPO_CREATED+=("netns:$n")
    topo_netns_init "$n" || return 1
  done

  # veth pairs, created in the root ns, one end moved into its namespace.
  ip link add "$TOPO_UP_IF" type veth peer name "$TOPO_VTEP_IF" || return 1
  TOPO_CREATED+=("link:$TOPO_UP_IF")
  ip link add "$TOPO_ACC_IF" type veth peer name "$TOPO_HOST_IF" || return 1
  TOPO_CREATED+=("link:$TOPO_ACC_IF")
  ip link set "$TOPO_VTEP_IF" netns "$TOPO_VTEP_NS" || return 1
  ip link set "$TOPO_HOST_IF" netns "$TOPO_HOST_NS" || return 1

  # Root-ns ends: tundra's, no addresses. The access end must pass tenant frames of
  # the overlay MTU; it stays at 1500 (>= overlay MTU).
  for n in "$TOPO_UP_IF" "$TOPO_ACC_IF"; do
    topo_tundra_end "$n" || return 1
  done

  # Remote VTEP: underlay address on the veth, kernel vxlan device on top.
  local vns=(ip netns exec "$TOPO_VTEP_NS")
  topo_host_end "$TOPO_VTEP_IF" "$TOPO_VTEP_NS" "" "$TOPO_VTEP_UL/$TOPO_UL_PLEN" || return 1
  local vxargs=(id "$TOPO_VNI" local "$TOPO_VTEP_UL" remote "$TOPO_TUNDRA_UL"
                dstport "$TOPO_VXLAN_PORT" dev "$TOPO_VTEP_IF")
  # IPv6 underlay: kernel defaults on purpose (udp6zerocsumtx/rx off): it
  # sends UDP checksums and drops zero-checksum packets (RFC 8200 §8.1), so
  # tundra's checksums are checked by the kernel on every packet.
  "${vns[@]}" ip link add "$TOPO_VX_IF" type vxlan "${vxargs[@]}" || return 1
  "${vns[@]}" sysctl -qw "net.ipv6.conf.$TOPO_VX_IF.accept_dad=0"
  "${vns[@]}" ip link set "$TOPO_VX_IF" mtu "$TOPO_OVERLAY_MTU" up || return 1
  "${vns[@]}" ip addr add "$TOPO_PEER_V4/24" dev "$TOPO_VX_IF" || return 1
  "${vns[@]}" ip addr add "$TOPO_PEER_V6/64" dev "$TOPO_VX_IF" nodad || return 1

  # Tenant host: overlay addresses straight on its veth, MTU = overlay MTU.
  topo_host_end "$TOPO_HOST_IF" "$TOPO_HOST_NS" "$TOPO_OVERLAY_MTU" \
    "$TOPO_HOST_V4/24" "$TOPO_HOST_V6/64"
}

# topo_vtep_mac — MAC of the remote VTEP's underlay interface.
topo_vtep_mac() {
  ip netns exec "$TOPO_VTEP_NS" cat "/sys/class/net/$TOPO_VTEP_IF/address"
}

# topo_destroy — deletes, in reverse order, only what topo_create made.
# Deleting a namespace deletes the veth ends in it, which deletes their
# root-ns peers; the explicit link deletes cover a half-built topology.
topo_destroy() {
  local i item
  for ((i = ${#TOPO_CREATED[@]} - 1; i >= 0; i--)); do
    item=${TOPO_CREATED[i]}
    case $item in
      link:*)  ip link show "${item#link:}" >/dev/null 2>&1 && ip link del "${item#link:}" 2>/dev/null ;;
      netns:*) ip netns del "${item#netns:}" 2>/dev/null ;;
    esac
  done
  TOPO_CREATED=()
  return 0
}

# topo_vx_stats_json — `ip -s -j link show vx0` in the vtep ns, one line.
topo_vx_stats_json() {
  ip -n "$TOPO_VTEP_NS" -s -j link show "$TOPO_VX_IF" 2>/dev/null | tr -d '\n'
}

# The TCP transfer (a one-shot server that hashes what it receives, a client that
# sends a file): scripts/lib/tcp_transfer.py, also used by the interop tests.
TOPO_TCP_PY=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/tcp_transfer.py
