"""ECN (RFC 6040 normal mode), DSCP, TTL and DF for every tunnel type over
IPv4 and IPv6 underlays.

Encap: the outer ECN is the inner IP's ECN (0 for non-IP inner frames), the
outer DSCP is `tos`'s DSCP bits (its ECN bits ignored) or the inner DSCP with
`tos inherit`; TTL fixed or inherited, DF cleared or inherited.
Decap: the RFC 6040 section 4.2 table for every (outer, inner) ECN pair and
IPv4/IPv6 inner packets; outer CE over Not-ECT is dropped as ecn-not-ect.

One run per (type, underlay): tunnel tA (tos 0x2B, ttl 10, df clear) and tB
(tos/ttl/df inherit) side by side; the decap table goes through tA."""

import pytest

from harness import (ACCESS, ARP, IP, IPv6, RACC, HOST4, HOST6, HOST_MAC,
                     TCP, UDP, UPLINK, UNDERLAYS, Ether, Raw, Xconnect,
                     add_vlan, assert_frames_equal, assert_io_counters,
                     assert_only_drops, assert_routed_frames_equal,
                     check_encap, frame_with_ecn, l3_packet, make_tunnel,
                     pad60, routed_config, routed_out_frame, rfc6040_decap,
                     to_router, tunnel_config, tunnel_packet)

TYPES = ("vxlan", "geneve", "gretap", "gre")
TOS_MIX = (0x00, 0x01, 0x02, 0x03, 0xB8, 0xB9, 0xBA, 0xBB, 0x2B, 0xFD)
TTLS = (64, 2, 255, 37, 9)


def remote(ul, k):
    return f"192.0.2.{30 + k}" if ul.family == 4 else f"2001:db8::{30 + k:x}"


def tunnels(typ, ul):
    v4 = ul.family == 4
    kw = {"vni": 100} if typ in ("vxlan", "geneve") else {}
    ta = make_tunnel(typ, name="tA", remote=remote(ul, 0), tos=0x2B, ttl=10,
                     df="clear" if v4 else None, **kw)
    kw = {"vni": 200} if typ in ("vxlan", "geneve") else {}
    tb = make_tunnel(typ, name="tB", remote=remote(ul, 1), tos="inherit",
                     ttl="inherit", df="inherit" if v4 else None, **kw)
    return ta, tb


def inner_frame(k, v6, tos, ttl, df, net):
    pay = Raw(b"\x00" + bytes((k * 11 + j) & 0xFF for j in range(10 + 13 * k)))
    if v6:
        ip = IPv6(src=HOST6, dst=f"fd00:{net}::{k + 1:x}", tc=tos, hlim=ttl,
                  fl=k)
    else:
        ip = IP(src=HOST4, dst=f"10.{net}.0.{k + 1}", tos=tos, ttl=ttl,
                flags="DF" if df else 0, id=k)
    l4 = (TCP(sport=40000 + k, dport=41000, flags="A") if k % 3 == 0
          else UDP(sport=40000 + k, dport=41001))
    return pad60(bytes(Ether(src=HOST_MAC, dst=RACC.mac) / ip / l4 / pay))


def encap_frames(net):
    fr = [inner_frame(k, k % 2 == 1, tos, TTLS[k % len(TTLS)], k % 4 < 2, net)
          for k, tos in enumerate(TOS_MIX)]
    return fr


@pytest.mark.parametrize("fam", ["v4", "v6"])
@pytest.mark.parametrize("typ", TYPES)
def test_ecn_dscp_ttl_df(tundra, typ, fam):
    ul = UNDERLAYS[fam]
    ta, tb = tunnels(typ, ul)
    neigh = [(ta.remote, ul.peer_mac), (tb.remote, ul.peer_mac)]
    l3 = typ == "gre"
    enc_a, enc_b = encap_frames(2), encap_frames(3)
    if l3:
        cfg = routed_config(ul, [ta, tb], routes=[
            ("10.2.0.0/16", "tA"), ("fd00:2::/32", "tA"),
            ("10.3.0.0/16", "tB"), ("fd00:3::/32", "tB")], neighbor=False)
        cfg[-4:-4] = [f"neigh add {ip} {m} port {UPLINK}" for ip, m in neigh]
        access_in = [f for pair in zip(enc_a, enc_b) for f in pair]
    else:
        cfg = tunnel_config(ul, [ta, tb], [Xconnect(ACCESS, 10, "tA"),
                                           Xconnect(ACCESS, 20, "tB")],
                            neighbor=False, extra_neigh=neigh)
        non_ip = [pad60(bytes(Ether(src=HOST_MAC, dst="ff:ff:ff:ff:ff:ff")
                              / ARP(op=1, psrc="10.9.0.1", pdst="10.9.0.2"))),
                  pad60(bytes(Ether(src=HOST_MAC, dst="02:00:00:00:09:09",
                                    type=0x88B5) / Raw(b"\x00" * 30)))]
        enc_a, enc_b = enc_a + non_ip, enc_b + non_ip
        access_in = [f for a, b in zip(enc_a, enc_b)
                     for f in (add_vlan(a, 10), add_vlan(b, 20))]

    # decap table through tA
    dec_in, dec_want, drops = [], [], 0
    k = 0
    for v6 in (False, True):
        for outer in range(4):
            for inner_ecn in range(4):
                tos = 0xB8 | inner_ecn
                if l3:
                    payload = l3_packet(k, "udp6" if v6 else "tcp4", 20 + k,
                                        tos=tos, ttl=40)
                else:
                    payload = inner_frame(k, v6, tos, 40, False, 2)
                okw = {"tc": 0x20 | outer} if fam == "v6" else {"tos": 0x20 | outer}
                dec_in.append(tunnel_packet(ul, ta, payload, ip_kw=okw))
                new = rfc6040_decap(outer, inner_ecn)
                if new is None:
                    drops += 1
                elif l3:
                    dec_want.append(routed_out_frame(payload, ecn=new))
                else:
                    dec_want.append(add_vlan(frame_with_ecn(payload, new), 10))
                k += 1
    if not l3:   # non-IP inner under outer CE: no ECN field, forwarded as is
        for f in enc_a[-2:]:
            dec_in.append(tunnel_packet(ul, ta, f, ip_kw={"tc": 3} if fam == "v6"
                                        else {"tos": 3}))
            dec_want.append(add_vlan(f, 10))

    res = tundra.run(cfg, {ACCESS: access_in, UPLINK: dec_in})
    out = res.out(UPLINK)
    assert len(out) == len(access_in), (f"{len(out)} of {len(access_in)} "
                                        f"encapsulated; drops {res.nonzero_drops()}")
    ins = [f for pair in zip(enc_a, enc_b) for f in pair]
    for n, (f, inn) in enumerate(zip(out, ins)):
        t = (ta, tb)[n % 2]
        try:
            check_encap(f, ul, t, inn)
        except AssertionError as e:
            p = Ether(inn)
            what = (f"inner tos {p[IP].tos:#04x}" if IP in p else
                    f"inner tc {p[IPv6].tc:#04x}" if IPv6 in p else "non-IP inner")
            raise AssertionError(f"{typ} tunnel {t.name} frame {n} ({what}): {e}") from None
    if l3:
        assert_routed_frames_equal(res.out(ACCESS), dec_want)
    else:
        assert_frames_equal(res.out(ACCESS), dec_want, what="decap output")
    assert_only_drops(res, {(UPLINK, "ecn-not-ect"): drops})
    assert_io_counters(res)
