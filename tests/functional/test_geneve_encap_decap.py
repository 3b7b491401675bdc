"""GENEVE (RFC 8926): encapsulation with and without options (byte-exact
against scapy's GENEVE layer, fields cross-checked by tshark), decap of
everything a receiver must accept, O-bit control packets punted, and the
option grammar's limits."""

import pytest

from harness import (ACCESS, UDP, UPLINK, UNDERLAYS, Ether, Tunnel,
                     assert_config_error, assert_frames_equal,
                     assert_io_counters, assert_nothing_forwarded,
                     assert_only_drops, check_encap, geneve_options_len,
                     make_inner_frames, port_json_int, tshark_fields,
                     tunnel_config, tunnel_json_int, tunnel_packet)

A4, B8 = bytes(range(1, 5)), bytes(range(0x10, 0x18))
OPTION_SETS = {
    "no-options": (),
    "several": ((0x0102, 0x01, A4), (0x0103, 0x02, B8),
                (0xFFFF, 0x7F, bytes(range(0x20, 0x2C)))),
    "critical-and-not": ((0x0104, 0x05, B8), (0x0102, 0x80, A4),
                         (0x0105, 0xFE, bytes(16))),
    # 252 bytes, the most Opt Len (6 bits of 4-byte words) can say:
    # (4 + 124) + (4 + 120)
    "max-252": ((0x0106, 0x01, bytes((i * 5) & 0xFF for i in range(124))),
                (0x0107, 0x81, bytes((i * 3 + 1) & 0xFF for i in range(120)))),
}
N = 24


def _run_both_ways(tundra, ul, tun, n=N, seed=301):
    inner = make_inner_frames(n, seed=seed)
    if tun.options:
        # largest inner frame that still fits a 1500-byte MTU
        room = 1500 - (20 if ul.family == 4 else 40) - 16 - geneve_options_len(tun.options)
        inner = [f for f in inner if len(f) <= room]
    back = make_inner_frames(n, seed=seed + 1, start=400)
    up_in = [tunnel_packet(ul, tun, f, sport=49152 + 7 * i)
             for i, f in enumerate(back)]
    res = tundra.run(tunnel_config(ul, [tun]), {ACCESS: inner, UPLINK: up_in},
                     decode_as=tun.decode_as())
    return inner, back, res


@pytest.mark.parametrize("fam", ["v4", "v6"])
@pytest.mark.parametrize("opts", list(OPTION_SETS))
def test_geneve_encap_decap(tundra, opts, fam):
    ul = UNDERLAYS[fam]
    tun = Tunnel(type="geneve", vni=0xABCDEF, options=OPTION_SETS[opts])
    inner, back, res = _run_both_ways(tundra, ul, tun)
    out = res.out(UPLINK)
    assert len(out) == len(inner), f"drops: {res.nonzero_drops()}"
    for i, (f, inn) in enumerate(zip(out, inner)):
        try:
            check_encap(f, ul, tun, inn)
        except AssertionError as e:
            raise AssertionError(f"frame {i}: {e}") from None
    assert_frames_equal(res.out(ACCESS), back, what="decap output")
    assert_only_drops(res, {})
    assert_io_counters(res)
    t = res.tunnel("t1")
    assert (t["encap_packets"], t["decap_packets"]) == (len(inner), len(back)), t
    # tshark, independently
    crit = any(t_ & 0x80 for _, t_, _ in tun.options)
    rows = tshark_fields(res.out_files[UPLINK][0],
                         ["geneve.version", "geneve.vni", "geneve.proto_type",
                          "geneve.flags.oam", "geneve.flags.critical",
                          "geneve.option.class", "geneve.option.type",
                          "udp.dstport"], occurrence="a")
    assert len(rows) == len(out)
    for r in rows:
        assert r[0] == "0" and int(r[1], 0) == 0xABCDEF, r
        assert int(r[2], 0) == 0x6558, r
        assert r[3] in ("0", "False"), f"O bit set: {r}"
        assert r[4] in (("1", "True") if crit else ("0", "False")), f"C bit: {r}"
        classes = [int(x, 0) for x in r[5].split(",") if x]
        types = [int(x, 0) for x in r[6].split(",") if x]
        assert classes == [c for c, _, _ in tun.options], r
        assert types == [t_ for _, t_, _ in tun.options], r
        assert r[7].split(",")[0] == "6081", r


@pytest.mark.parametrize("fam", ["v4", "v6"])
def test_geneve_dstport_udpcsum_ttl_tos(tundra, fam):
    ul = UNDERLAYS[fam]
    tun = Tunnel(type="geneve", vni=5, dstport=7000, udp_csum="on", ttl=17,
                 tos=0x48, df="clear" if fam == "v4" else None,
                 options=((0x0102, 0x01, A4),))
    inner, back, res = _run_both_ways(tundra, ul, tun, n=12, seed=311)
    out = res.out(UPLINK)
    assert len(out) == len(inner), f"drops: {res.nonzero_drops()}"
    for f, inn in zip(out, inner):
        check_encap(f, ul, tun, inn)
        assert Ether(f)[UDP].chksum != 0
    assert_frames_equal(res.out(ACCESS), back, what="decap output")
    assert_only_drops(res, {})


