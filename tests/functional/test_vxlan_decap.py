"""VXLAN decapsulation: uplink -> access port (RFC 7348 section 4)."""

import pytest

from harness import (ACCESS, UPLINK, UNDERLAYS, Tunnel,
                     Xconnect, add_vlan, assert_frames_equal,
                     assert_io_counters, assert_nothing_forwarded,
                     assert_only_drops, assert_worker_packets,
                     make_inner_frames, tunnel_config, tunnel_packet)

N = 48


def _sports(n):
    return [1024 + (i * 1237) % 64000 for i in range(n)]


@pytest.mark.parametrize("vlan", [None, 100], ids=["untagged", "vlan100"])
@pytest.mark.parametrize("fam", ["v4", "v6"])
def test_decap(tundra, fam, vlan):
    ul, tun = UNDERLAYS[fam], Tunnel()
    inner = make_inner_frames(N, seed=21)
    up_in = [tunnel_packet(ul, tun, f, sport=s)
             for f, s in zip(inner, _sports(N))]
    res = tundra.run(tunnel_config(ul, [tun], [Xconnect(ACCESS, vlan, "t1")]),
                     {UPLINK: up_in})
    expected = [add_vlan(f, vlan) for f in inner] if vlan else inner
    assert_frames_equal(res.out(ACCESS), expected, what="access output")
    assert_nothing_forwarded(res, [UPLINK])
    assert_only_drops(res, {})
    assert_io_counters(res)
    assert_worker_packets(res, N)
    t = res.tunnel("t1")
    assert (t["encap_packets"], t["decap_packets"]) == (0, N), t
    assert t["decap_bytes"] > 0


@pytest.mark.parametrize("fam", ["v4", "v6"])
def test_decap_accepts(tundra, fam):
    """Everything RFC 7348 says a receiver accepts."""
    ul, tun = UNDERLAYS[fam], Tunnel()
    inner = make_inner_frames(8, seed=22)
    mcast = "01:00:5e:00:00:01" if fam == "v4" else "33:33:00:00:00:01"
    pkts = [
        tunnel_packet(ul, tun, inner[0], dst_mac="ff:ff:ff:ff:ff:ff"),
        tunnel_packet(ul, tun, inner[1], dst_mac=mcast),
        # reserved flag bits and reserved fields are ignored on receipt
        tunnel_packet(ul, tun, inner[2], flags=0xFF,
                      reserved=(0xFFFFFF, 0xFF)),
        # a correct non-zero UDP checksum (over v4 it is optional)
        tunnel_packet(ul, tun, inner[3], udp_chksum=None),
        # any source port, including well-known ones
        tunnel_packet(ul, tun, inner[4], sport=53),
        tunnel_packet(ul, tun, inner[5], ttl=1),
    ]
    frames = [bytes(p) for p in pkts]
    # Ethernet trailer after the IP packet (a NIC may deliver padding)
    frames.append(bytes(tunnel_packet(ul, tun, inner[6])) + b"\xee" * 6)
    if fam == "v4":
        # the same with DF set and a nonzero IP ID
        frames.append(bytes(tunnel_packet(ul, tun, inner[7],
                                          ip_kw={"flags": "DF", "id": 777})))
    else:
        frames.append(bytes(tunnel_packet(ul, tun, inner[7],
                                          ip_kw={"tc": 0xB8, "fl": 0x12345})))
    res = tundra.run(tunnel_config(ul, [tun]), {UPLINK: frames})
    assert_frames_equal(res.out(ACCESS), inner[:len(frames)],
                        what="access output")
    assert_only_drops(res, {})
    assert res.tunnel("t1")["decap_packets"] == len(frames)


def test_decap_ipv4_options(tundra):
    """An outer IPv4 header with options (IHL 6) must never be misparsed:
    either decapsulated correctly (the UDP header is at IHL*4) or dropped
    and counted as bad-ip-header."""
    from scapy.all import IPOption_NOP
    ul, tun = UNDERLAYS["v4"], Tunnel()
    inner = make_inner_frames(3, seed=23)
    frames = [bytes(tunnel_packet(ul, tun, f,
                                  ip_kw={"options": [IPOption_NOP()] * 4}))
              for f in inner]
    assert all((f[14] & 0x0F) == 6 for f in frames)
    res = tundra.run(tunnel_config(ul, [tun]), {UPLINK: frames})
    if res.out(ACCESS):
        assert_frames_equal(res.out(ACCESS), inner, what="access output")
        assert_only_drops(res, {})
    else:
        assert_only_drops(res, {(UPLINK, "bad-ip-header"): len(frames)})


@pytest.mark.parametrize("fam", ["v4", "v6"])
def test_decap_large_inner(tundra, fam):
    """Inner frames from 60 bytes up to the largest whose outer packet fits
    a 1500-byte underlay MTU decapsulate intact."""
    from drop_cases import pad_to
    ul, tun = UNDERLAYS[fam], Tunnel()
    base = make_inner_frames(1, seed=24, kinds=("raw",))[0]
    limit = 1464 if fam == "v4" else 1444
    inner = [pad_to(base, s) for s in (60, 61, 1000, limit - 1, limit)]
    res = tundra.run(tunnel_config(ul, [tun]),
                     {UPLINK: [tunnel_packet(ul, tun, f) for f in inner]})
    assert_frames_equal(res.out(ACCESS), inner, what="access output")
    assert_only_drops(res, {})
