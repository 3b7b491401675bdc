"""Pipeline trace (`trace add`, `show trace`, `clear trace`; dataplane/trace.h): what
it records for packets sent, dropped at each stage and flooded, the port filter, the
per-worker records with two workers, that tracing changes nothing on the wire, and
that every drop reason the suites can provoke (27 of them) is traced by its name."""
import os
from collections import Counter

from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether
from scapy.layers.vxlan import VXLAN

import harness
from drop_cases import DROP_TUNNELS, base_config, batched_cases, separate_cases
from harness import (ACCESS, HOST4, HOST6, HOST_MAC, RACC, UNDERLAYS, UPLINK, UL4, IPv6,
                     Tunnel, make_inner_frames, make_tunnel, pad60, read_pcap, routed_config,
                     tunnel_config, tunnel_packet, write_pcap)
from live import Live

TUN = Tunnel("t1", vni=555)
CFG = [line for line in tunnel_config(UL4, [TUN]) if not line.startswith("#")]


def start(tmp_path, uplink_in=(), access_in=(), name="tr"):
    up = write_pcap(tmp_path / "up.pcap", list(uplink_in))
    acc = write_pcap(tmp_path / "acc.pcap", list(access_in))
    vdevs = ["--vdev=net_pcap0,rx_pcap=%s,tx_pcap=%s" % (up, tmp_path / "tx0.pcap"),
             "--vdev=net_pcap1,rx_pcap=%s,tx_pcap=%s" % (acc, tmp_path / "tx1.pcap")]
    return Live("/tmp/t%s%d.sock" % (name, os.getpid()), vdevs=vdevs, workdir=tmp_path)


def vxlan_in(vni, inner, src=None):
    return bytes(Ether(src=UL4.peer_mac, dst=UL4.port_mac) /
                 IP(src=src or UL4.remote, dst=UL4.local) / UDP(sport=50000, dport=4789) /
                 VXLAN(vni=vni) / inner)


def test_sent_packets_show_path_tunnel_and_every_copy(tmp_path):
    frames = make_inner_frames(5, seed=31)
    t = start(tmp_path, access_in=frames)
    try:
        c = t.client()
        c.run(*CFG)
        assert c.show_json("trace") == {"trace": []}
        c.run("trace add 3", "start", "wait idle 300")
        recs = c.show_json("trace")["trace"]
        text = c.run("show trace")
    finally:
        assert t.stop() == 0
    wire = read_pcap(tmp_path / "tx0.pcap")
    assert len(wire) == 5  # traced or not, every frame went out
    assert [r["seq"] for r in recs] == [0, 1, 2] and {r["worker"] for r in recs} == {0}
    for r, f, w in zip(recs, frames, wire):
        inner = Ether(f)
        assert (r["port"], r["queue"], r["length"], r["path"]) == (ACCESS, 0, len(f), "encap")
        assert r["input"].startswith("%s > %s" % (inner.src, inner.dst))
        if IP in inner:
            assert "ipv4 %s > %s" % (inner[IP].src, inner[IP].dst) in r["input"]
        assert (r["verdict"], r["tunnel"], r["tunnel_id"]) == ("sent", "t1", 1)
        assert r["stages"] == "parse > classify > encap > tx"
        assert r["outputs"] == 1 and len(r["sent"]) == 1
        out = r["sent"][0]
        o = Ether(w)
        assert (out["port"], out["queue"], out["length"]) == (UPLINK, 0, len(w))
        assert out["output"].startswith(
            "%s > %s ipv4 %s > %s ttl %d udp %d > 4789 vxlan vni 555 | %s > %s" % (
                o.src, o.dst, o[IP].src, o[IP].dst, o[IP].ttl, o[UDP].sport, inner.src,
                inner.dst)), out["output"]
    assert "worker 0 packet 0: port 1 queue 0, %d bytes, encap" % len(frames[0]) in text
    assert "  via:  tunnel t1\n" in text


