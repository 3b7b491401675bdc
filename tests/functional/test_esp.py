"""ESP on tunnels (`tunnel <name> protect out <sa> in <sa>`, RFC 4303 transport mode
over the outer IP header, AES-GCM per RFC 4106), judged by an independent ESP
implementation: scapy's SecurityAssociation on python-cryptography decrypts what tundra
sends and encrypts what it receives. Every way a packet can be refused is counted
under its reason, nothing refused is delivered, and no key appears in any output."""
import pytest
from scapy.layers.inet import IP
from scapy.layers.inet6 import IPv6
from scapy.layers.ipsec import ESP, SecurityAssociation
from scapy.layers.l2 import Ether

import harness
from harness import (ACCESS, UNDERLAYS, UPLINK, Tunnel, assert_frames_equal, check_encap,
                     make_inner_frames, make_tunnel, tunnel_config, tunnel_packet)

KEY_OUT = "3a1f0c77e2d94b8a5c66f01d92ab3e4f"
KEY_IN = "0f1e2d3c4b5a69788796a5b4c3d2e1f0" * 2  # aes-gcm-256
SALT_OUT, SALT_IN = "c0ffee42", "5a17ab1e"
SPI_OUT, SPI_IN = 0x1001, 0x2002
SECRETS = (KEY_OUT, KEY_IN, SALT_OUT, SALT_IN)
harness.SA_SECRETS.update(SECRETS)


def sa_lines(tunnel="t1", extra_in=""):
    return [f"sa add out1 spi {SPI_OUT} aead aes-gcm-128 key {KEY_OUT} salt {SALT_OUT}",
            f"sa add in1 spi {SPI_IN} aead aes-gcm-256 key {KEY_IN} salt {SALT_IN}{extra_in}",
            f"tunnel {tunnel} protect out out1 in in1"]


def scapy_sa(spi, key, salt, seq=1):
    return SecurityAssociation(ESP, spi=spi, crypt_algo="AES-GCM",
                               crypt_key=bytes.fromhex(key + salt), seq_num=seq)


def ip_layer(frame):
    e = Ether(frame)
    return e.payload


def assert_no_secret(res):
    text = (res.stdout + res.stderr).lower()
    for s in SECRETS:
        for i in range(0, len(s) - 7, 4):
            assert s[i:i + 8] not in text, "key material in tundra's output"


def protected_config(ul, tun, **kw):
    return [l for l in tunnel_config(ul, [tun]) if not l.startswith("#")] + sa_lines(**kw)


def sa_json(res, name):
    return next(s for o in res.json_objs if "sas" in o for s in o["sas"] if s["name"] == name)


@pytest.mark.parametrize("fam", ["v4", "v6"])
@pytest.mark.parametrize("typ", ["vxlan", "geneve", "gretap"])
def test_encap_is_esp_that_scapy_decrypts_to_the_plain_tunnel_packet(tundra, fam, typ):
    ul = UNDERLAYS[fam]
    tun = make_tunnel(typ, name="t1", **({"key": 7} if typ == "gretap" else {}))
    inner = make_inner_frames(12, seed=91)
    res = tundra.run(protected_config(ul, tun), {ACCESS: inner}, show=["show sa json"])
    out = res.out(UPLINK)
    assert len(out) == len(inner), res.nonzero_drops()
    sa = scapy_sa(SPI_OUT, KEY_OUT, SALT_OUT)
    for n, (o, f) in enumerate(zip(out, inner)):
        e = Ether(o)
        ip = e.payload
        assert (ip.proto if fam == "v4" else ip.nh) == 50, e.summary()
        esp = ip[ESP]
        assert (esp.spi, esp.seq) == (SPI_OUT, n + 1)
        plain = sa.decrypt(ip)  # raises on a bad ICV
        check_encap(bytes(Ether(src=e.src, dst=e.dst, type=e.type) / plain), ul, tun, f)
    st = sa_json(res, "out1")
    assert (st["tunnel"], st["direction"], st["packets"]) == ("t1", "out", len(inner))
    assert_no_secret(res)


