"""Interop: tundra resolves its underlay next hops itself (control/nexthops.h).

  scapy on ulp (root ns) ── veth ── tundra port 0 (uplink 192.0.2.1/24, 2001:db8::1/64)
  scapy on acp (root ns) ── veth ── tundra port 1 (access, xconnects)

scapy plays every underlay neighbor: it dissects the ARP requests and neighbor
solicitations tundra sends (fields, checksums, backoff), answers some, stays
silent for others, and sends gratuitous ARP. No `neigh add` anywhere: the
VXLAN packets tundra then sends must carry the MAC scapy answered with, for a
remote on the uplink's subnet and for remotes behind a gateway (`route add
... via`), and follow a MAC change or a route change for every tunnel behind
that next hop at once. One tundra serves the module; short neighbor timers
(--neigh_*) keep it to seconds.
"""
import os
import time

import pytest
from scapy.all import ARP, Ether, IP, IPv6, UDP, AsyncSniffer, Raw, conf, sendp
from scapy.contrib.igmpv3 import IGMPv3, IGMPv3mr  # binds IGMPv3 before the sniffer dissects
from scapy.layers.inet6 import (ICMPv6ND_NA, ICMPv6ND_NS, ICMPv6NDOptDstLLAddr,
                                ICMPv6NDOptSrcLLAddr)
from scapy.layers.vxlan import VXLAN

from tundra_proc import Topology, Tundra, require_interop, run, wait_until

conf.verb = 0

PORT_MAC = "02:00:00:00:0a:01"
LOCAL4, LOCAL6 = "192.0.2.1", "2001:db8::1"
DIRECT4, DIRECT6 = "192.0.2.2", "2001:db8::2"      # on-link remotes
GW4, GW4B = "192.0.2.254", "192.0.2.253"           # gateways
SILENT4 = "192.0.2.9"                               # never answers
FAR_NET = "198.51.100"                              # remotes behind the gateway
NOROUTE4 = "203.0.113.9"                            # neither on-link nor routed
MAC_D, MAC_D6, MAC_G, MAC_G2, MAC_GB = (
    "02:00:00:00:0d:01", "02:00:00:00:0d:06", "02:00:00:00:0e:01", "02:00:00:00:0e:02",
    "02:00:00:00:0e:0b")
N_FAR = 40
REACHABLE_MS, RETRANS_MS, PROBES = 3000, 200, 2


@pytest.fixture(scope="module", autouse=True)
def preconditions():
    require_interop(tools=("ip", "sysctl"))


def far(i):
    return "%s.%d" % (FAR_NET, 10 + i)


