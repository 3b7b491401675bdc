"""Crafted inputs that tundra must drop, each with its expected reason.

A DropCase builds, for an underlay (v4/v6) and a tunnel, the frames to
inject on one port and (optionally) the config to run with.  Cases are
protocol-agnostic where the fault is in the outer Ethernet/IP/UDP headers;
the VXLAN-specific ones are marked with proto="vxlan".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from harness import (
    ACCESS, ARP, ICMPv6ND_NS, ICMPv6NDOptSrcLLAddr, IP, IPv6,
    IPv6ExtHdrFragment, Raw, TCP, UDP, UPLINK, Ether, Tunnel, Underlay,
    Xconnect, add_vlan, make_inner_frames, pad60, tunnel_config,
    tunnel_packet, _PROTO)

# inner frames used inside crafted tunnel packets
INNER = make_inner_frames(3, seed=7, kinds=("udp4", "tcp6", "raw"),
                          sizes=(20, 100, 300))


@dataclass(frozen=True)
class DropCase:
    id: str
    reason: str
    build: Callable[[Underlay, Tunnel], list[bytes]]
    families: tuple = ("v4", "v6")
    port: int = UPLINK
    config: Callable[[Underlay, Tunnel], list[str]] | None = None
    proto: str | None = None          # None = any tunnel type

    def make_config(self, ul: Underlay, tun: Tunnel) -> list[str]:
        if self.config is not None:
            return self.config(ul, tun)
        return tunnel_config(ul, [tun])


def _each(ul, tun, **kw) -> list[bytes]:
    return [bytes(tunnel_packet(ul, tun, i, **kw)) for i in INNER]


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
    full = bytes(tunnel_packet(ul, tun, INNER[0]))
    return [full[:10], full[:13]]


def _trunc_ip(ul, tun):
    full = bytes(tunnel_packet(ul, tun, INNER[0]))
    cut = 14 + (12 if ul.family == 4 else 30)
    return [full[:cut], full[:14 + 1]]


def _trunc_udp(ul, tun):
    l4 = _l4_bytes(ul, tun, INNER[0])
    b = bytes(_outer(ul, tun) / Raw(l4[:4]))
    return [b, pad60(b)]


def _trunc_tunnel_hdr(ul, tun):
    # UDP header complete, tunnel header (VXLAN: 8 bytes) cut after 4 bytes
    l4 = _l4_bytes(ul, tun, INNER[0])
    udp = UDP(l4[:8])
    p = _outer(ul, tun) / UDP(sport=udp.sport, dport=udp.dport,
                              chksum=0 if ul.family == 4 else None) / Raw(l4[8:12])
    b = bytes(p)
    return [b, pad60(b)]


def _trunc_inner(ul, tun):
    # a complete tunnel header followed by only 10 bytes of inner Ethernet
    res = []
    for cut in (0, 10):
        b = bytes(tunnel_packet(ul, tun, INNER[0][:cut]))
        res += [b, pad60(b)]
    return res


# -- IP header faults

def _bad_ip_header(ul, tun):
    inner = INNER[0]
    l4 = _l4_bytes(ul, tun, inner)
    if ul.family == 4:
        return [bytes(_outer(ul, tun, len=16) / Raw(l4)),          # < IHL*4
                bytes(_outer(ul, tun, ihl=4) / Raw(l4)),           # IHL < 5
                bytes(_outer(ul, tun, version=5) / Raw(l4))]       # version
    return [bytes(_outer(ul, tun, version=4) / Raw(l4))]           # version


def _ip_length_past_frame(ul, tun):
    # The IP header claims more bytes than the frame holds: the packet was cut
    # (Linux counts these as InTruncatedPkts, not header errors).
    l4 = _l4_bytes(ul, tun, INNER[0])
    if ul.family == 4:
        return [bytes(_outer(ul, tun, len=20 + len(l4) + 40) / Raw(l4))]
    return [bytes(_outer(ul, tun, plen=len(l4) + 40) / Raw(l4))]


def _bad_ip_checksum(ul, tun):
    res = []
    for inner in INNER:
        p = tunnel_packet(ul, tun, inner)
        good = IP(bytes(p[IP])).chksum
        p[IP].chksum = good ^ 0x00FF
        res.append(bytes(p))
    return res


def _fragment(ul, tun):
    if ul.family == 4:
        return [bytes(tunnel_packet(ul, tun, INNER[0], ip_kw={"flags": "MF"})),
                bytes(tunnel_packet(ul, tun, INNER[1],
                                    ip_kw={"flags": "MF", "frag": 100})),
                bytes(tunnel_packet(ul, tun, INNER[2], ip_kw={"frag": 185}))]
    l4 = _l4_bytes(ul, tun, INNER[0])
    eth = Ether(src=ul.peer_mac, dst=ul.port_mac)
    first = (eth / IPv6(src=ul.remote, dst=ul.local)
             / IPv6ExtHdrFragment(nh=17, m=1, offset=0, id=7) / Raw(l4))
    last = (eth / IPv6(src=ul.remote, dst=ul.local)
            / IPv6ExtHdrFragment(nh=17, m=0, offset=185, id=8) / Raw(l4))
    return [bytes(first), bytes(last)]


# -- addressing

def _not_for_us(ul, tun):
    return ([bytes(tunnel_packet(ul, tun, i, dst=ul.foreign)) for i in INNER]
            + [bytes(tunnel_packet(ul, tun, INNER[0],
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
        p = tunnel_packet(ul, tun, INNER[1])
        real = len(p[UDP])
        p[UDP].len = 4 if delta is None else real + delta
        res.append(bytes(p))
    return res


def _bad_udp_checksum(ul, tun):
    res = []
    for inner in INNER:
        p = tunnel_packet(ul, tun, inner, udp_chksum=None)
        good = Ether(bytes(p))[UDP].chksum
        bad = good ^ 0x00FF
        if bad == 0:
            bad = 0x1234
        p[UDP].chksum = bad
        res.append(bytes(p))
    if ul.family == 6:   # zero checksum is not allowed over IPv6
        res.append(bytes(tunnel_packet(ul, tun, INNER[0], udp_chksum=0)))
    return res


def _unknown_port(ul, tun):
    return (_each(ul, tun, dport=5555)
            + [bytes(tunnel_packet(ul, tun, INNER[0], dport=8472))])


# -- tunnel-header faults (VXLAN)

def _bad_flags(ul, tun):
    return [bytes(tunnel_packet(ul, tun, INNER[0], flags=0x00)),
            bytes(tunnel_packet(ul, tun, INNER[1], flags=0x80)),
            bytes(tunnel_packet(ul, tun, INNER[2], flags=0xF7))]


def _unknown_vni(ul, tun):
    return (_each(ul, tun, vni=tun.vni + 1)
            + [bytes(tunnel_packet(ul, tun, INNER[0], vni=0xABCDEF))])


def _remote_mismatch(ul, tun):
    return _each(ul, tun, src=ul.other) + [
        bytes(tunnel_packet(ul, tun, INNER[0], src=ul.foreign))]


def _no_attachment_decap_cfg(ul, tun):
    t2 = Tunnel(name="t2", type=tun.type, vni=tun.vni + 100)
    return tunnel_config(ul, [tun, t2], [Xconnect(ACCESS, None, tun.name)])


def _no_attachment_decap(ul, tun):
    return _each(ul, tun, vni=tun.vni + 100)


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
    # inner frame, so the largest inner frame that fits is 1464 / 1444.
    limit = 1464 if ul.family == 4 else 1444
    return [pad_to(f, limit + extra) for f, extra in
            zip(make_inner_frames(3, seed=5, kinds=("udp4", "udp6", "raw")),
                (1, 2, 50))]


def pad_to(frame: bytes, size: int) -> bytes:
    """Grow an Ethernet frame to `size` by growing its payload (raw type)."""
    p = Ether(frame)
    return bytes(Ether(src=p.src, dst=p.dst, type=0x88B5)
                 / Raw(b"\xab" * (size - 14)))


DROP_CASES = [
    DropCase("truncated-eth", "truncated", _trunc_eth),
    DropCase("truncated-ip", "truncated", _trunc_ip),
    DropCase("truncated-udp", "truncated", _trunc_udp),
    DropCase("truncated-tunnel-header", "truncated", _trunc_tunnel_hdr),
    DropCase("truncated-inner-eth", "truncated", _trunc_inner),
    DropCase("truncated-ip-length", "truncated", _ip_length_past_frame),
    DropCase("bad-ip-header", "bad-ip-header", _bad_ip_header),
    DropCase("bad-ip-checksum", "bad-ip-checksum", _bad_ip_checksum,
             families=("v4",)),
    DropCase("ip-fragment", "ip-fragment", _fragment),
    DropCase("not-for-us", "not-for-us", _not_for_us),
    DropCase("not-tunnel", "not-tunnel", _not_tunnel),
    DropCase("bad-udp-length", "bad-udp-length", _bad_udp_length),
    DropCase("bad-udp-checksum", "bad-udp-checksum", _bad_udp_checksum),
    DropCase("unknown-port", "unknown-port", _unknown_port),
    DropCase("bad-flags", "bad-flags", _bad_flags, proto="vxlan"),
    DropCase("unknown-vni", "unknown-vni", _unknown_vni),
    DropCase("remote-mismatch", "remote-mismatch", _remote_mismatch),
    DropCase("no-attachment-decap", "no-attachment", _no_attachment_decap,
             config=_no_attachment_decap_cfg),
    DropCase("arp-ignored", "arp-ignored", _arp_ignored),
    DropCase("no-attachment-vlan", "no-attachment", _tagged(200),
             port=ACCESS, config=_vlan_cfg(100)),
    DropCase("no-attachment-untagged", "no-attachment", _untagged,
             port=ACCESS, config=_vlan_cfg(100)),
    DropCase("no-neighbor", "no-neighbor", _untagged, port=ACCESS,
             config=_no_neighbor_cfg),
    DropCase("mtu-exceeded", "mtu-exceeded", _mtu_exceeded, port=ACCESS),
]


def cases_for(proto: str) -> list[tuple[DropCase, str]]:
    return [(c, fam) for c in DROP_CASES for fam in c.families
            if c.proto in (None, proto)]