@pytest.mark.parametrize("fam", ["v4", "v6"])
def test_geneve_decap_accepts_and_punts(tundra, fam):
    """Non-critical unknown options are skipped; critical options configured
    on the tunnel or registered with `geneve option known` are understood;
    multicast/broadcast inner frames pass; O-bit packets are control
    packets: punted (port `punted`, tunnel `oam_packets`), not forwarded,
    not drops."""
    ul = UNDERLAYS[fam]
    tun = Tunnel(type="geneve", vni=77, options=((0x0102, 0x80, A4),))
    inner = make_inner_frames(12, seed=321)
    inner[3] = bytes.fromhex("ffffffffffff") + inner[3][6:]
    inner[4] = bytes.fromhex("01005e000001") + inner[4][6:]
    inner[5] = bytes.fromhex("333300000001") + inner[5][6:]
    big = ((0x0999, 0x01, bytes(124)), (0x0998, 0x7F, bytes(range(120))))
    variants = [
        {},
        {"options": ((0x0999, 0x01, A4), (0x0105, 0x7F, B8))},  # unknown, non-critical
        {"options": ((0x0102, 0x80, B8),)},      # configured critical (other data)
        {"options": ((0x0105, 0x81, A4),)},      # registered critical
        {"options": ((0x0999, 0x02, A4), (0x0105, 0x81, b""),
                     (0x0102, 0x80, A4))},
        {"options": big},                        # 252 bytes of options
        {}, {}, {},
        {"options": ((0x0102, 0x80, A4),), "reserved": 0x3F, "reserved2": 0xFF},
        {"options": ((0x0105, 0x01, A4),), "critical": 1},  # C set, nothing critical
        {},
    ]
    pk = [tunnel_packet(ul, tun, f, **kw) for f, kw in zip(inner, variants)]
    oam = [tunnel_packet(ul, tun, f, oam=1) for f in inner[:2]]
    oam.append(tunnel_packet(ul, tun, inner[2], oam=1,
                             options=((0x0102, 0x80, A4),)))
    frames = pk[:4] + oam[:1] + pk[4:8] + oam[1:] + pk[8:]
    cfg = tunnel_config(ul, [tun])
    cfg.insert(-1, "geneve option known 0x0105:0x81")
    res = tundra.run(cfg, {UPLINK: frames})
    # reserved fields set: RFC 8926 says ignore on receipt; tolerate either
    assert_frames_equal(res.out(ACCESS), inner, what="decap output")
    assert_only_drops(res, {})
    assert port_json_int(res, UPLINK, "punted") == len(oam)
    assert tunnel_json_int(res, "t1", "oam_packets") == len(oam)
    assert res.tunnel("t1")["decap_packets"] == len(inner)
    assert_nothing_forwarded(res, [UPLINK])


UL = UNDERLAYS["v4"]
BASE = tunnel_config(UL, [Tunnel(type="geneve", vni=9)])
BAD = {
    "geneve-no-vni": ("tunnel add g2 type geneve local 192.0.2.1 remote 192.0.2.5", None),
    "option-odd-hex": ("tunnel add g2 type geneve local 192.0.2.1 remote 192.0.2.5 "
                       "vni 5 option 0x0102:0x01:abcdef", "0x0102:0x01:abcdef"),
    "option-data-125": ("tunnel add g2 type geneve local 192.0.2.1 remote 192.0.2.5 "
                        "vni 5 option 0x0102:0x01:" + "00" * 128, None),
    "option-class-too-big": ("tunnel add g2 type geneve local 192.0.2.1 remote "
                             "192.0.2.5 vni 5 option 0x10000:0x01:00000000",
                             "0x10000"),
    "option-type-too-big": ("tunnel add g2 type geneve local 192.0.2.1 remote "
                            "192.0.2.5 vni 5 option 0x0102:0x100:00000000",
                            "0x0102:0x100:00000000"),
    "options-over-252": ("tunnel add g2 type geneve local 192.0.2.1 remote 192.0.2.5 "
                         "vni 5 option 1:1:" + "00" * 124 + " option 2:2:" + "00" * 124,
                         None),
    "option-on-vxlan": ("tunnel add g2 type vxlan local 192.0.2.1 remote 192.0.2.5 "
                        "vni 5 option 0x0102:0x01:00000000", "option"),
    "vni-on-gre": ("tunnel add g2 type gre local 192.0.2.1 remote 192.0.2.5 vni 5", "vni"),
    "dstport-on-gretap": ("tunnel add g2 type gretap local 192.0.2.1 remote 192.0.2.5 "
                          "dstport 6081", "dstport"),
    "udp-csum-on-gre": ("tunnel add g2 type gre local 192.0.2.1 remote 192.0.2.5 "
                        "udp-csum on", "udp-csum"),
    "option-on-gretap": ("tunnel add g2 type gretap local 192.0.2.1 remote 192.0.2.5 "
                         "option 0x0102:0x01:00000000", "option"),
    "known-class-too-big": ("geneve option known 0x10000:0x80", "0x10000"),
}


@pytest.mark.parametrize("name", list(BAD))
def test_config_errors(tundra, name):
    bad, token = BAD[name]
    lines = BASE[:-1] + [bad, BASE[-1]]
    res = tundra.run(lines, {ACCESS: make_inner_frames(2)}, expect_ok=False)
    assert_config_error(res, lines.index(bad) + 1, token)
