#!/usr/bin/python3
"""Writes the seed corpus of tests/fuzz/decap_fuzz into a directory.

Usage: /usr/bin/python3 tests/fuzz/make_corpus.py OUT_DIR

Each seed is one input in decap_fuzz's format (see the top of decap_fuzz.cc):
a control byte (bit 0: 0 = decap on uplink port 0, 1 = encap on an access port;
bits 1-2: burst split; bit 3: per-frame first-segment split byte; bits 4-5: rx
checksum offload flags; bit 6: encap from the routed access port 2), then frame
records [split byte if bit 3] [2-byte big-endian length] [frame].

The frames target the tunnels decap_fuzz configures (mirrored below): valid
VXLAN/GENEVE/GRE/gretap packets over IPv4 and IPv6 that reach the end of decap,
ARP and neighbor solicitations, one vector per drop reason, and access-side frames
(untagged, VLAN-tagged, routed IP) for encap. Seeds for tunnel types the dataplane
does not support yet are still written: they then exercise the drop paths.
"""

import os
import struct
import sys

from scapy.all import ARP, IP, UDP, TCP, Dot1Q, Ether, IPv6, Raw, raw  # noqa: E402
from scapy.layers.inet6 import ICMPv6ND_NS, ICMPv6NDOptSrcLLAddr  # noqa: E402

# ---- the configuration decap_fuzz.cc sets up ------------------------------------------
UPLINK_MAC = "02:00:00:00:00:01"
NEIGH_MAC = "02:00:00:00:00:02"
LOCAL4, REMOTE4, NONEIGH4 = "192.0.2.1", "192.0.2.2", "192.0.2.3"
LOCAL6, REMOTE6, NONEIGH6 = "2001:db8::1", "2001:db8::2", "2001:db8::3"
VXLAN_PORT, GENEVE_PORT = 4789, 6081
VNI_VX, VNI_VX_NOATTACH, VNI_VX_NONEIGH, VNI_VX_INHERIT = 100, 101, 102, 103
VNI_GENEVE = 200
GRE_KEY = 5
OPT_CLASS, OPT_TYPE, OPT_TYPE_KNOWN_CRIT = 0x0102, 0x01, 0x81
# VLANs on access port 1 and the tunnel each carries
VLAN_VX6, VLAN_VX_INHERIT, VLAN_GNV4, VLAN_GNV6, VLAN_GTAP4, VLAN_GTAP6, VLAN_NONEIGH = (
    10, 11, 20, 21, 30, 31, 40)
ROUTED_HOST4, ROUTED_HOST6 = "10.0.0.2", "fd00::2"      # hosts behind routed port 2
ROUTE4_DST, ROUTE6_DST = "10.1.2.3", "fd00:1::5"        # via gre4 / gre6
ROUTED_PORT_IP4 = "10.0.0.1"

DECAP, ENCAP, ROUTED = 0x00, 0x01, 0x41
SPLIT_ONE, SPLIT_HALVES, SPLIT_THREES = 0x02, 0x04, 0x06
SEG_BYTES = 0x08
OFL_GOOD, OFL_IP_BAD, OFL_L4_BAD = 0x10, 0x20, 0x30


