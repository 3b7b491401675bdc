"""Segments at the sizes README states: head-end replication to 1000 remote VTEPs
of one segment (every copy checked by scapy, short and long frames, no mbuf
left behind), 16384 segments at once, the first and the last of them
carrying traffic both ways, and 1 000 000 FDB entries."""
import ipaddress
import os

from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Dot1Q, Ether
from scapy.layers.vxlan import VXLAN
from scapy.packet import Raw

import pytest

from harness import UPLINK

# Once, on the optimised build (table sizes: the unit tests cover the tables under the
# sanitizers).
pytestmark = pytest.mark.not_sanitized

ACCESS = 1
LOCAL = "10.0.0.1"
UPLINK_MAC = "02:00:00:00:00:01"
MEMBER_MAC = "02:00:00:00:aa:01"
BCAST = "ff:ff:ff:ff:ff:ff"


def remote_ip(k: int) -> str:
    return str(ipaddress.IPv4Address("10.0.16.0") + k)


def remote_mac(k: int) -> str:
    return "02:ee:00:%02x:%02x:%02x" % ((k >> 16) & 0xFF, (k >> 8) & 0xFF, k & 0xFF)


def base_config() -> list[str]:
    return ["port config 0 role uplink",
            f"port config 0 mac {UPLINK_MAC}",
            f"port config 0 address {LOCAL}/16",
            "port config 1 role access"]


def inner_frame(payload_len: int, tag: int) -> Ether:
    return (Ether(dst=BCAST, src=MEMBER_MAC) / IP(src="172.16.0.1", dst="172.16.0.2") /
            UDP(sport=1000 + tag, dport=2000) / Raw(bytes([tag]) * payload_len))


def ip_checksum_ok(pkt: Ether) -> bool:
    ip = pkt[IP].copy()
    ip.chksum = None
    return IP(bytes(ip)).chksum == pkt[IP].chksum


def test_flood_to_1000_remotes(tundra):
    n = 1000
    cfg = base_config() + [f"segment add big type vxlan local {LOCAL} vni 4242",
                           "segment big member port 1"]
    for k in range(n):
        cfg += [f"neigh add {remote_ip(k)} {remote_mac(k)} port 0",
                f"segment big remote {remote_ip(k)}"]
    # One frame copied whole per remote, one (over 128 bytes) sharing its tail.
    short, long_ = bytes(inner_frame(20, 1)), bytes(inner_frame(1200, 2))
    res = tundra.run(cfg, {ACCESS: [short, long_]}, show=["show segment big json"])
    out = [Ether(p) for p in res.out(UPLINK)]
    assert len(out) == 2 * n, len(out)
    for inner in (short, long_):
        copies = [c for c in out if bytes(c[VXLAN].payload) == inner]
        assert len(copies) == n, "%d copies of a %d-byte frame" % (len(copies), len(inner))
        assert sorted(ipaddress.IPv4Address(c[IP].dst) for c in copies) == \
            [ipaddress.IPv4Address(remote_ip(k)) for k in range(n)]
        for c in copies:
            k = int(ipaddress.IPv4Address(c[IP].dst)) - int(ipaddress.IPv4Address(remote_ip(0)))
            assert c[Ether].dst == remote_mac(k) and c[Ether].src == UPLINK_MAC
            assert c[IP].src == LOCAL and c[UDP].dport == 4789 and c[VXLAN].vni == 4242
            assert ip_checksum_ok(c), c[IP].dst
    seg = [o for o in res.json_objs if "segments" in o][-1]["segments"][0]
    assert (seg["flooded"], seg["replicated"], seg["drops"]) == (2, 2 * n, 0), seg
    assert res.out(ACCESS) == []  # never back to the member it came from