@pytest.mark.parametrize("fam", ["v4", "v6"])
def test_decap_takes_only_authentic_new_esp_of_its_sa(tundra, fam):
    ul = UNDERLAYS[fam]
    tun = Tunnel("t1")
    inner = make_inner_frames(10, seed=92)
    sa = scapy_sa(SPI_IN, KEY_IN, SALT_IN)
    IPL = IP if fam == "v4" else IPv6

    def esp(frame, spi=SPI_IN, key=KEY_IN):
        e = Ether(bytes(tunnel_packet(ul, tun, frame)))
        s = sa if (spi, key) == (SPI_IN, KEY_IN) else scapy_sa(spi, key, SALT_IN, seq=1)
        return bytes(Ether(src=e.src, dst=e.dst) / s.encrypt(e[IPL]))

    good = [esp(f) for f in inner[:6]]
    tampered = bytearray(esp(inner[6]))
    tampered[-20] ^= 0x40
    wrong_key = esp(inner[7], key="11" * 32)
    unknown = esp(inner[8], spi=0x7777)
    cleartext = bytes(tunnel_packet(ul, tun, inner[9]))
    short = good[0][:len(good[0]) - len(bytes(inner[0])) - 40]
    frames = good + [good[2], bytes(tampered), wrong_key, unknown, cleartext, short]
    res = tundra.run(protected_config(ul, tun), {UPLINK: frames}, show=["show sa json"])
    assert_frames_equal(res.out(ACCESS), inner[:6], what="decrypted and decapsulated")
    assert res.nonzero_drops() == {(UPLINK, "esp-replay"): 1, (UPLINK, "esp-auth-failed"): 2,
                                   (UPLINK, "esp-unknown-spi"): 1, (UPLINK, "esp-required"): 1,
                                   (UPLINK, "esp-malformed"): 1}
    st = sa_json(res, "in1")
    assert (st["packets"], st["replay"], st["auth_failed"], st["malformed"]) == (6, 1, 2, 1)
    assert_no_secret(res)


