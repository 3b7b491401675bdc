"""Ping of tundra's own addresses: ICMP and ICMPv6 echo requests to an
uplink's VTEP address and to a routed access port's gateway address are
answered in place, out of the port they came in on.

Every reply is compared byte for byte with the reply scapy builds from the
request (addresses swapped, TTL / hop limit 64, type 0 / 129, identifier,
sequence and data unchanged, IPv4 header and ICMP checksums computed by
scapy), and tshark must find the checksums good and nothing malformed.
Malformed requests are dropped under their reason, never answered; other
ICMP and other addresses are not answered; the counters are exact."""

import pytest
from scapy.layers.inet import IPOption_Router_Alert
from scapy.layers.inet6 import (ICMPv6EchoReply, ICMPv6EchoRequest,
                                ICMPv6DestUnreach, IPv6ExtHdrDestOpt,
                                IPv6ExtHdrHopByHop)

from harness import (ACCESS, HOST4, HOST6, HOST_MAC, ICMP, IP, RACC, UPLINK,
                     UNDERLAYS, Ether, IPv6, IPv6ExtHdrFragment, Padding,
                     Raw, assert_only_drops, make_tunnel, routed_config,
                     tshark_fields)

# Data lengths: empty, odd ones, one that crosses 64-bit words oddly, large,
# and one larger than an mbuf's 2 KB data room (several segments on rx).
DATA_LENS = (0, 1, 7, 33, 1400, 3001)


def _data(n, seed):
    return bytes((seed * 7 + i * 13) & 0xFF for i in range(n))


class Side:
    """Where a ping goes: the port, our MAC and address, the asker's."""

    def __init__(self, port, our_mac, our_ip, peer_mac, peer_ip, foreign):
        self.port, self.our_mac, self.our_ip = port, our_mac, our_ip
        self.peer_mac, self.peer_ip, self.foreign = peer_mac, peer_ip, foreign
        self.v6 = ":" in our_ip


def _sides(fam):
    ul = UNDERLAYS[fam]
    vtep = Side(UPLINK, ul.port_mac, ul.local, ul.peer_mac, ul.remote,
                ul.foreign)
    v6 = fam == "v6"
    racc = Side(ACCESS, RACC.mac, RACC.v6 if v6 else RACC.v4, HOST_MAC,
                HOST6 if v6 else HOST4, "fd00:1::99" if v6 else "10.1.0.99")
    return ul, vtep, racc


def _request(s, data=b"", ident=0x1234, seq=1, *, dst=None, src=None,
             ttl=61, pad=b"", code=0, chksum=None, ext=None, options=None,
             frag=False):
    """An echo request as scapy builds it (checksums correct unless given)."""
    dst = dst or s.our_ip
    src = src or s.peer_ip
    eth = Ether(src=s.peer_mac, dst=s.our_mac)
    if s.v6:
        ip = IPv6(src=src, dst=dst, hlim=ttl, tc=0x28, fl=0x12345)
        if ext is not None:
            ip = ip / ext
        icmp = ICMPv6EchoRequest(id=ident, seq=seq, code=code, data=data)
        if chksum is not None:
            icmp.cksum = chksum
        pkt = eth / ip / icmp
    else:
        ip = IP(src=src, dst=dst, ttl=ttl, tos=0x28, id=0x4321, flags="DF",
                options=options or [])
        if frag:
            ip.flags, ip.frag = "MF", 0
        icmp = ICMP(type=8, code=code, id=ident, seq=seq)
        if chksum is not None:
            icmp.chksum = chksum
        pkt = eth / ip / icmp / Raw(data)
    b = bytes(pkt) + pad
    return b + bytes(max(0, 60 - len(b)))   # Ethernet minimum (zero padding)


