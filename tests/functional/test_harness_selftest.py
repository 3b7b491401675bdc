"""Self-tests of the harness pieces (no tundra binary needed): pcap codec,
expected-frame builders, crafted drop inputs, the tshark checks."""

import re
import struct

import pytest

import harness
from drop_cases import INNER, cases_for
from harness import (IP, IPv6, UDP, UL4, UL6, UNDERLAYS, Ether,
                     ICMPv6ND_NA, ICMPv6NDOptDstLLAddr, Tunnel, VXLAN,
                     add_vlan, check_encap, expected_encap, make_inner_frames,
                     read_pcap, strip_vlan, tshark_fields, tshark_problems,
                     tunnel_packet, write_pcap)

# Once, on the optimised build (the harness itself; no tundra process).
pytestmark = pytest.mark.not_sanitized


def test_pcap_roundtrip_and_scapy_interop(tmp_path):
    from scapy.utils import rdpcap, wrpcap, PcapWriter
    frames = make_inner_frames(10)
    write_pcap(tmp_path / "a.pcap", frames)
    assert read_pcap(tmp_path / "a.pcap") == frames
    assert [bytes(p) for p in rdpcap(str(tmp_path / "a.pcap"))] == frames
    write_pcap(tmp_path / "e.pcap", [])
    assert read_pcap(tmp_path / "e.pcap") == []
    wrpcap(str(tmp_path / "s.pcap"), [Ether(f) for f in frames])
    assert read_pcap(tmp_path / "s.pcap") == frames
    w = PcapWriter(str(tmp_path / "n.pcap"), nano=True)
    for f in frames:
        w.write(Ether(f))
    w.close()
    assert read_pcap(tmp_path / "n.pcap") == frames


def test_drop_reason_names_match_def():
    text = (harness.REPO / "dataplane" / "drop_reasons.def").read_text()
    names = re.findall(r'^X\(\s*\w+\s*,\s*"([^"]+)"', text, re.M)
    assert tuple(names) == harness.DROP_REASONS


def test_missing_binary_fails_not_skips(monkeypatch, tmp_path):
    monkeypatch.setenv("TUNDRA_BIN", str(tmp_path / "no-such-tundra"))
    with pytest.raises(pytest.fail.Exception, match="tundra binary not found"):
        harness.Tundra(tmp_path).run(["quit"])


def test_vlan_helpers():
    f = make_inner_frames(1)[0]
    t = add_vlan(f, 100)
    assert Ether(t)[harness.Dot1Q].vlan == 100 and len(t) == len(f) + 4
    assert strip_vlan(t) == f


def test_expected_encap_v4_wire_layout():
    inner = make_inner_frames(1)[0]
    f = bytes(expected_encap(UL4, Tunnel(), inner, sport=50001, ip_id=7))
    assert f[0:6] == bytes.fromhex("020000000002")        # dst = neighbor
    assert f[6:12] == bytes.fromhex("020000000001")       # src = port MAC
    assert f[12:14] == b"\x08\x00"
    ip = f[14:34]
    assert ip[0] == 0x45 and ip[1] == 0 and ip[8] == 64 and ip[9] == 17
    assert struct.unpack("!H", ip[2:4])[0] == 20 + 8 + 8 + len(inner)
    assert struct.unpack("!H", ip[6:8])[0] == 0x4000      # DF, offset 0
    s = sum(struct.unpack("!10H", ip))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    assert s == 0xFFFF, "IPv4 header checksum"
    udp = f[34:42]
    assert struct.unpack("!HHHH", udp) == (50001, 4789, 8 + 8 + len(inner), 0)
    assert f[42:50] == bytes.fromhex("0800000000006400")  # I flag, VNI 100
    assert f[50:] == inner


def test_expected_encap_v6_udp_checksum():
    inner = make_inner_frames(1)[0]
    f = bytes(expected_encap(UL6, Tunnel(udp_csum="off"), inner, sport=60000))
    p = Ether(f)
    assert p[IPv6].nh == 17 and p[IPv6].hlim == 64 and p[IPv6].tc == 0
    assert p[UDP].chksum != 0
    assert p[UDP].chksum == harness.udp_checksum_expected(f)
    v4 = bytes(expected_encap(UL4, Tunnel(udp_csum="on"), inner, sport=60000))
    assert Ether(v4)[UDP].chksum == harness.udp_checksum_expected(v4) != 0


