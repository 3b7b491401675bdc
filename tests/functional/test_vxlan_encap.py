"""VXLAN encapsulation: access port -> uplink (RFC 7348 section 5)."""

import pytest

from harness import (ACCESS, UPLINK, UNDERLAYS, Tunnel, Xconnect, add_vlan,
                     assert_io_counters, assert_nothing_forwarded,
                     assert_only_drops, assert_worker_packets, check_encap,
                     make_inner_frames, tshark_fields, tunnel_config)

N = 48


@pytest.mark.parametrize("vlan", [None, 100], ids=["untagged", "vlan100"])
@pytest.mark.parametrize("fam", ["v4", "v6"])
def test_encap(tundra, fam, vlan):
    ul, tun = UNDERLAYS[fam], Tunnel()
    inner = make_inner_frames(N, seed=11)
    access_in = [add_vlan(f, vlan) for f in inner] if vlan else inner
    res = tundra.run(tunnel_config(ul, [tun], [Xconnect(ACCESS, vlan, "t1")]),
                     {ACCESS: access_in})

    out = res.out(UPLINK)
    assert len(out) == N, f"uplink sent {len(out)} frames for {N} access frames"
    for i, (frame, exp_inner) in enumerate(zip(out, inner)):
        try:
            check_encap(frame, ul, tun, exp_inner)
        except AssertionError as e:
            raise AssertionError(f"output frame {i}: {e}") from None
    assert_nothing_forwarded(res, [ACCESS])
    assert_only_drops(res, {})
    assert_io_counters(res)
    assert_worker_packets(res, N)
    t = res.tunnel("t1")
    assert (t["encap_packets"], t["decap_packets"]) == (N, 0), t
    assert t["encap_bytes"] > 0

    # tshark, independently: every frame is VXLAN, VNI 100, only the I flag.
    ipf = "ip" if fam == "v4" else "ipv6"
    pcap = res.out_files[UPLINK][0]
    rows = tshark_fields(pcap, ["vxlan.vni", "vxlan.flags", "udp.dstport",
                                f"{ipf}.src", f"{ipf}.dst"])
    assert len(rows) == N
    for r in rows:
        assert r[0] == "100" and r[2] == "4789", r
        assert int(r[1], 16) == 0x0800, f"VXLAN flags {r[1]} (want I only)"
        assert (r[3], r[4]) == (ul.local, ul.remote), r
    # no 802.1Q tag anywhere (outer or inner): the VLAN was stripped
    assert tshark_fields(pcap, ["frame.number"], display_filter="vlan") == []


@pytest.mark.parametrize("fam", ["v4", "v6"])
def test_encap_vni_max_and_byte_order(tundra, fam):
    """VNI 0xFFFFFE (24 bits, asymmetric bytes) is written in network order."""
    ul = UNDERLAYS[fam]
    tun = Tunnel(vni=0xABCDEF)
    inner = make_inner_frames(6, seed=12)
    res = tundra.run(tunnel_config(ul, [tun]), {ACCESS: inner})
    out = res.out(UPLINK)
    assert len(out) == len(inner)
    for f, i in zip(out, inner):
        check_encap(f, ul, tun, i)
    assert_only_drops(res, {})


@pytest.mark.parametrize("fam", ["v4", "v6"])
def test_encap_frame_sizes(tundra, fam):
    """Minimum (60) up to the largest inner frame that fits a 1500 MTU."""
    ul, tun = UNDERLAYS[fam], Tunnel()
    limit = 1464 if fam == "v4" else 1444
    from drop_cases import pad_to
    base = make_inner_frames(1, seed=13, kinds=("raw",))[0]
    inner = [pad_to(base, s) for s in (60, 61, 127, 128, 1023, 1024,
                                       limit - 1, limit)]
    res = tundra.run(tunnel_config(ul, [tun]), {ACCESS: inner})
    out = res.out(UPLINK)
    assert len(out) == len(inner), (
        f"{len(out)} of {len(inner)} frames encapsulated; drops "
        f"{res.nonzero_drops()}")
    for f, i in zip(out, inner):
        check_encap(f, ul, tun, i)
    assert_only_drops(res, {})


@pytest.mark.parametrize("fam", ["v4", "v6"])
def test_vlan_tag_handling(tundra, fam):
    """Only the outer 802.1Q tag naming the xconnect is stripped: its PCP
    bits do not matter, and an inner (QinQ) tag travels inside the tunnel.
    On decap the xconnect's tag is pushed in front of any inner tag."""
    ul, tun = UNDERLAYS[fam], Tunnel()
    base = make_inner_frames(6, seed=14)
    inner = [base[0], base[1], add_vlan(base[2], 200), add_vlan(base[3], 4094),
             base[4], add_vlan(base[5], 1)]
    access_in = [add_vlan(inner[0], 100, pcp=5), add_vlan(inner[1], 100, pcp=7)]
    access_in += [add_vlan(f, 100) for f in inner[2:]]
    from harness import tunnel_packet
    res = tundra.run(tunnel_config(ul, [tun], [Xconnect(ACCESS, 100, "t1")]),
                     {ACCESS: access_in,
                      UPLINK: [tunnel_packet(ul, tun, f) for f in inner[2:]]})
    out = res.out(UPLINK)
    assert len(out) == len(inner), f"drops: {res.nonzero_drops()}"
    for f, i in zip(out, inner):
        check_encap(f, ul, tun, i)
    from harness import assert_frames_equal
    assert_frames_equal(res.out(ACCESS), [add_vlan(f, 100) for f in inner[2:]],
                        what="decap output")
    assert_only_drops(res, {})