class Underlay:
    def __init__(self, workdir):
        pid = os.getpid()
        self.ns = "tundra-ul-%d" % pid
        self.up, self.up_peer = "tuu%d" % pid, "tuv%d" % pid
        self.acc, self.acc_peer = "tua%d" % pid, "tub%d" % pid
        self.topo = Topology()
        self.tundra = None
        try:
            self._build(workdir)
        except BaseException:
            self.close()
            raise

    def _build(self, workdir):
        t = self.topo
        t.netns(self.ns)
        t.veth(self.up, self.up_peer)
        t.veth(self.acc, self.acc_peer)
        t.tundra_end(self.up, ns=self.ns)
        t.tundra_end(self.acc, ns=self.ns)
        # scapy's ends stay here, without addresses or IPv6: the kernel says nothing.
        t.tundra_end(self.up_peer)
        t.tundra_end(self.acc_peer)
        for ifc in (self.up_peer, self.acc_peer):
            # Nor ARP replies for the root namespace's own addresses (which may be ours).
            run(["sysctl", "-qw", "net.ipv4.conf.%s.arp_ignore=8" % ifc])
        self.tundra = Tundra("underlay", workdir, [self.up, self.acc], ["--lcores=0@0,1@1"],
                             netns=self.ns,
                             flags=["--neigh_reachable_ms=%d" % REACHABLE_MS,
                                    "--neigh_retrans_ms=%d" % RETRANS_MS,
                                    "--neigh_probes=%d" % PROBES])
        self.tundra.start()
        cmds = ["port config 0 role uplink", "port config 0 mac %s" % PORT_MAC,
                "port config 0 address %s/24" % LOCAL4, "port config 0 address %s/64" % LOCAL6,
                "port config 1 role access",
                "route add %s.0/24 via %s" % (FAR_NET, GW4),
                "tunnel add direct type vxlan local %s remote %s vni 10" % (LOCAL4, DIRECT4),
                "tunnel add direct6 type vxlan local %s remote %s vni 11" % (LOCAL6, DIRECT6),
                "tunnel add silent type vxlan local %s remote %s vni 12" % (LOCAL4, SILENT4),
                "tunnel add noroute type vxlan local %s remote %s vni 13" % (LOCAL4, NOROUTE4),
                "xconnect add 1 vlan 10 tunnel direct", "xconnect add 1 vlan 11 tunnel direct6",
                "xconnect add 1 vlan 12 tunnel silent", "xconnect add 1 vlan 13 tunnel noroute"]
        for i in range(N_FAR):
            cmds += ["tunnel add far%d type vxlan local %s remote %s vni %d"
                     % (i, LOCAL4, far(i), 100 + i),
                     "xconnect add 1 vlan %d tunnel far%d" % (100 + i, i)]
        self.pkts = []  # appended to by the sniffer's thread as packets arrive
        self.answers = {}  # neighbors scapy plays live: ip -> MAC it answers probes with
        self.sniffer = AsyncSniffer(iface=self.up_peer, store=False, prn=self.on_packet)
        self.sniffer.start()
        time.sleep(0.3)  # the sniffer's socket is open before tundra sends
        self.tundra.query(*cmds, "start", "show port info all json", key="ports", timeout=60)
        self.t0 = time.monotonic()

    def on_packet(self, p):
        self.pkts.append(p)
        if ARP in p and p[ARP].op == 1 and p[ARP].hwsrc == PORT_MAC:
            mac = self.answers.get(p[ARP].pdst)
            if mac:
                answer_arp(self, p[ARP].pdst, mac)
        elif ICMPv6ND_NS in p and p[Ether].src == PORT_MAC:
            mac = self.answers.get(p[ICMPv6ND_NS].tgt)
            if mac:
                answer_na(self, p[ICMPv6ND_NS].tgt, mac)

    def captured(self):
        return list(self.pkts)

    def neigh(self, ip):
        for n in self.tundra.show("neigh", "neighbors")["neighbors"]:
            if n["ip"] == ip and n["port"] == 0:
                return n
        return None

    def tunnel(self, name):
        return [t for t in self.tundra.show("tunnel stats", "tunnels")["tunnels"]
                if t["name"] == name][0]

    def frame(self, vlan, n=1):
        """n frames from the access side into the tunnel xconnected at `vlan`."""
        from scapy.all import Dot1Q
        pkts = [Ether(src="02:00:00:00:33:01", dst="02:00:00:00:44:01") / Dot1Q(vlan=vlan)
                / IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=1000 + i, dport=2000)
                / Raw(b"u" * 20) for i in range(n)]
        sendp(pkts, iface=self.acc_peer)

    def close(self):
        made = list(self.topo.created)
        if getattr(self, "sniffer", None) is not None and self.sniffer.running:
            self.sniffer.stop()
        if self.tundra is not None:
            self.tundra.stop()
        self.topo.destroy()
        return self.topo.leftovers(made)


@pytest.fixture(scope="module")
def ul(tmp_path_factory):
    u = Underlay(tmp_path_factory.mktemp("underlay"))
    yield u
    left = u.close()
    assert not left, "left behind after teardown: %s" % left


def arp_requests(pkts, target):
    return [p for p in pkts if ARP in p and p[ARP].op == 1 and p[ARP].pdst == target
            and p[ARP].hwsrc == PORT_MAC]


def solicitations(pkts, target):
    return [p for p in pkts if ICMPv6ND_NS in p and p[ICMPv6ND_NS].tgt == target]


def vxlan_out(pkts, vni):
    return [p for p in pkts if VXLAN in p and p[VXLAN].vni == vni]


def answer_arp(ul, ip, mac, op=2, dst=PORT_MAC, tpa=LOCAL4):
    sendp(Ether(src=mac, dst=dst) / ARP(op=op, hwsrc=mac, psrc=ip, hwdst=dst, pdst=tpa),
          iface=ul.up_peer)


