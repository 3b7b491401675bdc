"""Multipoint L2 segments: a VTEP with an FDB, learning and flooding.

Port 0 is the uplink (the local VTEP address), ports 1 and 2 are access
ports; members are ports or VLANs of ports (tag stripped inside the segment,
pushed back towards a tagged member).  Every remote's copy of a frame must be
byte-identical to what a point-to-point tunnel with the same options would
send to that remote (harness.check_encap against scapy), decapsulated frames
must come out exactly as the remote's inner frame (plus the member's tag).

Learning is asynchronous (workers hand learn events to the control thread),
so forwarding decisions are tested with static `fdb add` entries, and
learning only by what `show fdb json` shows after `wait idle`.  No frame of a
run is sent to a MAC that any frame of the same run uses as its source.
"""

import re

import pytest

from harness import (UPLINK, UNDERLAYS, Tunnel, Xconnect, assert_config_error,
                     assert_io_counters, assert_only_drops, check_encap)
from segment_util import (BCAST, MCAST4, MCAST6, NPORTS, P1, P2, REMOTES,
                          Segment, all_of, assert_member_output,
                          assert_remote_output, base_config, check_port_reasons,
                          check_segment_shape, fdb_ages, fdb_map, fdb_port,
                          fdb_remote, frame, mac, port_place, remote_json,
                          remote_packet, remote_place, seg_counters, segment,
                          segment_config, segments, split_by_vni, tagged)

UL4, UL6 = UNDERLAYS["v4"], UNDERLAYS["v6"]
SHOW = ("show segment json", "show fdb json")
A4, B8 = bytes(range(1, 5)), bytes(range(0x10, 0x18))


def rips(ul):
    return [ip for ip, _ in REMOTES[ul.family]]


def neigh(ul):
    return dict(REMOTES[ul.family])


def from_remote(ul, seg, r, frames, **kw):
    return [remote_packet(ul, seg, r, f, peer_mac=neigh(ul)[r], **kw)
            for f in frames]


def nbytes(frames):
    return sum(len(f) for f in frames)


def members_of(s):
    return sorted((m["port"], m["vlan"]) for m in s["members"])


def remotes_of(s):
    """The configured remotes (the flood list); learned ones are flagged."""
    return sorted(r["ip"] for r in s["remotes"] if not r["learned"])


def run(tundra, cfg, inputs, show=SHOW, **kw):
    res = tundra.run(cfg, inputs, nports=NPORTS, show=list(show), **kw)
    check_port_reasons(res)
    for s in segments(res):
        check_segment_shape(s)
    return res


# --------------------------------------------------------------------------
# 1. known unicast with static FDB entries

@pytest.mark.parametrize("fam", ["v4", "v6"])
def test_known_unicast_static_fdb(tundra, fam):
    """member -> remote: one packet, to that remote only; remote -> member:
    decapsulated onto the right port with the right tag; member -> member:
    tag stripped / pushed."""
    ul = UNDERLAYS[fam]
    r0, r1, r2 = rips(ul)
    seg = Segment("s1", "vxlan", vni=100)
    MA, MB, MR1 = mac(1), mac(2), mac(3)
    cfg = base_config(ul, REMOTES[ul.family]) + segment_config(
        ul, seg, [(P1, 10), (P2, 0)], [r0, r1, r2],
        [fdb_port("s1", MA, P1, 10), fdb_port("s1", MB, P2),
         fdb_remote("s1", MR1, r1)])
    a = [frame(mac(0x10 + i), MR1, i) for i in range(3)]       # 1.10 -> r1
    b = [frame(mac(0x20 + i), MB, 10 + i) for i in range(3)]   # 1.10 -> 2
    c = [frame(mac(0x30), MA, 20 + i) for i in range(3)]       # 2 -> 1.10
    d = [frame(mac(0x30), MR1, 30 + i) for i in range(2)]      # 2 -> r1
    e = [frame(mac(0x40), MA, 40 + i) for i in range(3)]       # r0 -> 1.10
    g = [frame(mac(0x40), MB, 50 + i) for i in range(2)]       # r0 -> 2
    h = [frame(mac(0x41), MB, 60)]                             # r2 -> 2
    inputs = {P1: [tagged(x, 10) for x in a + b], P2: c + d,
              UPLINK: from_remote(ul, seg, r0, e + g) + from_remote(ul, seg, r2, h)}
    res = run(tundra, cfg, inputs)
    assert_remote_output(res, ul, seg, {r1: a + d}, neigh(ul), what="unicast")
    assert_member_output(res, P1, {10: c + e}, what="unicast")
    assert_member_output(res, P2, {0: b + g + h}, what="unicast")
    assert_only_drops(res, {})
    assert_io_counters(res)
    s = segment(res, "s1")
    assert (s["type"], s["local"], s["vni"], s["dstport"]) == \
        ("vxlan", ul.local, 100, 4789), s
    assert members_of(s) == [(1, 10), (2, 0)], s["members"]
    assert remotes_of(s) == sorted([r0, r1, r2]), s["remotes"]
    allf = a + b + c + d + e + g + h
    seg_counters(s, rx_packets=len(allf), rx_bytes=nbytes(allf),
                 tx_packets=len(allf), tx_bytes=nbytes(allf), flooded=0,
                 replicated=0, drops=0, static_macs=3)
    for r, enc, dec in ((r0, 0, 5), (r1, 5, 0), (r2, 0, 1)):
        j = remote_json(s, r)
        assert (j["resolved"], j["encap_packets"], j["decap_packets"]) == \
            (True, enc, dec), j


# --------------------------------------------------------------------------
# 2. flooding

