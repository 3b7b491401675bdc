"""ESP on a segment's remote VTEPs (`segment <name> remote <ip> protect out <sa> in <sa>`),
judged by scapy's SecurityAssociation: known unicast and every flooded copy to the
protected remote leave as ESP that decrypts to exactly the segment's encapsulation for
that remote, while the other remotes' copies stay in clear and intact (a flooded copy
shares the original's bytes: encrypting it must not garble the others). From the
protected remote only its SA's ESP is accepted; its SA from another remote's address,
or clear frames from it, are refused (esp-required)."""
import os

import pytest
from scapy.layers.inet import IP
from scapy.layers.inet6 import IPv6
from scapy.layers.ipsec import ESP
from scapy.layers.l2 import Ether

from harness import UNDERLAYS, UPLINK
from live import Live
from segment_util import (BCAST, NPORTS, P1, P2, REMOTES, Segment, assert_member_output,
                          assert_remote_output, base_config, fdb_port, fdb_remote, frame, mac,
                          outer_dst, remote_json, remote_packet, segment, segment_config)
from test_esp import (KEY_IN, KEY_OUT, SALT_IN, SALT_OUT, SPI_IN, SPI_OUT, assert_no_secret,
                      sa_json, scapy_sa)


def sa_lines(remote, seg="s1"):
    return [f"sa add out1 spi {SPI_OUT} aead aes-gcm-128 key {KEY_OUT} salt {SALT_OUT}",
            f"sa add in1 spi {SPI_IN} aead aes-gcm-256 key {KEY_IN} salt {SALT_IN}",
            f"segment {seg} remote {remote} protect out out1 in in1"]


@pytest.mark.parametrize("fam", ["v4", "v6"])
def test_segment_remote_protected(tundra, fam):
    ul = UNDERLAYS[fam]
    IPL = IP if fam == "v4" else IPv6
    (r0, _), (r1, r1_mac), (r2, _) = REMOTES[ul.family]
    neigh = dict(REMOTES[ul.family])
    seg = Segment("s1", "vxlan", vni=100)
    MA, MB, MR0, MR1 = mac(1), mac(2), mac(3), mac(4)
    cfg = [l for l in base_config(ul, REMOTES[ul.family]) if not l.startswith("#")] + \
        segment_config(ul, seg, [(P1, 0), (P2, 0)], [r0, r1, r2],
                       [fdb_port("s1", MA, P1), fdb_port("s1", MB, P2),
                        fdb_remote("s1", MR0, r0), fdb_remote("s1", MR1, r1)]) + sa_lines(r1)
    to_r1 = [frame(mac(0x10 + i), MR1, i, size=s) for i, s in enumerate((0, 200, 1000))]
    to_r0 = [frame(mac(0x20 + i), MR0, 10 + i) for i in range(2)]
    # Longer than kFloodCopyBytes (128): each copy shares the original's tail.
    bum = [frame(mac(0x30 + i), BCAST, 20 + i, size=s) for i, s in enumerate((64, 300, 1200))]
    sa_in = scapy_sa(SPI_IN, KEY_IN, SALT_IN)

    def esp(remote, inner):
        e = Ether(bytes(remote_packet(ul, seg, remote, inner, peer_mac=neigh[remote])))
        return bytes(Ether(src=e.src, dst=e.dst) / sa_in.encrypt(e[IPL]))

    from_r1 = [frame(mac(0x40), MA, 30 + i) for i in range(3)]
    clear_r1 = bytes(remote_packet(ul, seg, r1, frame(mac(0x41), MB, 40), peer_mac=r1_mac))
    spoofed = esp(r0, frame(mac(0x42), MB, 41))  # r1's SA, r0's address
    res = tundra.run(cfg, {P1: to_r1 + to_r0 + bum,
                           UPLINK: [esp(r1, f) for f in from_r1] + [clear_r1, spoofed]},
                     nports=NPORTS, show=["show segment json", "show sa json"])
    # Uplink: r1's frames are ESP, in order; decrypted they are the segment's packets.
    sa = scapy_sa(SPI_OUT, KEY_OUT, SALT_OUT)
    judged, n = [], 0
    for o in res.out(UPLINK):
        e = Ether(o)
        if outer_dst(o) != r1:
            assert ESP not in e, e.summary()
            judged.append(o)
            continue
        n += 1
        assert e[ESP].seq == n, e.summary()
        judged.append(bytes(Ether(src=e.src, dst=e.dst, type=e.type) / sa.decrypt(e[IPL])))
    assert n == len(to_r1) + len(bum)
    assert_remote_output(res, ul, seg, {r0: to_r0 + bum, r1: to_r1 + bum, r2: bum}, neigh,
                         frames=judged, what="protected r1")
    assert_member_output(res, P2, {0: bum}, what="flood")
    assert_member_output(res, P1, {0: from_r1}, what="decrypted")
    assert res.nonzero_drops() == {(UPLINK, "esp-required"): 2}
    s = segment(res, "s1")
    assert [remote_json(s, r)["esp_out"] for r in (r0, r1, r2)] == ["", "out1", ""]
    assert remote_json(s, r1)["decap_packets"] == len(from_r1)
    out1, in1 = sa_json(res, "out1"), sa_json(res, "in1")
    assert (out1["segment"], out1["remote"], out1["tunnel"], out1["packets"]) == \
        ("s1", r1, "", n)
    assert (in1["direction"], in1["packets"]) == ("in", len(from_r1) + 1)  # + the spoofed
    assert_no_secret(res)


