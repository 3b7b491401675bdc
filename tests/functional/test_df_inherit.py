"""`df inherit` on every tunnel type over an IPv4 underlay, with IPv4 and IPv6 inner
packets: the outer DF bit copies an inner IPv4 header's DF, is set for an inner IPv6
packet (IPv6 is never fragmented on the way; Linux's `vxlan ... df inherit` does the
same) and stays clear for other payloads (ARP, raw Ethernet). Judged twice: against
scapy's build of the contract (check_encap) and by tshark's own reading of the outer
ip.flags.df."""

import random

import pytest

from harness import (ACCESS, UNDERLAYS, UPLINK, Ether, make_inner_frame, make_tunnel,
                     routed_config, to_router, tshark_fields, tunnel_config, check_encap)

# (kind, inner DF): DF matters only for IPv4; IPv6 has no DF bit.
MIX = [("udp4", True), ("udp4", False), ("tcp4", True), ("tcp4", False),
       ("udp6", False), ("tcp6", False), ("arp", False), ("raw", False)]

TYPES = ("vxlan", "geneve", "gretap", "gre")


def _frames(l3: bool) -> list[bytes]:
    rng = random.Random(77)
    mix = [m for m in MIX if m[0][-1] in "46"] if l3 else MIX
    out = []
    for i, (kind, df) in enumerate(mix * 2):
        f = make_inner_frame(i, kind, 40 + 17 * i, rng, df=df)
        out.append(to_router(f) if l3 else f)
    return out


def _want_df(frame: bytes) -> bool:
    p = Ether(frame)
    if p.type == 0x0800:
        return bool(bytes(p.payload)[6] & 0x40)
    return p.type == 0x86DD


@pytest.mark.parametrize("typ", TYPES)
def test_df_inherit(tundra, typ):
    ul = UNDERLAYS["v4"]
    tun = make_tunnel(typ, df="inherit")
    frames = _frames(tun.l3)
    cfg = routed_config(ul, [tun]) if tun.l3 else tunnel_config(ul, [tun])
    res = tundra.run(cfg, {ACCESS: frames}, decode_as=tun.decode_as())
    out = res.out(UPLINK)
    assert len(out) == len(frames), f"drops: {res.nonzero_drops()}"
    for i, (f, inner) in enumerate(zip(out, frames)):
        try:
            check_encap(f, ul, tun, inner)
        except AssertionError as e:
            raise AssertionError(f"frame {i} ({Ether(inner).summary()}): {e}") from None
    want = [_want_df(f) for f in frames]
    assert any(want) and not all(want)  # the mix exercises both values
    rows = tshark_fields(res.out_files[UPLINK][0], ["ip.flags.df"],
                         decode_as=tun.decode_as())
    got = [r[0] in ("1", "True") for r in rows]
    assert got == want, f"outer DF per frame: tshark {got}, expected {want}"
