"""Routed access ports with L3 gre tunnels: ARP / ND for the gateway
address answered and the asker learned (decap to it then works without
`neigh add`), longest-prefix routing, TTL handling, no-route / ttl-exceeded
/ no-neighbor, and the route / neigh JSON."""

import pytest

from harness import (ACCESS, ARP, HOST4, HOST6, HOST_MAC, ICMPv6ND_NA,
                     ICMPv6ND_NS, ICMPv6NDOptDstLLAddr, ICMPv6NDOptSrcLLAddr,
                     IP, IPv6, RACC, UPLINK, UNDERLAYS, Ether,
                     assert_only_drops, assert_routed_frames_equal,
                     check_encap, l3_packet, l3_packets, make_tunnel, pad60,
                     routed_config, routed_frames, routed_out_frame,
                     to_router, tunnel_packet)

JUNK = 100000
H2_4, H2_6, H2_MAC = "10.1.0.6", "fd00:1::6", "02:00:00:00:01:06"


def _arp_req(ip, mac):
    return pad60(bytes(Ether(src=mac, dst="ff:ff:ff:ff:ff:ff")
                       / ARP(op=1, hwsrc=mac, psrc=ip, pdst=RACC.v4)))


def _ns(ip, mac):
    return bytes(Ether(src=mac, dst="33:33:ff:00:00:01")
                 / IPv6(src=ip, dst="ff02::1:ff00:1", hlim=255)
                 / ICMPv6ND_NS(tgt=RACC.v6) / ICMPv6NDOptSrcLLAddr(lladdr=mac))


@pytest.mark.parametrize("fam", ["v4", "v6"])
def test_arp_nd_answered_learned_then_decap(tundra, fam):
    ul = UNDERLAYS[fam]
    t = make_tunnel("gre")
    cfg = routed_config(ul, [t], hosts=())      # no static host neighbors
    reqs = [_arp_req(HOST4, HOST_MAC), _ns(HOST6, HOST_MAC),
            _arp_req(H2_4, H2_MAC), _ns(H2_6, H2_MAC)]
    # The hosts' packets arrive after their ARP/NS: learning may go through
    # the control thread, so the uplink input starts with frames that are
    # dropped (not-for-us) to give it time.
    junk = [pad60(bytes(Ether(src=ul.peer_mac, dst="02:00:00:00:00:99",
                              type=0x88B5)))] * JUNK
    pk = [l3_packet(0, "udp4", 20, dst4=HOST4), l3_packet(1, "udp6", 30, dst6=HOST6),
          l3_packet(2, "tcp4", 40, dst4=H2_4), l3_packet(3, "tcp6", 50, dst6=H2_6)]
    up = junk + [bytes(tunnel_packet(ul, t, p)) for p in pk]
    res = tundra.run(cfg, {ACCESS: reqs, UPLINK: up},
                     show=["show neigh json"])
    out = res.out(ACCESS)
    replies = [f for f in out if Ether(f).type == 0x0806 or ICMPv6ND_NA in Ether(f)]
    data = [f for f in out if f not in replies]
    assert len(replies) == 4, f"{len(replies)} ARP/ND replies for 4 requests"
    for f, (ip, mac) in zip(replies, [(HOST4, HOST_MAC), (HOST6, HOST_MAC),
                                      (H2_4, H2_MAC), (H2_6, H2_MAC)]):
        p = Ether(f)
        assert (p.src, p.dst) == (RACC.mac, mac), p.summary()
        if ARP in p:
            a = p[ARP]
            assert (a.op, a.hwsrc, a.psrc, a.hwdst, a.pdst) == (
                2, RACC.mac, RACC.v4, mac, ip), a.summary()
        else:
            na = p[ICMPv6ND_NA]
            assert (p[IPv6].src, p[IPv6].dst, p[IPv6].hlim) == (RACC.v6, ip, 255)
            assert (na.tgt, na.S, na.R) == (RACC.v6, 1, 0), na.summary()
            assert p[ICMPv6NDOptDstLLAddr].lladdr == RACC.mac
            q = Ether(f)
            del q[ICMPv6ND_NA].cksum
            assert bytes(q)[:len(f)] == f[:len(bytes(q))], "bad ICMPv6 checksum"
    want = [routed_out_frame(pk[0]), routed_out_frame(pk[1]),
            routed_out_frame(pk[2], dst_mac=H2_MAC),
            routed_out_frame(pk[3], dst_mac=H2_MAC)]
    assert_routed_frames_equal(data, want, what="decap to learned hosts")
    assert_only_drops(res, {(UPLINK, "not-for-us"): len(junk)})
    learned = {(n["ip"], n["mac"], n["port"], n["learned"]) for n in res.neighbors}
    for ip, mac in ((HOST4, HOST_MAC), (HOST6, HOST_MAC), (H2_4, H2_MAC),
                    (H2_6, H2_MAC)):
        assert (ip, mac, ACCESS, True) in learned, f"{ip} not learned: {res.neighbors}"
    assert (ul.remote, ul.peer_mac, UPLINK, False) in learned