def answer_na(ul, ip, mac):
    sendp(Ether(src=mac, dst=PORT_MAC) / IPv6(src=ip, dst=LOCAL6, hlim=255)
          / ICMPv6ND_NA(tgt=ip, S=1, O=1, R=0) / ICMPv6NDOptDstLLAddr(lladdr=mac),
          iface=ul.up_peer)


def wait_state(ul, ip, state, timeout=10):
    wait_until(lambda: (ul.neigh(ip) or {}).get("state") == state, timeout)
    n = ul.neigh(ip)
    assert n is not None and n["state"] == state, (ip, state, n)
    return n


def test_resolution_requests_are_well_formed(ul):
    """Right after start tundra asks for every next hop: the on-link remotes,
    the gateway (not the remotes behind it), never a remote with no route."""
    wait_until(lambda: arp_requests(ul.captured(), DIRECT4) and arp_requests(
        ul.captured(), GW4) and solicitations(ul.captured(), DIRECT6), 5)
    pkts = ul.captured()
    for target in (DIRECT4, GW4, SILENT4):
        reqs = arp_requests(pkts, target)
        assert reqs, "no ARP request for %s" % target
        p = reqs[0]
        assert (p[Ether].dst, p[Ether].src, p[ARP].hwsrc, p[ARP].psrc, p[ARP].hwtype,
                p[ARP].ptype, p[ARP].hwlen, p[ARP].plen) == (
            "ff:ff:ff:ff:ff:ff", PORT_MAC, PORT_MAC, LOCAL4, 1, 0x0800, 6, 4), p.show(dump=True)
    for i in range(N_FAR):
        assert not arp_requests(pkts, far(i)), "asked for %s, which is behind %s" % (far(i), GW4)
    assert not arp_requests(pkts, NOROUTE4)
    ns = solicitations(pkts, DIRECT6)[0]
    # RFC 4861 §7.2.2: to the solicited-node group, hop limit 255, our link-layer address.
    assert (ns[Ether].dst, ns[IPv6].dst, ns[IPv6].src, ns[IPv6].hlim) == (
        "33:33:ff:00:00:02", "ff02::1:ff00:2", LOCAL6, 255)
    assert ns[ICMPv6NDOptSrcLLAddr].lladdr == PORT_MAC
    got = ns[ICMPv6ND_NS].cksum
    again = IPv6(bytes(ns[IPv6]))
    del again[ICMPv6ND_NS].cksum
    assert IPv6(bytes(again))[ICMPv6ND_NS].cksum == got, "bad ICMPv6 checksum"


def test_unanswered_resolution_backs_off(ul):
    """A neighbor that never answers is asked again and again, each wait longer
    than the one before (retrans, 2x, 4x ...): bounded, not a storm."""
    wait_until(lambda: len(arp_requests(ul.captured(), SILENT4)) >= 4, 10)
    times = [float(p.time) for p in arp_requests(ul.captured(), SILENT4)]
    assert len(times) >= 4, times
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert gaps[0] >= RETRANS_MS / 1000 * 0.5, gaps
    assert gaps[1] > gaps[0] * 1.4 and gaps[2] > gaps[1] * 1.4, (
        "probes to a silent neighbor should back off: gaps %s" % gaps)
    n = ul.neigh(SILENT4)
    assert n["state"] == "incomplete" and n["mac"] == "" and n["probes"] >= 4, n


def test_unresolved_and_unrouted_drop_counted(ul):
    before_s = ul.tunnel("silent")["drop_reasons"]["no-neighbor"]
    before_n = ul.tunnel("noroute")["drop_reasons"]["no-underlay-route"]
    ul.frame(12, 3)
    ul.frame(13, 2)
    wait_until(lambda: ul.tunnel("silent")["drop_reasons"]["no-neighbor"] == before_s + 3
               and ul.tunnel("noroute")["drop_reasons"]["no-underlay-route"] == before_n + 2, 5)
    assert ul.tunnel("silent")["drop_reasons"]["no-neighbor"] == before_s + 3
    assert ul.tunnel("noroute")["drop_reasons"]["no-underlay-route"] == before_n + 2
    assert not vxlan_out(ul.captured(), 12) and not vxlan_out(ul.captured(), 13)
    t = ul.tundra.show("tunnel", "tunnels")["tunnels"]
    by = {x["name"]: x for x in t}
    assert (by["silent"]["resolved"], by["silent"]["next_hop"]) == (False, SILENT4)
    assert (by["noroute"]["resolved"], by["noroute"]["next_hop"]) == (False, "")
    assert (by["far0"]["next_hop"]) == GW4