def _expected_reply(s, req):
    """The reply scapy builds for request `req` (bytes): checksums its own."""
    p = Ether(req)
    eth = Ether(src=s.our_mac, dst=p.src)
    if s.v6:
        ip6, echo = p[IPv6], p[ICMPv6EchoRequest]
        return bytes(eth / IPv6(src=ip6.dst, dst=ip6.src, hlim=64, tc=ip6.tc,
                                fl=ip6.fl)
                     / ICMPv6EchoReply(id=echo.id, seq=echo.seq,
                                       data=bytes(echo.data)))
    ip4 = p[IP]
    msg = bytes(ip4)[ip4.ihl * 4:ip4.len]        # the ICMP message, no padding
    return bytes(eth / IP(src=ip4.dst, dst=ip4.src, ttl=64, tos=ip4.tos,
                          id=ip4.id, flags=ip4.flags)
                 / ICMP(type=0, code=0, id=ip4[ICMP].id, seq=ip4[ICMP].seq)
                 / Raw(msg[8:]))


def _run(tundra, fam, inputs):
    ul = UNDERLAYS[fam]
    cfg = routed_config(ul, [make_tunnel("gre")])
    return tundra.run(cfg, inputs)


def _check_replies(res, s, reqs):
    out = res.out(s.port)
    assert len(out) == len(reqs), (
        f"port {s.port}: {len(out)} replies for {len(reqs)} requests; "
        f"drops {res.nonzero_drops()}")
    for k, (f, req) in enumerate(zip(out, reqs)):
        want = _expected_reply(s, req)
        assert f == want, (f"reply {k}: {Ether(f).summary()} ({len(f)} bytes) "
                           f"!= {Ether(want).summary()} ({len(want)} bytes)\n"
                           f"got  {f[:96].hex()}\nwant {want[:96].hex()}")
    assert res.port(s.port)["echo_replies"] == len(reqs)
    assert res.port(s.port)["nd_replies"] == 0
    pcap = res.out_files[s.port][0]
    if s.v6:
        rows = tshark_fields(pcap, ["icmpv6.type", "icmpv6.code",
                                    "icmpv6.checksum.status"])
        good = [["129", "0", g] for g in ("1", "Good")]
    else:
        rows = tshark_fields(pcap, ["icmp.type", "icmp.code",
                                    "icmp.checksum.status", "ip.checksum.status"])
        good = [["0", "0", g, g] for g in ("1", "Good")]
    assert len(rows) == len(reqs)
    for r in rows:
        assert r in good, f"tshark: {r}"


@pytest.mark.parametrize("fam", ["v4", "v6"])
@pytest.mark.parametrize("where", ["vtep", "routed"])
def test_echo_answered(tundra, fam, where):
    """Each data length, ids and sequence numbers, non-zero Ethernet padding
    on a small request: replies exact, counters exact, nothing dropped."""
    ul, vtep, racc = _sides(fam)
    s = vtep if where == "vtep" else racc
    reqs = [_request(s, _data(n, k), ident=0x100 + k, seq=k)
            for k, n in enumerate(DATA_LENS)]
    reqs.append(_request(s, b"ping", ident=0xFFFF, seq=0xFFFF,
                         pad=b"\xAA\x55\xAA\x55\xAA\x55"))
    # checksums near the edges of one's-complement arithmetic
    reqs += [_request(s, b"\xff\xff" * k + b"\xf7", ident=0xF7FF, seq=k)
             for k in range(3)]
    res = _run(tundra, fam, {s.port: reqs})
    _check_replies(res, s, reqs)
    other = racc if s is vtep else vtep
    assert not res.out(other.port), "a reply left the other port"
    assert res.port(other.port)["echo_replies"] == 0
    assert_only_drops(res, {})


