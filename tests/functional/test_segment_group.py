"""A segment's multicast group (RFC 7348 §4.2): BUM to the group, once.

With `segment <name> group <ip>` a segment floods broadcast, multicast and
unknown-unicast frames from its members once, to the group's address and
MAC, instead of once per remote VTEP; packets the other VTEPs send to the
group are accepted as the segment's (from a configured remote, or learned
with `unknown-remote learn`).  Known unicast still goes to the one remote
VTEP the FDB names.

Oracles: scapy builds the expected encapsulation of every copy
(harness.check_encap via assert_remote_output) and computes the group's
MAC (RFC 1112 §6.4 / RFC 2464 §7) with its own functions; the remotes'
packets to the group are built by scapy.
"""

import socket

import pytest
from scapy.layers.l2 import getmacbyip
from scapy.utils6 import in6_getnsmac

from harness import UNDERLAYS, UPLINK, assert_config_error, assert_io_counters, \
    assert_only_drops
from segment_util import (BCAST, MCAST4, NPORTS, P1, P2, REMOTES, Segment,
                          assert_member_output, assert_remote_output,
                          base_config, check_port_reasons, check_segment_shape,
                          fdb_map, fdb_remote, frame, mac, remote_json,
                          remote_packet, remote_place, seg_counters, segment,
                          segment_config, segments, split_by_vni, tagged)

GROUPS = {4: ("239.1.2.3", "239.129.2.4"), 6: ("ff0e::1:2:3", "ff0e::99")}
SHOW = ("show segment json", "show fdb json", "show neigh json")


def group_mac(ip: str) -> str:
    """scapy's own mapping of a group to its Ethernet address."""
    if ":" in ip:
        return in6_getnsmac(socket.inet_pton(socket.AF_INET6, ip))
    return getmacbyip(ip)


def group_records(f: bytes) -> list:
    """(record type, group) of an IGMPv3 / MLDv2 report, as scapy reads it."""
    from scapy.contrib.igmpv3 import IGMPv3mr
    from scapy.layers.inet6 import ICMPv6MLReport2
    from scapy.layers.l2 import Ether
    p = Ether(f)
    if IGMPv3mr in p:
        return [(r.rtype, r.maddr) for r in p[IGMPv3mr].records]
    return [(r.rtype, r.dst) for r in p[ICMPv6MLReport2].records]


def run(tundra, cfg, inputs, **kw):
    res = tundra.run(cfg, inputs, nports=NPORTS, show=list(SHOW), **kw)
    check_port_reasons(res)
    for s in segments(res):
        check_segment_shape(s)
    return res


def to_group(ul, seg, remote, frames, group, *, src=None):
    """What `remote` sends to the group: outer destination the group, the
    Ethernet destination the group's MAC."""
    peer = dict(REMOTES[ul.family]).get(remote, "02:00:00:00:00:99")
    return [remote_packet(ul, seg, remote, f, peer_mac=peer, dst=group,
                          dst_mac=group_mac(group), src=src)
            for f in frames]


CASES = {
    "vxlan-v4": ("v4", Segment("s1", "vxlan", vni=100)),
    "vxlan-v6": ("v6", Segment("s1", "vxlan", vni=100)),
    "geneve-v4": ("v4", Segment("s1", "geneve", vni=300)),
    "gretap-v4": ("v4", Segment("s1", "gretap", vni=None, key=7)),
}


@pytest.mark.parametrize("case", list(CASES))
def test_group_floods_once_and_accepts_the_group(tundra, case):
    fam, seg = CASES[case]
    ul = UNDERLAYS[fam]
    r0, r1, _ = (ip for ip, _ in REMOTES[ul.family])
    g, other_g = GROUPS[ul.family]
    MK = mac(0x50)          # known: static at r1
    MU = mac(0x99)          # unknown unicast: never a source in this run
    cfg = base_config(ul, REMOTES[ul.family]) + segment_config(
        ul, seg, [(P1, 10), (P2, 0)], [r0, r1],
        [f"segment s1 group {other_g}", f"segment s1 group {g}",  # replaced
         fdb_remote("s1", MK, r1)])
    bum = [frame(mac(0x10), BCAST, 0), frame(mac(0x11), MCAST4, 1),
           frame(mac(0x12), MU, 2)]                                # from 1.10
    bum2 = [frame(mac(0x13), BCAST, 3)]                            # from 2
    known = [frame(mac(0x14), MK, 4), frame(mac(0x15), MK, 5)]    # 2 -> r1
    via_group = [frame(mac(0x20), BCAST, 6), frame(mac(0x21), MU, 7)]  # r0 -> group
    spoof = [frame(mac(0x22), BCAST, 8)]              # foreign VTEP -> group
    stray = [frame(mac(0x23), BCAST, 9)]              # r0 -> a group s1 left
    up = (to_group(ul, seg, r0, via_group, g)
          + to_group(ul, seg, r0, spoof, g, src=ul.foreign)
          + to_group(ul, seg, r0, stray, other_g))
    res = run(tundra, cfg, {P1: [tagged(f, 10) for f in bum], P2: bum2 + known,
                            UPLINK: up})
    # Each BUM frame leaves once, to the group; known unicast to r1 only.
    assert_remote_output(res, ul, seg, {g: bum + bum2, r1: known},
                         {g: group_mac(g), r1: dict(REMOTES[ul.family])[r1]},
                         what="group")
    assert_member_output(res, P1, {10: bum2 + via_group}, what="members")
    assert_member_output(res, P2, {0: bum + via_group}, what="members")
    assert_only_drops(res, {(UPLINK, "unknown-remote"): 1,
                            (UPLINK, "not-for-us"): 1})
    assert_io_counters(res)
    s = segment(res, "s1")
    assert (s["group"], s["group_encap_packets"]) == (g, len(bum + bum2)), s
    # The group is no remote: the remotes are still r0 and r1.
    assert sorted(r["ip"] for r in s["remotes"]) == sorted([r0, r1]), s["remotes"]
    assert remote_json(s, r0)["decap_packets"] == len(via_group)
    assert remote_json(s, r1)["encap_packets"] == len(known)
    seg_counters(s, flooded=len(bum + bum2 + via_group),
                 replicated=2 * len(bum + bum2) + 2 * len(via_group))
    # The group's next hop: its own MAC, never resolved, not the replaced one.
    neigh = {n["ip"]: n for n in res._last("neighbors")}
    assert g in neigh and other_g not in neigh, sorted(neigh)
    assert (neigh[g]["mac"], neigh[g]["state"]) == (group_mac(g), "multicast"), neigh[g]
    # The uplink joined g (never the group it left before start): what left is
    # state-change reports for g, and the group's next hop counts them.
    joins = [group_records(f) for f in res.reports()]
    assert all(r == [(4, g)] for r in joins), joins
    assert 1 <= neigh[g]["probes"] and len(joins) <= neigh[g]["probes"], (neigh[g], joins)
    # What came through the group is learned towards the remote that sent it.
    got = fdb_map(res._last("fdb"))
    assert got[("s1", mac(0x20))] == ("learned", remote_place(r0)), got


