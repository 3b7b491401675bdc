"""Crafted inputs that tundra must drop, each with its expected reason.

A DropCase builds, for an underlay (v4/v6) and a tunnel, the frames to
inject on one port and (optionally) the config to run with.  Cases are
protocol-agnostic where the fault is in the outer Ethernet/IP/UDP headers;
the VXLAN-specific ones are marked with proto="vxlan".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from dataclasses import replace

from harness import (
    ACCESS, ARP, ICMPv6ND_NS, ICMPv6NDOptSrcLLAddr, IP, IPv6,
    IPv6ExtHdrFragment, Raw, TCP, UDP, UPLINK, Ether, Tunnel, Underlay,
    Xconnect, add_vlan, encap_ip_overhead, gre_raw, l3_packets,
    make_inner_frames, pad60, routed_config, tunnel_config, tunnel_packet,
    _PROTO)

# inner frames used inside crafted tunnel packets
INNER = make_inner_frames(3, seed=7, kinds=("udp4", "tcp6", "raw"),
                          sizes=(20, 100, 300))
# ... and the IP packets an L3 (gre) tunnel carries instead
INNER_IP = l3_packets(3, kinds=("udp4", "tcp6", "udp6"), sizes=(20, 100, 300))
GRE_TYPES = ("gre", "gretap")
UDP_TYPES = ("vxlan", "geneve")


def _inn(tun) -> list[bytes]:
    return INNER_IP if tun.l3 else INNER


def base_config(ul: Underlay, tun: Tunnel) -> list[str]:
    """The default config for a tunnel: xconnect (L2) or routes (L3)."""
    if tun.l3:
        return routed_config(ul, [tun])
    return tunnel_config(ul, [tun])


@dataclass(frozen=True)
class DropCase:
    id: str
    reason: str
    build: Callable[[Underlay, Tunnel], list[bytes]]
    families: tuple = ("v4", "v6")
    port: int = UPLINK
    config: Callable[[Underlay, Tunnel], list[str]] | None = None
    proto: str | None = None          # None = any tunnel type (a case
    #                                   for other types than VXLAN sets it
    #                                   too: older filters test only this)
    protos: tuple = ()                # () = any; else only these types

    def make_config(self, ul: Underlay, tun: Tunnel) -> list[str]:
        if self.config is not None:
            return self.config(ul, tun)
        return base_config(ul, tun)

    def applies(self, proto: str) -> bool:
        if self.protos:
            return proto in self.protos
        return self.proto in (None, proto)


def _each(ul, tun, **kw) -> list[bytes]:
    return [bytes(tunnel_packet(ul, tun, i, **kw)) for i in _inn(tun)]


def _l4_bytes(ul, tun, inner, **kw) -> bytes:
    """The bytes after the outer IP header of a well-formed packet."""
    p = tunnel_packet(ul, tun, inner, **kw)
    ipl = p[IP] if ul.family == 4 else p[IPv6]
    return bytes(ipl.payload)


def _outer(ul, tun, **ip_kw):
    eth = Ether(src=ul.peer_mac, dst=ul.port_mac)
    ipproto = _PROTO[tun.type]["ipproto"]
    if ul.family == 4:
        return eth / IP(src=ul.remote, dst=ul.local, proto=ipproto, **ip_kw)
    return eth / IPv6(src=ul.remote, dst=ul.local, nh=ipproto, **ip_kw)


# -- truncation: cut inside each header; IP/UDP lengths describe what is
# there, so the only fault is the short header.  Sent unpadded (as pcap can)
# and padded to 60 bytes (as a NIC delivers) where the padding cannot
# complete the header.

def _trunc_eth(ul, tun):
    full = bytes(tunnel_packet(ul, tun, _inn(tun)[0]))
    return [full[:10], full[:13]]


def _trunc_ip(ul, tun):
    full = bytes(tunnel_packet(ul, tun, _inn(tun)[0]))
    cut = 14 + (12 if ul.family == 4 else 30)
    return [full[:cut], full[:14 + 1]]


def _trunc_udp(ul, tun):
    l4 = _l4_bytes(ul, tun, _inn(tun)[0])
    b = bytes(_outer(ul, tun) / Raw(l4[:4]))
    return [b, pad60(b)]


def _trunc_tunnel_hdr(ul, tun):
    if not tun.udp:
        # GRE: flags announce checksum + key + seq (16 bytes), fewer follow;
        # and a GRE header cut inside its 4 fixed bytes
        full = gre_raw(0xB000, 0x6558, _inn(tun)[0], key=1, seq=1)
        return [bytes(_outer(ul, tun) / Raw(full[:c])) for c in (2, 6, 10, 14)]
    # UDP header complete, tunnel header (VXLAN: 8 bytes) cut after 4 bytes
    l4 = _l4_bytes(ul, tun, _inn(tun)[0])
    udp = UDP(l4[:8])
    p = _outer(ul, tun) / UDP(sport=udp.sport, dport=udp.dport,
                              chksum=0 if ul.family == 4 else None) / Raw(l4[8:12])
    b = bytes(p)
    return [b, pad60(b)]


def _trunc_inner(ul, tun):
    # a complete tunnel header followed by only 10 bytes of inner Ethernet
    res = []
    for cut in (0, 10):
        b = bytes(tunnel_packet(ul, tun, _inn(tun)[0][:cut]))
        res += [b, pad60(b)]
    return res


# -- IP header faults

def _bad_ip_header(ul, tun):
    inner = _inn(tun)[0]
    l4 = _l4_bytes(ul, tun, inner)
    if ul.family == 4:
        return [bytes(_outer(ul, tun, len=16) / Raw(l4)),          # < IHL*4
                bytes(_outer(ul, tun, ihl=4) / Raw(l4)),           # IHL < 5
                bytes(_outer(ul, tun, version=5) / Raw(l4))]       # version
    return [bytes(_outer(ul, tun, version=4) / Raw(l4))]           # version


def _ip_length_past_frame(ul, tun):
    # The IP header claims more bytes than the frame holds: the packet was cut
    # (Linux counts these as InTruncatedPkts, not header errors).
    l4 = _l4_bytes(ul, tun, _inn(tun)[0])
    if ul.family == 4:
        return [bytes(_outer(ul, tun, len=20 + len(l4) + 40) / Raw(l4))]
    return [bytes(_outer(ul, tun, plen=len(l4) + 40) / Raw(l4))]


def _bad_ip_checksum(ul, tun):
    res = []
    for inner in _inn(tun):
        p = tunnel_packet(ul, tun, inner)
        good = IP(bytes(p[IP])).chksum
        p[IP].chksum = good ^ 0x00FF
        res.append(bytes(p))
    return res


def _fragment(ul, tun):
    if ul.family == 4:
        return [bytes(tunnel_packet(ul, tun, _inn(tun)[0], ip_kw={"flags": "MF"})),
                bytes(tunnel_packet(ul, tun, _inn(tun)[1],
                                    ip_kw={"flags": "MF", "frag": 100})),
                bytes(tunnel_packet(ul, tun, _inn(tun)[2], ip_kw={"frag": 185}))]
    l4 = _l4_bytes(ul, tun, _inn(tun)[0])
    nh = _PROTO[tun.type]["ipproto"]
    eth = Ether(src=ul.peer_mac, dst=ul.port_mac)
    first = (eth / IPv6(src=ul.remote, dst=ul.local)
             / IPv6ExtHdrFragment(nh=nh, m=1, offset=0, id=7) / Raw(l4))
    last = (eth / IPv6(src=ul.remote, dst=ul.local)
            / IPv6ExtHdrFragment(nh=nh, m=0, offset=185, id=8) / Raw(l4))
    return [bytes(first), bytes(last)]


# -- addressing

def _not_for_us(ul, tun):
    return ([bytes(tunnel_packet(ul, tun, i, dst=ul.foreign)) for i in _inn(tun)]
            + [bytes(tunnel_packet(ul, tun, _inn(tun)[0],
                                   dst_mac="02:00:00:00:00:99"))])


def _not_tunnel(ul, tun):
    eth = Ether(src=ul.peer_mac, dst=ul.port_mac)
    ipl = (IP(src=ul.remote, dst=ul.local) if ul.family == 4
           else IPv6(src=ul.remote, dst=ul.local))
    return [pad60(bytes(eth / ipl / TCP(sport=33333, dport=179, flags="S"))),
            pad60(bytes(eth / ipl / TCP(sport=33334, dport=4789, flags="S")
                        / Raw(b"x" * 40)))]


# -- UDP faults

def _bad_udp_length(ul, tun):
    res = []
    for delta in (+4, -4, None):
        p = tunnel_packet(ul, tun, _inn(tun)[1])
        real = len(p[UDP])
        p[UDP].len = 4 if delta is None else real + delta
        res.append(bytes(p))
    return res


def _bad_udp_checksum(ul, tun):
    res = []
    for inner in _inn(tun):
        p = tunnel_packet(ul, tun, inner, udp_chksum=None)
        good = Ether(bytes(p))[UDP].chksum
        bad = good ^ 0x00FF
        if bad == 0:
            bad = 0x1234
        p[UDP].chksum = bad
        res.append(bytes(p))
    if ul.family == 6:   # zero checksum is not allowed over IPv6
        res.append(bytes(tunnel_packet(ul, tun, _inn(tun)[0], udp_chksum=0)))
    return res


def _unknown_port(ul, tun):
    return (_each(ul, tun, dport=5555)
            + [bytes(tunnel_packet(ul, tun, _inn(tun)[0], dport=8472))])


# -- tunnel-header faults (VXLAN)

def _bad_flags(ul, tun):
    return [bytes(tunnel_packet(ul, tun, _inn(tun)[0], flags=0x00)),
            bytes(tunnel_packet(ul, tun, _inn(tun)[1], flags=0x80)),
            bytes(tunnel_packet(ul, tun, _inn(tun)[2], flags=0xF7))]


def _unknown_vni(ul, tun):
    if not tun.udp:
        # GRE: (local, remote, key) names no tunnel: wrong key, no key,
        # or an unknown remote
        k = tun.key if tun.key is not None else 0
        return (_each(ul, tun, key=k + 1)
                + [bytes(tunnel_packet(ul, tun, _inn(tun)[0], key=None)),
                   bytes(tunnel_packet(ul, tun, _inn(tun)[1], src=ul.other)),
                   bytes(tunnel_packet(ul, tun, _inn(tun)[2], src=ul.foreign))])
    return (_each(ul, tun, vni=tun.vni + 1)
            + [bytes(tunnel_packet(ul, tun, _inn(tun)[0], vni=0xABCDEF))])


def _remote_mismatch(ul, tun):
    return _each(ul, tun, src=ul.other) + [
        bytes(tunnel_packet(ul, tun, _inn(tun)[0], src=ul.foreign))]


def _no_attachment_decap_cfg(ul, tun):
    if tun.udp:
        t2 = replace(tun, name="t2", vni=tun.vni + 100)
    else:
        t2 = replace(tun, name="t2", key=(tun.key or 0) + 100)
    return tunnel_config(ul, [tun, t2], [Xconnect(ACCESS, None, tun.name)])


def _no_attachment_decap(ul, tun):
    if tun.udp:
        return _each(ul, tun, vni=tun.vni + 100)
    return _each(ul, tun, key=(tun.key or 0) + 100)


# -- ARP / ND not for us

def _arp_ignored(ul, tun):
    if ul.family == 4:
        return [pad60(bytes(Ether(src=ul.peer_mac, dst="ff:ff:ff:ff:ff:ff")
                            / ARP(op=1, hwsrc=ul.peer_mac, psrc=ul.remote,
                                  pdst=t)))
                for t in (ul.foreign, ul.other)]
    res = []
    for t, dmac, dip in ((ul.foreign, "33:33:ff:00:00:99", "ff02::1:ff00:99"),
                         (ul.other, "33:33:ff:00:00:03", "ff02::1:ff00:3")):
        res.append(bytes(Ether(src=ul.peer_mac, dst=dmac)
                         / IPv6(src=ul.remote, dst=dip, hlim=255)
                         / ICMPv6ND_NS(tgt=t)
                         / ICMPv6NDOptSrcLLAddr(lladdr=ul.peer_mac)))
    return res


# -- encap-side (frames received on the access port)

def _vlan_cfg(vid):
    def cfg(ul, tun):
        return tunnel_config(ul, [tun], [Xconnect(ACCESS, vid, tun.name)])
    return cfg


def _tagged(vid):
    def build(ul, tun):
        return [add_vlan(f, vid) for f in make_inner_frames(4, seed=3)]
    return build


def _untagged(ul, tun):
    return make_inner_frames(3, seed=4)


def _no_neighbor_cfg(ul, tun):
    return tunnel_config(ul, [tun], neighbor=False)


def _mtu_exceeded(ul, tun):
    # default uplink MTU 1500: an encap adds 50 (v4) / 70 (v6) bytes to the
    # inner frame (VXLAN), so the largest inner frame that fits is 1464 / 1444.
    limit = 1500 - encap_ip_overhead(ul, tun)
    return [pad_to(f, limit + extra) for f, extra in
            zip(make_inner_frames(3, seed=5, kinds=("udp4", "udp6", "raw")),
                (1, 2, 50))]


def pad_to(frame: bytes, size: int) -> bytes:
    """Grow an Ethernet frame to `size` by growing its payload (raw type)."""
    p = Ether(frame)
    return bytes(Ether(src=p.src, dst=p.dst, type=0x88B5)
                 / Raw(b"\xab" * (size - 14)))


# -- GENEVE header faults (RFC 8926)

def _geneve_bad_version(ul, tun):
    return [bytes(tunnel_packet(ul, tun, i, version=v))
            for i, v in zip(INNER, (1, 2, 3))]


def _geneve_optlen_past_packet(ul, tun):
    # Opt Len claims more option bytes than the packet holds
    small = INNER[0][:60]
    return [bytes(tunnel_packet(ul, tun, small, optionlen=63)),
            bytes(tunnel_packet(ul, tun, b"", optionlen=10)),
            bytes(tunnel_packet(ul, tun, b"", opt_raw=bytes.fromhex(
                "0105000100000000"), optionlen=3))]


def _geneve_bad_option(ul, tun):
    # an option's own length runs past the options area (Opt Len)
    return [
        # Opt Len 2 words; the option says 5 data words
        bytes(tunnel_packet(ul, tun, INNER[0], optionlen=2,
                            opt_raw=bytes.fromhex("0105000500000000"))),
        # Opt Len 1 word: just the option header, which says 1 data word
        bytes(tunnel_packet(ul, tun, INNER[1], optionlen=1,
                            opt_raw=bytes.fromhex("01050001"))),
        # Opt Len 3: a good 2-word option, then a header claiming 1 more
        bytes(tunnel_packet(ul, tun, INNER[2], optionlen=3,
                            opt_raw=bytes.fromhex("0105000112345678"
                                                  "01060101"))),
    ]


def _geneve_bad_payload_type(ul, tun):
    return [bytes(tunnel_packet(ul, tun, INNER_IP[0], gproto=0x0800)),
            bytes(tunnel_packet(ul, tun, INNER_IP[1], gproto=0x86DD)),
            bytes(tunnel_packet(ul, tun, INNER[2], gproto=0x88B5))]


def _geneve_unknown_critical(ul, tun):
    return [
        bytes(tunnel_packet(ul, tun, INNER[0],
                            options=((0x0105, 0x80, b"\x00" * 4),))),
        bytes(tunnel_packet(ul, tun, INNER[1],
                            options=((0xFFFF, 0xFF, b""),))),
        # a non-critical option first, then the unknown critical one
        bytes(tunnel_packet(ul, tun, INNER[2],
                            options=((0x0105, 0x01, b"\x11" * 8),
                                     (0x0106, 0x81, b"\x22" * 4)))),
        # same class as a configured option? not configured here: type 0x80
        bytes(tunnel_packet(ul, tun, INNER[0],
                            options=((0x0102, 0x80, b"\x33" * 4),))),
    ]


# -- GRE header faults (RFC 2784 / RFC 2890)

def _gre_word(tun, extra=0):
    return (0x2000 if tun.key is not None else 0) | extra


def _gre_pkt(ul, tun, payload, word, proto=None, **kw):
    if proto is None:
        proto = 0x6558 if not tun.l3 else (0x0800 if payload[0] >> 4 == 4
                                           else 0x86DD)
    return bytes(_outer(ul, tun) / Raw(gre_raw(word, proto, payload,
                                               key=tun.key, **kw)))


def _gre_bad_version(ul, tun):
    return [_gre_pkt(ul, tun, i, _gre_word(tun, v))
            for i, v in zip(_inn(tun), (1, 2, 7))]


def _gre_bad_flags(ul, tun):
    # the reserved bits: routing present (0x4000), strict source route
    # (0x0800), recursion control (0x0700), flags (0x00F8)
    return [_gre_pkt(ul, tun, _inn(tun)[k % 3], _gre_word(tun, bit))
            for k, bit in enumerate((0x4000, 0x0800, 0x0400, 0x0100,
                                     0x0080, 0x0008))]


def _gre_bad_checksum(ul, tun):
    res = []
    for inner in _inn(tun):
        good = gre_raw(_gre_word(tun, 0x8000), 0x6558 if not tun.l3 else
                       (0x0800 if inner[0] >> 4 == 4 else 0x86DD), inner,
                       key=tun.key)
        ck = int.from_bytes(good[4:6], "big")
        res.append(_gre_pkt(ul, tun, inner, _gre_word(tun, 0x8000),
                            chksum=ck ^ 0x0101))
    return res


def _gre_bad_payload_type(ul, tun):
    return [_gre_pkt(ul, tun, INNER[2], _gre_word(tun), proto=0x88B5),
            _gre_pkt(ul, tun, INNER[0], _gre_word(tun), proto=0x0806)]


def _gre_cross_kind(ul, tun):
    # the other GRE kind's protocol to the (local, remote, key) of a tunnel
    # of one kind only: IP to a gretap tunnel, Ethernet to an L3 gre tunnel.
    # The tunnel exists (not unknown-vni); it does not carry this protocol
    # (drop_reasons.def: "protocol type is not one the tunnel carries").
    if tun.l3:
        return [_gre_pkt(ul, tun, INNER[0], _gre_word(tun), proto=0x6558)]
    return [_gre_pkt(ul, tun, INNER_IP[0], _gre_word(tun), proto=0x0800),
            _gre_pkt(ul, tun, INNER_IP[1], _gre_word(tun), proto=0x86DD)]


def _trunc_inner_ip(ul, tun):
    # an L3 gre payload shorter than an IP header
    return [_gre_pkt(ul, tun, INNER_IP[0][:10], _gre_word(tun), proto=0x0800),
            _gre_pkt(ul, tun, INNER_IP[1][:30], _gre_word(tun), proto=0x86DD)]


DROP_CASES = [
    DropCase("truncated-eth", "truncated", _trunc_eth),
    DropCase("truncated-ip", "truncated", _trunc_ip),
    DropCase("truncated-udp", "truncated", _trunc_udp, protos=UDP_TYPES),
    DropCase("truncated-tunnel-header", "truncated", _trunc_tunnel_hdr),
    DropCase("truncated-inner-eth", "truncated", _trunc_inner,
             protos=("vxlan", "geneve", "gretap")),
    DropCase("truncated-inner-ip", "truncated", _trunc_inner_ip,
             protos=("gre",), proto="gre"),
    DropCase("truncated-ip-length", "truncated", _ip_length_past_frame),
    DropCase("bad-ip-header", "bad-ip-header", _bad_ip_header),
    DropCase("bad-ip-checksum", "bad-ip-checksum", _bad_ip_checksum,
             families=("v4",)),
    DropCase("ip-fragment", "ip-fragment", _fragment),
    DropCase("not-for-us", "not-for-us", _not_for_us),
    DropCase("not-tunnel", "not-tunnel", _not_tunnel),
    DropCase("bad-udp-length", "bad-udp-length", _bad_udp_length,
             protos=UDP_TYPES),
    DropCase("bad-udp-checksum", "bad-udp-checksum", _bad_udp_checksum,
             protos=UDP_TYPES),
    DropCase("unknown-port", "unknown-port", _unknown_port, protos=UDP_TYPES),
    DropCase("bad-flags", "bad-flags", _bad_flags, proto="vxlan"),
    DropCase("unknown-vni", "unknown-vni", _unknown_vni),
    DropCase("remote-mismatch", "remote-mismatch", _remote_mismatch,
             protos=UDP_TYPES),
    DropCase("no-attachment-decap", "no-attachment", _no_attachment_decap,
             config=_no_attachment_decap_cfg,
             protos=("vxlan", "geneve", "gretap")),
    DropCase("arp-ignored", "arp-ignored", _arp_ignored),
    DropCase("no-attachment-vlan", "no-attachment", _tagged(200),
             port=ACCESS, config=_vlan_cfg(100),
             protos=("vxlan", "geneve", "gretap")),
    DropCase("no-attachment-untagged", "no-attachment", _untagged,
             port=ACCESS, config=_vlan_cfg(100),
             protos=("vxlan", "geneve", "gretap")),
    DropCase("no-neighbor", "no-neighbor", _untagged, port=ACCESS,
             config=_no_neighbor_cfg, protos=("vxlan", "geneve", "gretap")),
    DropCase("mtu-exceeded", "mtu-exceeded", _mtu_exceeded, port=ACCESS,
             protos=("vxlan", "geneve", "gretap")),
    # GENEVE
    DropCase("geneve-bad-version", "bad-version", _geneve_bad_version,
             protos=("geneve",), proto="geneve"),
    DropCase("geneve-optlen-past-packet", "truncated",
             _geneve_optlen_past_packet, protos=("geneve",), proto="geneve"),
    DropCase("geneve-bad-option", "bad-option", _geneve_bad_option,
             protos=("geneve",), proto="geneve"),
    DropCase("geneve-bad-payload-type", "bad-payload-type",
             _geneve_bad_payload_type, protos=("geneve",), proto="geneve"),
    DropCase("geneve-unknown-critical-option", "unknown-critical-option",
             _geneve_unknown_critical, protos=("geneve",), proto="geneve"),
    # GRE (gretap and L3 gre)
    DropCase("gre-bad-version", "bad-version", _gre_bad_version,
             protos=GRE_TYPES, proto="gre|gretap"),
    DropCase("gre-bad-flags", "bad-flags", _gre_bad_flags, protos=GRE_TYPES, proto="gre|gretap"),
    DropCase("gre-bad-checksum", "bad-gre-checksum", _gre_bad_checksum,
             protos=GRE_TYPES, proto="gre|gretap"),
    DropCase("gre-bad-payload-type", "bad-payload-type",
             _gre_bad_payload_type, protos=GRE_TYPES, proto="gre|gretap"),
    # own run (explicit config) so that a different reading fails alone
    DropCase("gre-cross-kind-payload", "bad-payload-type", _gre_cross_kind,
             protos=GRE_TYPES, config=base_config,
             proto="gre|gretap"),
]


def cases_for(proto: str) -> list[tuple[DropCase, str]]:
    return [(c, fam) for c in DROP_CASES for fam in c.families
            if c.applies(proto)]


# The tunnel each protocol's drop cases run against.
DROP_TUNNELS = {
    "vxlan": Tunnel(),
    "geneve": Tunnel(type="geneve", vni=100,
                     options=((0x0102, 0x01, b"\xaa" * 4),)),
    "gretap": Tunnel(type="gretap", vni=None, key=0x1234),
    "gre": Tunnel(type="gre", vni=None, key=0x1234),
}


def batched_cases(proto: str, fam: str) -> list[DropCase]:
    """The uplink cases that run with the default config: they can share one
    tundra run, each reason's counter then being the sum of its cases."""
    return [c for c, f in cases_for(proto) if f == fam and c.port == UPLINK
            and c.config is None]


def separate_cases(proto: str) -> list[tuple[DropCase, str]]:
    """Cases that need their own config or port."""
    return [(c, f) for c, f in cases_for(proto)
            if not (c.port == UPLINK and c.config is None)]