@pytest.mark.parametrize("fam", ["v4", "v6"])
def test_flood_bum(tundra, fam):
    """Broadcast, multicast and unknown unicast from a member: one copy per
    remote (each its own outer header) and per other member, none back to the
    ingress member.  From a remote: local members only, never a remote."""
    ul = UNDERLAYS[fam]
    rs = rips(ul)
    seg = Segment("s1", "vxlan", vni=100)
    MU = mac(0x99)  # unknown unicast: never a source in this run
    cfg = base_config(ul, REMOTES[ul.family]) + segment_config(
        ul, seg, [(P1, 10), (P1, 11), (P2, 0)], rs)
    f1 = [frame(mac(0x10), BCAST, 0), frame(mac(0x11), BCAST, 1),
          frame(mac(0x12), MCAST4, 2), frame(mac(0x13), MU, 3),
          frame(mac(0x14), MU, 4)]                           # from 1.10
    f2 = [frame(mac(0x15), BCAST, 5)]                        # from 2
    f3 = [frame(mac(0x16), BCAST, 6), frame(mac(0x17), MU, 7),
          frame(mac(0x18), BCAST, 8)]                        # from r0
    f4 = [frame(mac(0x19), MCAST6, 9)]                       # from r1
    inputs = {P1: [tagged(x, 10) for x in f1], P2: f2,
              UPLINK: from_remote(ul, seg, rs[0], f3) + from_remote(ul, seg, rs[1], f4)}
    res = run(tundra, cfg, inputs)
    # every remote gets exactly the member-originated frames, nothing of f3/f4
    assert_remote_output(res, ul, seg, {r: f1 + f2 for r in rs}, neigh(ul),
                         what="flood")
    assert_member_output(res, P1, {10: f2 + f3 + f4, 11: f1 + f2 + f3 + f4},
                         what="flood")
    assert_member_output(res, P2, {0: f1 + f3 + f4}, what="flood")
    assert_only_drops(res, {})
    assert_io_counters(res)
    s = segment(res, "s1")
    from_members, from_remotes = f1 + f2, f3 + f4
    seg_counters(
        s, rx_packets=10, rx_bytes=nbytes(from_members + from_remotes),
        flooded=10, replicated=len(from_members) * 5 + len(from_remotes) * 3,
        tx_packets=len(from_members) * 5 + len(from_remotes) * 3,
        tx_bytes=5 * nbytes(from_members) + 3 * nbytes(from_remotes), drops=0)
    for r, dec in zip(rs, (3, 1, 0)):
        j = remote_json(s, r)
        assert (j["encap_packets"], j["decap_packets"]) == (6, dec), j


def test_flood_from_remote_never_leaves_on_the_uplink(tundra):
    """Split horizon on its own: remote BUM traffic only, the uplink sends
    nothing at all."""
    ul = UL4
    rs = rips(ul)
    seg = Segment("s1", "vxlan", vni=100)
    cfg = base_config(ul, REMOTES[4]) + segment_config(
        ul, seg, [(P1, 10), (P2, 0)], rs)
    f = [frame(mac(0x20 + i), [BCAST, MCAST4, mac(0x98)][i % 3], i)
         for i in range(6)]
    up = (from_remote(ul, seg, rs[0], f[:2]) + from_remote(ul, seg, rs[1], f[2:4])
          + from_remote(ul, seg, rs[2], f[4:]))
    res = run(tundra, cfg, {UPLINK: up})
    assert res.out(UPLINK) == [], (f"uplink sent {len(res.out(UPLINK))} "
                                   "frames for remote-originated BUM traffic")
    assert_member_output(res, P1, {10: f}, ordered=True)
    assert_member_output(res, P2, {0: f}, ordered=True)
    assert_only_drops(res, {})
    seg_counters(segment(res, "s1"), flooded=6, replicated=12, tx_packets=12,
                 rx_packets=6)


# --------------------------------------------------------------------------
# 3. GENEVE and gretap segments

def test_geneve_segment_with_options(tundra):
    """Every tunnel option (dstport, udp-csum, ttl, tos, df, GENEVE options
    with a critical one) applies to every remote's copy; decap with the
    configured critical option is accepted."""
    ul = UL4
    r0, r1 = rips(ul)[:2]
    seg = Segment("g1", "geneve", vni=0x1234, dstport=7000, udp_csum="on",
                  ttl=17, tos=0x48, df="clear",
                  options=((0x0102, 0x01, A4), (0x0103, 0x80, B8)))
    MA, MR1 = mac(1), mac(2)
    cfg = base_config(ul, REMOTES[4]) + segment_config(
        ul, seg, [(P1, 0), (P2, 5)], [r0, r1],
        [fdb_remote("g1", MR1, r1), fdb_port("g1", MA, P2, 5)])
    bc = [frame(mac(0x10), BCAST, 0), frame(mac(0x11), BCAST, 1)]
    un = [frame(mac(0x12), MR1, 2), frame(mac(0x12), MR1, 3)]
    d0 = [frame(mac(0x13), MA, 4), frame(mac(0x13), MA, 5)]
    d1 = [frame(mac(0x14), BCAST, 6)]
    p1_in = [bc[0], un[0], bc[1], un[1]]
    res = run(tundra, cfg, {P1: p1_in, UPLINK: from_remote(ul, seg, r0, d0)
                            + from_remote(ul, seg, r1, d1)},
              decode_as=seg.decode_as())
    assert_remote_output(res, ul, seg, {r0: bc, r1: p1_in}, neigh(ul),
                         ordered=True, what="geneve")
    assert_member_output(res, P1, {0: d1}, what="geneve")
    assert_member_output(res, P2, {5: bc + d0 + d1}, what="geneve")
    assert_only_drops(res, {})
    s = segment(res, "g1")
    assert (s["type"], s["vni"], s["dstport"]) == ("geneve", 0x1234, 7000), s
    seg_counters(s, flooded=3, replicated=3 * 2 + 1 * 2, rx_packets=7,
                 tx_packets=2 * 3 + 2 + 2 + 2, drops=0)