def test_two_inbound_sas_at_once_and_the_lifetime(tundra):
    """A rekey's overlap: the tunnel accepts ESP of both inbound SAs, interleaved. And an
    SA with `lifetime packets 4` takes exactly 4, then refuses (esp-expired)."""
    ul = UNDERLAYS["v4"]
    tun = Tunnel("t1")
    inner = make_inner_frames(12, seed=93)
    old, new = scapy_sa(SPI_IN, KEY_IN, SALT_IN), scapy_sa(0x3003, KEY_OUT, SALT_OUT)

    def esp(sa, frame):
        e = Ether(bytes(tunnel_packet(ul, tun, frame)))
        return bytes(Ether(src=e.src, dst=e.dst) / sa.encrypt(e[IP]))

    frames = [esp(old if i % 2 else new, f) for i, f in enumerate(inner[:8])]
    cfg = protected_config(ul, tun) + [
        f"sa add in2 spi {0x3003} aead aes-gcm-128 key {KEY_OUT} salt {SALT_OUT} "
        "lifetime packets 4",
        "tunnel t1 protect out out1 in in1 in in2"]
    res = tundra.run(cfg, {UPLINK: frames + [esp(new, f) for f in inner[8:]]},
                     show=["show sa json"])
    # in2 (the even ones, then 4 more): its first 4 pass, the rest expire.
    assert_frames_equal(res.out(ACCESS), [f for i, f in enumerate(inner[:8])
                                          if i % 2 or i // 2 < 4], what="both SAs")
    assert res.nonzero_drops() == {(UPLINK, "esp-expired"): 4}
    st = sa_json(res, "in2")
    assert (st["packets"], st["expired"], st["expired_drops"]) == (4, True, 4)
    assert "SA in2 (spi 12291, in of tunnel t1) reached its lifetime after 4 packets" in \
        res.stdout + res.stderr
    assert_no_secret(res)


def _wait(pred, what, timeout=30):
    import time
    end = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < end, "timed out waiting for " + what
        time.sleep(0.05)


def test_outbound_rekey_under_traffic_loses_nothing(tmp_path):
    """`protect out out2 ...` while frames stream in without end: every packet leaves
    as ESP, first under out1 then under out2 (never back), each SA's sequence numbers
    1, 2, 3... without a gap, every one decrypts, and nothing is dropped."""
    import os
    from harness import read_pcap, write_pcap
    from live import Live
    ul = UNDERLAYS["v4"]
    tun = Tunnel("t1")
    frames = make_inner_frames(16, seed=94)
    vdevs = ["--vdev=net_pcap0,rx_pcap=%s,tx_pcap=%s" % (write_pcap(tmp_path / "e.pcap", []),
                                                         tmp_path / "out.pcap"),
             "--vdev=net_pcap1,rx_pcap=%s,infinite_rx=1" % write_pcap(tmp_path / "in.pcap",
                                                                      frames)]
    t = Live("/tmp/tesp%d.sock" % os.getpid(), vdevs=vdevs, workdir=tmp_path)
    try:
        c = t.client()
        c.run(*protected_config(ul, tun),
              "sa add out2 spi 0x4004 aead aes-gcm-128 key %s salt %s" % (KEY_IN[:32], SALT_IN),
              "start")
        sent = lambda name: c.show_json("sa %s" % name)["sas"][0]["packets"]  # noqa: E731
        _wait(lambda: sent("out1") >= 2000, "traffic under out1")
        c.run("tunnel t1 protect out out2 in in1")
        _wait(lambda: sent("out2") >= 2000, "traffic under out2")
        c.run("stop")
        ports = c.show_json("port stats all")["ports"]
        pools = c.show_json("mempool")["mempools"]
        counts = (sent("out1"), sent("out2"))
        c.request("quit")
        assert t.proc.wait(timeout=30) == 0
    finally:
        t.stop()
    assert [p["drops"] for p in ports] == [0, 0], ports
    # Every mbuf came back but the 16 that net_pcap's infinite_rx holds to replay.
    assert {p["name"]: p["in_use"] for p in pools} == \
        {"tundra_mbufs": len(frames), "tundra_indirect": 0}, pools
    assert ports[UPLINK]["tx_packets"] == ports[ACCESS]["rx_packets"] == sum(counts)
    out = read_pcap(tmp_path / "out.pcap")
    assert len(out) == sum(counts)
    spis = [Ether(o)[ESP].spi for o in out]
    switch = spis.index(0x4004)
    assert spis[:switch] == [SPI_OUT] * counts[0] and spis[switch:] == [0x4004] * counts[1]
    seqs = [Ether(o)[ESP].seq for o in out]
    assert seqs == list(range(1, counts[0] + 1)) + list(range(1, counts[1] + 1))
    keys = {SPI_OUT: (KEY_OUT, SALT_OUT), 0x4004: (KEY_IN[:32], SALT_IN)}
    for k in (0, switch - 1, switch, len(out) - 1):  # around the switch, both ends
        e = Ether(out[k])
        spi = e[ESP].spi
        sa = scapy_sa(spi, *keys[spi], seq=e[ESP].seq)
        plain = sa.decrypt(e[IP])
        # One rx queue replays the frames in order and nothing was dropped: packet k
        # carries frame k mod 16.
        check_encap(bytes(Ether(src=e.src, dst=e.dst, type=e.type) / plain), ul, tun,
                    frames[k % len(frames)])


def test_protect_rules_are_refused_whole(tmp_path):
    import os
    from live import Live
    t = Live("/tmp/tespr%d.sock" % os.getpid(), workdir=tmp_path)
    try:
        c = t.client()
        ul = UNDERLAYS["v4"]
        c.run(*[l for l in tunnel_config(ul, [Tunnel("t1"), Tunnel("t2", vni=5)])
                if not l.startswith("#")], *sa_lines())
        cases = [
            ("tunnel t9 protect out out1 in in1", "no tunnel 't9'"),
            ("tunnel t2 protect out nosa in in1", "no SA 'nosa'"),
            ("tunnel t2 protect out out1 in out1",
             "an SA serves one direction of one tunnel: name different SAs for out and in"),
            ("tunnel t2 protect out out1 in in1", "SA 'out1' already protects tunnel 't1'"),
            ("sa del out1", "SA 'out1' protects tunnel 't1'; change or remove that first"),
            ("tunnel del t1", "tunnel 't1' is protected by ESP; 'tunnel t1 no protect' first"),
            ("tunnel t2 no protect", "tunnel 't2' is not protected"),
        ]
        c.run("xconnect del 1")  # so that only the protection holds t1
        for line, message in cases:
            ok, _, msg = c.request(line)
            assert (ok, msg) == (False, message), line
        # Unbound, an SA keeps its direction: out1 cannot become an inbound SA.
        c.run("tunnel t1 no protect")
        ok, _, msg = c.request("tunnel t2 protect out in1 in out1")
        assert not ok and "SA 'in1' was used inbound over IPv4" in msg, msg
        c.run("sa del out1", "sa del in1", "tunnel del t1")
        assert c.show_json("sa")["sas"] == []
    finally:
        assert t.stop() == 0


# Published ESP packets (draft-mcgrew-gcm-test-01 §4, the AES-GCM cases also used by
# DPDK's own ipsec tests): the outer IPv4 header, ESP header, IV, ciphertext and ICV as
# printed there, with the key and salt they were made with. They are tunnel-mode packets
# (next header 4), which tundra's transport-mode SA authenticates and decrypts and then
# refuses as "not a tunnel packet": the ICV only verifies if tundra forms the GCM nonce
# (salt | IV) and AAD (SPI | sequence) exactly as RFC 4106 says.
GCM_VECTORS = [
    ("aes-gcm-128", "feffe9928665731c6d6a8f9467308308", "cafebabe", 0xa5f8,
     "45000074698f000080324d75c0a80102c0a80101" "0000a5f800000001" "facedbaddecaf888"
     "deb22cd9b07c72c16e3a65beeb8df304a5a5897d33ae530f1ba76d5d114d2a5c3de81827c10e9a4f"
     "51330d0eec416642cfbb85a5b47e48a4ec3b9ba95d918bd429c737579ff19e58cffc607a3bce8994"),
    ("aes-gcm-256", "abbccddef00112233445566778899aab" * 2, "11223344", 0x4a2cbfe3,
     "45000068698f000080324d81c0a80102c0a80101" "4a2cbfe300000001" "0102030405060708"
     "ff425c9b724599df7a3bcd510194e00d6a78107f1b0b1cbf06efae9d65a5d763748a637985771d34"
     "7f0545659f14e99def842d8b00144a1fec6adf0c9a927feea6c51160"),
]
harness.SA_SECRETS.update(k for v in GCM_VECTORS for k in v[1:3])


def test_published_gcm_esp_vectors_authenticate_through_the_configured_sa(tundra):
    """Each vector authenticates under its SA (counted as a decrypted packet, then
    dropped as not-tunnel because its payload is IP-in-IP); the same packet again is a
    replay, and with one ciphertext or ICV bit flipped it fails authentication."""
    from harness import Underlay
    ul = Underlay(4, "192.168.1.1", "192.168.1.2", 24)
    tun = Tunnel("t1")
    cfg = [l for l in tunnel_config(ul, [tun]) if not l.startswith("#")] + [
        f"sa add out1 spi {SPI_OUT} aead aes-gcm-128 key {KEY_OUT} salt {SALT_OUT}"]
    frames = []
    for n, (aead, key, salt, spi, packet) in enumerate(GCM_VECTORS):
        cfg.append(f"sa add in{n} spi {spi} aead {aead} key {key} salt {salt}")
        eth = bytes(Ether(src=ul.peer_mac, dst=ul.port_mac, type=0x0800))
        frame = eth + bytes.fromhex(packet)
        flip_ct, flip_icv = bytearray(frame), bytearray(frame)
        flip_ct[14 + 36] ^= 0x01
        flip_icv[-1] ^= 0x80
        frames += [frame, frame, bytes(flip_ct), bytes(flip_icv)]
    cfg.append("tunnel t1 protect out out1 in in0 in in1")
    res = tundra.run(cfg, {UPLINK: frames}, show=["show sa json"])
    assert res.out(ACCESS) == []
    assert res.nonzero_drops() == {(UPLINK, "not-tunnel"): 2, (UPLINK, "esp-replay"): 2,
                                   (UPLINK, "esp-auth-failed"): 4}
    for n, (_, _, _, spi, packet) in enumerate(GCM_VECTORS):
        st = sa_json(res, f"in{n}")
        assert (st["spi"], st["packets"], st["replay"], st["auth_failed"]) == \
            (spi, 1, 1, 2), st
        assert st["bytes"] > 0
    text = (res.stdout + res.stderr).lower()
    for _, key, salt, _, _ in GCM_VECTORS:
        assert key[:16] not in text and key[-16:] not in text


@pytest.mark.parametrize("fam", ["v4", "v6"])
def test_routed_access_through_esp(tundra, fam):
    """A routed access port's L3 gre tunnel, protected: routed packets leave as ESP that
    scapy decrypts to the exact routed encapsulation; ESP from the remote network is
    decrypted, decapsulated and routed to the host; the path MTU seen by the host (ICMP
    frag-needed) leaves room for ESP's worst case (37 bytes: header, IV, padding,
    trailer, ICV), and a packet of exactly that size still fits the uplink."""
    from harness import (HOST_MAC, RACC, encap_ip_overhead, l3_packets, routed_config,
                         routed_frames, routed_out_frame)
    from test_mtu_icmp_frag import _ip4
    mtu = 1400
    ul = UNDERLAYS[fam]
    t = make_tunnel("gre", key=9)
    mtu_in = mtu - encap_ip_overhead(ul, t) - 37
    cfg = [l for l in routed_config(ul, [t], uplink_mtu=mtu) if not l.startswith("#")] + \
        sa_lines()
    routed = routed_frames(8, seed=95, sizes=(0, 64, 512, 1200))
    fits, over = _ip4(mtu_in, True, k=1), _ip4(mtu_in + 1, True, k=2)
    back = l3_packets(8)
    sa_in = scapy_sa(SPI_IN, KEY_IN, SALT_IN)
    IPL = IP if fam == "v4" else IPv6

    def esp(p):
        e = Ether(bytes(tunnel_packet(ul, t, p)))
        return bytes(Ether(src=e.src, dst=e.dst) / sa_in.encrypt(e[IPL]))

    res = tundra.run(cfg, {ACCESS: routed + [fits, over], UPLINK: [esp(p) for p in back]},
                     show=["show sa json"])
    out = res.out(UPLINK)
    assert len(out) == len(routed) + 1, res.nonzero_drops()
    sa = scapy_sa(SPI_OUT, KEY_OUT, SALT_OUT)
    for n, (o, f) in enumerate(zip(out, routed + [fits])):
        e = Ether(o)
        assert len(o) - 14 <= mtu and e[ESP].seq == n + 1
        plain = sa.decrypt(e[IPL])
        check_encap(bytes(Ether(src=e.src, dst=e.dst, type=e.type) / plain), ul, t, f)
    acc = res.out(ACCESS)
    icmp = [f for f in acc if Ether(f).haslayer("ICMP") and Ether(f)["ICMP"].type == 3]
    assert len(icmp) == 1 and Ether(icmp[0])["ICMP"].nexthopmtu == mtu_in, \
        [Ether(f).summary() for f in acc]
    assert (Ether(icmp[0]).src, Ether(icmp[0]).dst) == (RACC.mac, HOST_MAC)
    assert_frames_equal([f for f in acc if f not in icmp],
                        [routed_out_frame(p) for p in back], what="decrypted and routed")
    assert res.nonzero_drops() == {(ACCESS, "mtu-exceeded"): 1}
    assert (sa_json(res, "out1")["packets"], sa_json(res, "in1")["packets"]) == (9, 8)
    j = res.tunnel("t1")
    assert (j["inner_mtu"], j["overhead"]) == (mtu_in, 14 + encap_ip_overhead(ul, t) + 37), j
    assert_no_secret(res)