def test_group_learns_unknown_remotes_and_no_group(tundra):
    """With `unknown-remote learn` a VTEP heard only through the group is
    learned, and known unicast then goes to it directly; `no group` puts the
    remotes back in the flood list."""
    ul = UNDERLAYS["v4"]
    r0, r1, r2 = (ip for ip, _ in REMOTES[4])
    g = GROUPS[4][0]
    s1 = Segment("s1", "vxlan", vni=100)
    s2 = Segment("s2", "vxlan", vni=200)
    MX = mac(0x30)
    cfg = (base_config(ul, REMOTES[4])
           + segment_config(ul, s1, [(P1, 0)], [], [f"segment s1 group {g}",
                                                   "segment s1 unknown-remote learn"])
           + segment_config(ul, s2, [(P2, 0)], [r0, r1],
                            [f"segment s2 group {g}", "segment s2 no group"]))
    hello = [frame(MX, BCAST, 0)]                     # r2 -> group, learned
    res = run(tundra, cfg, {UPLINK: to_group(ul, s1, r2, hello, g)})
    assert_member_output(res, P1, {0: hello})
    got = fdb_map(res._last("fdb"))
    assert got == {("s1", MX): ("learned", remote_place(r2))}, got
    j1, j2 = segment(res, "s1"), segment(res, "s2")
    assert [(r["ip"], r["learned"]) for r in j1["remotes"]] == [(r2, True)], j1
    assert (j1["group"], j2["group"]) == (g, ""), (j1["group"], j2["group"])

    # A new run: r2 configured with the MAC behind it. Known unicast goes to
    # r2, BUM to the group only, not to r2 (s1); BUM to every remote again (s2).
    to_x = [frame(mac(0x31), MX, 1)]
    b1 = [frame(mac(0x32), BCAST, 2)]
    b2 = [frame(mac(0x33), BCAST, 3)]
    res = run(tundra, cfg + [f"segment s1 remote {r2}", f"fdb add s1 {MX} remote {r2}"],
              {P1: to_x + b1, P2: b2})
    vx = split_by_vni(res.out(UPLINK))
    assert sorted(vx) == [100, 200], sorted(vx)
    neigh = dict(REMOTES[4])
    assert_remote_output(res, ul, s1, {r2: to_x, g: b1}, {**neigh, g: group_mac(g)},
                         frames=vx[100], what="s1")
    assert_remote_output(res, ul, s2, {r0: b2, r1: b2}, neigh, frames=vx[200],
                         what="s2 after no group")
    assert_only_drops(res, {})


# name: (bad line, tokens of which the message must contain one)
ERR_BASE = base_config(UNDERLAYS["v4"], REMOTES[4]) + [
    "segment add s1 type vxlan local 192.0.2.1 vni 100",
    "segment s1 member port 1",
    "segment s1 group 239.1.2.3",
    "segment add s2 type vxlan local 192.0.2.1 vni 200",
]
BAD = {
    "group-unicast": ("segment s2 group 192.0.2.9", ("192.0.2.9", "multicast")),
    "group-other-family": ("segment s2 group ff0e::1", ("ff0e::1",)),
    "no-group-without-one": ("segment s2 no group", ("group",)),
    "group-no-such-segment": ("segment nosuch group 239.1.1.1", ("nosuch",)),
    "remote-multicast": ("segment s2 remote 239.1.1.1", ("239.1.1.1", "group")),
    "tunnel-remote-multicast": (
        "tunnel add t1 type vxlan local 192.0.2.1 remote 239.1.1.1 vni 300",
        ("239.1.1.1",)),
    "neigh-multicast": ("neigh add 239.1.1.1 02:00:00:00:00:55 port 0",
                        ("239.1.1.1",)),
    "route-via-multicast": ("route add 198.51.100.0/24 via 224.0.0.5",
                            ("224.0.0.5",)),
}


@pytest.mark.parametrize("name", list(BAD))
def test_group_config_errors(tundra, name):
    bad, tokens = BAD[name]
    lines = ERR_BASE + [bad]
    res = tundra.run(lines, {P1: [frame(mac(0x10), BCAST, 0)]}, nports=NPORTS,
                     expect_ok=False)
    assert_config_error(res, lines.index(bad) + 1, None)
    msg = next(l for l in res.stderr.splitlines() if l.startswith("error: "))
    assert any(t in msg for t in tokens), (
        f"error message does not name any of {tokens}: {msg!r}")
