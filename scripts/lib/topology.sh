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

# topo_netns_usable — can this process create network namespaces at all?
topo_netns_usable() {
  local probe=tundra-probe-$$-$RANDOM
  ip netns add "$probe" 2>/dev/null || return 1
  ip netns del "$probe" 2>/dev/null
  return 0
}

# topo_kernel_supports TYPE — 0 if the kernel can create a link of TYPE
# (vxlan, geneve, gretap, gre, ip6gre, ip6gretap, ...). Probes in a scratch
# namespace so nothing leaks into the caller's. Prints nothing.
topo_kernel_supports() {
  local type=$1 probe=tundra-probe-$$-$RANDOM args rc
  case $type in
    vxlan)     args=(id 1 dstport 4789 local 192.0.2.1) ;;
    geneve)    args=(id 1 remote 192.0.2.2) ;;
    gre|gretap) args=(local 192.0.2.1 remote 192.0.2.2) ;;
    ip6gre|ip6gretap) args=(local 2001:db8::1 remote 2001:db8::2) ;;
    *)         args=() ;;
  esac
  ip netns add "$probe" 2>/dev/null || return 1
  ip -n "$probe" link add tprobe0 type "$type" "${args[@]}" >/dev/null 2>&1
  rc=$?
  ip netns del "$probe" 2>/dev/null
  return $rc
}

# _topo_offloads_off IF [NS] — no checksum/segmentation offloads on a veth
# end: veths otherwise hand AF_PACKET partial checksums and GSO/GRO
# super-frames. Each feature separately: not every one exists everywhere.
_topo_offloads_off() {
  local ifname=$1 pre=() feat
  [ -n "${2:-}" ] && pre=(ip netns exec "$2")
  command -v ethtool >/dev/null || return 0
  for feat in tx rx tso gso gro; do
    "${pre[@]}" ethtool -K "$ifname" "$feat" off >/dev/null 2>&1 || true
  done
}

_topo_nsexec() { ip netns exec "$1" "${@:2}"; }

# topo_create — builds the whole topology for the names set by topo_names.
topo_create() {
  local n
  for n in "$TOPO_HOST_NS" "$TOPO_VTEP_NS"; do
    ip netns add "$n" || { echo "topology: ip netns add $n failed" >&2; return 1; }
    TOPO_CREATED+=("netns:$n")
    _topo_nsexec "$n" ip link set lo up
    # Interfaces registered in the ns after this inherit "no DAD".
    _topo_nsexec "$n" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
  done

  # veth pairs, created in the root ns, one end moved into its namespace.
  ip link add "$TOPO_UP_IF" type veth peer name "$TOPO_VTEP_IF" || return 1
  TOPO_CREATED+=("link:$TOPO_UP_IF")
  ip link add "$TOPO_ACC_IF" type veth peer name "$TOPO_HOST_IF" || return 1
  TOPO_CREATED+=("link:$TOPO_ACC_IF")
  ip link set "$TOPO_VTEP_IF" netns "$TOPO_VTEP_NS" || return 1
  ip link set "$TOPO_HOST_IF" netns "$TOPO_HOST_NS" || return 1

  # Root-ns ends: no addresses, no IPv6 (so the kernel sends nothing of its
  # own on them), promiscuous, offloads off. The access end must pass tenant
  # frames of the overlay MTU; keep it at 1500 (>= overlay MTU).
  for n in "$TOPO_UP_IF" "$TOPO_ACC_IF"; do
    sysctl -qw "net.ipv6.conf.$n.disable_ipv6=1"
    _topo_offloads_off "$n"
    ip link set "$n" promisc on
    ip link set "$n" up
  done

  # Remote VTEP: underlay address on the veth, kernel vxlan device on top.
  local vns=(ip netns exec "$TOPO_VTEP_NS")
  "${vns[@]}" sysctl -qw "net.ipv6.conf.$TOPO_VTEP_IF.accept_dad=0"
  _topo_offloads_off "$TOPO_VTEP_IF" "$TOPO_VTEP_NS"
  "${vns[@]}" ip link set "$TOPO_VTEP_IF" up
  "${vns[@]}" ip addr add "$TOPO_VTEP_UL/$TOPO_UL_PLEN" dev "$TOPO_VTEP_IF" nodad 2>/dev/null ||
    "${vns[@]}" ip addr add "$TOPO_VTEP_UL/$TOPO_UL_PLEN" dev "$TOPO_VTEP_IF" || return 1
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
  local hns=(ip netns exec "$TOPO_HOST_NS")
  "${hns[@]}" sysctl -qw "net.ipv6.conf.$TOPO_HOST_IF.accept_dad=0"
  _topo_offloads_off "$TOPO_HOST_IF" "$TOPO_HOST_NS"
  "${hns[@]}" ip link set "$TOPO_HOST_IF" mtu "$TOPO_OVERLAY_MTU" up || return 1
  "${hns[@]}" ip addr add "$TOPO_HOST_V4/24" dev "$TOPO_HOST_IF" || return 1
  "${hns[@]}" ip addr add "$TOPO_HOST_V6/64" dev "$TOPO_HOST_IF" nodad || return 1
  return 0
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

# Python used for the TCP transfer: a one-shot server that hashes what it
# receives and a client that sends a file. Run with /usr/bin/python3 -c.
# server: ADDR PORT READYFILE TIMEOUT  -> prints "<bytes> <sha256>"
# shellcheck disable=SC2016,SC2034
TOPO_PY_TCP_SERVER='
import hashlib, socket, sys
addr, port, ready, tmo = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
s = socket.socket(fam, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((addr, port)); s.listen(1); s.settimeout(tmo)
open(ready, "w").close()
c, peer = s.accept(); c.settimeout(tmo)
h, n = hashlib.sha256(), 0
while True:
    b = c.recv(1 << 16)
    if not b:
        break
    h.update(b); n += len(b)
c.close(); s.close()
print(n, h.hexdigest())
'
# client: ADDR PORT FILE TIMEOUT
# shellcheck disable=SC2034
TOPO_PY_TCP_CLIENT='
import socket, sys
addr, port, path, tmo = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
c = socket.socket(fam, socket.SOCK_STREAM); c.settimeout(tmo)
c.connect((addr, port))
with open(path, "rb") as f:
    c.sendall(f.read())
c.shutdown(socket.SHUT_WR)
while c.recv(1 << 16):
    pass
c.close()
'