def test_drops_name_their_reason_and_stage(tmp_path):
    inner = make_inner_frames(1, seed=32)[0]
    packets = [vxlan_in(555, inner),                      # decapsulated
               vxlan_in(556, inner),                      # unknown VNI: classify
               vxlan_in(555, inner, src="192.0.2.77"),    # another remote: check
               vxlan_in(555, inner)[:40]]                 # cut short: parse
    t = start(tmp_path, uplink_in=packets, name="trd")
    try:
        c = t.client()
        c.run(*CFG, "trace add 10 port 0", "start", "wait idle 300")
        recs = c.show_json("trace")["trace"]
        drops = c.show_json("port stats 0")["ports"][0]["drop_reasons"]
    finally:
        assert t.stop() == 0
    got = [(r["verdict"], r["drop_reason"], r["drop_stage"], r["tunnel"]) for r in recs]
    assert got == [("sent", "", "", "t1"),
                   ("dropped", "unknown-vni", "classify", ""),
                   ("dropped", "remote-mismatch", "check", "t1"),
                   ("dropped", "truncated", "parse", "")], got
    assert recs[1]["stages"] == "parse > classify (drop)"
    assert recs[2]["stages"] == "parse > classify > check (drop)"
    assert recs[3]["stages"] == "parse (drop)"
    # The trace agrees with the counters.
    assert (drops["unknown-vni"], drops["remote-mismatch"], drops["truncated"]) == (1, 1, 1)
    assert recs[0]["sent"][0]["port"] == ACCESS and recs[0]["sent"][0]["length"] == len(inner)


def test_port_filter_accumulate_and_clear(tmp_path):
    frames = make_inner_frames(4, seed=33)
    packets = [vxlan_in(555, f) for f in make_inner_frames(4, seed=34)]
    t = start(tmp_path, uplink_in=packets, access_in=frames, name="trf")
    try:
        c = t.client()
        c.run(*CFG, "trace add 2 port 1", "trace add 1 port 1")
        c.run("start", "wait idle 300")
        recs = c.show_json("trace")["trace"]
        assert len(recs) == 3 and {r["port"] for r in recs} == {ACCESS}
        ok, _, msg = c.request("trace add 1 port 9")
        assert not ok and "port 9" in msg
        c.run("clear trace")
        assert c.show_json("trace") == {"trace": []}
        assert c.run("show trace") == "no packets traced\n"
    finally:
        assert t.stop() == 0
    assert len(read_pcap(tmp_path / "tx0.pcap")) == 4 and len(read_pcap(tmp_path / "tx1.pcap")) == 4


def test_tracing_changes_nothing_on_the_wire(tmp_path, tundra):
    frames = make_inner_frames(40, seed=35)
    plain = tundra.run(CFG, {ACCESS: frames})
    traced = tundra.run(CFG + ["trace add 100"], {ACCESS: frames},
                        show=["show trace json"])
    assert traced.out(UPLINK) == plain.out(UPLINK)
    recs = [o for o in traced.json_objs if "trace" in o][-1]["trace"]
    assert len(recs) == 40 and all(r["verdict"] == "sent" for r in recs)
    harness.assert_tshark_clean(traced.out_files[UPLINK][0], decode_as=TUN.decode_as())


def test_two_workers_each_record_their_own(tundra):
    frames = make_inner_frames(20, seed=36)
    res = tundra.run(CFG + ["trace add 4"], {ACCESS: frames}, workers=2,
                     show=["show trace json"])
    recs = [o for o in res.json_objs if "trace" in o][-1]["trace"]
    by_worker = {w: [r["seq"] for r in recs if r["worker"] == w] for w in (0, 1)}
    assert by_worker == {0: [0, 1, 2, 3], 1: [0, 1, 2, 3]}, by_worker
    assert {(r["worker"], r["queue"]) for r in recs} == {(0, 0), (1, 1)}