@pytest.mark.parametrize("fam", ["v4", "v6"])
def test_gretap_segment_key_seq_csum(tundra, fam):
    """gretap: the key, the checksum, and per-remote sequence numbers that
    count up by one for each copy sent to that remote (flood copies and
    unicast alike); decap by key; a wrong key is unknown-vni."""
    ul = UNDERLAYS[fam]
    r0, r1 = rips(ul)[:2]
    seg = Segment("g1", "gretap", vni=None, key=7, seq="on", csum="on")
    MA, MR0, MR1 = mac(1), mac(2), mac(3)
    cfg = base_config(ul, REMOTES[ul.family]) + segment_config(
        ul, seg, [(P1, 10), (P2, 0)], [r0, r1],
        [fdb_remote("g1", MR0, r0), fdb_remote("g1", MR1, r1),
         fdb_port("g1", MA, P1, 10)])
    B = [frame(mac(0x10 + i), BCAST, i) for i in range(3)]
    U0 = frame(mac(0x13), MR0, 3)
    U1 = [frame(mac(0x14), MR1, 4), frame(mac(0x14), MR1, 5)]
    p1_in = [B[0], U1[0], B[1], U0, B[2], U1[1]]
    dec = [frame(mac(0x20), MA, 6), frame(mac(0x21), BCAST, 7)]
    up = [remote_packet(ul, seg, r0, f, peer_mac=neigh(ul)[r0], seq=k + 1)
          for k, f in enumerate(dec)]
    up.append(remote_packet(ul, seg, r0, frame(mac(0x22), BCAST, 8),
                            seq=3, key=8))
    res = run(tundra, cfg, {P1: [tagged(x, 10) for x in p1_in], UPLINK: up})
    bases = assert_remote_output(
        res, ul, seg, {r0: [B[0], B[1], U0, B[2]],
                       r1: [B[0], U1[0], B[1], B[2], U1[1]]},
        neigh(ul), ordered=True, what="gretap")
    assert bases[r0] == bases[r1] and bases[r0] in (0, 1), (
        f"each remote's sequence must start like a tunnel's: {bases}")
    assert_member_output(res, P1, {10: dec}, ordered=True, what="gretap")
    assert_member_output(res, P2, {0: B + dec[1:]}, what="gretap")
    assert_only_drops(res, {(UPLINK, "unknown-vni"): 1})
    s = segment(res, "g1")
    assert s["type"] == "gretap" and s["key"] in (7, "7"), s
    j0, j1 = remote_json(s, r0), remote_json(s, r1)
    assert (j0["encap_packets"], j1["encap_packets"]) == (4, 5), s["remotes"]
    assert j0["decap_packets"] == 2, j0


# --------------------------------------------------------------------------
# 4. learning and the FDB commands

def test_learning_static_and_fdb_commands(tundra):
    ul = UL4
    r0, r1 = rips(ul)[:2]
    seg = Segment("s1", "vxlan", vni=100)
    seg2 = Segment("s2", "vxlan", vni=200)
    MST, MSR, MNEW, S2M = mac(1), mac(2), mac(3), mac(4)
    L1, L2, L3, L4, L5, LM = (mac(0x10 + i) for i in range(6))
    cfg = (base_config(ul, REMOTES[4])
           + segment_config(ul, seg, [(P1, 10), (P1, 11), (P2, 0)], [r0, r1],
                            [fdb_port("s1", MST, P2), fdb_remote("s1", MSR, r1)])
           + segment_config(ul, seg2, [(P1, 20)], [],
                            [fdb_port("s2", S2M, P1, 20)]))
    p1 = [tagged(frame(L1, MSR, 0), 10), tagged(frame(L1, MSR, 1), 10),
          tagged(frame(L2, MSR, 2), 10),
          tagged(frame(MST, MSR, 3), 11),        # static elsewhere: not moved
          tagged(frame(LM, BCAST, 4), 10),
          tagged(frame(LM, BCAST, 5), 11)]       # moves 1.10 -> 1.11
    p2 = [frame(L3, BCAST, 6), frame(MSR, BCAST, 7)]  # MSR static at r1
    up = (from_remote(ul, seg, r0, [frame(L4, MST, 8)])
          + from_remote(ul, seg, r1, [frame(L5, BCAST, 9)]))
    show = ["show fdb json", "show fdb s1 json", "show segment json",
            fdb_port("s1", L3, P1, 11), "show fdb json",   # static over learned
            "fdb flush s1 learned", "show fdb json",
            f"fdb del s1 {MST}", "show fdb json",
            fdb_port("s1", MNEW, P1, 11), "show fdb json",
            "fdb flush s1", "show fdb json", "show segment json"]
    res = run(tundra, cfg, {P1: p1, P2: p2, UPLINK: up}, show=show)
    assert_only_drops(res, {})
    statics_s1 = {("s1", MST): ("static", port_place(2)),
                  ("s1", MSR): ("static", remote_place(r1))}
    s2_map = {("s2", S2M): ("static", port_place(1, 20))}
    learned = {("s1", L1): ("learned", port_place(1, 10)),
               ("s1", L2): ("learned", port_place(1, 10)),
               ("s1", LM): ("learned", port_place(1, 11)),
               ("s1", L3): ("learned", port_place(2, 0)),
               ("s1", L4): ("learned", remote_place(r0)),
               ("s1", L5): ("learned", remote_place(r1))}
    fdbs = all_of(res, "fdb")
    assert len(fdbs) == 7, f"expected 7 `show fdb` objects, got {len(fdbs)}"
    got = fdb_map(fdbs[0])
    assert got == {**statics_s1, **s2_map, **learned}, (
        f"fdb after learning:\n got {sorted(got.items())}\n want "
        f"{sorted({**statics_s1, **s2_map, **learned}.items())}")
    ages = fdb_ages(fdbs[0])
    for k in learned:
        assert 0 <= ages[k] <= 5, f"learned {k} age {ages[k]}"
    assert fdb_map(fdbs[1]) == {**statics_s1, **learned}, \
        "`show fdb s1 json` must list s1's entries only"
    l3_static = {("s1", L3): ("static", port_place(1, 11))}
    assert fdb_map(fdbs[2]) == {**statics_s1, **s2_map, **learned,
                                **l3_static}, \
        "`fdb add` of a learned MAC must replace it by a static entry"
    assert fdb_map(fdbs[3]) == {**statics_s1, **s2_map, **l3_static}, \
        "after flush learned"
    assert fdb_map(fdbs[4]) == {("s1", MSR): ("static", remote_place(r1)),
                                **l3_static, **s2_map}, "after fdb del"
    assert fdb_map(fdbs[5]) == {("s1", MSR): ("static", remote_place(r1)),
                                ("s1", MNEW): ("static", port_place(1, 11)),
                                **l3_static, **s2_map}, "after fdb add"
    assert fdb_map(fdbs[6]) == s2_map, "after fdb flush s1 (all)"
    segs = all_of(res, "segments")
    s1 = segment(res, "s1", segs[0])
    seg_counters(s1, macs=8, learned_macs=6, static_macs=2, learned=6, moved=1,
                 aged=0, limit_dropped=0)
    seg_counters(segment(res, "s2", segs[0]), macs=1, learned_macs=0,
                 static_macs=1, learned=0)
    seg_counters(segment(res, "s1", segs[-1]), macs=0, learned_macs=0,
                 static_macs=0)
    seg_counters(segment(res, "s2", segs[-1]), macs=1, static_macs=1)
    # forwarding by the static entries while learning went on
    f_to_msr = [frame(L1, MSR, 0), frame(L1, MSR, 1), frame(L2, MSR, 2),
                frame(MST, MSR, 3)]
    lm10, lm11 = frame(LM, BCAST, 4), frame(LM, BCAST, 5)
    l3f, msrf = p2
    l5f = frame(L5, BCAST, 9)
    floods = [lm10, lm11, l3f, msrf]
    assert_remote_output(res, ul, seg, {r0: floods, r1: f_to_msr + floods},
                         neigh(ul), what="learning run")
    assert_member_output(res, P1, {10: [lm11, l3f, msrf, l5f],
                                   11: [lm10, l3f, msrf, l5f]})
    assert_member_output(res, P2, {0: [lm10, lm11, frame(L4, MST, 8), l5f]})