@pytest.mark.parametrize("fam", ["v4", "v6"])
def test_check_encap_accepts_good_rejects_bad(fam):
    ul, tun = UNDERLAYS[fam], Tunnel()
    inner = make_inner_frames(1)[0]
    good = bytes(expected_encap(ul, tun, inner, sport=51000, ip_id=3,
                                flow_label=9))
    assert check_encap(good, ul, tun, inner) == 51000
    ipoff = 14
    udpoff = 14 + (20 if fam == "v4" else 40)
    mutations = {
        "dst mac": (0, 0x01),
        "ttl/hlim": (ipoff + (8 if fam == "v4" else 7), 0x01),
        "ip checksum or payload length": (ipoff + (10 if fam == "v4" else 5), 0x01),
        "udp dport": (udpoff + 3, 0x01),
        "udp checksum": (udpoff + 7, 0x01),
        "vxlan flags": (udpoff + 8, 0x04),
        "vxlan reserved": (udpoff + 9, 0x01),
        "vni": (udpoff + 14, 0x01),
        "inner": (len(good) - 1, 0x01),
    }
    for what, (off, bit) in mutations.items():
        b = bytearray(good)
        b[off] ^= bit
        with pytest.raises(AssertionError):
            check_encap(bytes(b), ul, tun, inner)
            pytest.fail(f"check_encap accepted a bad {what}")
    low = bytes(expected_encap(ul, tun, inner, sport=1000))
    with pytest.raises(AssertionError, match="outside"):
        check_encap(low, ul, tun, inner)
    # tos inherit / ttl inherit / df clear are honoured by the expectation
    t2 = Tunnel(tos="inherit", ttl="inherit", df="clear")
    rng = __import__("random").Random(1)
    inn = harness.make_inner_frame(1, "udp4", 10, rng, tos=0xB8, ttl=9, df=True)
    p = Ether(bytes(expected_encap(ul, t2, inn, sport=50000)))
    if fam == "v4":
        assert (p[IP].tos, p[IP].ttl, int(p[IP].flags)) == (0xB8, 9, 0)
    else:
        assert (p[IPv6].tc, p[IPv6].hlim) == (0xB8, 9)


@pytest.mark.parametrize("fam", ["v4", "v6"])
@pytest.mark.parametrize("tun", [Tunnel(), Tunnel(dstport=8472, udp_csum="on",
                                                  vni=0xABCDEF)],
                         ids=["default", "options"])
def test_generated_traffic_is_tshark_clean(tmp_path, fam, tun):
    """Our inner frames, encap expectations and decap inputs dissect cleanly,
    so any tshark complaint about tundra's output is tundra's."""
    ul = UNDERLAYS[fam]
    inner = make_inner_frames(60, seed=9)
    enc = [expected_encap(ul, tun, f, sport=49152 + i)
           for i, f in enumerate(inner)]
    dec = [tunnel_packet(ul, tun, f) for f in inner]
    for name, frames in (("inner", inner), ("enc", enc), ("dec", dec),
                         ("vlan", [add_vlan(f, 9) for f in inner])):
        path = write_pcap(tmp_path / f"{name}.pcap", frames)
        assert tshark_problems(path, tun.decode_as()) == [], name
    rows = tshark_fields(tmp_path / "enc.pcap", ["vxlan.vni", "vxlan.flags"],
                         decode_as=tun.decode_as())
    assert len(rows) == len(enc)
    assert all(r[0] == str(tun.vni) and int(r[1], 16) == 0x0800 for r in rows)


def test_all_generated_inner_frames_are_tshark_clean(tmp_path):
    """Every seed the tests use (and more), and the flow frames."""
    frames = [f for seed in range(1, 25) for f in make_inner_frames(48, seed=seed)]
    frames += [harness.flow_frame(fl, r, v6=v6, tcp=tcp) for fl in range(64)
               for r in range(3) for v6, tcp in ((False, False), (True, True),
                                                  (False, True))]
    enc = [expected_encap(UL4, Tunnel(), f, sport=49152 + i % 16000)
           for i, f in enumerate(frames)]
    assert tshark_problems(write_pcap(tmp_path / "all.pcap", enc)) == []


