"""GRE (RFC 2784 / RFC 2890): gretap (Ethernet payload, xconnect) and L3 gre
(IP payload, routed access) with every combination of key / seq / csum, over
IPv4 and IPv6 underlays.

One tundra run per (type, underlay) carries all eight combinations: tunnel i
(remote .20+i) has key iff i&1, seq iff i&2, csum iff i&4; gretap tunnel i
is attached to VLAN 10+i, L3 tunnel i is the route for 10.2.i.0/24 and
fd00:2:i::/48.  Encap output is compared byte for byte with scapy's GRE
layer (which computes the checksum), sequence numbers must count 0, 1, ...
per tunnel, tshark must agree on flags/key/seq and find the checksum good;
decap of what a peer would send must give back the inner frames."""

from dataclasses import replace

import pytest

from harness import (ACCESS, HOST4, HOST6, HOST_MAC, IP, IPv6, RACC, TCP, UDP,
                     UPLINK, UNDERLAYS, Ether, Raw, Xconnect, add_vlan,
                     assert_frames_equal, assert_io_counters,
                     assert_only_drops, assert_routed_frames_equal,
                     check_encap, extract_inner, make_inner_frames,
                     make_tunnel, routed_config, routed_out_frame,
                     tshark_fields, tunnel_config, tunnel_packet)

COMBOS = range(8)
PER = 5          # frames per tunnel and direction


def combo_name(i):
    return "+".join(n for b, n in ((1, "key"), (2, "seq"), (4, "csum"))
                    if i & b) or "plain"


def remote_of(ul, i):
    return f"192.0.2.{20 + i}" if ul.family == 4 else f"2001:db8::{20 + i:x}"


def gre_tunnels(ul, typ):
    return [make_tunnel(typ, name=f"g{i}", remote=remote_of(ul, i),
                        key=0xA1B2C300 + i if i & 1 else None,
                        seq="on" if i & 2 else None,
                        csum="on" if i & 4 else None) for i in COMBOS]


def ip_frame(k, src, dst, size, *, tcp=False, tos=0, ttl=64):
    v4 = ":" not in dst
    ip = (IP(src=src, dst=dst, tos=tos, ttl=ttl, id=k) if v4
          else IPv6(src=src, dst=dst, tc=tos, hlim=ttl))
    l4 = (TCP(sport=40000 + k, dport=41500, flags="PA", seq=k) if tcp
          else UDP(sport=40000 + k, dport=41000 + k))
    pay = Raw(b"\x00" + bytes((k + j) & 0xFF for j in range(size)))
    f = bytes(Ether(dst=RACC.mac, src=HOST_MAC) / ip / l4 / pay)
    return f if len(f) >= 60 else f + bytes(60 - len(f))


def encap_inputs(typ, i):
    """(access frame, inner as the tunnel's encap expects it) per frame."""
    if typ == "gretap":
        inner = make_inner_frames(PER, seed=500 + i, start=100 * i)
        return [(add_vlan(f, 10 + i), f) for f in inner]
    res = []
    for k in range(PER):
        if k % 2:
            f = ip_frame(k, HOST6, f"fd00:2:{i}::{k + 1:x}", 30 * k, tcp=k % 3 == 0)
        else:
            f = ip_frame(k, HOST4, f"10.2.{i}.{k + 1}", 40 * k, tcp=k % 4 == 0)
        res.append((f, f))
    return res


def decap_payloads(typ, i):
    if typ == "gretap":
        return make_inner_frames(PER, seed=600 + i, start=100 * i + 50)
    res = []
    for k in range(PER):
        f = (ip_frame(k, f"10.2.{i}.{k + 7}", HOST4, 25 * k) if k % 2 == 0
             else ip_frame(k, f"fd00:2:{i}::{k + 7:x}", HOST6, 25 * k, tcp=True))
        res.append(f[14:14 + (len(bytes(Ether(f).payload)) if True else 0)])
    # strip padding: the IP packet only
    from harness import eth_ip_payload
    return [eth_ip_payload(b"\x00" * 12 + (b"\x08\x00" if p[0] >> 4 == 4 else b"\x86\xdd") + p)
            for p in res]


