"""Per-tunnel options: ttl, tos, tos inherit, df, dstport, udp-csum."""

import pytest

import random

from harness import (ACCESS, UDP, UPLINK, UNDERLAYS, Ether, Tunnel,
                     assert_frames_equal, assert_only_drops, check_encap,
                     make_inner_frame, make_inner_frames, tshark_fields,
                     tunnel_config, tunnel_packet)


def _ip_inner(tos_ttl_df):
    """Inner frames (v4 and v6) carrying the given TOS/TTL/DF values."""
    rng = random.Random(5)
    out = []
    for i, (kind, tos, ttl, df) in enumerate(tos_ttl_df):
        out.append(make_inner_frame(i, kind, 40, rng, tos=tos, ttl=ttl, df=df))
    return out


INHERIT_MIX = [("udp4", 0x00, 64, True), ("udp4", 0xB8, 1, False),
               ("tcp4", 0x03, 255, True), ("udp4", 0x2A, 37, False),
               ("udp6", 0xB8, 9, False), ("tcp6", 0x01, 200, False),
               ("udp6", 0x00, 64, False)]

VARIANTS = {
    # name: (underlay, tunnel, inner kinds)
    "ttl10-v4": ("v4", Tunnel(ttl=10), None),
    "ttl7-v6": ("v6", Tunnel(ttl=7), None),
    "ttl-inherit-v4": ("v4", Tunnel(ttl="inherit"), "ip"),
    "ttl-inherit-v6": ("v6", Tunnel(ttl="inherit"), "ip"),
    "tos0x28-v4": ("v4", Tunnel(tos=0x28), None),
    "tos0x40-v6": ("v6", Tunnel(tos=0x40), None),
    "tos-inherit-v4": ("v4", Tunnel(tos="inherit"), "ip"),
    "tos-inherit-v6": ("v6", Tunnel(tos="inherit"), "ip"),
    "df-clear": ("v4", Tunnel(df="clear"), None),
    "df-set": ("v4", Tunnel(df="set"), None),
    "df-inherit": ("v4", Tunnel(df="inherit"), "ip4"),
    "udp-csum-on-v4": ("v4", Tunnel(udp_csum="on"), None),
    "udp-csum-off-v4": ("v4", Tunnel(udp_csum="off"), None),
    "udp-csum-off-v6": ("v6", Tunnel(udp_csum="off"), None),  # v6: always on
    "dstport8472-v4": ("v4", Tunnel(dstport=8472), None),
    "dstport4790-v6": ("v6", Tunnel(dstport=4790), None),
    "hex-numbers": ("v4", Tunnel(vni=0x1234, ttl=0x20, tos=0x10,
                                 dstport=0x1234, hex_numbers=True), None),
    "all-options-v6": ("v6", Tunnel(vni=7, ttl=33, tos="inherit",
                                    dstport=6000, udp_csum="on"), "ip"),
}


@pytest.mark.parametrize("name", list(VARIANTS))
def test_encap_option(tundra, name):
    fam, tun, kinds = VARIANTS[name]
    ul = UNDERLAYS[fam]
    if kinds == "ip":
        inner = _ip_inner(INHERIT_MIX)
    elif kinds == "ip4":
        inner = _ip_inner([m for m in INHERIT_MIX if m[0].endswith("4")])
    else:
        inner = make_inner_frames(12, seed=41)
    res = tundra.run(tunnel_config(ul, [tun]), {ACCESS: inner},
                     decode_as=tun.decode_as())
    out = res.out(UPLINK)
    assert len(out) == len(inner), f"drops: {res.nonzero_drops()}"
    for i, (f, inn) in enumerate(zip(out, inner)):
        try:
            check_encap(f, ul, tun, inn)
        except AssertionError as e:
            raise AssertionError(f"frame {i} ({Ether(inn).summary()}): {e}") from None
    assert_only_drops(res, {})
    if tun.udp_csum == "on" or fam == "v6":
        assert all(Ether(f)[UDP].chksum != 0 for f in out)
    elif fam == "v4":
        assert all(Ether(f)[UDP].chksum == 0 for f in out)
    # tshark agrees on the VNI with the configured port decoded as VXLAN
    rows = tshark_fields(res.out_files[UPLINK][0], ["vxlan.vni"],
                         decode_as=tun.decode_as())
    assert [r[0] for r in rows] == [str(tun.vni)] * len(out)


@pytest.mark.parametrize("fam", ["v4", "v6"])
def test_decap_custom_dstport(tundra, fam):
    """dstport N: packets to N are decapsulated, to 4789 are unknown-port."""
    ul, tun = UNDERLAYS[fam], Tunnel(dstport=8472)
    inner = make_inner_frames(6, seed=42)
    good = [tunnel_packet(ul, tun, f) for f in inner]
    std = [tunnel_packet(ul, tun, f, dport=4789) for f in inner[:3]]
    res = tundra.run(tunnel_config(ul, [tun]), {UPLINK: good + std})
    assert_frames_equal(res.out(ACCESS), inner, what="access output")
    assert_only_drops(res, {(UPLINK, "unknown-port"): len(std)})


@pytest.mark.parametrize("fam", ["v4", "v6"])
def test_decap_with_udp_csum_on(tundra, fam):
    """udp-csum on (a transmit option) still accepts zero checksums over v4
    and correct ones everywhere."""
    ul, tun = UNDERLAYS[fam], Tunnel(udp_csum="on")
    inner = make_inner_frames(6, seed=43)
    pk = [tunnel_packet(ul, tun, f, udp_chksum=None) for f in inner[:3]]
    pk += [tunnel_packet(ul, tun, f) for f in inner[3:]]
    res = tundra.run(tunnel_config(ul, [tun]), {UPLINK: pk})
    assert_frames_equal(res.out(ACCESS), inner, what="access output")
    assert_only_drops(res, {})
