"""The three-VTEP segment topology of test_segment_kernel.py and
scripts/demo_segment.sh: tundra and two Linux kernel VXLAN VTEPs, one of them
behind a Linux router, a host behind tundra.

  ns host (h0)  192.168.50.1/24 fd50::1/64 ── veth ── tundra port 1 (segment member)
  tundra port 0 (uplink, VTEP A) ── veth ──┐
  ns v1: kernel vx0 (VTEP B) ── veth ──────┼── bridge in ns ul (the underlay LAN)
  ns rt: Linux router ── veth ─────────────┘
  ns rt: Linux router ── veth ── ns v2: kernel vx0 (VTEP C), on a subnet of its own
  vx0 of v1 / v2: 192.168.50.2 / .3, fd50::2 / ::3; VNI 5000, learning on, all-zero
  FDB entries towards the two other VTEPs (the kernel's head-end replication).

Nobody has a static neighbor entry: tundra resolves v1 and the router with
ARP / neighbor discovery and reaches v2 by `route add <v2's subnet> via
<router>`; the kernels resolve tundra's VTEP address the same way. The kernels
have no static FDB entry for tundra's hosts and tundra none for theirs: both
sides learn from traffic. tundra runs in a namespace of its own (see
tundra_proc.Tundra).
"""
import ipaddress
import os
import pathlib

from tundra_proc import Topology, Tundra, TundraError, describe, ns_mac, run, wait_until

VNI = 5000
PAYLOAD_LEN = 1 << 20
UNDERLAYS = {
    # family: (tundra, v1, v2 underlay addresses, prefix length)
    4: ("10.99.0.1", "10.99.0.2", "10.98.0.3", 24),
    6: ("fd99::1", "fd99::2", "fd98::3", 64),
}
# family: (the router's address on the LAN, its address on v2's subnet, v2's subnet)
ROUTERS = {
    4: ("10.99.0.254", "10.98.0.254", "10.98.0.0/24"),
    6: ("fd99::fe", "fd98::fe", "fd98::/64"),
}
OVERLAY4 = ("192.168.50.1", "192.168.50.2", "192.168.50.3")
OVERLAY6 = ("fd50::1", "fd50::2", "fd50::3")


def underlay_bridge(t, ns, ports, *bridge_args):
    """A bridge br0 in `ns` joining `ports` (moved there, offloads off)."""
    run(["ip", "link", "add", "br0", "type", "bridge", *bridge_args], ns=ns)
    run(["ip", "link", "set", "br0", "up"], ns=ns)
    for port in ports:
        run(["ip", "link", "set", port, "netns", ns])
        t.offloads_off(port, ns)
        run(["ip", "link", "set", port, "master", "br0"], ns=ns)
        run(["ip", "link", "set", port, "up"], ns=ns)


def kernel_vtep(t, ns, dev, addr, o4, o6, vni, vxlan_args, route=None, fdb_dsts=()):
    """A kernel VXLAN VTEP: `dev` in `ns` with underlay address `addr` (ip/plen), vx0
    on it (learning on, plus `vxlan_args`) with overlay addresses o4/24 and o6/64,
    all-zero FDB entries towards `fdb_dsts`, an underlay route (prefix, gateway).
    Returns vx0's MAC."""
    t.host_end(dev, ns, [addr])
    if route:
        run(["ip", "route", "add", route[0], "via", route[1]], ns=ns)
    run(["ip", "link", "add", "vx0", "type", "vxlan", "id", str(vni), "local",
         addr.split("/")[0], "dstport", "4789", "dev", dev, *vxlan_args], ns=ns)
    for dst in fdb_dsts:
        run(["bridge", "fdb", "append", "00:00:00:00:00:00", "dev", "vx0", "dst", dst], ns=ns)
    run(["sysctl", "-qw", "net.ipv6.conf.vx0.accept_dad=0"], ns=ns)
    run(["ip", "link", "set", "vx0", "up"], ns=ns)
    run(["ip", "addr", "add", "%s/24" % o4, "dev", "vx0"], ns=ns)
    run(["ip", "addr", "add", "%s/64" % o6, "dev", "vx0", "nodad"], ns=ns)
    return ns_mac(ns, "vx0")


def start_tundra(name, workdir, ifaces, ns):
    """tundra on `ifaces` (uplink, access) in `ns`, both ports probed."""
    tundra = Tundra(name, workdir, ifaces, ["--lcores=0@0,1@1"], netns=ns)
    tundra.start()
    info = tundra.show("port info all", "ports", timeout=60)
    if len(info["ports"]) != len(ifaces):
        raise TundraError("%d ports probed, not %d:\n%s" % (len(info["ports"]), len(ifaces),
                                                            tundra.tail()))
    return tundra