def test_max_macs_and_ageing(tundra):
    """max-macs: further new MACs are forwarded, not learned, counted as
    limit_dropped.  ageing 1: learned entries vanish within 1 + 3 s (static
    ones stay); ageing off: they stay and their age grows."""
    ul = UL4
    s1 = Segment("s1", "vxlan", vni=100)
    s2 = Segment("s2", "vxlan", vni=200)
    s3 = Segment("s3", "vxlan", vni=300)
    MS1, MS2 = mac(1), mac(2)
    N = [mac(0x10 + i) for i in range(5)]
    A = [mac(0x20 + i) for i in range(3)]
    O = [mac(0x30 + i) for i in range(2)]
    cfg = (base_config(ul)
           + segment_config(ul, s1, [(P1, 10), (P2, 0)], [],
                            ["segment s1 max-macs 2", fdb_port("s1", MS1, P2)])
           + segment_config(ul, s2, [(P1, 20), (P1, 21)], [],
                            ["segment s2 ageing 1", fdb_port("s2", MS2, P1, 21)])
           + segment_config(ul, s3, [(P1, 30), (P1, 31)], [],
                            ["segment s3 ageing off"]))
    fn = [frame(m, BCAST, i) for i, m in enumerate(N)]
    fa = [frame(m, BCAST, 10 + i) for i, m in enumerate(A)]
    fo = [frame(m, BCAST, 20 + i) for i, m in enumerate(O)]
    p1 = ([tagged(f, 10) for f in fn] + [tagged(f, 20) for f in fa]
          + [tagged(f, 30) for f in fo])
    show = ["show fdb json", "show segment json", "sleep 4000",
            "show fdb json", "show segment json"]
    res = run(tundra, cfg, {P1: p1}, show=show)
    assert_member_output(res, P2, {0: fn}, ordered=True,
                         what="frames over max-macs are still forwarded")
    assert_member_output(res, P1, {21: fa, 31: fo}, ordered=True)
    assert_only_drops(res, {})
    fdbs, segs = all_of(res, "fdb"), all_of(res, "segments")
    before, after = fdb_map(fdbs[0]), fdb_map(fdbs[1])
    # max-macs
    j = segment(res, "s1", segs[0])
    assert (j["max_macs"], j["ageing"]) == (2, 300), j
    seg_counters(j, learned_macs=2, learned=2, limit_dropped=3, static_macs=1)
    l1 = {k: v for k, v in before.items() if k[0] == "s1" and v[0] == "learned"}
    assert len(l1) == 2 and {k[1] for k in l1} <= set(N), l1
    assert all(v == ("learned", port_place(1, 10)) for v in l1.values()), l1
    # ageing
    assert segment(res, "s2", segs[0])["ageing"] == 1
    assert segment(res, "s3", segs[0])["ageing"] == 0
    assert segment(res, "s2", segs[0])["learned"] == 3
    s2_after = {k: v for k, v in after.items() if k[0] == "s2"}
    assert s2_after == {("s2", MS2): ("static", port_place(1, 21))}, (
        f"s2 (ageing 1) after 4.3 s idle: {s2_after}")
    seg_counters(segment(res, "s2", segs[1]), aged=3, learned_macs=0,
                 static_macs=1)
    s3_after = {k: v for k, v in after.items() if k[0] == "s3"}
    assert s3_after == {("s3", m): ("learned", port_place(1, 30)) for m in O}, \
        f"s3 (ageing off) lost entries: {s3_after}"
    seg_counters(segment(res, "s3", segs[1]), aged=0, learned_macs=2)
    a0, a1 = fdb_ages(fdbs[0]), fdb_ages(fdbs[1])
    for m in O:
        assert a1[("s3", m)] >= 3 and a1[("s3", m)] > a0[("s3", m)], (
            f"age of {m} did not grow over a 4 s sleep: {a0[('s3', m)]} -> "
            f"{a1[('s3', m)]}")
    # s1 (ageing 300) keeps its learned entries
    assert {k: v for k, v in after.items() if k[0] == "s1"} == \
        {k: v for k, v in before.items() if k[0] == "s1"}
    seg_counters(segment(res, "s1", segs[1]), aged=0)


# --------------------------------------------------------------------------
# 5. anti-spoof: frames from VTEPs that are not remotes of the segment

