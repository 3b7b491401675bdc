"""Round trips for GENEVE, gretap and L3 gre: the uplink output of one run,
fed to a second run with the mirrored config, gives back the original
frames (L3 gre: the same IP packets, routed twice: TTL - 2, Ethernet
rebuilt by the far side's access port)."""

import pytest

from harness import (ACCESS, UPLINK, UNDERLAYS, Xconnect, add_vlan,
                     assert_frames_equal, assert_only_drops,
                     assert_routed_frames_equal, eth_ip_payload, ip_ttl,
                     ip_with, make_inner_frames, make_tunnel, routed_config,
                     routed_frames, routed_out_frame, tunnel_config)

CASES = {
    "geneve-v4": ("v4", make_tunnel("geneve", vni=4242, options=(
        (0x0102, 0x80, bytes(range(8))), (0x0103, 0x01, bytes(4)))), 30),
    "geneve-v6": ("v6", make_tunnel("geneve", vni=1, udp_csum="on",
                                    tos="inherit"), None),
    "gretap-v4": ("v4", make_tunnel("gretap", key=77, seq="on", csum="on"), 12),
    "gretap-v6": ("v6", make_tunnel("gretap"), None),
    "gre-v4": ("v4", make_tunnel("gre", key=5, csum="on", seq="on",
                                 ttl="inherit"), None),
    "gre-v6": ("v6", make_tunnel("gre", tos="inherit"), None),
}
FAR_MAC = "02:00:00:00:02:02"


@pytest.mark.parametrize("name", list(CASES))
def test_round_trip(tundra, name):
    fam, tun, vlan = CASES[name]
    ul = UNDERLAYS[fam]
    if tun.l3:
        frames = routed_frames(40, seed=951)
        a = tundra.run(routed_config(ul, [tun]), {ACCESS: frames})
        far_hosts = sorted({(ip, FAR_MAC) for ip in
                            ("10.2.0.1", "10.2.0.2", "fd00:2::1", "fd00:2::2")})
        cfg_b = routed_config(ul.mirrored(), [tun], hosts=far_hosts,
                              routes=[("10.1.0.0/16", tun.name),
                                      ("fd00:1::/64", tun.name)])
    else:
        frames = make_inner_frames(40, seed=951)
        frames = [add_vlan(f, vlan) for f in frames] if vlan else frames
        xc = [Xconnect(ACCESS, vlan, tun.name)]
        a = tundra.run(tunnel_config(ul, [tun], xc), {ACCESS: frames})
        cfg_b = tunnel_config(ul.mirrored(), [tun], xc)
    enc = a.out(UPLINK)
    assert len(enc) == len(frames), f"drops {a.nonzero_drops()}"
    b = tundra.run(cfg_b, {UPLINK: enc})
    if tun.l3:
        want = []
        for f in frames:
            ipb = eth_ip_payload(f)
            want.append(routed_out_frame(ip_with(ipb, ttl=ip_ttl(ipb) - 1),
                                         dst_mac=FAR_MAC))
        assert_routed_frames_equal(b.out(ACCESS), want, what="round trip")
    else:
        assert_frames_equal(b.out(ACCESS), frames, what="round-trip output")
    assert_only_drops(a, {})
    assert_only_drops(b, {})
    assert b.tunnel(tun.name)["decap_packets"] == len(frames)