def test_16384_segments_at_once(tundra):
    n = 16384
    cfg = base_config() + [f"neigh add {remote_ip(0)} {remote_mac(0)} port 0"]
    cfg += [f"segment add s{v} type vxlan local {LOCAL} vni {v}" for v in range(1, n + 1)]
    ends = ((1, 10), (n, 20))  # (segment / VNI, member VLAN)
    for v, vlan in ends:
        cfg += [f"segment s{v} member port 1 vlan {vlan}", f"segment s{v} remote {remote_ip(0)}"]
    inner = {v: inner_frame(30, k) for k, (v, _) in enumerate(ends)}
    tagged = [bytes(Ether(dst=BCAST, src=MEMBER_MAC) / Dot1Q(vlan=vlan) / inner[v][IP])
              for v, vlan in ends]
    up = [bytes(Ether(dst=UPLINK_MAC, src=remote_mac(0)) / IP(src=remote_ip(0), dst=LOCAL) /
                UDP(sport=50000, dport=4789) / VXLAN(vni=v) / inner[v])
          for v, _ in ends]
    res = tundra.run(cfg, {ACCESS: tagged, UPLINK: up},
                     show=["show segment s1 json", f"show segment s{n} json"])
    assert sorted(Ether(p)[VXLAN].vni for p in res.out(UPLINK)) == [1, n]
    assert sorted(Ether(p)[Dot1Q].vlan for p in res.out(ACCESS)) == [10, 20]
    segs = [o["segments"][0] for o in res.json_objs if "segments" in o]
    assert sorted(s["name"] for s in segs) == ["s1", f"s{n}"]
    for s in segs:
        assert (s["rx_packets"], s["tx_packets"]) == (2, 2), s


def fdb_mac(i: int) -> str:
    return "02:f1:%02x:%02x:%02x:%02x" % ((i >> 24) & 0xFF, (i >> 16) & 0xFF, (i >> 8) & 0xFF,
                                          i & 0xFF)


def test_one_million_fdb_entries(tundra):
    """1 000 000 static FDB entries in one segment (the README's total, within
    --max_fdb_entries' default of 1 048 576): all accepted, and frames to 64 of
    them spread over the whole table each leave exactly where its entry says
    (the member port, or encapsulated to the one remote), judged by scapy."""
    # The sanitizer pass runs a debug build, ten times slower to load a config: a tenth
    # of the entries there (the same code paths), the whole million in the plain pass.
    n, hot = (100_000 if os.environ.get("ASAN_OPTIONS") else 1_000_000), 64
    remote = remote_ip(0)
    cfg = base_config() + [f"neigh add {remote} {remote_mac(0)} port 0",
                           f"segment add big type vxlan local {LOCAL} vni 4243",
                           "segment big member port 1", f"segment big remote {remote}"]
    # Even entries behind the remote, odd ones at the member (the traffic comes in
    # from the member, so those are hairpins: dropped and counted).
    cfg += [f"fdb add big {fdb_mac(i)} remote {remote}" if i % 2 == 0 else
            f"fdb add big {fdb_mac(i)} port 1" for i in range(n)]
    targets = [(i * (n // hot)) | (k & 1) for k, i in enumerate(range(hot))]
    frames = [bytes(Ether(dst=fdb_mac(i), src=MEMBER_MAC) / IP(src="172.16.0.1", dst="172.16.0.2")
                    / UDP(sport=1000 + k, dport=2000) / Raw(b"m" * 20))
              for k, i in enumerate(targets)]
    res = tundra.run(cfg, {ACCESS: frames}, show=["show segment big json"])
    seg = [o for o in res.json_objs if "segments" in o][-1]["segments"][0]
    # (+ the member's host once its learn event is applied)
    assert seg["static_macs"] == n and seg["macs"] in (n, n + 1), seg
    out = [Ether(p) for p in res.out(UPLINK)]
    want = [f for f, i in zip(frames, targets) if i % 2 == 0]
    assert sorted(bytes(p[VXLAN].payload) for p in out) == sorted(want), len(out)
    assert all(p[IP].dst == remote and p[VXLAN].vni == 4243 for p in out)
    assert seg["drop_reasons"]["hairpin"] == hot - len(want), seg["drop_reasons"]