def test_unknown_remote_drop_and_learn(tundra):
    ul = UL4
    r0 = rips(ul)[0]
    FOREIGN = ul.foreign
    s1 = Segment("s1", "vxlan", vni=100)
    s2 = Segment("s2", "vxlan", vni=200)
    MA2, MX = mac(1), mac(2)
    LF1, LR, LF2, LP = mac(0x10), mac(0x11), mac(0x12), mac(0x13)
    cfg = (base_config(ul, REMOTES[4])
           + segment_config(ul, s1, [(P1, 10)], [r0])
           + segment_config(ul, s2, [(P2, 0)], [r0],
                            ["segment s2 unknown-remote learn",
                             fdb_port("s2", MA2, P2),
                             fdb_remote("s2", MX, r0)]))
    lf1 = [frame(LF1, BCAST, 0), frame(LF1, BCAST, 1)]
    lr = [frame(LR, BCAST, 2)]
    lf2 = [frame(LF2, BCAST, 3), frame(LF2, MA2, 4)]
    # MX is static at r0 in s2: a frame from the unknown remote to it is a
    # remote's frame for another remote (split horizon)
    shx = [frame(LF2, MX, 8)]
    lp = [frame(LP, BCAST, 5), frame(LP, BCAST, 6)]
    up = (from_remote(ul, s1, r0, lf1, src=FOREIGN)
          + from_remote(ul, s1, r0, lr)
          + from_remote(ul, s2, r0, lf2 + shx, src=FOREIGN)
          + from_remote(ul, s1, r0, [frame(mac(0x14), BCAST, 7)], vni=999))
    res = run(tundra, cfg, {UPLINK: up, P2: lp})
    assert_member_output(res, P1, {10: lr}, what="s1")
    assert_member_output(res, P2, {0: lf2}, ordered=True, what="s2 learn")
    # the unknown remote never joins the flood list
    assert_remote_output(res, ul, s2, {r0: lp}, neigh(ul), ordered=True,
                         what="s2 flood")
    assert_only_drops(res, {(UPLINK, "unknown-remote"): 2,
                            (UPLINK, "unknown-vni"): 1,
                            (UPLINK, "split-horizon"): 1})
    j1, j2 = segment(res, "s1"), segment(res, "s2")
    assert (j1["unknown_remote"], j2["unknown_remote"]) == ("drop", "learn")
    assert j1["drop_reasons"]["unknown-remote"] == 2 and j1["drops"] == 2, j1
    assert (j2["drops"], j2["drop_reasons"]["split-horizon"]) == (1, 1), \
        j2["drop_reasons"]
    assert remotes_of(j2) == [r0], f"s2 remotes {j2['remotes']}"
    # The foreign VTEP is listed as a learned remote (its MAC points at it).
    assert [r["ip"] for r in j2["remotes"] if r["learned"]] == [FOREIGN], j2["remotes"]
    assert remote_json(j1, r0)["decap_packets"] == 1
    assert remote_json(j2, r0)["decap_packets"] == 0
    seg_counters(j2, tx_packets=4)
    got = fdb_map(res._last("fdb"))
    assert got == {("s1", LR): ("learned", remote_place(r0)),
                   ("s2", LF2): ("learned", remote_place(FOREIGN)),
                   ("s2", LP): ("learned", port_place(2, 0)),
                   ("s2", MA2): ("static", port_place(2, 0)),
                   ("s2", MX): ("static", remote_place(r0))}, got


# --------------------------------------------------------------------------
# 6. isolation of two segments with the same MACs

def test_two_segments_are_independent(tundra):
    ul = UL4
    r0, r1 = rips(ul)[:2]
    s1 = Segment("s1", "vxlan", vni=100)
    s2 = Segment("s2", "vxlan", vni=200)
    MA, MB = mac(1), mac(2)
    MS, MS2, MT, MU, MU2 = (mac(0x10 + i) for i in range(5))
    cfg = (base_config(ul, REMOTES[4])
           + segment_config(ul, s1, [(P1, 10), (P2, 10)], [r0],
                            [fdb_port("s1", MA, P2, 10), fdb_remote("s1", MB, r0)])
           + segment_config(ul, s2, [(P1, 20), (P2, 20)], [r0, r1],
                            [fdb_remote("s2", MA, r1), fdb_port("s2", MB, P1, 20)]))
    a1 = [frame(MS, MA, 0), frame(MS, MA, 1)]          # 1.10 -> 2.10
    a2 = [frame(MS, MA, 2), frame(MS, MA, 3)]          # 1.20 -> r1 vni 200
    b1 = [frame(MS2, BCAST, 4)]                        # 1.10 flood in s1
    c1 = [frame(MT, MB, 5), frame(MT, MB, 6)]          # 2.10 -> r0 vni 100
    c2 = [frame(MT, MB, 7), frame(MT, MB, 8)]          # 2.20 -> 1.20
    d1 = [frame(MU, MA, 9)]                            # r0 vni 100 -> 2.10
    d2 = [frame(MU, MB, 10)]                           # r0 vni 200 -> 1.20
    e2 = [frame(MU2, BCAST, 11)]                       # r1 vni 200 -> 1.20, 2.20
    inputs = {P1: [tagged(x, 10) for x in a1] + [tagged(x, 20) for x in a2]
              + [tagged(x, 10) for x in b1],
              P2: [tagged(x, 10) for x in c1] + [tagged(x, 20) for x in c2],
              UPLINK: from_remote(ul, s1, r0, d1) + from_remote(ul, s2, r0, d2)
              + from_remote(ul, s2, r1, e2)}
    res = run(tundra, cfg, inputs)
    vn = split_by_vni(res.out(UPLINK))
    assert set(vn) <= {100, 200}, f"VNIs on the uplink: {sorted(vn)}"
    assert_remote_output(res, ul, s1, {r0: c1 + b1}, neigh(ul),
                         frames=vn.get(100, []), what="s1 (vni 100)")
    assert_remote_output(res, ul, s2, {r1: a2}, neigh(ul), ordered=True,
                         frames=vn.get(200, []), what="s2 (vni 200)")
    assert_member_output(res, P1, {20: c2 + d2 + e2}, what="isolation")
    assert_member_output(res, P2, {10: a1 + b1 + d1, 20: e2}, what="isolation")
    assert_only_drops(res, {})
    got = fdb_map(res._last("fdb"))
    want = {("s1", MA): ("static", port_place(2, 10)),
            ("s1", MB): ("static", remote_place(r0)),
            ("s2", MA): ("static", remote_place(r1)),
            ("s2", MB): ("static", port_place(1, 20)),
            ("s1", MS): ("learned", port_place(1, 10)),
            ("s1", MS2): ("learned", port_place(1, 10)),
            ("s2", MS): ("learned", port_place(1, 20)),
            ("s1", MT): ("learned", port_place(2, 10)),
            ("s2", MT): ("learned", port_place(2, 20)),
            ("s1", MU): ("learned", remote_place(r0)),
            ("s2", MU): ("learned", remote_place(r0)),
            ("s2", MU2): ("learned", remote_place(r1))}
    assert got == want, (f"fdb:\n got  {sorted(got.items())}\n want "
                         f"{sorted(want.items())}")
    seg_counters(segment(res, "s1"), rx_packets=6, tx_packets=7, flooded=1,
                 replicated=2)
    seg_counters(segment(res, "s2"), rx_packets=6, tx_packets=7, flooded=1,
                 replicated=2)