def test_tshark_flags_bad_frames(tmp_path):
    inner = make_inner_frames(1)[0]
    good = expected_encap(UL4, Tunnel(udp_csum="on"), inner, sport=50000)
    bad_ip = Ether(bytes(good))
    bad_ip[IP].chksum ^= 0x0101
    bad_udp = Ether(bytes(good))
    bad_udp[UDP].chksum ^= 0x0101
    v6_zero = Ether(bytes(expected_encap(UL6, Tunnel(), inner, sport=50000)))
    v6_zero[UDP].chksum = 0
    cut = bytes(good)[:40]
    path = write_pcap(tmp_path / "bad.pcap",
                      [good, bad_ip, bad_udp, v6_zero, cut])
    frames = {int(l.split("\t")[0]) for l in tshark_problems(path)}
    assert frames == {2, 3, 4, 5}


# Crafted drop inputs that are malformed on the wire: tshark must agree
# that each frame is broken (an independent check of the crafting).
TSHARK_FLAGGED = {"truncated-udp", "truncated-tunnel-header", "bad-ip-header",
                  "bad-ip-checksum", "bad-udp-checksum"}


@pytest.mark.parametrize("case,fam", cases_for("vxlan"),
                         ids=[f"{c.id}-{f}" for c, f in cases_for("vxlan")])
def test_drop_case_inputs(tmp_path, case, fam):
    ul, tun = UNDERLAYS[fam], Tunnel()
    frames = case.build(ul, tun)
    assert frames and all(isinstance(f, bytes) for f in frames)
    cfg = case.make_config(ul, tun)
    assert any(l.startswith("tunnel add") for l in cfg)
    if case.id in TSHARK_FLAGGED:
        path = write_pcap(tmp_path / "c.pcap", frames)
        flagged = {int(l.split("\t")[0]) for l in tshark_problems(path)}
        assert flagged == set(range(1, len(frames) + 1)), (
            f"tshark does not see frames {set(range(1, len(frames) + 1)) - flagged} "
            "as broken")


def test_valid_decap_inputs_parse_as_vxlan():
    for ul in (UL4, UL6):
        p = Ether(bytes(tunnel_packet(ul, Tunnel(), INNER[0])))
        assert p[UDP].dport == 4789 and VXLAN in p and p[VXLAN].vni == 100
        assert bytes(p[VXLAN].payload) == INNER[0]


def test_tshark_field_names_exist(tmp_path):
    """Every tshark field the tests use is known to this tshark."""
    from harness import ARP
    na = (Ether(src=UL6.port_mac, dst=UL6.peer_mac)
          / IPv6(src=UL6.local, dst=UL6.remote, hlim=255)
          / ICMPv6ND_NA(R=0, S=1, O=1, tgt=UL6.local)
          / ICMPv6NDOptDstLLAddr(lladdr=UL6.port_mac))
    path = write_pcap(tmp_path / "na.pcap", [na])
    rows = tshark_fields(path, ["icmpv6.type", "icmpv6.nd.na.flag.s",
                                "icmpv6.opt.linkaddr",
                                "icmpv6.checksum.status"])
    assert rows[0][0] == "136" and rows[0][2] == UL6.port_mac
    assert rows[0][1] in ("1", "True") and rows[0][3] in ("1", "Good"), rows
    arp = Ether(src=UL4.port_mac, dst=UL4.peer_mac) / ARP(
        op=2, hwsrc=UL4.port_mac, psrc=UL4.local, hwdst=UL4.peer_mac,
        pdst=UL4.remote)
    path = write_pcap(tmp_path / "arp.pcap", [arp])
    assert tshark_fields(path, ["arp.opcode", "arp.src.proto_ipv4",
                                "arp.src.hw_mac"]) == [["2", UL4.local,
                                                        UL4.port_mac]]
    enc = expected_encap(UL4, Tunnel(), INNER[0], sport=50000)
    path = write_pcap(tmp_path / "enc.pcap", [enc])
    r = tshark_fields(path, ["vxlan.vni", "vxlan.flags", "udp.dstport",
                             "ip.src", "ip.dst"])[0]
    assert r == ["100", "0x0800", "4789", UL4.local, UL4.remote], r
    r = tshark_fields(path, ["eth.type"], occurrence="a")[0]
    assert r[0].split(",") == ["0x0800", "0x0800"], r


