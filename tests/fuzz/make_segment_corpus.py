#!/usr/bin/env python3
"""Seed corpus for segment_fuzz (its input format and configuration are in
segment_fuzz.cc): frames into the segments from their members and from the remotes,
unicast and broadcast, ARP and neighbor discovery, from known and unknown VTEPs."""
import os
import sys

from scapy.layers.inet import IP, UDP
from scapy.layers.inet6 import ICMPv6ND_NA, ICMPv6ND_NS, ICMPv6NDOptSrcLLAddr, IPv6
from scapy.layers.l2 import ARP, GRE, Dot1Q, Ether
from scapy.layers.vxlan import VXLAN
from scapy.contrib.geneve import GENEVE
from scapy.packet import Raw

BCAST = "ff:ff:ff:ff:ff:ff"
HOSTS = ["02:00:00:00:0b:%02x" % i for i in range(1, 6)]


def inner(src, dst, vlan=None, size=40):
    e = Ether(src=src, dst=dst)
    if vlan:
        e = e / Dot1Q(vlan=vlan)
    return e / IP(src="10.9.0.5", dst="10.9.0.6") / UDP(sport=1, dport=2) / Raw(b"x" * size)


def outer(src_ip, payload_layer, inner_frame):
    return (Ether(src="02:00:00:00:00:02", dst="02:00:00:00:00:01") /
            IP(src=src_ip, dst="192.0.2.1") / payload_layer / inner_frame)


def record(frames, ctl):
    out = bytes([ctl])
    for f in frames:
        b = bytes(f)
        out += len(b).to_bytes(2, "big") + b
    return out


def main(directory):
    os.makedirs(directory, exist_ok=True)
    arp = Ether(src=HOSTS[0], dst=BCAST) / Dot1Q(vlan=10) / ARP(
        op=1, hwsrc=HOSTS[0], psrc="10.9.0.5", pdst="10.9.0.1")
    ns = (Ether(src=HOSTS[1], dst="33:33:ff:00:00:01") / Dot1Q(vlan=10) /
          IPv6(src="fd00::5", dst="ff02::1:ff00:1", hlim=255) / ICMPv6ND_NS(tgt="fd00::1") /
          ICMPv6NDOptSrcLLAddr(lladdr=HOSTS[1]))
    na = (Ether(src=HOSTS[2], dst=HOSTS[1]) / Dot1Q(vlan=10) /
          IPv6(src="fd00::6", dst="fd00::5", hlim=255) / ICMPv6ND_NA(tgt="fd00::6", S=1))
    seeds = {
        "member_unicast": record([inner(HOSTS[0], HOSTS[1], 10),
                                  inner(HOSTS[1], HOSTS[0], 20)], 0),
        "member_flood": record([inner(HOSTS[0], BCAST, 10, 300),
                                inner(HOSTS[2], BCAST, 30)], 0),
        "port2": record([inner(HOSTS[3], BCAST), inner(HOSTS[3], HOSTS[0])], 1),
        "arp_nd": record([arp, ns, na], 0),
        "vxlan": record([outer("192.0.2.2", UDP(sport=5000, dport=4789) / VXLAN(vni=100),
                               inner(HOSTS[4], BCAST)),
                         outer("192.0.2.9", UDP(sport=5000, dport=4789) / VXLAN(vni=100),
                               inner(HOSTS[4], HOSTS[0]))], 2),
        "geneve": record([outer("192.0.2.2", UDP(sport=5000, dport=6081) /
                                GENEVE(vni=200, proto=0x6558), inner(HOSTS[3], BCAST))], 2),
        "gretap": record([outer("192.0.2.3", GRE(key_present=1, key=7, seqnum_present=1, seqence_number=1,
                                                 proto=0x6558), inner(HOSTS[2], BCAST))], 2),
        "ageing": record([inner(HOSTS[0], BCAST, 10)], 0x08 | (3 << 4)),
    }
    for name, data in seeds.items():
        with open(os.path.join(directory, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main(sys.argv[1])