# --------------------------------------------------------------------------
# 7. split horizon and hairpin

def test_split_horizon_and_hairpin_drops(tundra):
    ul = UL4
    r0, r1 = rips(ul)[:2]
    seg = Segment("s1", "vxlan", vni=100)
    MR1, M1, M2 = mac(1), mac(2), mac(3)
    cfg = base_config(ul, REMOTES[4]) + segment_config(
        ul, seg, [(P1, 10), (P2, 0)], [r0, r1],
        [fdb_remote("s1", MR1, r1), fdb_port("s1", M1, P1, 10),
         fdb_port("s1", M2, P2)])
    sh = [frame(mac(0x10), MR1, i) for i in range(3)]      # r0 -> r1: split
    ok = [frame(mac(0x10), M2, 3)]                         # r0 -> 2
    hp1 = [frame(mac(0x11), M1, 4), frame(mac(0x11), M1, 5)]  # 1.10 -> 1.10
    hp2 = [frame(mac(0x12), M2, 6)]                           # 2 -> 2
    res = run(tundra, cfg, {UPLINK: from_remote(ul, seg, r0, sh + ok),
                            P1: [tagged(x, 10) for x in hp1], P2: hp2})
    assert res.out(UPLINK) == [], "a frame from a remote went back out"
    assert res.out(P1) == [], "hairpin frames were sent back"
    assert_member_output(res, P2, {0: ok})
    assert_only_drops(res, {(UPLINK, "split-horizon"): 3,
                            (P1, "hairpin"): 2, (P2, "hairpin"): 1})
    s = segment(res, "s1")
    dr = s["drop_reasons"]
    assert (dr["split-horizon"], dr["hairpin"], s["drops"]) == (3, 3, 6), s
    assert s["tx_packets"] == 1, s


def test_unsendable_copies_and_frames(tundra):
    """A flood copy that cannot be sent (remote without a neighbor entry, or
    too big for the uplink MTU) is a segment drop only, the other copies go
    out; a unicast frame that cannot be sent is a dropped received frame,
    counted on its port too."""
    ul = UL4
    r0, r1 = rips(ul)[:2]
    s1, s2 = Segment("s1", vni=100), Segment("s2", vni=200)
    MR0, MR1 = mac(1), mac(2)
    cfg = (base_config(ul, REMOTES[4][:1]) + ["port config 0 mtu 600"]   # r1: no neigh
           + segment_config(ul, s1, [(P1, 10), (P2, 10)], [r0, r1],
                            [fdb_remote("s1", MR1, r1)])
           + segment_config(ul, s2, [(P1, 20), (P2, 20)], [r0],
                            [fdb_remote("s2", MR0, r0)]))
    small = [frame(mac(0x10), BCAST, 0, size=100), frame(mac(0x11), BCAST, 1, size=200)]
    u1 = [frame(mac(0x12), MR1, 2, size=64)]          # s1 -> unresolved r1
    big = [frame(mac(0x13), BCAST, 3, size=1000)]     # s2 flood, too big
    ok2 = [frame(mac(0x14), BCAST, 4, size=100)]      # s2 flood, fits
    bigu = [frame(mac(0x15), MR0, 5, size=1000)]      # s2 unicast, too big
    p1 = ([tagged(f, 10) for f in small + u1]
          + [tagged(f, 20) for f in big + ok2 + bigu])
    res = run(tundra, cfg, {P1: p1})
    vn = split_by_vni(res.out(UPLINK))
    assert set(vn) <= {100, 200}, sorted(vn)
    assert_remote_output(res, ul, s1, {r0: small}, neigh(ul), ordered=True,
                         frames=vn.get(100, []), what="s1 (r1 unresolved)")
    assert_remote_output(res, ul, s2, {r0: ok2}, neigh(ul),
                         frames=vn.get(200, []), what="s2 (mtu 600)")
    assert_member_output(res, P2, {10: small, 20: big + ok2}, ordered=True)
    assert_only_drops(res, {(P1, "no-neighbor"): 1, (P1, "mtu-exceeded"): 1})
    j1, j2 = segment(res, "s1"), segment(res, "s2")
    assert (remote_json(j1, r0)["resolved"], remote_json(j1, r1)["resolved"]) \
        == (True, False), j1["remotes"]
    assert j1["drop_reasons"]["no-neighbor"] == 3, (
        f"s1: 2 flood copies + 1 unicast frame to an unresolved remote: "
        f"{j1['drop_reasons']}")
    assert j2["drop_reasons"]["mtu-exceeded"] == 2, (
        f"s2: 1 flood copy + 1 unicast frame over the MTU: {j2['drop_reasons']}")


