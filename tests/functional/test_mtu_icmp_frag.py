"""Uplink MTU: encapsulations larger than `port config 0 mtu` are dropped
(mtu-exceeded) at the exact limit for every type; for L3 gre an inner IPv4
packet with DF gets an ICMP "fragmentation needed" and an IPv6 packet an
ICMPv6 Packet Too Big back out the access port (checked with scapy: type,
code, MTU, quoted header, checksums); with `oversize fragment` inner IPv4
without DF is fragmented, each fragment encapsulated and fitting, and scapy's
defragment() gives back the routed packet."""

import pytest
from scapy.layers.inet import defragment
from scapy.layers.inet6 import ICMPv6PacketTooBig

from harness import (ACCESS, HOST4, HOST6, HOST_MAC, ICMP, IP, IPv6, RACC,
                     UDP, UPLINK, UNDERLAYS, Ether, Raw, Xconnect,
                     assert_only_drops, check_encap, encap_ip_overhead,
                     extract_inner, make_tunnel, routed_config,
                     routed_payload, tunnel_config, tunnel_json_int)
from drop_cases import pad_to

MTU = 1400


def _remote(ul, k):
    return f"192.0.2.{40 + k}" if ul.family == 4 else f"2001:db8::{40 + k:x}"


@pytest.mark.parametrize("fam", ["v4", "v6"])
def test_l2_mtu_exact_limit(tundra, fam):
    """vxlan, geneve (with an option) and gretap (csum+key+seq) side by side:
    the largest inner frame that fits MTU passes, one byte more is dropped;
    JSON overhead / inner_mtu agree."""
    ul = UNDERLAYS[fam]
    tuns = [make_tunnel("vxlan", name="x", remote=_remote(ul, 0)),
            make_tunnel("geneve", name="g", remote=_remote(ul, 1),
                        options=((0x0102, 0x01, bytes(8)),)),
            make_tunnel("gretap", name="e", remote=_remote(ul, 2), key=5,
                        csum="on", seq="on")]
    cfg = tunnel_config(ul, tuns, [Xconnect(ACCESS, 10 + i, t.name)
                                   for i, t in enumerate(tuns)],
                        neighbor=False,
                        extra_neigh=[(t.remote, ul.peer_mac) for t in tuns])
    cfg.insert(4, f"port config {UPLINK} mtu {MTU}")
    from harness import add_vlan, make_inner_frames
    base = make_inner_frames(1, seed=901, kinds=("raw",))[0]
    access_in, fits = [], []
    for i, t in enumerate(tuns):
        limit = MTU - encap_ip_overhead(ul, t)
        for size, ok in ((limit, True), (limit + 1, False), (60, True),
                         (limit + 14, False)):
            f = pad_to(base, size)
            access_in.append(add_vlan(f, 10 + i))
            if ok:
                fits.append((t, f))
    res = tundra.run(cfg, {ACCESS: access_in})
    out = res.out(UPLINK)
    assert len(out) == len(fits), f"{len(out)} sent; drops {res.nonzero_drops()}"
    seqs = {}
    for f, (t, inn) in zip(out, fits):
        check_encap(f, ul, t, inn, seq=seqs.setdefault(t.name, 0) if t.seq else None)
        if t.seq:
            seqs[t.name] += 1
        assert len(f) - 14 <= MTU
    assert_only_drops(res, {(ACCESS, "mtu-exceeded"): len(access_in) - len(fits)})
    for t in tuns:
        j = res.tunnel(t.name)
        assert j["overhead"] == 14 + encap_ip_overhead(ul, t), (t.name, j)
        assert j["inner_mtu"] == MTU - j["overhead"], (t.name, j)


def _ip4(size, df, ttl=64, k=0, dst="10.2.0.9"):
    hdr = IP(src=HOST4, dst=dst, ttl=ttl, flags="DF" if df else 0, id=0x100 + k)
    p = hdr / UDP(sport=40000 + k, dport=41000) / Raw(b"\x00" * (size - 28))
    return bytes(Ether(src=HOST_MAC, dst=RACC.mac) / p)