def test_hung_binary_is_killed_and_fails(monkeypatch, tmp_path):
    fake = tmp_path / "fake-tundra"
    fake.write_text("#!/bin/sh\nexec sleep 30\n")
    fake.chmod(0o755)
    monkeypatch.setenv("TUNDRA_BIN", str(fake))
    monkeypatch.setattr(harness, "RUN_TIMEOUT_S", 1)
    with pytest.raises(pytest.fail.Exception, match="did not finish"):
        harness.Tundra(tmp_path).run(["quit"])


def test_failing_binary_fails_clearly(monkeypatch, tmp_path):
    fake = tmp_path / "fake-tundra"
    fake.write_text("#!/bin/sh\necho 'error: boom' >&2\nexit 3\n")
    fake.chmod(0o755)
    monkeypatch.setenv("TUNDRA_BIN", str(fake))
    with pytest.raises(AssertionError, match="exited 3"):
        harness.Tundra(tmp_path).run(["quit"])


# -- milestone 2: GENEVE / GRE / ECN builders ------------------------------

def test_m2_builders_tshark_clean_and_strict(tmp_path):
    """The GENEVE/GRE expectations and crafted inputs dissect cleanly (GRE
    checksum good), and check_encap rejects a wrong seq, key, flag or ECN."""
    from harness import (RACC, HOST_MAC, eth_ip_payload, frame_with_ecn,
                         geneve_options_len, l3_packets, make_tunnel,
                         rfc6040_decap, routed_frames)
    inner = make_inner_frames(12, seed=5)
    routed = routed_frames(8, seed=6)
    tuns = [make_tunnel("geneve", options=((0x0102, 0x80, b"abcd"),
                                           (0x0103, 0x01, bytes(120)))),
            make_tunnel("gretap", key=7, seq="on", csum="on"),
            make_tunnel("gre", key=8, csum="on")]
    frames = []
    for ul in (UL4, UL6):
        for t in tuns:
            src = routed if t.l3 else inner
            for k, f in enumerate(src):
                frames.append(expected_encap(ul, t, f, sport=50000 + k,
                                             seq=k if t.seq else None))
        for p in l3_packets(4):
            frames.append(tunnel_packet(ul, tuns[2], p))
    path = write_pcap(tmp_path / "m2.pcap", frames)
    assert tshark_problems(path) == []
    rows = tshark_fields(path, ["gre.checksum.status"], display_filter="gre.flags.checksum == 1")
    assert rows and all(r[0] in ("1", "Good") for r in rows), rows
    assert geneve_options_len(tuns[0].options) == 4 + 4 + 4 + 120
    # strictness
    t = tuns[1]
    good = bytes(expected_encap(UL4, t, inner[0], sport=None, seq=3))
    assert check_encap(good, UL4, t, inner[0], seq=3) is None
    with pytest.raises(AssertionError):
        check_encap(good, UL4, t, inner[0], seq=4)
    for off in (14 + 20, 14 + 20 + 8 + 3):       # flags byte, key
        b = bytearray(good)
        b[off] ^= 0x01
        with pytest.raises(AssertionError):
            check_encap(bytes(b), UL4, t, inner[0], seq=3)
    ecn_inner = frame_with_ecn(routed[0], 2)
    ip = eth_ip_payload(ecn_inner)
    q = IP(ip)
    del q.chksum
    assert ip[1] & 3 == 2 and bytes(q) == ip, "frame_with_ecn: IPv4 checksum"
    t2 = make_tunnel("gre", tos=0x2B)
    p = Ether(bytes(expected_encap(UL4, t2, ecn_inner, sport=None)))
    assert p[IP].tos == 0x28 | 2, hex(p[IP].tos)
    assert [rfc6040_decap(o, i) for o in range(4) for i in range(4)] == [
        0, 1, 2, 3,          # outer Not-ECT: unchanged
        0, 1, 1, 3,          # outer ECT(1): ECT(0) -> ECT(1)
        0, 1, 2, 3,          # outer ECT(0): unchanged
        None, 3, 3, 3]       # outer CE: Not-ECT dropped, ECT -> CE
    assert RACC.mac != HOST_MAC