# --------------------------------------------------------------------------
# 8. bad commands

CFG_UL = UL4
ERR_BASE = (base_config(CFG_UL, REMOTES[4][:2]) + [
    "tunnel add t1 type vxlan local 192.0.2.1 remote 192.0.2.2 vni 500",
    "xconnect add 1 vlan 30 tunnel t1",
    "segment add s1 type vxlan local 192.0.2.1 vni 100",
    "segment s1 member port 1 vlan 10",
    "segment s1 remote 192.0.2.2",
    f"fdb add s1 {mac(1)} port 1 vlan 10",
    "segment add s2 type vxlan local 192.0.2.1 vni 200",
    "segment s2 member port 2 vlan 40",
    "segment add s4 type gretap local 192.0.2.1 key 700",
])
X = mac(0x77)
# name: (bad line, tokens of which the message must contain one; None: any)
BAD = {
    "unknown-segment": ("segment nosuch member port 1 vlan 11", ("nosuch",)),
    "unknown-segment-remote": ("segment nosuch remote 192.0.2.3", ("nosuch",)),
    "unknown-segment-del": ("segment del nosuch", ("nosuch",)),
    "unknown-segment-fdb": (f"fdb add nosuch {X} port 1 vlan 10", ("nosuch",)),
    "duplicate-name": ("segment add s1 type vxlan local 192.0.2.1 vni 300", ("s1",)),
    "vni-used-by-tunnel": ("segment add s3 type vxlan local 192.0.2.1 vni 500",
                           ("500", "t1")),
    "vni-used-by-segment": ("segment add s3 type vxlan local 192.0.2.1 vni 100",
                            ("100", "s1")),
    # gretap: the key plays the VNI's part between segments (a p2p gretap
    # tunnel is keyed by local, remote and key, so it may share a key with
    # a segment: its own remote's packets go to it)
    "key-used-by-segment": ("segment add s3 type gretap local 192.0.2.1 key 700",
                            ("700",)),
    "local-not-ours": ("segment add s3 type vxlan local 192.0.2.50 vni 300",
                       ("192.0.2.50",)),
    "member-uplink": ("segment s1 member port 0", ("0",)),
    "member-no-such-port": ("segment s1 member port 7", ("7",)),
    "member-xconnect-vlan": ("segment s1 member port 1 vlan 30",
                             ("30", "xconnect", "t1")),
    "member-other-segment": ("segment s1 member port 2 vlan 40", ("40", "s2")),
    "remote-is-local": ("segment s1 remote 192.0.2.1", ("192.0.2.1",)),
    "remote-other-family": ("segment s1 remote 2001:db8::2", ("2001:db8::2",)),
    "fdb-not-member": (f"fdb add s1 {X} port 1 vlan 11", ("11", "port 1")),
    "fdb-other-segments-member": (f"fdb add s1 {X} port 2 vlan 40", ("40",)),
    "fdb-not-remote": (f"fdb add s1 {X} remote 192.0.2.3", ("192.0.2.3",)),
    "bad-mac": ("fdb add s1 02:a0:00:00:00:zz port 1 vlan 10",
                ("02:a0:00:00:00:zz",)),
    "vni-on-gretap": ("segment add s3 type gretap local 192.0.2.1 vni 5", ("vni",)),
    "key-on-vxlan": ("segment add s3 type vxlan local 192.0.2.1 key 5", ("key",)),
    "type-gre": ("segment add s3 type gre local 192.0.2.1 key 5", ("gre",)),
    "bad-ageing": ("segment s1 ageing soon", ("soon",)),
    "bad-unknown-remote": ("segment s1 unknown-remote accept", ("accept",)),
}


@pytest.mark.parametrize("name", list(BAD))
def test_config_errors(tundra, name):
    bad, tokens = BAD[name]
    lines = list(ERR_BASE) + [bad, "segment s1 remote 192.0.2.3"]
    res = tundra.run(lines, {P1: [tagged(frame(mac(0x10), BCAST, 0), 10)]},
                     nports=NPORTS, expect_ok=False)
    assert_config_error(res, lines.index(bad) + 1, None)
    msg = next(l for l in res.stderr.splitlines() if l.startswith("error: "))
    msg = re.sub(r"^error: \S+:\d+: ", "", msg)
    if tokens:
        assert any(t in msg for t in tokens), (
            f"error message does not name any of {tokens}: {msg!r}")


def test_errors_change_nothing(tundra):
    """At the prompt each refused command prints `error: ...` and changes
    nothing: the segment, its members, remotes and FDB stay as they were,
    the xconnect keeps its VLAN, traffic still flows the same way."""
    ul = CFG_UL
    r0 = rips(ul)[0]
    bad = ["segment add s1 type vxlan local 192.0.2.1 vni 300",
           "segment s1 member port 1 vlan 30",
           "segment s1 member port 2 vlan 40",
           "segment s1 member port 0",
           "segment s1 remote 192.0.2.1",
           f"fdb add s1 {X} remote 192.0.2.3",
           f"fdb add s1 {X} port 2",
           "segment add s3 type vxlan local 192.0.2.1 vni 500",
           "segment add s3 type vxlan local 192.0.2.50 vni 300",
           "segment nosuch remote 192.0.2.3",
           "fdb add s1 02:a0:00:00:00:zz port 1 vlan 10"]
    s1 = Segment("s1", "vxlan", vni=100)
    t1 = Tunnel("t1", vni=500)
    f10 = [frame(mac(0x10), BCAST, 0), frame(mac(0x10), X, 1)]
    f30 = [frame(mac(0x11), mac(0x12), 2)]
    res = run(tundra, list(ERR_BASE) + bad,
              {P1: [tagged(x, 10) for x in f10] + [tagged(x, 30) for x in f30]},
              interactive=True)
    errs = [l for l in res.stdout.splitlines() if l.startswith("error: ")]
    assert len(errs) == len(bad), (f"{len(errs)} error lines for {len(bad)} "
                                   f"bad commands: {errs}")
    assert sorted(s["name"] for s in segments(res)) == ["s1", "s2", "s4"]
    j = segment(res, "s1")
    assert (j["vni"], members_of(j), remotes_of(j)) == (100, [(1, 10)], [r0]), j
    assert members_of(segment(res, "s2")) == [(2, 40)]
    assert fdb_map(res._last("fdb")) == {
        ("s1", mac(1)): ("static", port_place(1, 10)),
        ("s1", mac(0x10)): ("learned", port_place(1, 10))}
    # VLAN 30 still goes into t1, VLAN 10 floods to s1's one remote
    vn = split_by_vni(res.out(UPLINK))
    assert sorted(vn) == [100, 500], sorted(vn)
    assert len(vn[500]) == 1
    check_encap(vn[500][0], ul, t1, f30[0])
    assert_remote_output(res, ul, s1, {r0: f10}, neigh(ul), ordered=True,
                         frames=vn[100])
    assert_only_drops(res, {})