def test_replies_resolve_and_traffic_uses_them(ul):
    # Answered at once (tundra's next probe may be seconds away), then live.
    ul.answers.update({DIRECT4: MAC_D, GW4: MAC_G, DIRECT6: MAC_D6})
    answer_arp(ul, DIRECT4, MAC_D)
    answer_arp(ul, GW4, MAC_G)
    answer_na(ul, DIRECT6, MAC_D6)
    for ip, mac in ((DIRECT4, MAC_D), (GW4, MAC_G), (DIRECT6, MAC_D6)):
        n = wait_state(ul, ip, "reachable")
        assert n["mac"] == mac, n
    ul.frame(10, 2)
    ul.frame(11, 2)
    for i in range(N_FAR):
        ul.frame(100 + i)
    wait_until(lambda: len(vxlan_out(ul.captured(), 100 + N_FAR - 1)) == 1, 5)
    pkts = ul.captured()
    d4, d6 = vxlan_out(pkts, 10), vxlan_out(pkts, 11)
    assert len(d4) == 2 and len(d6) == 2, (len(d4), len(d6))
    assert all(p[Ether].dst == MAC_D and p[IP].dst == DIRECT4 for p in d4)
    assert all(p[Ether].dst == MAC_D6 and p[IPv6].dst == DIRECT6 for p in d6)
    for i in range(N_FAR):
        out = vxlan_out(pkts, 100 + i)
        assert len(out) == 1 and out[0][Ether].dst == MAC_G and out[0][IP].dst == far(i), (
            i, [p.summary() for p in out])
        assert out[0][Ether].src == PORT_MAC


def test_reachable_is_refreshed_before_expiry(ul):
    """From 3/4 of the reachable time on, tundra probes the neighbor unicast; the
    answers keep it reachable, with no gap, past the time it would have expired."""
    first = ul.neigh(DIRECT4)
    assert first["state"] == "reachable", first
    deadline = time.monotonic() + REACHABLE_MS / 1000 * 1.6
    states = set()
    while time.monotonic() < deadline:
        states.add(ul.neigh(DIRECT4)["state"])
        time.sleep(0.1)
    assert states == {"reachable"}, states
    probes = [p for p in arp_requests(ul.captured(), DIRECT4) if p[Ether].dst == MAC_D]
    assert probes, "no unicast refresh probe to %s" % DIRECT4
    p = probes[0]
    assert (p[ARP].psrc, p[ARP].hwsrc, p[Ether].src) == (LOCAL4, PORT_MAC, PORT_MAC)
    assert ul.neigh(DIRECT4)["mac"] == MAC_D


def test_gratuitous_arp_repoints_every_tunnel_behind_the_gateway(ul):
    wait_state(ul, GW4, "reachable")
    ul.answers[GW4] = MAC_G2  # the gateway's new NIC, announced by gratuitous ARP
    answer_arp(ul, GW4, MAC_G2, op=1, dst="ff:ff:ff:ff:ff:ff", tpa=GW4)
    wait_until(lambda: (ul.neigh(GW4) or {}).get("mac") == MAC_G2, 5)
    n = ul.neigh(GW4)
    assert n["mac"] == MAC_G2 and n["state"] in ("stale", "reachable"), n
    mark = len(ul.captured())
    for i in range(N_FAR):
        ul.frame(100 + i)
    wait_until(lambda: len(vxlan_out(ul.captured()[mark:], 100 + N_FAR - 1)) == 1, 5)
    pkts = ul.captured()[mark:]
    for i in range(N_FAR):
        out = vxlan_out(pkts, 100 + i)
        assert len(out) == 1 and out[0][Ether].dst == MAC_G2, (i, [p.summary() for p in out])
    # The unasked MAC is confirmed by a probe; answered, it is reachable again.
    wait_until(lambda: any(p[Ether].dst == MAC_G2 for p in arp_requests(ul.captured(), GW4)), 5)
    wait_state(ul, GW4, "reachable")