class ThreeVteps:
    def __init__(self, workdir, fam):
        pid = os.getpid()
        self.fam = fam
        self.topo = Topology()
        tag = "s%d" % fam
        self.ns = {k: "tundra-%s%s-%d" % (tag, k, pid)
                   for k in ("h0", "tn", "ul", "v1", "v2", "rt")}
        self.ifs = {k: "t%s%s%d" % (tag, k, pid) for k in
                    ("acc", "hst", "up", "ub0", "v1e", "ub1", "rte", "ub2", "v2e", "rtf")}
        self.tundra = None
        self.baseline = None
        self.drops_at_start = 0
        try:
            self._build(pathlib.Path(workdir))
        except BaseException:
            self.close()
            raise

    def _build(self, workdir):
        t, ns, i = self.topo, self.ns, self.ifs
        local, a1, a2, plen = UNDERLAYS[self.fam]
        router_lan, router_far, far_net = ROUTERS[self.fam]
        lan_net = str(ipaddress.ip_network("%s/%d" % (local, plen), strict=False))
        for n in ns.values():
            t.netns(n)
        t.veth(i["acc"], i["hst"])
        t.veth(i["up"], i["ub0"])
        t.veth(i["v1e"], i["ub1"])
        t.veth(i["rte"], i["ub2"])
        t.veth(i["v2e"], i["rtf"])
        # The underlay LAN: a bridge joining tundra's uplink, v1 and the router.
        underlay_bridge(t, ns["ul"], [i[p] for p in ("ub0", "ub1", "ub2")])
        # The router between the LAN and v2's subnet.
        t.host_end(i["rte"], ns["rt"], ["%s/%d" % (router_lan, plen)])
        t.host_end(i["rtf"], ns["rt"], ["%s/%d" % (router_far, plen)])
        run(["sysctl", "-qw", "net.ipv4.ip_forward=1"], ns=ns["rt"])
        run(["sysctl", "-qw", "net.ipv6.conf.all.forwarding=1"], ns=ns["rt"])
        t.tundra_end(i["up"], ns=ns["tn"])
        t.tundra_end(i["acc"], ns=ns["tn"])
        # MTU: the kernel VTEPs' vx0 gets the underlay's 1500 minus the encapsulation;
        # the host behind tundra gets the same, so TCP segments fit every way.
        overlay_mtu = 1450 if self.fam == 4 else 1430
        t.host_end(i["hst"], ns["h0"], ["%s/24" % OVERLAY4[0], "%s/64" % OVERLAY6[0]],
                   mtu=overlay_mtu)
        self.host_mac = ns_mac(ns["h0"], i["hst"])
        self.vx_mac = {}
        for k, me, others, o4, o6, route in (
                ("v1", a1, (local, a2), OVERLAY4[1], OVERLAY6[1], (far_net, router_lan)),
                ("v2", a2, (local, a1), OVERLAY4[2], OVERLAY6[2], (lan_net, router_far))):
            self.vx_mac[k] = kernel_vtep(
                t, ns[k], i["%se" % k], "%s/%d" % (me, plen), o4, o6, VNI, [],
                route=route, fdb_dsts=others)
        self.router_mac = ns_mac(ns["rt"], i["rte"])
        self.router_far_mac = ns_mac(ns["rt"], i["rtf"])
        self.v1_mac = ns_mac(ns["v1"], i["v1e"])

        self.tundra = start_tundra("seg%d" % self.fam, workdir, [i["up"], i["acc"]], ns["tn"])
        # No `neigh add`: tundra resolves v1 and the router itself.
        cfg = ["port config 0 role uplink",
               "port config 0 address %s/%d" % (local, plen),
               "port config 1 role access",
               "route add %s via %s" % (far_net, router_lan),
               "segment add blue type vxlan local %s vni %d" % (local, VNI),
               "segment blue member port 1",
               "segment blue remote %s" % a1,
               "segment blue remote %s" % a2,
               "start"]
        self.tundra.query(*cfg, "show segment json", key="segments", timeout=60)
        # tundra asks for its next hops as it starts; it queues nothing meanwhile (a
        # frame to an unresolved remote is a counted no-neighbor drop), so traffic
        # waits for the answers.
        if not wait_until(lambda: all(r["resolved"] for r in self.segment()["remotes"]), 10):
            raise TundraError("remotes not resolved:\n%s" % self.diag())
        # Frames the host sent before that (IPv6 router solicitations, MLD reports)
        # were flooded to unresolved remotes: the tests count drops from here on.
        self.drops_at_start = self.segment()["drops"]
        self.baseline = self.tundra.mbufs_in_use(settle=0.3)

    def neighbors(self):
        return self.tundra.show("neigh", "neighbors")["neighbors"]

    def segment(self):
        return self.tundra.show("segment blue", "segments")["segments"][0]

    def fdb(self):
        return self.tundra.show("fdb blue", "fdb")["fdb"]

    def diag(self):
        return describe(self.tundra, "segment blue", "fdb blue", "neigh", "route",
                        "port stats all")

    def close(self):
        return self.topo.teardown(self.tundra)