# --------------------------------------------------------------------------
# 10. an xconnect tunnel beside a segment; membership changes and deletes

def test_xconnect_beside_segment(tundra):
    ul = UL4
    r0, r1 = rips(ul)[:2]
    t1 = Tunnel("t1", vni=100)
    seg = Segment("s1", "vxlan", vni=200)
    cfg = (base_config(ul, REMOTES[4])
           + [t1.cli(ul), Xconnect(P1, 10, "t1").cli()]
           + segment_config(ul, seg, [(P1, 20), (P2, 0)], [r0, r1]))
    x = [frame(mac(0x10), BCAST, 0), frame(mac(0x10), mac(0x50), 1),
         frame(mac(0x11), mac(0x51), 2)]                     # 1.10 -> t1
    b = [frame(mac(0x12), BCAST, 3), frame(mac(0x13), MCAST4, 4)]  # 1.20 flood
    xd = [frame(mac(0x14), BCAST, 5), frame(mac(0x14), mac(0x52), 6)]  # t1 decap
    sd = [frame(mac(0x15), BCAST, 7)]                         # s1 from r0
    inputs = {P1: [tagged(f, 10) for f in x[:2]] + [tagged(f, 20) for f in b]
              + [tagged(x[2], 10)],
              UPLINK: [remote_packet(ul, Segment("t1", vni=100), r0, f)
                       for f in xd] + from_remote(ul, seg, r0, sd)}
    res = run(tundra, cfg, inputs)
    vn = split_by_vni(res.out(UPLINK))
    assert sorted(vn) == [100, 200], sorted(vn)
    assert len(vn[100]) == 3, f"{len(vn[100])} packets into t1"
    for f, inner in zip(vn[100], x):
        check_encap(f, ul, t1, inner)
    assert_remote_output(res, ul, seg, {r0: b, r1: b}, neigh(ul), ordered=True,
                         frames=vn[200], what="segment beside xconnect")
    assert_member_output(res, P1, {10: xd, 20: sd}, ordered=True)
    assert_member_output(res, P2, {0: b + sd})
    assert_only_drops(res, {})
    t = res.tunnel("t1")
    assert (t["encap_packets"], t["decap_packets"]) == (3, 2), t
    seg_counters(segment(res, "s1"), rx_packets=3, tx_packets=2 * 3 + 2,
                 flooded=3)


def test_membership_changes_and_segment_del(tundra):
    """`no member`, `no remote`, `segment del` and a re-add under the same
    name with another VNI take effect; the deleted VNI is unknown-vni and a
    removed remote is an unknown remote."""
    ul = UL4
    r0, r1, r2 = rips(ul)
    s1 = Segment("s1", "vxlan", vni=100)
    s2_old = Segment("s2", "vxlan", vni=200)
    s2 = Segment("s2", "vxlan", vni=300)
    cfg = (base_config(ul, REMOTES[4])
           + segment_config(ul, s1, [(P1, 10), (P2, 0)], [r0, r1, r2],
                            ["segment s1 no member port 2",
                             f"segment s1 no remote {r2}"])
           + segment_config(ul, s2_old, [(P1, 20)], [r0], ["segment del s2"])
           + segment_config(ul, s2, [(P1, 20)], [r1]))
    b1 = [frame(mac(0x10), BCAST, 0), frame(mac(0x11), BCAST, 1)]   # 1.10
    b2 = [frame(mac(0x12), BCAST, 2)]                              # 1.20 -> s2
    p2 = [frame(mac(0x13), BCAST, 3)]                              # no member
    gone = from_remote(ul, s1, r2, [frame(mac(0x14), BCAST, 4)])   # removed remote
    old = from_remote(ul, s2_old, r0, [frame(mac(0x15), BCAST, 5)])  # deleted vni
    new = [frame(mac(0x16), BCAST, 6)]
    res = run(tundra, cfg, {P1: [tagged(f, 10) for f in b1] + [tagged(f, 20) for f in b2],
                            P2: p2,
                            UPLINK: gone + old + from_remote(ul, s2, r1, new)})
    vn = split_by_vni(res.out(UPLINK))
    assert sorted(vn) == [100, 300], sorted(vn)
    assert_remote_output(res, ul, s1, {r0: b1, r1: b1}, neigh(ul), ordered=True,
                         frames=vn[100], what="s1 after no remote")
    assert_remote_output(res, ul, s2, {r1: b2}, neigh(ul), frames=vn[300],
                         what="re-added s2")
    assert_member_output(res, P1, {20: new})
    assert res.out(P2) == [], "port 2 is no member any more"
    drops = res.nonzero_drops()
    p2_drops = sum(n for (p, _), n in drops.items() if p == P2)
    assert p2_drops == 1, f"port 2 drops {drops}"
    assert {k: v for k, v in drops.items() if k[0] != P2} == \
        {(UPLINK, "unknown-remote"): 1, (UPLINK, "unknown-vni"): 1}, drops
    j1, j2 = segment(res, "s1"), segment(res, "s2")
    assert (members_of(j1), remotes_of(j1)) == ([(1, 10)], sorted([r0, r1])), j1
    assert (j2["vni"], members_of(j2), remotes_of(j2)) == (300, [(1, 20)], [r1]), j2