def test_route_change_repoints_at_once(ul):
    ul.answers[GW4B] = MAC_GB
    ul.tundra.query("route replace %s.0/24 via %s" % (FAR_NET, GW4B),
                    "show route json", key="routes")
    wait_state(ul, GW4B, "reachable")
    mark = len(ul.captured())
    for i in range(N_FAR):
        ul.frame(100 + i)
    wait_until(lambda: len(vxlan_out(ul.captured()[mark:], 100 + N_FAR - 1)) == 1, 5)
    pkts = ul.captured()[mark:]
    assert all(vxlan_out(pkts, 100 + i)[0][Ether].dst == MAC_GB for i in range(N_FAR))
    routes = ul.tundra.show("route", "routes")
    assert routes["underlay"] == [{"prefix": FAR_NET + ".0/24", "via": GW4B}], routes
    # The old gateway is no one's next hop any more: forgotten.
    assert ul.neigh(GW4) is None, ul.neigh(GW4)
    # Without the route the remotes behind it have none.
    ul.tundra.query("route del %s.0/24" % FAR_NET, "show route json", key="routes")
    before = ul.tunnel("far0")["drop_reasons"]["no-underlay-route"]
    ul.frame(100)
    wait_until(lambda: ul.tunnel("far0")["drop_reasons"]["no-underlay-route"] == before + 1, 5)
    assert ul.tunnel("far0")["drop_reasons"]["no-underlay-route"] == before + 1


def test_silent_neighbor_goes_stale_then_is_withdrawn(ul):
    """DIRECT4 stops answering: reachable until its time runs out, then stale
    (still used), then after the unanswered probes withdrawn: drops, counted."""
    del ul.answers[DIRECT4]
    wait_state(ul, DIRECT4, "stale", timeout=REACHABLE_MS / 1000 * 2)
    n = wait_state(ul, DIRECT4, "incomplete", timeout=5)
    assert n["mac"] == "", n
    before = ul.tunnel("direct")["drop_reasons"]["no-neighbor"]
    ul.frame(10)
    wait_until(lambda: ul.tunnel("direct")["drop_reasons"]["no-neighbor"] == before + 1, 5)
    assert ul.tunnel("direct")["drop_reasons"]["no-neighbor"] == before + 1
    # Broadcast resolution resumes; an answer brings it back.
    wait_until(lambda: [p for p in arp_requests(ul.captured(), DIRECT4)
                        if p[Ether].dst == "ff:ff:ff:ff:ff:ff" and float(p.time) > ul.t0 + 1], 5)
    ul.answers[DIRECT4] = MAC_D
    answer_arp(ul, DIRECT4, MAC_D)
    wait_state(ul, DIRECT4, "reachable")


def test_static_neighbor_wins_and_is_never_probed(ul):
    ul.tundra.query("neigh add %s 02:00:00:00:5a:5a port 0" % SILENT4, "show neigh json",
                    key="neighbors")
    n = ul.neigh(SILENT4)
    assert (n["state"], n["mac"]) == ("static", "02:00:00:00:5a:5a"), n
    mark = len(arp_requests(ul.captured(), SILENT4))
    ul.frame(12)
    wait_until(lambda: vxlan_out(ul.captured(), 12), 5)
    assert vxlan_out(ul.captured(), 12)[0][Ether].dst == "02:00:00:00:5a:5a"
    # A reply claiming another MAC changes nothing.
    answer_arp(ul, SILENT4, "02:00:00:00:66:66")
    time.sleep(RETRANS_MS / 1000 * 4)
    assert ul.neigh(SILENT4)["mac"] == "02:00:00:00:5a:5a"
    assert len(arp_requests(ul.captured(), SILENT4)) == mark, "a static neighbor was probed"


GROUP4, GROUP6 = "239.1.2.3", "ff0e::1:2"


