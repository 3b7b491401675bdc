"""Runners shared by the drop tests of every protocol (test_vxlan_drops,
test_tunnel_drops): crafted inputs are dropped, counted under their named reason
on the receiving port, and nothing is forwarded."""

from scapy.layers.inet6 import ICMPv6ND_NS, ICMPv6NDOptSrcLLAddr, IPv6
from scapy.layers.l2 import ARP, Ether

from drop_cases import DROP_TUNNELS, base_config, batched_cases
from harness import (ACCESS, UPLINK, UNDERLAYS, assert_frames_equal,
                     assert_io_counters, assert_nothing_forwarded,
                     assert_only_drops, assert_routed_frames_equal,
                     l3_packets, make_inner_frames, routed_out_frame,
                     tunnel_packet)


def assert_resolution_asked(res, ul):
    """With no static neighbor, tundra asked for the remote's MAC itself, from its
    own addresses (scapy dissects the request)."""
    asks = []
    for f in res.probes(UPLINK):
        p = Ether(f)
        if ARP in p and p[ARP].pdst == ul.remote:
            assert (p[Ether].dst, p[ARP].psrc, p[ARP].hwsrc) == (
                "ff:ff:ff:ff:ff:ff", ul.local, ul.port_mac), p.show(dump=True)
            asks.append(p)
        elif ICMPv6ND_NS in p and p[ICMPv6ND_NS].tgt == ul.remote:
            assert (p[IPv6].src, p[IPv6].hlim, p[ICMPv6NDOptSrcLLAddr].lladdr) == (
                ul.local, 255, ul.port_mac), p.show(dump=True)
            asks.append(p)
    assert asks, "no ARP request / neighbor solicitation for %s: %s" % (
        ul.remote, [Ether(f).summary() for f in res.outputs.get(UPLINK, [])])


def run_batched(tundra, proto, fam):
    ul, tun = UNDERLAYS[fam], DROP_TUNNELS[proto]
    cases = batched_cases(proto, fam)
    assert cases
    if tun.l3:
        good_payload = l3_packets(60, start=900)
    else:
        good_payload = make_inner_frames(60, seed=131)
    good = [bytes(tunnel_packet(ul, tun, f)) for f in good_payload]
    mixed, want, per_case, gi = [], {}, [], 0
    for c in cases:
        fr = c.build(ul, tun)
        assert fr, c.id
        mixed += good[gi:gi + 2] + fr
        gi += 2
        want[(UPLINK, c.reason)] = want.get((UPLINK, c.reason), 0) + len(fr)
        per_case.append(f"{c.id}:{c.reason}x{len(fr)}")
    mixed += good[gi:]
    res = tundra.run(base_config(ul, tun), {UPLINK: mixed})
    got = res.nonzero_drops()
    assert got == want, (f"{proto}/{fam} drop counters: got {got}, "
                         f"expected {want}\ncases: {', '.join(per_case)}")
    if tun.l3:
        assert_routed_frames_equal(res.out(ACCESS),
                                   [routed_out_frame(p) for p in good_payload])
    else:
        assert_frames_equal(res.out(ACCESS), good_payload,
                            what="access output (good packets among drops)")
    assert_nothing_forwarded(res, [UPLINK])
    assert_io_counters(res)
    assert res.tunnel(tun.name)["decap_packets"] == len(good)


def run_separate(tundra, tun, case, fam):
    """One drop case alone: nothing forwarded, exactly its reason counted."""
    ul = UNDERLAYS[fam]
    frames = case.build(ul, tun)
    assert frames
    res = tundra.run(case.make_config(ul, tun), {case.port: frames})
    assert_nothing_forwarded(res)
    assert_only_drops(res, {(case.port, case.reason): len(frames)})
    if case.reason == "no-neighbor":
        assert_resolution_asked(res, ul)
    assert_io_counters(res)
    for t in res.tunnels:
        assert t["encap_packets"] == 0 and t["decap_packets"] == 0, t
