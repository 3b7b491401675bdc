"""The uplink answers ARP for its IPv4 address and NS for its IPv6 address."""

import pytest

from harness import (ARP, ICMPv6ND_NA, ICMPv6ND_NS, ICMPv6NDOptDstLLAddr,
                     ICMPv6NDOptSrcLLAddr, IPv6, UPLINK, UNDERLAYS, Ether,
                     Tunnel, assert_nothing_forwarded, assert_only_drops,
                     mac_for, pad60, tshark_fields, tunnel_config)

REQUESTERS = [(UNDERLAYS["v4"].remote, UNDERLAYS["v4"].peer_mac),
              ("192.0.2.10", mac_for(10, 0x50)),
              ("192.0.2.11", mac_for(11, 0x50))]


def test_arp_reply(tundra):
    ul = UNDERLAYS["v4"]
    reqs = [pad60(bytes(Ether(src=mac, dst="ff:ff:ff:ff:ff:ff")
                        / ARP(op=1, hwsrc=mac, psrc=ip, pdst=ul.local)))
            for ip, mac in REQUESTERS]
    # a unicast request (ARP refresh) is answered too
    reqs.append(pad60(bytes(Ether(src=ul.peer_mac, dst=ul.port_mac)
                            / ARP(op=1, hwsrc=ul.peer_mac, psrc=ul.remote,
                                  pdst=ul.local))))
    res = tundra.run(tunnel_config(ul, [Tunnel()]), {UPLINK: reqs})
    out = res.out(UPLINK)
    assert len(out) == len(reqs), f"{len(out)} ARP replies for {len(reqs)} requests"
    want = REQUESTERS + [REQUESTERS[0]]
    for f, (ip, mac) in zip(out, want):
        exp = bytes(Ether(src=ul.port_mac, dst=mac)
                    / ARP(op=2, hwsrc=ul.port_mac, psrc=ul.local,
                          hwdst=mac, pdst=ip))
        assert len(f) in (len(exp), 60), f"reply length {len(f)}"
        assert f[:len(exp)] == exp, (f"ARP reply {Ether(f).summary()} != "
                                     f"{Ether(exp).summary()}")
        assert set(f[len(exp):]) <= {0}, "ARP reply padding is not zero"
    assert_nothing_forwarded(res, [1])
    assert_only_drops(res, {})
    rows = tshark_fields(res.out_files[UPLINK][0],
                         ["arp.opcode", "arp.src.proto_ipv4", "arp.src.hw_mac"])
    assert all(r == ["2", ul.local, ul.port_mac] for r in rows), rows


@pytest.mark.parametrize("dst", ["solicited-node", "unicast"])
def test_nd_neighbor_advertisement(tundra, dst):
    ul = UNDERLAYS["v6"]
    reqs = []
    peers = [(ul.remote, ul.peer_mac), ("2001:db8::10", mac_for(16, 0x50))]
    for ip, mac in peers:
        if dst == "unicast":
            eth, ipdst = Ether(src=mac, dst=ul.port_mac), ul.local
        else:
            eth = Ether(src=mac, dst="33:33:ff:00:00:01")
            ipdst = "ff02::1:ff00:1"
        reqs.append(bytes(eth / IPv6(src=ip, dst=ipdst, hlim=255)
                          / ICMPv6ND_NS(tgt=ul.local)
                          / ICMPv6NDOptSrcLLAddr(lladdr=mac)))
    res = tundra.run(tunnel_config(ul, [Tunnel()]), {UPLINK: reqs})
    out = res.out(UPLINK)
    assert len(out) == len(reqs), f"{len(out)} NAs for {len(reqs)} NSs"
    for f, (ip, mac) in zip(out, peers):
        p = Ether(f)
        assert (p.src, p.dst, p.type) == (ul.port_mac, mac, 0x86DD), p.summary()
        assert IPv6 in p and ICMPv6ND_NA in p, p.summary()
        ip6, na = p[IPv6], p[ICMPv6ND_NA]
        assert (ip6.src, ip6.dst, ip6.hlim, ip6.nh) == (ul.local, ip, 255, 58), \
            ip6.summary()
        assert (na.type, na.code, na.R, na.S, na.tgt) == (136, 0, 0, 1, ul.local), \
            na.show(dump=True)
        assert ICMPv6NDOptDstLLAddr in p, "NA lacks the target link-layer option"
        assert p[ICMPv6NDOptDstLLAddr].lladdr == ul.port_mac
        assert ip6.plen == len(ip6.payload), "IPv6 payload length"
        # checksum: scapy recomputes it from scratch
        q = Ether(f)
        del q[ICMPv6ND_NA].cksum
        assert bytes(q)[:len(f)] == f[:len(bytes(q))], (
            f"ICMPv6 checksum {p[ICMPv6ND_NA].cksum:#x} is wrong "
            f"(should be {Ether(bytes(q))[ICMPv6ND_NA].cksum:#x})")
    assert_only_drops(res, {})
    rows = tshark_fields(res.out_files[UPLINK][0],
                         ["icmpv6.type", "icmpv6.nd.na.flag.s",
                          "icmpv6.opt.linkaddr", "icmpv6.checksum.status"])
    for r in rows:
        assert r[0] == "136" and r[2] == ul.port_mac, r
        assert r[1] in ("1", "True"), r
        assert r[3] in ("1", "Good"), f"tshark ICMPv6 checksum status {r[3]}"