def reports(pkts, group):
    """IGMPv3 / MLDv2 reports from tundra naming `group`: (packet, record type)."""
    from scapy.layers.inet6 import ICMPv6MLReport2
    out = []
    for p in pkts:
        if p[Ether].src != PORT_MAC:
            continue
        if IGMPv3mr in p:
            out += [(p, r.rtype) for r in p[IGMPv3mr].records if r.maddr == group]
        elif ICMPv6MLReport2 in p:
            out += [(p, r.rtype) for r in p[ICMPv6MLReport2].records if r.dst == group]
    return out


def check_report(p, family):
    """Every field RFC 3376 §4.2 / RFC 3810 §5.2 fixes, checksums recomputed by
    scapy."""
    if family == 4:
        ip = p[IP]
        assert (p[Ether].dst, ip.src, ip.dst, ip.ttl, ip.tos) == \
            ("01:00:5e:00:00:16", LOCAL4, "224.0.0.22", 1, 0xC0), p.show(dump=True)
        assert ip.options and ip.options[0].option == 20, "no Router Alert: %r" % ip.options
        fresh = Ether(bytes(p))
        del fresh[IP].chksum
        del fresh[IGMPv3].chksum
        fresh = Ether(bytes(fresh))
        assert (fresh[IP].chksum, fresh[IGMPv3].chksum) == (ip.chksum, p[IGMPv3].chksum)
        assert p[IGMPv3].type == 0x22 and len(p[IGMPv3].payload.records) == 1
    else:
        from scapy.layers.inet6 import ICMPv6MLReport2, IPv6ExtHdrHopByHop, RouterAlert
        ip = p[IPv6]
        assert (p[Ether].dst, ip.dst, ip.hlim) == ("33:33:00:00:00:16", "ff02::16", 1), \
            p.show(dump=True)
        assert ip.src == "fe80::ff:fe00:a01", "MLD must come from the EUI-64 link-local: " + ip.src
        assert RouterAlert in p[IPv6ExtHdrHopByHop], p.show(dump=True)
        fresh = Ether(bytes(p))
        del fresh[ICMPv6MLReport2].cksum
        assert Ether(bytes(fresh))[ICMPv6MLReport2].cksum == p[ICMPv6MLReport2].cksum
        assert len(p[ICMPv6MLReport2].records) == 1


@pytest.mark.parametrize("family", [4, 6])
def test_segment_group_joins_and_leaves(ul, family):
    """A segment's `group` makes the uplink join it: a state-change report
    (CHANGE_TO_EXCLUDE, type 4) at once and a second ~1 s later, a leave
    (CHANGE_TO_INCLUDE, type 3) on `no group`; the group's neighbor is
    `multicast` with the group's own MAC and its report count."""
    local, group, vni = (LOCAL4, GROUP4, 950) if family == 4 else (LOCAL6, GROUP6, 951)
    name = "grp%d" % family
    mark = len(ul.captured())
    ul.tundra.query("segment add %s type vxlan local %s vni %d" % (name, local, vni),
                    "segment %s group %s" % (name, group), "show segment json",
                    key="segments")
    wait_until(lambda: len(reports(ul.captured()[mark:], group)) >= 2, 10)
    joins = reports(ul.captured()[mark:], group)
    assert [t for _, t in joins[:2]] == [4, 4], [(p.time, t) for p, t in joins]
    gap = joins[1][0].time - joins[0][0].time
    assert 0.5 < gap < 3, "the second join should follow about 1 s later, not %.2f s" % gap
    for p, _ in joins:
        check_report(p, family)
    n = ul.neigh(group)
    want_mac = "01:00:5e:01:02:03" if family == 4 else "33:33:00:01:00:02"
    assert (n["state"], n["mac"]) == ("multicast", want_mac), n
    assert n["probes"] >= 2, n
    mark = len(ul.captured())
    ul.tundra.query("segment %s no group" % name, "segment del %s" % name,
                    "show segment json", key="segments")
    wait_until(lambda: reports(ul.captured()[mark:], group), 5)
    leaves = reports(ul.captured()[mark:], group)
    assert [t for _, t in leaves] == [3], leaves
    check_report(leaves[0][0], family)
    assert ul.neigh(group) is None, "the group's next hop outlived its segment"
