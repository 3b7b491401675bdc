#!/usr/bin/python3
"""The segment cells of scripts/bench.sh: their traffic (pcap) and tundra's config.

  bench_segment.py pcap CELL OUT [--remotes R]
  bench_segment.py config CELL [--fdb F] [--remotes R] [--measure-ms MS] [--setup-only]

Cells (vxlan over IPv4, 64-byte inner frames, 256 flows, one worker), the segment
counterparts of the vxlan/v4 xconnect cells bench.sh measures beside them:

  ku-encap   known unicast from the member (access port 1) to the remote VTEP
             192.0.2.2: each frame's destination MAC has a static FDB entry there
  ku-decap   known unicast from the remote VTEP to the member: each inner
             destination MAC has a static FDB entry at port 1
  bum-encap  broadcast from the member, flooded to R remote VTEPs (192.0.2.2 ...):
             R copies per frame

FDB size: F static entries (`fdb add`) of which the 256 the traffic uses sit at
evenly spaced positions of the table (as the tunnel cells place their hot tunnels),
so F = 1M vs F = 1k measures what the table's size costs, not a different flow
count. The frames' source MACs (256 hosts) are learned in the first second, before
the measurement (ageing is on, 300 s: no refresh within the run).

The pcap is written directly (no scapy: the tunnel cells' tundra-gen writes theirs
the same way), with correct IPv4 header checksums; outer UDP checksum 0 (RFC 7348).
"""
import argparse
import struct
import sys

FLOWS = 256
LOCAL, REMOTE_BASE = "192.0.2.1", 2   # remotes 192.0.2.2, .3, ...
UPLINK_MAC, PEER_MAC = "02:00:00:00:00:01", "02:00:00:00:00:02"
ACCESS_MAC = "02:00:00:00:00:11"
VNI = 100


def mac_b(m):
    return bytes.fromhex(m.replace(":", ""))


def fdb_mac(i):
    """The i-th static FDB entry's MAC."""
    return "02:f0:%02x:%02x:%02x:%02x" % ((i >> 24) & 0xFF, (i >> 16) & 0xFF, (i >> 8) & 0xFF,
                                          i & 0xFF)


def host_mac(i):
    """The i-th sending host's MAC (learned)."""
    return "02:e0:00:00:%02x:%02x" % ((i >> 8) & 0xFF, i & 0xFF)


def hot_index(k, fdb):
    """The FDB entry flow k sends to: evenly spread over the table."""
    return k * (fdb // FLOWS) if fdb >= FLOWS else k % fdb


def ipv4_checksum(hdr):
    s = sum(struct.unpack("!10H", hdr))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def ipv4(src, dst, proto, payload, tos=0, ttl=64):
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, tos, 20 + len(payload), 0, 0x4000, ttl, proto, 0,
                      bytes(map(int, src.split("."))), bytes(map(int, dst.split("."))))
    c = ipv4_checksum(hdr)
    return hdr[:10] + struct.pack("!H", c) + hdr[12:] + payload


def udp(sport, dport, payload):
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


def inner_frame(dst_mac, src_mac, k, size=64):
    """A 64-byte (without FCS) tenant IPv4/UDP frame of flow k."""
    payload = bytes(size - 14 - 20 - 8)
    ip = ipv4("10.0.%d.%d" % (k >> 8, k & 0xFF), "10.1.0.1", 17, udp(1024 + k, 80, payload))
    return mac_b(dst_mac) + mac_b(src_mac) + b"\x08\x00" + ip


def vxlan_packet(remote, inner, k):
    vx = struct.pack("!II", 0x08000000, VNI << 8) + inner
    ip = ipv4(remote, LOCAL, 17, udp(49152 + k, 4789, vx))
    return mac_b(UPLINK_MAC) + mac_b(PEER_MAC) + b"\x08\x00" + ip


def frames(cell, fdb):
    out = []
    for k in range(FLOWS):
        if cell == "ku-encap":
            out.append(inner_frame(fdb_mac(hot_index(k, fdb)), host_mac(k), k))
        elif cell == "ku-decap":
            out.append(vxlan_packet("192.0.2.%d" % REMOTE_BASE,
                                    inner_frame(fdb_mac(hot_index(k, fdb)), host_mac(k), k), k))
        else:
            out.append(inner_frame("ff:ff:ff:ff:ff:ff", host_mac(k), k))
    return out


def write_pcap(path, pkts):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i, p in enumerate(pkts):
            f.write(struct.pack("<IIII", i // 1000000, i % 1000000, len(p), len(p)))
            f.write(p)


def config(cell, fdb, remotes, measure_ms, out, setup_only=False):
    w = out.write
    w("port config 0 role uplink\n")
    w(f"port config 0 address {LOCAL}/24\n")
    w(f"port config 0 mac {UPLINK_MAC}\n")
    w("port config 0 mtu 9000\n")
    w("port config 1 role access\n")
    w(f"port config 1 mac {ACCESS_MAC}\n")
    w(f"segment add s type vxlan local {LOCAL} vni {VNI}\n")
    w("segment s member port 1\n")
    for r in range(remotes):
        ip = "192.0.2.%d" % (REMOTE_BASE + r)
        w(f"neigh add {ip} 02:00:00:00:01:{r:02x} port 0\n")
        w(f"segment s remote {ip}\n")
    if cell != "bum-encap":
        where = "remote 192.0.2.%d" % REMOTE_BASE if cell == "ku-encap" else "port 1"
        for i in range(fdb):
            w(f"fdb add s {fdb_mac(i)} {where}\n")
    if setup_only:
        return
    w("start\n")
    w("sleep 1000\n")   # the hosts' MACs are learned before the measurement
    w("clear stats\n")
    w(f"sleep {measure_ms}\n")
    w("show fwd stats json\n")
    w("show port stats all json\n")
    w("show segment s json\n")
    w("quit\n")


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("pcap")
    c = sub.add_parser("config")
    for s in (p, c):
        s.add_argument("cell", choices=["ku-encap", "ku-decap", "bum-encap"])
        s.add_argument("--fdb", type=int, default=1000)
        s.add_argument("--remotes", type=int, default=1)
    p.add_argument("out")
    c.add_argument("--measure-ms", type=int, default=3000)
    c.add_argument("--setup-only", action="store_true", help="stop before `start`")
    a = ap.parse_args()
    if a.cmd == "pcap":
        write_pcap(a.out, frames(a.cell, a.fdb))
    else:
        config(a.cell, a.fdb, a.remotes, a.measure_ms, sys.stdout, a.setup_only)


if __name__ == "__main__":
    main()