def test_segment_protect_rules(tmp_path):
    t = Live("/tmp/tesps%d.sock" % os.getpid(), workdir=tmp_path,
             vdevs=["--vdev=net_null%d" % i for i in range(NPORTS)])
    ul = UNDERLAYS["v4"]
    (r0, _), (r1, _), _ = REMOTES[4]
    try:
        c = t.client()
        c.run(*[l for l in base_config(ul, REMOTES[4]) if not l.startswith("#")],
              *segment_config(ul, Segment("s1"), [(P1, 0)], [r0, r1]),
              *segment_config(ul, Segment("s2", vni=200), [(P2, 0)], [r0]),
              "segment s2 group 239.1.1.1", *sa_lines(r1),
              f"sa add o2 spi 0x5005 aead aes-gcm-128 key {KEY_OUT} salt {SALT_OUT}",
              f"sa add i2 spi 0x6006 aead aes-gcm-128 key {KEY_OUT} salt {SALT_OUT}")
        cases = [
            (f"segment s1 remote 192.0.2.9 protect out o2 in i2",
             "192.0.2.9 is not a configured remote of segment 's1' ('segment s1 remote "
             "192.0.2.9' first)"),
            (f"segment s9 remote {r0} protect out o2 in i2", "no segment 's9'"),
            (f"segment s2 remote {r0} protect out o2 in i2",
             "segment 's2' floods to group 239.1.1.1, in clear: ESP protects the remotes of a "
             "segment without a group"),
            (f"segment s1 remote {r0} protect out out1 in i2",
             f"SA 'out1' already protects segment 's1' remote {r1}"),
            ("sa del in1", f"SA 'in1' protects segment 's1' remote {r1}; change or remove that "
             "first"),
            (f"segment s1 no remote {r1}",
             f"remote {r1} of segment 's1' is protected by ESP; 'segment s1 remote {r1} no "
             "protect' first"),
            ("segment del s1", f"remote {r1} of segment 's1' is protected by ESP; 'segment s1 "
             f"remote {r1} no protect' first"),
            ("segment s1 group 239.1.1.2", f"remote {r1} of segment 's1' is protected by ESP, "
             "and BUM to a group would leave in clear"),
            (f"segment s1 remote {r0} no protect", f"remote {r0} of segment 's1' is not "
             "protected"),
            (f"tunnel s1 protect out o2 in i2", "no tunnel 's1'"),
        ]
        for line, message in cases:
            ok, _, msg = c.request(line)
            assert (ok, msg) == (False, message), line
        text = c.request("show segment s1")[1]
        assert f"{r1} (ESP out out1)" in text, text
        c.run(f"segment s1 remote {r1} no protect", "sa del in1", f"segment s1 no remote {r1}",
              "segment del s1")
        assert [s["name"] for s in c.show_json("sa")["sas"]] == ["i2", "o2", "out1"]
    finally:
        assert t.stop() == 0
    assert_no_secret(type("R", (), {"stdout": t.output(), "stderr": ""}))