@pytest.mark.parametrize("fam", ["v4", "v6"])
@pytest.mark.parametrize("where", ["vtep", "routed"])
def test_echo_refused(tundra, fam, where):
    """Bad requests are dropped under their reason, other ICMP and other
    addresses are not answered; only the good request among them is."""
    ul, vtep, racc = _sides(fam)
    s = vtep if where == "vtep" else racc
    good = _request(s, b"hello", seq=99)
    bad_sum = _request(s, b"hello", seq=2, chksum=0x1234)
    bad_code = _request(s, b"hello", seq=3, code=1)
    foreign = _request(s, b"hello", seq=4, dst=s.foreign)
    bad = [bad_sum, bad_code]
    if s.v6:
        not_echo = bytes(Ether(src=s.peer_mac, dst=s.our_mac)
                         / IPv6(src=s.peer_ip, dst=s.our_ip)
                         / ICMPv6EchoReply(id=1, seq=5, data=b"pong"))
        mcast_src = _request(s, b"x", seq=6, src="ff02::1")
        bad.append(mcast_src)
        frag = bytes(Ether(src=s.peer_mac, dst=s.our_mac)
                     / IPv6(src=s.peer_ip, dst=s.our_ip)
                     / IPv6ExtHdrFragment(m=1, id=7)
                     / ICMPv6EchoRequest(id=1, seq=7, data=b"frag" * 4))
        unreach = bytes(Ether(src=s.peer_mac, dst=s.our_mac)
                        / IPv6(src=s.peer_ip, dst=s.our_ip)
                        / ICMPv6DestUnreach() / Raw(bytes(48)))
        not_echo = [not_echo, unreach]
    else:
        not_echo = [bytes(Ether(src=s.peer_mac, dst=s.our_mac)
                          / IP(src=s.peer_ip, dst=s.our_ip)
                          / ICMP(type=0, id=1, seq=5) / Raw(b"pong")),
                    bytes(Ether(src=s.peer_mac, dst=s.our_mac)
                          / IP(src=s.peer_ip, dst=s.our_ip)
                          / ICMP(type=13) / Raw(bytes(12)))]   # timestamp
        bad.append(_request(s, b"x", seq=6, src="224.0.0.9"))
        options = _request(s, b"opts", seq=8,
                           options=[IPOption_Router_Alert()])
        frag = _request(s, b"frag" * 4, seq=7, frag=True)
        bcast = _request(s, b"b", seq=9, dst=("192.0.2.255" if s is vtep
                                                else "10.1.255.255"))
        short = bytes(Ether(src=s.peer_mac, dst=s.our_mac)
                      / IP(src=s.peer_ip, dst=s.our_ip, proto=1)
                      / Raw(b"\x08\x00\xf7\xff"))               # 4-byte "echo"
        short += bytes(60 - len(short))
        bad.append(short)
    reqs = [good] + bad + not_echo + [foreign, frag]
    if not s.v6:
        reqs += [options, bcast]
    res = _run(tundra, fam, {s.port: reqs})
    _check_replies(res, s, [good])
    # What the others are dropped as: other ICMP to us as any other non-tunnel
    # packet (uplink) or packet to the router itself (routed access); a
    # foreign address is not ours (uplink: ICMPv6 there is ND not for us) or
    # is routed, and has no route here.
    if s is vtep and s.v6:
        want = {"not-tunnel": 2, "arp-ignored": 1, "ip-fragment": 1}
    elif s is vtep:
        want = {"not-tunnel": 2, "not-for-us": 2, "ip-fragment": 1,
                "ip-options": 1}
    elif s.v6:
        want = {"not-for-us": 3, "no-route": 1}
    else:
        want = {"not-for-us": 2, "no-route": 2, "ip-fragment": 1,
                "ip-options": 1}
    want["bad-icmp"] = len(bad)
    want = {(s.port, r): n for r, n in want.items()}
    assert_only_drops(res, want)


@pytest.mark.parametrize("where", ["vtep", "routed"])
def test_echo_v6_extension_headers(tundra, where):
    """An ICMPv6 echo request behind hop-by-hop and destination options is
    answered; the reply carries no extension headers."""
    ul, vtep, racc = _sides("v6")
    s = vtep if where == "vtep" else racc
    reqs = [_request(s, _data(21, 3), seq=1, ext=IPv6ExtHdrHopByHop()),
            _request(s, _data(8, 4), seq=2,
                     ext=IPv6ExtHdrHopByHop() / IPv6ExtHdrDestOpt())]
    res = _run(tundra, "v6", {s.port: reqs})
    _check_replies(res, s, reqs)
    assert_only_drops(res, {})
