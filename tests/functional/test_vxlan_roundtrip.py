"""Round trip: encapsulate in one run, feed the uplink output into a second
run with the mirrored config, get the original access frames back."""

import pytest

from harness import (ACCESS, UPLINK, UNDERLAYS, Tunnel, Xconnect, add_vlan,
                     assert_frames_equal, assert_only_drops,
                     make_inner_frames, tunnel_config)


@pytest.mark.parametrize("fam,vlan,tun", [
    ("v4", None, Tunnel()),
    ("v6", 42, Tunnel()),
    ("v4", 7, Tunnel(vni=0xFFFFFF, dstport=4790, udp_csum="on", tos="inherit")),
], ids=["v4", "v6-vlan", "v4-vlan-options"])
def test_round_trip(tundra, fam, vlan, tun):
    ul = UNDERLAYS[fam]
    frames = make_inner_frames(60, seed=61)
    access_in = [add_vlan(f, vlan) for f in frames] if vlan else frames
    xc = [Xconnect(ACCESS, vlan, tun.name)]
    a = tundra.run(tunnel_config(ul, [tun], xc), {ACCESS: access_in},
                   decode_as=tun.decode_as())
    encapped = a.out(UPLINK)
    assert len(encapped) == len(frames)
    b = tundra.run(tunnel_config(ul.mirrored(), [tun], xc), {UPLINK: encapped})
    assert_frames_equal(b.out(ACCESS), access_in, what="round-trip output")
    assert_only_drops(a, {})
    assert_only_drops(b, {})
    assert b.tunnel(tun.name)["decap_packets"] == len(frames)