def _ip6(size, k=0):
    p = (IPv6(src=HOST6, dst="fd00:2::9", hlim=64)
         / UDP(sport=40000 + k, dport=41000) / Raw(b"\x00" * (size - 48)))
    return bytes(Ether(src=HOST_MAC, dst=RACC.mac) / p)


def _check_quote(quoted: bytes, orig_ip: bytes, what: str, *, full: bool):
    """The ICMP error quotes the offending IP header + 8 bytes (ICMPv6: as
    much as fits); the TTL / hop limit may be the received or the
    decremented one."""
    n = len(quoted)
    dec = routed_payload(b"\x00" * 12 + (b"\x08\x00" if orig_ip[0] >> 4 == 4
                                          else b"\x86\xdd") + orig_ip)
    hl = (orig_ip[0] & 0x0F) * 4 if orig_ip[0] >> 4 == 4 else 40
    if not full:
        assert n == hl + 8, f"{what}: quotes {n} bytes, want IP header + 8 = {hl + 8}"
    else:
        assert n >= hl + 8, f"{what}: quotes only {n} bytes"
    assert quoted in (orig_ip[:n], dec[:n]), (
        f"{what}: quoted bytes are not the original packet:\n"
        f"  got  {quoted[:48].hex()}\n  want {orig_ip[:48].hex()}")


@pytest.mark.parametrize("fam", ["v4", "v6"])
def test_gre_icmp_frag_needed_and_ptb(tundra, fam):
    ul = UNDERLAYS[fam]
    t = make_tunnel("gre", key=9)
    over = encap_ip_overhead(ul, t)
    mtu_in = MTU - over
    cfg = routed_config(ul, [t], uplink_mtu=MTU)
    fits = [_ip4(mtu_in, True, k=1), _ip6(mtu_in, k=2)]
    big4 = [_ip4(mtu_in + 1, True, k=3), _ip4(1500, True, k=4, ttl=9)]
    big6 = [_ip6(mtu_in + 1, k=5), _ip6(1500, k=6)]
    access_in = [fits[0], big4[0], fits[1], big6[0], big4[1], big6[1]]
    res = tundra.run(cfg, {ACCESS: access_in})
    out = res.out(UPLINK)
    assert len(out) == 2, f"{len(out)} sent; drops {res.nonzero_drops()}"
    for f, inn in zip(out, fits):
        check_encap(f, ul, t, inn)
    errs = res.out(ACCESS)
    assert len(errs) == 4, f"{len(errs)} ICMP errors for 4 oversize packets"
    for e, orig in zip(errs, [big4[0], big6[0], big4[1], big6[1]]):
        p = Ether(e)
        assert (p.src, p.dst) == (RACC.mac, HOST_MAC), p.summary()
        oip = orig[14:]
        if orig[12:14] == b"\x08\x00":
            assert IP in p and ICMP in p, p.summary()
            ip, ic = p[IP], p[ICMP]
            assert (ip.src, ip.dst, ip.proto) == (RACC.v4, HOST4, 1), ip.summary()
            assert (ic.type, ic.code) == (3, 4), ic.summary()
            assert ic.nexthopmtu == mtu_in, (
                f"next-hop MTU {ic.nexthopmtu}, want {MTU} - {over} = {mtu_in}")
            q = Ether(e)
            del q[IP].chksum
            del q[ICMP].chksum
            assert bytes(q) == e[:len(bytes(q))], "IPv4 or ICMP checksum wrong"
            _check_quote(bytes(ic.payload)[:ip.len - ip.ihl * 4 - 8], oip,
                         "ICMP frag-needed", full=False)
        else:
            assert IPv6 in p and ICMPv6PacketTooBig in p, p.summary()
            ip, ic = p[IPv6], p[ICMPv6PacketTooBig]
            assert (ip.src, ip.dst, ip.nh) == (RACC.v6, HOST6, 58), ip.summary()
            assert (ic.type, ic.code) == (2, 0)
            assert ic.mtu == max(1280, mtu_in), f"PTB MTU {ic.mtu}, want {max(1280, mtu_in)}"
            assert 40 + ip.plen <= 1280, "ICMPv6 error larger than 1280"
            q = Ether(e)
            del q[ICMPv6PacketTooBig].cksum
            assert bytes(q) == e[:len(bytes(q))], "ICMPv6 checksum wrong"
            _check_quote(bytes(ic.payload)[:ip.plen - 8], oip, "ICMPv6 PTB", full=True)
    assert_only_drops(res, {(ACCESS, "mtu-exceeded"): 4})
    assert tunnel_json_int(res, "t1", "icmp_errors") == 4
    j = res.tunnel("t1")
    assert j["inner_mtu"] == mtu_in, f"JSON inner_mtu {j['inner_mtu']}, want {mtu_in}"
    assert j["overhead"] == 14 + over, j