@pytest.mark.parametrize("fam", ["v4", "v6"])
@pytest.mark.parametrize("typ", ["gretap", "gre"])
def test_gre_all_flag_combinations(tundra, typ, fam):
    ul = UNDERLAYS[fam]
    tuns = gre_tunnels(ul, typ)
    neigh = [(t.remote, ul.peer_mac) for t in tuns if t.remote != ul.remote]
    if typ == "gretap":
        cfg = tunnel_config(ul, tuns, [Xconnect(ACCESS, 10 + i, t.name)
                                       for i, t in enumerate(tuns)],
                            extra_neigh=neigh)
    else:
        routes = ([(f"10.2.{i}.0/24", t.name) for i, t in enumerate(tuns)]
                  + [(f"fd00:2:{i}::/48", t.name) for i, t in enumerate(tuns)])
        cfg = routed_config(ul, tuns, routes=routes)
        cfg[-len(routes):-len(routes)] = [f"neigh add {ip} {mac} port {UPLINK}"
                                          for ip, mac in neigh]
    enc = {i: encap_inputs(typ, i) for i in COMBOS}
    dec = {i: decap_payloads(typ, i) for i in COMBOS}
    access_in, up_in, up_order = [], [], []
    for k in range(PER):
        for i in COMBOS:
            access_in.append(enc[i][k][0])
            t = tuns[i]
            kw = {}
            if t.seq == "on":
                kw["seq"] = 1000 + 3 * k
            if t.csum != "on" and k == 1:
                kw["csum"] = True     # a correct checksum is always accepted
            up_in.append(tunnel_packet(ul, t, dec[i][k], **kw))
            up_order.append((i, k))
    res = tundra.run(cfg, {ACCESS: access_in, UPLINK: up_in})

    # encap: per tunnel, in order, seq 0, 1, 2, ...
    out = res.out(UPLINK)
    assert len(out) == len(access_in), (
        f"uplink sent {len(out)} of {len(access_in)}; drops {res.nonzero_drops()}")
    by_tunnel = {i: [] for i in COMBOS}
    for f in out:
        dst = Ether(f)[IP if fam == "v4" else IPv6].dst
        i = next(j for j in COMBOS if remote_of(ul, j) == dst)
        by_tunnel[i].append(f)
    for i in COMBOS:
        t = tuns[i]
        assert len(by_tunnel[i]) == PER, f"{combo_name(i)}: {len(by_tunnel[i])} frames"
        for k, f in enumerate(by_tunnel[i]):
            try:
                check_encap(f, ul, t, enc[i][k][1],
                            seq=k if t.seq == "on" else None)
            except AssertionError as e:
                raise AssertionError(f"tunnel {t.name} ({combo_name(i)}) "
                                     f"frame {k}: {e}") from None

    # tshark agrees on the GRE header of every frame
    rows = tshark_fields(res.out_files[UPLINK][0],
                         ["ip.dst" if fam == "v4" else "ipv6.dst",
                          "gre.flags.checksum", "gre.flags.key",
                          "gre.flags.sequence_number", "gre.key",
                          "gre.sequence_number", "gre.checksum.status",
                          "gre.flags.version", "gre.proto"])
    assert len(rows) == len(out)
    seen = {i: 0 for i in COMBOS}
    for r in rows:
        i = next(j for j in COMBOS if remote_of(ul, j) == r[0])
        t = tuns[i]
        truth = lambda v: v in ("1", "True")  # noqa: E731
        assert truth(r[1]) == (t.csum == "on"), (combo_name(i), r)
        assert truth(r[2]) == (t.key is not None), (combo_name(i), r)
        assert truth(r[3]) == (t.seq == "on"), (combo_name(i), r)
        if t.key is not None:
            assert int(r[4], 0) == t.key, r
        if t.seq == "on":
            assert int(r[5]) == seen[i], f"{combo_name(i)} seq {r[5]} != {seen[i]}"
        if t.csum == "on":
            assert r[6] in ("1", "Good"), f"tshark: GRE checksum status {r[6]}"
        assert int(r[7], 0) == 0, r
        seen[i] += 1

    # decap
    if typ == "gretap":
        want = [add_vlan(dec[i][k], 10 + i) for i, k in up_order]
        assert_frames_equal(res.out(ACCESS), want, what="decap output")
    else:
        want = [routed_out_frame(dec[i][k]) for i, k in up_order]
        assert_routed_frames_equal(res.out(ACCESS), want)
    assert_only_drops(res, {})
    assert_io_counters(res)
    for i, t in enumerate(tuns):
        j = res.tunnel(t.name)
        assert (j["encap_packets"], j["decap_packets"]) == (PER, PER), (combo_name(i), j)
        assert j["type"] == typ, j
        if t.key is not None:
            assert j["key"] in (t.key, str(t.key)), f"JSON key {j['key']!r} != {t.key}"
        assert j["seq_out_of_order"] == 0 and j["seq_duplicate"] == 0, j


@pytest.mark.parametrize("fam", ["v4", "v6"])
def test_gre_key_zero_is_a_key(tundra, fam):
    """`key 0` puts K and a zero key on the wire; a packet without a key does
    not match it (unknown-vni), one with key 0 does."""
    ul = UNDERLAYS[fam]
    t = make_tunnel("gretap", key=0)
    inner = make_inner_frames(6, seed=611)
    up = ([tunnel_packet(ul, t, f) for f in inner[:3]]
          + [tunnel_packet(ul, t, f, key=None) for f in inner[3:]])
    res = tundra.run(tunnel_config(ul, [t]), {ACCESS: inner, UPLINK: up})
    out = res.out(UPLINK)
    assert len(out) == len(inner)
    for f, inn in zip(out, inner):
        check_encap(f, ul, t, inn)
        assert extract_inner(f, t) == inn
    assert_frames_equal(res.out(ACCESS), inner[:3], what="decap output")
    assert_only_drops(res, {(UPLINK, "unknown-vni"): 3})