def traced_drops(tundra, config, inputs):
    """Runs with every packet traced: each drop the counters saw is a trace record that
    names the same reason on the same port. Returns the reasons."""
    res = tundra.run(list(config) + ["trace add 10000"], inputs, show=["show trace json"])
    recs = next(o for o in res.json_objs if "trace" in o)["trace"]
    assert len(recs) == sum(len(f) for f in inputs.values()), "not every packet traced"
    traced = Counter((r["port"], r["drop_reason"]) for r in recs if r["verdict"] == "dropped")
    assert all(r["drop_reason"] == "" for r in recs if r["verdict"] != "dropped")
    assert traced == Counter(res.nonzero_drops()), (traced, res.nonzero_drops())
    return {reason for _, reason in traced}


def test_every_drop_reason_is_traced_by_name(tundra):
    """The drop suites' inputs (every protocol and underlay, every case), GRE sequence
    checks, RFC 6040's CE over Not-ECT and a port with no role, run with tracing on:
    each dropped packet's record names the reason its port counted."""
    seen = set()
    for proto, tun in DROP_TUNNELS.items():
        for fam in ("v4", "v6"):
            ul = UNDERLAYS[fam]
            frames = [f for c in batched_cases(proto, fam) for f in c.build(ul, tun)]
            seen |= traced_drops(tundra, base_config(ul, tun), {UPLINK: frames})
        # The cases with a config of their own: one per reason the batch lacks.
        for case, fam in separate_cases(proto):
            if case.reason not in seen:
                ul = UNDERLAYS[fam]
                seen |= traced_drops(tundra, case.make_config(ul, tun),
                                     {case.port: case.build(ul, tun)})
    seq = make_tunnel("gretap", seq="on", seq_check="drop", key=7)
    inner = make_inner_frames(3, seed=41)
    seen |= traced_drops(tundra, tunnel_config(UL4, [seq]), {UPLINK: [
        tunnel_packet(UL4, seq, f, seq=s) for f, s in zip(inner, (10, 10, 5))]})
    plain = Tunnel("t1", vni=555)
    ce = [tunnel_packet(UL4, plain, f, ip_kw={"tos": 0x03})
          for f in make_inner_frames(2, seed=42, kinds=("udp4",))]
    seen |= traced_drops(tundra, tunnel_config(UL4, [plain]), {UPLINK: ce})
    seen |= traced_drops(tundra, ["port config 0 role uplink"], {ACCESS: inner})
    # A routed access port: TTL 1 and 0, and destinations no route covers.
    gre = make_tunnel("gre", key=1)

    def routed(dst, ttl=64):
        ip = IPv6(src=HOST6, dst=dst, hlim=ttl) if ":" in dst else IP(src=HOST4, dst=dst, ttl=ttl)
        return pad60(bytes(Ether(src=HOST_MAC, dst=RACC.mac) / ip / UDP(sport=4, dport=5)))
    seen |= traced_drops(tundra, routed_config(UL4, [gre]), {ACCESS: [
        routed("10.2.9.9", ttl=1), routed("fd00:2::1", ttl=1), routed("10.2.9.9", ttl=0),
        routed("10.3.0.1"), routed("fd00:3::1")]})
    want = {"truncated", "not-for-us", "not-tunnel", "bad-ip-header", "bad-ip-checksum",
            "ip-fragment", "bad-udp-length", "bad-udp-checksum", "unknown-port", "bad-flags",
            "unknown-vni", "remote-mismatch", "no-attachment", "no-neighbor", "mtu-exceeded",
            "arp-ignored", "bad-version", "bad-payload-type", "bad-option",
            "unknown-critical-option", "bad-gre-checksum", "seq-out-of-order", "seq-duplicate",
            "ecn-not-ect", "no-role", "ttl-exceeded", "no-route"}
    assert want <= seen, sorted(want - seen)