@pytest.mark.parametrize("fam", ["v4", "v6"])
def test_gre_oversize_fragment(tundra, fam):
    ul = UNDERLAYS[fam]
    t = make_tunnel("gre", oversize="fragment", csum="on")
    mtu_in = MTU - encap_ip_overhead(ul, t)
    cfg = routed_config(ul, [t], uplink_mtu=MTU)
    small = _ip4(100, False, k=1)
    bigs = [_ip4(mtu_in + 1, False, k=2), _ip4(1500, False, k=3),
            _ip4(2 * mtu_in - 10, False, k=4) if 2 * mtu_in - 10 <= 1500
            else _ip4(1499, False, k=4)]
    df = _ip4(1500, True, k=5)
    res = tundra.run(cfg, {ACCESS: [small] + bigs + [df]})
    out = res.out(UPLINK)
    inner = [extract_inner(f, t) for f in out]
    assert out and extract_inner(out[0], t) == routed_payload(small)
    frags = [IP(b) for b in inner[1:]]
    for f in out:
        assert len(f) - 14 <= MTU, f"outer packet {len(f) - 14} > MTU {MTU}"
    for fr in frags:
        assert fr.flags.MF or fr.frag > 0, f"not a fragment: {fr.summary()}"
        if fr.flags.MF:
            assert (fr.len - fr.ihl * 4) % 8 == 0, "non-final fragment not a multiple of 8"
    # each fragment was encapsulated correctly (GRE checksum, lengths)
    for f, b in zip(out[1:], inner[1:]):
        exp_ok = check_encap_payload(f, ul, t, b)
        assert exp_ok
    whole = defragment(frags)
    got = sorted((bytes(p) for p in whole), key=len)
    want = sorted((routed_payload(b) for b in bigs), key=len)
    assert got == want, "defragmented packets differ from the routed originals"
    n_frags = len(frags)
    assert tunnel_json_int(res, "t1", "fragments") in (n_frags, len(bigs)), (
        f"fragments counter {res.tunnel('t1')['fragments']}: neither {n_frags} "
        f"fragments nor {len(bigs)} packets fragmented")
    assert len(res.out(ACCESS)) == 1 and ICMP in Ether(res.out(ACCESS)[0])
    assert_only_drops(res, {(ACCESS, "mtu-exceeded"): 1})


def check_encap_payload(frame, ul, t, payload):
    """check_encap for an already-routed payload (a fragment): expected_encap
    takes the access frame and decrements its TTL, so hand it TTL + 1."""
    from harness import (_fix_ip4_checksum, describe_diff, expected_encap,
                         observed_open_fields)
    o = observed_open_fields(frame, udp=False)
    b = bytearray(payload)
    b[8] += 1
    _fix_ip4_checksum(b)
    exp = bytes(expected_encap(ul, t, b"\x00" * 12 + b"\x08\x00" + bytes(b),
                               sport=None, ip_id=o["ip_id"],
                               flow_label=o["flow_label"]))
    assert frame == exp, describe_diff(frame, exp)
    return True