@pytest.mark.parametrize("fam", ["v4", "v6"])
def test_routing_lpm_ttl_and_drops(tundra, fam):
    """Longest prefix wins; TTL 2 is forwarded as 1, TTL 1 / hop limit 1 is
    ttl-exceeded; no route -> no-route; decap to an unknown host ->
    no-neighbor; frames not to the port MAC are not routed."""
    ul = UNDERLAYS[fam]
    wide = make_tunnel("gre", name="wide", key=1)
    narrow = make_tunnel("gre", name="narrow", key=2)
    routes = [("10.2.0.0/16", "wide"), ("10.2.5.0/24", "narrow"),
              ("fd00:2::/32", "wide"), ("fd00:2:5::/48", "narrow"),
              ("10.2.5.128/25", "wide")]
    cfg = routed_config(ul, [wide, narrow], routes=routes)

    def fr(dst, ttl=64):
        v6 = ":" in dst
        ip = (IPv6(src=HOST6, dst=dst, hlim=ttl) if v6
              else IP(src=HOST4, dst=dst, ttl=ttl))
        from harness import UDP, Raw
        return pad60(bytes(Ether(src=HOST_MAC, dst=RACC.mac) / ip
                           / UDP(sport=40001, dport=41001) / Raw(b"\x00" * 12)))
    good = [(fr("10.2.9.9"), wide), (fr("10.2.5.9"), narrow),
            (fr("10.2.5.200"), wide), (fr("fd00:2:1::9"), wide),
            (fr("fd00:2:5::9"), narrow), (fr("10.2.0.1", ttl=2), wide),
            (fr("fd00:2::1", ttl=2), wide)]
    ttl_bad = [fr("10.2.9.9", ttl=1), fr("fd00:2::1", ttl=1),
               fr("10.2.9.9", ttl=0)]
    noroute = [fr("10.3.0.1"), fr("192.168.1.1"), fr("fd00:3::1")]
    access_in = [f for f, _ in good] + ttl_bad + noroute
    dec_ok = l3_packets(4, start=800)
    dec_nn = [l3_packet(5, "udp4", 10, dst4="10.1.0.77"),
              l3_packet(6, "udp6", 10, dst6="fd00:1::77")]
    up = [bytes(tunnel_packet(ul, wide, p)) for p in dec_ok + dec_nn]
    res = tundra.run(cfg, {ACCESS: access_in, UPLINK: up},
                     show=["show route json"])
    out = res.out(UPLINK)
    assert len(out) == len(good), f"{len(out)} routed; drops {res.nonzero_drops()}"
    for f, (inn, t) in zip(out, good):
        check_encap(f, ul, t, inn)
    # tundra may try to resolve the unknown hosts (ARP request / NS from the
    # port's address); the contract neither requires nor forbids it
    data = []
    for f in res.out(ACCESS):
        p = Ether(f)
        if ARP in p:
            assert (p[ARP].op, p[ARP].psrc, p[ARP].pdst, p.src) == (
                1, RACC.v4, "10.1.0.77", RACC.mac), p.summary()
        elif ICMPv6ND_NS in p:
            assert p[ICMPv6ND_NS].tgt == "fd00:1::77" and p.src == RACC.mac, p.summary()
        else:
            data.append(f)
    assert_routed_frames_equal(data, [routed_out_frame(p) for p in dec_ok])
    assert_only_drops(res, {(ACCESS, "ttl-exceeded"): len(ttl_bad),
                            (ACCESS, "no-route"): len(noroute),
                            (UPLINK, "no-neighbor"): len(dec_nn)})
    got = {(r["prefix"], r["tunnel"]) for r in res.routes}
    assert got == set(routes), f"show route json: {res.routes}"


def test_route_del_and_static_host(tundra):
    ul = UNDERLAYS["v4"]
    t = make_tunnel("gre")
    cfg = routed_config(ul, [t]) + ["route del fd00:2::/32"]
    frames = routed_frames(8, seed=811)        # udp4 tcp4 udp6 tcp6 ...
    res = tundra.run(cfg, {ACCESS: frames}, show=["show route json"])
    v4 = [f for f in frames if Ether(f).type == 0x0800]
    out = res.out(UPLINK)
    assert len(out) == len(v4)
    for f, inn in zip(out, v4):
        check_encap(f, ul, t, inn)
    assert_only_drops(res, {(ACCESS, "no-route"): len(frames) - len(v4)})
    assert [r["prefix"] for r in res.routes] == ["10.2.0.0/16"], res.routes