# ---- inner frames --------------------------------------------------------------------
def inner4(payload=18, vlan=None, **ip):
    eth = Ether(dst="02:00:00:00:0a:02", src="02:00:00:00:0a:01")
    if vlan is not None:
        eth = eth / Dot1Q(vlan=vlan)
    return raw(eth / IP(src="10.0.0.1", dst="10.0.0.2", **ip) / UDP(sport=1000, dport=2000) /
               Raw(bytes(range(256)) * (payload // 256) + bytes(range(payload % 256))))


def inner6(payload=18, vlan=None):
    eth = Ether(dst="02:00:00:00:0a:02", src="02:00:00:00:0a:01")
    if vlan is not None:
        eth = eth / Dot1Q(vlan=vlan)
    return raw(eth / IPv6(src="fd00::a1", dst="fd00::a2") / TCP(sport=1000, dport=80) /
               Raw(bytes(payload)))


def inner_ip4(dst=ROUTED_HOST4, payload=18):
    return raw(IP(src="10.2.0.9", dst=dst, ttl=64) / UDP(sport=7, dport=9) / Raw(bytes(payload)))


def inner_ip6(dst=ROUTED_HOST6, payload=18):
    return raw(IPv6(src="fd00:2::9", dst=dst, hlim=64) / UDP(sport=7, dport=9) /
               Raw(bytes(payload)))


# ---- tunnel headers (written out by hand: every flag is under our control) --------------
def vxlan(vni, flags=0x08):
    return struct.pack("!B3xI", flags, vni << 8)


def geneve_opt(cls=OPT_CLASS, typ=OPT_TYPE, data=b"\x00\x00\x00\x01", length=None):
    words = len(data) // 4 if length is None else length
    return struct.pack("!HBB", cls, typ, words & 0x1F) + data


def geneve(vni, options=b"", version=0, proto=0x6558, flags=0, opt_len=None):
    words = len(options) // 4 if opt_len is None else opt_len
    return struct.pack("!BBHI", (version << 6) | (words & 0x3F), flags, proto, vni << 8) + options


def csum16(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def gre(payload, proto=0x6558, key=None, seq=None, csum=False, version=0, bad_csum=False,
        reserved=0):
    flags = (0x8000 if csum else 0) | (0x2000 if key is not None else 0) | \
        (0x1000 if seq is not None else 0) | reserved | version
    hdr = struct.pack("!HH", flags, proto)
    opt = b""
    if csum:
        opt += b"\0\0\0\0"
    if key is not None:
        opt += struct.pack("!I", key)
    if seq is not None:
        opt += struct.pack("!I", seq)
    pkt = bytearray(hdr + opt + payload)
    if csum:
        c = csum16(bytes(pkt))
        if bad_csum:
            c ^= 0x5555
        struct.pack_into("!H", pkt, 4, c)
    return bytes(pkt)


# ---- outer packets -------------------------------------------------------------------
def outer_eth(dst=UPLINK_MAC):
    return Ether(dst=dst, src=NEIGH_MAC)


def udp4(tunnel_hdr, inner, dport=VXLAN_PORT, src=REMOTE4, dst=LOCAL4, udp_csum=None, **ip):
    u = UDP(sport=54321, dport=dport) if udp_csum is None else \
        UDP(sport=54321, dport=dport, chksum=udp_csum)
    return raw(outer_eth() / IP(src=src, dst=dst, **ip) / u / Raw(tunnel_hdr + inner))


def udp6(tunnel_hdr, inner, dport=VXLAN_PORT, src=REMOTE6, dst=LOCAL6, udp_csum=None):
    u = UDP(sport=54321, dport=dport) if udp_csum is None else \
        UDP(sport=54321, dport=dport, chksum=udp_csum)
    return raw(outer_eth() / IPv6(src=src, dst=dst) / u / Raw(tunnel_hdr + inner))


def gre4(gre_bytes, src=REMOTE4, dst=LOCAL4):
    return raw(outer_eth() / IP(src=src, dst=dst, proto=47) / Raw(gre_bytes))


def gre6(gre_bytes, src=REMOTE6, dst=LOCAL6):
    return raw(outer_eth() / IPv6(src=src, dst=dst, nh=47) / Raw(gre_bytes))


def vx4(vni=VNI_VX, inner=None, **kw):
    return udp4(vxlan(vni), inner if inner is not None else inner4(), **kw)


def vx6(vni=VNI_VX, inner=None, **kw):
    return udp6(vxlan(vni), inner if inner is not None else inner4(), **kw)


def patch(frame, offset, value):
    b = bytearray(frame)
    b[offset:offset + len(value)] = value
    return bytes(b)


def fix_ip4_checksum(frame):
    b = bytearray(frame)
    b[24:26] = b"\0\0"
    struct.pack_into("!H", b, 24, csum16(bytes(b[14:34])))
    return bytes(b)


# ---- the input format ------------------------------------------------------------------
def encode(ctl, frames, splits=None):
    out = bytearray([ctl])
    for i, f in enumerate(frames):
        if ctl & SEG_BYTES:
            out.append(splits[i] if splits else 0)
        out += struct.pack("!H", min(len(f), 0xFFFF)) + f
    return bytes(out)


def seeds():
    s = {}
    opt = geneve_opt()
    opt_crit_known = geneve_opt(typ=OPT_TYPE_KNOWN_CRIT, data=b"\x00\x00\x00\x02")
    opt_crit_unknown = geneve_opt(typ=0x82, data=b"")

    # -- decap: packets that reach the end of decap ----------------------------------------
    valid = {
        "vxlan4": vx4(),
        "vxlan4_inner6": vx4(inner=inner6()),
        "vxlan4_inner_vlan": vx4(inner=inner4(vlan=7)),
        "vxlan4_udp_csum_zero": vx4(udp_csum=0),
        "vxlan4_inherit_vni": vx4(VNI_VX_INHERIT, inner=inner4(tos=0xb8, ttl=5)),
        "vxlan4_noneigh_remote": vx4(VNI_VX_NONEIGH, src=NONEIGH4),
        "vxlan4_ecn_ce": vx4(inner=inner4(tos=0x02), tos=0x03),
        "vxlan4_padded": vx4() + b"\0" * 20,
        "vxlan6": vx6(),
        "vxlan6_inner6": vx6(inner=inner6()),
        "geneve4": udp4(geneve(VNI_GENEVE, opt), inner4(), dport=GENEVE_PORT),
        "geneve4_noopt": udp4(geneve(VNI_GENEVE), inner4(), dport=GENEVE_PORT),
        "geneve4_known_critical": udp4(geneve(VNI_GENEVE, opt + opt_crit_known, flags=0x40),
                                       inner4(), dport=GENEVE_PORT),
        "geneve4_oam": udp4(geneve(VNI_GENEVE, opt, flags=0x80), inner4(), dport=GENEVE_PORT),
        "geneve6": udp6(geneve(VNI_GENEVE, opt), inner6(), dport=GENEVE_PORT),
        "gretap4": gre4(gre(inner4(), key=GRE_KEY, seq=1, csum=True)),
        "gretap4_seq2": gre4(gre(inner4(), key=GRE_KEY, seq=2, csum=True)),
        "gretap4_nocsum": gre4(gre(inner4(), key=GRE_KEY, seq=3)),
        "gretap6": gre6(gre(inner6(), key=GRE_KEY, seq=1, csum=True)),
        "gre4_ip4": gre4(gre(inner_ip4(), proto=0x0800)),
        "gre4_ip6": gre4(gre(inner_ip6(), proto=0x86DD)),
        "gre6_ip6": gre6(gre(inner_ip6(), proto=0x86DD)),
        "gre6_ip4": gre6(gre(inner_ip4(), proto=0x0800)),
        "gre4_ip4_ttl1": gre4(gre(raw(IP(src="10.2.0.9", dst=ROUTED_HOST4, ttl=1) / UDP()),
                                  proto=0x0800)),
        "gre4_ip4_noroute_host": gre4(gre(inner_ip4(dst="10.9.9.9"), proto=0x0800)),
    }
    for name, f in valid.items():
        s["decap_" + name] = encode(DECAP, [f])

    # ARP / ND on the uplink
    arp_req = raw(Ether(dst="ff:ff:ff:ff:ff:ff", src=NEIGH_MAC) /
                  ARP(op=1, hwsrc=NEIGH_MAC, psrc=REMOTE4, pdst=LOCAL4))
    s["decap_arp_request"] = encode(DECAP, [arp_req])
    s["decap_arp_ignored"] = encode(DECAP, [raw(Ether(dst="ff:ff:ff:ff:ff:ff", src=NEIGH_MAC) /
                                                ARP(op=1, psrc=REMOTE4, pdst="192.0.2.99"))])
    s["decap_arp_reply"] = encode(DECAP, [raw(Ether(dst=UPLINK_MAC, src=NEIGH_MAC) /
                                              ARP(op=2, psrc=REMOTE4, pdst=LOCAL4))])
    ns = raw(Ether(dst="33:33:ff:00:00:01", src=NEIGH_MAC) /
             IPv6(src=REMOTE6, dst="ff02::1:ff00:1", hlim=255) / ICMPv6ND_NS(tgt=LOCAL6) /
             ICMPv6NDOptSrcLLAddr(lladdr=NEIGH_MAC))
    s["decap_nd_solicit"] = encode(DECAP, [ns])
    s["decap_nd_solicit_unicast"] = encode(DECAP, [raw(
        Ether(dst=UPLINK_MAC, src=NEIGH_MAC) / IPv6(src=REMOTE6, dst=LOCAL6, hlim=255) /
        ICMPv6ND_NS(tgt=LOCAL6))])
    s["decap_nd_ignored"] = encode(DECAP, [raw(
        Ether(dst="33:33:ff:00:00:09", src=NEIGH_MAC) /
        IPv6(src=REMOTE6, dst="ff02::1:ff00:9", hlim=255) / ICMPv6ND_NS(tgt="2001:db8::9"))])

    # -- decap: one vector per drop reason ----------------------------------------------------
    v = vx4()
    drops = {
        "truncated_eth": v[:10],
        "truncated_ip": v[:30],
        "truncated_udp": v[:38],
        "truncated_vxlan": v[:46],
        "truncated_inner": v[:56],
        "truncated_total_len": v[:-5],
        "truncated_ip6": vx6()[:40],
        "truncated_geneve_opts": udp4(geneve(VNI_GENEVE, opt, opt_len=10), b"", dport=GENEVE_PORT),
        "truncated_gre_key": gre4(gre(b"", key=GRE_KEY, seq=1, csum=True))[:40],
        "not_for_us_mac": raw(outer_eth(dst="02:00:00:00:00:99") / IP(src=REMOTE4, dst=LOCAL4) /
                              UDP(dport=VXLAN_PORT) / Raw(vxlan(VNI_VX) + inner4())),
        "not_for_us_ip": vx4(dst="192.0.2.77"),
        "not_for_us_ethertype": patch(v, 12, b"\x88\xb5"),
        "not_tunnel_tcp": raw(outer_eth() / IP(src=REMOTE4, dst=LOCAL4) / TCP(dport=4789)),
        "not_tunnel_icmp6": raw(outer_eth() / IPv6(src=REMOTE6, dst=LOCAL6, nh=58) /
                                Raw(b"\x80\0\0\0\0\0\0\0")),
        "bad_ip_version": fix_ip4_checksum(patch(v, 14, b"\x55")),
        "bad_ip_ihl": fix_ip4_checksum(patch(v, 14, b"\x44")),
        "bad_ip_total_small": fix_ip4_checksum(patch(v, 16, b"\x00\x10")),
        "bad_ip6_version": patch(vx6(), 14, b"\x45"),
        "ip_options_valid": raw(outer_eth() / IP(src=REMOTE4, dst=LOCAL4, options=b"\x94\x04\0\0") /
                          UDP(dport=VXLAN_PORT) / Raw(vxlan(VNI_VX) + inner4())),
        "bad_ip_checksum": patch(v, 24, b"\x12\x34"),
        "ip_fragment_mf": vx4(flags="MF"),
        "ip_fragment_offset": vx4(frag=100),
        "ip6_fragment_header": raw(outer_eth() / IPv6(src=REMOTE6, dst=LOCAL6, nh=44) /
                                   Raw(b"\x11\0\0\x01\0\0\0\x01" + bytes(30))),
        "bad_udp_length": patch(v, 38, b"\x00\x09"),
        "bad_udp_checksum": patch(v, 40, b"\xde\xad"),
        "bad_udp_checksum6_zero": vx6(udp_csum=0),
        "bad_udp_checksum6": patch(vx6(), 60, b"\xde\xad"),
        "unknown_port": vx4(dport=1234),
        "bad_flags_vxlan": udp4(vxlan(VNI_VX, flags=0x00), inner4()),
        "vxlan_reserved_bits": udp4(vxlan(VNI_VX, flags=0xff), inner4()),
        "unknown_vni": vx4(vni=999),
        "unknown_vni6": vx6(vni=101),
        "remote_mismatch": vx4(src="192.0.2.9"),
        "remote_mismatch6": vx6(src="2001:db8::9"),
        "no_attachment": vx4(VNI_VX_NOATTACH),
        "geneve_bad_version": udp4(geneve(VNI_GENEVE, opt, version=1), inner4(),
                                   dport=GENEVE_PORT),
        "geneve_bad_payload_type": udp4(geneve(VNI_GENEVE, opt, proto=0x0800), inner_ip4(),
                                        dport=GENEVE_PORT),
        "geneve_bad_option_len": udp4(geneve(VNI_GENEVE, geneve_opt(length=5)), inner4(),
                                      dport=GENEVE_PORT),
        "geneve_unknown_critical": udp4(geneve(VNI_GENEVE, opt + opt_crit_unknown, flags=0x40),
                                        inner4(), dport=GENEVE_PORT),
        "geneve_unknown_vni": udp4(geneve(999, opt), inner4(), dport=GENEVE_PORT),
        "gre_bad_checksum": gre4(gre(inner4(), key=GRE_KEY, seq=1, csum=True, bad_csum=True)),
        "gre_bad_version": gre4(gre(inner4(), key=GRE_KEY, version=1)),
        "gre_reserved_bits": gre4(gre(inner4(), key=GRE_KEY, reserved=0x4000)),
        "gre_unknown_key": gre4(gre(inner4(), key=77)),
        "gre_bad_payload_type": gre4(gre(inner4(), key=GRE_KEY, proto=0x88b5)),
        "gre_remote_mismatch": gre4(gre(inner_ip4(), proto=0x0800), src="192.0.2.9"),
    }
    for name, f in drops.items():
        s["decap_drop_" + name] = encode(DECAP, [f])

    # -- decap: bursts, offload flags, segments ----------------------------------------------
    mix = [valid["vxlan4"], valid["vxlan6"], valid["geneve4"], valid["gretap4"],
           valid["gre4_ip4"], arp_req, ns, drops["bad_udp_checksum"], drops["unknown_vni"],
           drops["truncated_ip"], drops["no_attachment"], valid["vxlan4_inner_vlan"]]
    s["decap_burst_mix"] = encode(DECAP, mix)
    s["decap_burst_mix_one_per_burst"] = encode(DECAP | SPLIT_ONE, mix)
    s["decap_burst_mix_halves"] = encode(DECAP | SPLIT_HALVES, mix)
    s["decap_burst_full"] = encode(DECAP | SPLIT_THREES, (mix * 4)[:40])
    s["decap_burst_gretap_seq"] = encode(DECAP, [gre4(gre(inner4(), key=GRE_KEY, seq=n, csum=True))
                                                 for n in (5, 6, 6, 4, 7)])
    s["decap_offload_good"] = encode(DECAP | OFL_GOOD, [drops["bad_ip_checksum"],
                                                        drops["bad_udp_checksum"], v])
    s["decap_offload_ip_bad"] = encode(DECAP | OFL_IP_BAD, [v])
    s["decap_offload_l4_bad"] = encode(DECAP | OFL_L4_BAD, [v, valid["vxlan6"]])
    jumbo4 = vx4(inner=inner4(payload=8000))
    jumbo6 = udp6(geneve(VNI_GENEVE, opt), inner6(payload=8000), dport=GENEVE_PORT)
    s["decap_jumbo_multiseg"] = encode(DECAP, [jumbo4, jumbo6,
                                               gre4(gre(inner4(payload=5000), key=GRE_KEY, seq=9,
                                                        csum=True))])
    s["decap_split_segments"] = encode(DECAP | SEG_BYTES, [v, v, v, valid["vxlan6"],
                                                           valid["geneve4"], valid["gretap4"]],
                                       splits=[60, 51, 20, 100, 70, 45])

    # -- encap on access port 1 ----------------------------------------------------------------
    enc = {
        "untagged4": inner4(),
        "untagged6": inner6(),
        "untagged_arp": raw(Ether(dst="ff:ff:ff:ff:ff:ff", src="02:00:00:00:0a:01") /
                            ARP(psrc="10.0.0.1", pdst="10.0.0.2")),
        "vlan_vx6": inner4(vlan=VLAN_VX6),
        "vlan_inherit_df": inner4(vlan=VLAN_VX_INHERIT, tos=0xb9, ttl=3, flags="DF"),
        "vlan_inherit6": inner6(vlan=VLAN_VX_INHERIT),
        "vlan_geneve4": inner4(vlan=VLAN_GNV4),
        "vlan_geneve6": inner6(vlan=VLAN_GNV6),
        "vlan_gretap4": inner4(vlan=VLAN_GTAP4),
        "vlan_gretap6": inner6(vlan=VLAN_GTAP6),
        "vlan_noneigh": inner4(vlan=VLAN_NONEIGH),
        "vlan_unattached": inner4(vlan=99),
        "qinq": raw(Ether(src="02:00:00:00:0a:01") / Dot1Q(vlan=VLAN_VX6) / Dot1Q(vlan=5) /
                    IP() / UDP()),
        "truncated": inner4()[:10],
        "truncated_vlan": inner4(vlan=VLAN_VX6)[:15],
        "mtu_exceeded": inner4(payload=1500),
        "mtu_edge": inner4(payload=1450 - 14 - 20 - 8 - 50),
        "jumbo_multiseg": inner4(payload=8900),
    }
    for name, f in enc.items():
        s["encap_" + name] = encode(ENCAP, [f])
    s["encap_burst_mix"] = encode(ENCAP, list(enc.values()))
    s["encap_burst_one_per_burst"] = encode(ENCAP | SPLIT_ONE, list(enc.values())[:8])
    s["encap_split_segments"] = encode(ENCAP | SEG_BYTES,
                                       [inner4(), inner4(vlan=VLAN_VX6), inner6(vlan=VLAN_GNV6),
                                        inner4(payload=1000), inner4(vlan=VLAN_GTAP4)],
                                       splits=[10, 14, 16, 40, 200])

    # -- encap on routed access port 2 (gre, L3) ------------------------------------------------
    def routed_eth(payload, ethertype):
        return raw(Ether(dst="02:00:00:00:02:01", src="02:00:00:00:02:02", type=ethertype)) + \
            payload
    routed = {
        "ip4": routed_eth(inner_ip4(dst=ROUTE4_DST), 0x0800),
        "ip6": routed_eth(inner_ip6(dst=ROUTE6_DST), 0x86DD),
        "ip4_noroute": routed_eth(inner_ip4(dst="10.99.0.1"), 0x0800),
        "ip4_ttl1": routed_eth(raw(IP(src="10.0.0.2", dst=ROUTE4_DST, ttl=1) / UDP()), 0x0800),
        "ip4_big_nodf": routed_eth(inner_ip4(dst=ROUTE4_DST, payload=1600), 0x0800),
        "arp_for_port": raw(Ether(dst="ff:ff:ff:ff:ff:ff", src="02:00:00:00:02:02") /
                            ARP(hwsrc="02:00:00:00:02:02", psrc=ROUTED_HOST4,
                                pdst=ROUTED_PORT_IP4)),
    }
    for name, f in routed.items():
        s["routed_" + name] = encode(ROUTED, [f])
    return s


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make_corpus.py OUT_DIR")
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    all_seeds = seeds()
    for name, data in sorted(all_seeds.items()):
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
    print("wrote %d seeds to %s" % (len(all_seeds), out))


if __name__ == "__main__":
    main()
