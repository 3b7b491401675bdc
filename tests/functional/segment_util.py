"""Helpers for the multipoint L2 segment tests (test_segments.py).

A segment is one VNI (vxlan, geneve) or key (gretap) on the local VTEP
address, spread over local members (access ports or VLANs of them) and remote
VTEPs.  Each remote's copy of a frame must be byte-identical to what a
point-to-point `tunnel add ... remote R` with the same options would send, so
the expectations reuse harness.check_encap with a Tunnel per remote.
"""

from __future__ import annotations

import random
import struct
from collections import Counter
from dataclasses import dataclass, replace
from typing import Iterable, Sequence

from harness import (UPLINK, Ether, Tunnel, Underlay, add_vlan, eth_ip_offset,
                     check_encap, describe_diff, extract_inner,
                     make_inner_frame, pad60)

# ports of the segment scenarios: port 0 uplink, ports 1 and 2 access
P1, P2 = 1, 2
NPORTS = 3

# remote VTEPs (address, neighbor MAC) per underlay family
REMOTES = {
    4: [("192.0.2.2", "02:00:00:00:00:02"), ("192.0.2.3", "02:00:00:00:00:03"),
        ("192.0.2.4", "02:00:00:00:00:04")],
    6: [("2001:db8::2", "02:00:00:00:00:02"), ("2001:db8::3", "02:00:00:00:00:03"),
        ("2001:db8::4", "02:00:00:00:00:04")],
}

BCAST = "ff:ff:ff:ff:ff:ff"
MCAST4 = "01:00:5e:00:00:fb"
MCAST6 = "33:33:00:00:00:01"

SEGMENT_KEYS = (
    "name", "id", "type", "local", "vni", "key", "dstport", "members",
    "remotes", "group", "group_encap_packets", "ageing", "max_macs", "unknown_remote", "macs",
    "learned_macs", "static_macs", "rx_packets", "rx_bytes", "tx_packets",
    "tx_bytes", "flooded", "replicated", "learned", "moved", "aged",
    "limit_dropped", "learn_dropped", "drops", "drop_reasons")
SEGMENT_DROP_REASONS = ("unknown-remote", "split-horizon", "hairpin",
                        "no-underlay-route", "no-neighbor", "mtu-exceeded", "no-headroom", "no-mbuf")
# the segment drop reasons the port counters count too (received frames)
PORT_SEGMENT_REASONS = ("unknown-remote", "split-horizon", "hairpin")
REMOTE_KEYS = ("ip", "resolved", "encap_packets", "decap_packets")


def mac(i: int, base: int = 0xA0) -> str:
    """A locally administered unicast MAC for test hosts (never a VTEP's)."""
    return "02:%02x:00:00:%02x:%02x" % (base, (i >> 8) & 0xFF, i & 0xFF)


def mac_bytes(m: str) -> bytes:
    return bytes.fromhex(m.replace(":", ""))


_KINDS = ("udp4", "tcp4", "udp6", "tcp6", "raw")
_SIZES = (0, 18, 64, 200, 512, 6, 100)


def frame(src: str, dst: str, i: int, *, kind: str | None = None,
          size: int | None = None) -> bytes:
    """An untagged inner Ethernet frame src -> dst, varied by i (>= 60 bytes,
    tshark-clean).  Different i give different frames."""
    rng = random.Random(1000 + i)
    k = kind or _KINDS[i % len(_KINDS)]
    s = _SIZES[i % len(_SIZES)] if size is None else size
    f = make_inner_frame(5000 + i, k, s, rng)
    return pad60(mac_bytes(dst) + mac_bytes(src) + f[12:])


def tagged(f: bytes, vlan: int) -> bytes:
    """What a member (port, vlan) carries on the wire: tagged iff vlan."""
    return add_vlan(f, vlan) if vlan else f


@dataclass(frozen=True)
class Segment:
    name: str = "s1"
    type: str = "vxlan"
    vni: int | None = 100
    key: int | None = None
    dstport: int | None = None
    ttl: int | str | None = None
    tos: int | str | None = None
    df: str | None = None
    udp_csum: str | None = None
    seq: str | None = None
    csum: str | None = None
    options: tuple = ()          # GENEVE ((class, type, data), ...)

    def cli(self, ul: Underlay, local: str | None = None) -> str:
        t = ["segment", "add", self.name, "type", self.type,
             "local", local or ul.local]
        if self.vni is not None:
            t += ["vni", str(self.vni)]
        if self.key is not None:
            t += ["key", str(self.key)]
        for kw, v in (("dstport", self.dstport), ("ttl", self.ttl),
                      ("tos", self.tos), ("df", self.df),
                      ("udp-csum", self.udp_csum), ("seq", self.seq),
                      ("csum", self.csum)):
            if v is not None:
                t += [kw, str(v)]
        for cls, typ, data in self.options:
            t += ["option", f"{cls:#06x}:{typ:#04x}:{bytes(data).hex()}"]
        return " ".join(t)

    def tun(self, remote: str) -> Tunnel:
        """The point-to-point tunnel whose packets a remote's copy must equal."""
        return Tunnel(name=self.name, type=self.type, vni=self.vni,
                      key=self.key, dstport=self.dstport, ttl=self.ttl,
                      tos=self.tos, df=self.df, udp_csum=self.udp_csum,
                      seq=self.seq, csum=self.csum, remote=remote,
                      options=tuple(self.options))

    def decode_as(self) -> tuple:
        return Tunnel(type=self.type, dstport=self.dstport).decode_as()


def base_config(ul: Underlay, remotes: Sequence[tuple[str, str]] = (),
                nports: int = NPORTS) -> list[str]:
    """Uplink port 0 (VTEP address), access ports 1.., static neighbors."""
    lines = [
        "# generated by tests/functional/segment_util.py",
        f"port config {UPLINK} role uplink",
        f"port config {UPLINK} address {ul.local}/{ul.plen}",
        f"port config {UPLINK} mac {ul.port_mac}",
    ]
    lines += [f"port config {p} role access" for p in range(1, nports)]
    lines += [f"neigh add {ip} {m} port {UPLINK}" for ip, m in remotes]
    return lines


def segment_config(ul: Underlay, seg: Segment,
                   members: Sequence[tuple[int, int]] = (),
                   remotes: Sequence[str] = (),
                   extra: Sequence[str] = ()) -> list[str]:
    lines = [seg.cli(ul)]
    for p, v in members:
        lines.append(f"segment {seg.name} member port {p}"
                     + (f" vlan {v}" if v else ""))
    lines += [f"segment {seg.name} remote {r}" for r in remotes]
    lines += list(extra)
    return lines


def fdb_port(seg: str, m: str, port: int, vlan: int = 0) -> str:
    return f"fdb add {seg} {m} port {port}" + (f" vlan {vlan}" if vlan else "")


def fdb_remote(seg: str, m: str, ip: str) -> str:
    return f"fdb add {seg} {m} remote {ip}"


def remote_packet(ul: Underlay, seg: Segment, remote: str, inner: bytes,
                  peer_mac: str | None = None, **kw):
    """A packet remote VTEP `remote` sends to us for this segment."""
    from harness import tunnel_packet
    return tunnel_packet(ul, seg.tun(remote), inner, src_mac=peer_mac, **kw)


# --------------------------------------------------------------------------
# Looking at the output

def outer_dst(frame: bytes) -> str:
    """The outer IP destination (the first IP header, by the ethertype)."""
    import ipaddress
    off = eth_ip_offset(frame)
    assert off is not None, f"uplink frame without IP: {Ether(frame).summary()}"
    if frame[off] >> 4 == 4:
        return str(ipaddress.IPv4Address(frame[off + 16:off + 20]))
    return str(ipaddress.IPv6Address(frame[off + 24:off + 40]))


def by_remote(frames: Iterable[bytes]) -> dict[str, list[bytes]]:
    """Uplink output grouped by outer destination address (order kept)."""
    out: dict[str, list[bytes]] = {}
    for f in frames:
        out.setdefault(outer_dst(f), []).append(f)
    return out


def by_vlan(frames: Iterable[bytes]) -> dict[int, list[bytes]]:
    """Access output grouped by VLAN (0 = untagged), tags removed."""
    out: dict[int, list[bytes]] = {}
    for f in frames:
        if f[12:14] == b"\x81\x00":
            vid = struct.unpack("!H", f[14:16])[0] & 0x0FFF
            pcp = f[14] >> 5
            assert pcp == 0, f"output tag with PCP {pcp}: {f[:18].hex()}"
            out.setdefault(vid, []).append(f[:12] + f[16:])
        else:
            out.setdefault(0, []).append(f)
    return out


def _summ(frames: Iterable[bytes]) -> str:
    return "; ".join(Ether(f).summary() for f in list(frames)[:3])


def assert_member_output(res, port: int, expected: dict[int, list[bytes]], *,
                         ordered: bool = False, what: str = ""):
    """Port `port` sent exactly `expected` ({vlan: untagged inner frames})."""
    got = by_vlan(res.out(port))
    exp = {v: fs for v, fs in expected.items() if fs}
    assert set(got) == set(exp), (
        f"{what} port {port}: frames on VLANs {sorted(got)} "
        f"({ {v: len(f) for v, f in got.items()} }), expected VLANs "
        f"{sorted(exp)} ({ {v: len(f) for v, f in exp.items()} })")
    for v, fs in exp.items():
        g = got[v]
        if ordered:
            assert len(g) == len(fs), (f"{what} port {port} vlan {v}: "
                                       f"{len(g)} frames, expected {len(fs)}")
            for i, (a, e) in enumerate(zip(g, fs)):
                assert a == e, (f"{what} port {port} vlan {v} frame {i} "
                                "differs\n" + describe_diff(a, e))
        else:
            ca, ce = Counter(g), Counter(fs)
            extra, missing = ca - ce, ce - ca
            assert not extra and not missing, (
                f"{what} port {port} vlan {v}: {len(g)} frames, expected "
                f"{len(fs)}; unexpected: {_summ(extra)}; missing: "
                f"{_summ(missing)}")


def assert_remote_output(res, ul: Underlay, seg: Segment,
                         expected: dict[str, list[bytes]],
                         neigh: dict[str, str], *, ordered: bool = False,
                         frames: list[bytes] | None = None,
                         what: str = "") -> dict:
    """The uplink sent exactly `expected` ({remote ip: inner frames}), each
    frame byte-exact against scapy's encapsulation for a tunnel to that remote
    (check_encap).  ordered: per remote in this order.  With seq on, returns
    {remote: first sequence number seen} (and checks they count up by one).
    frames: judge these instead of all of the uplink's output."""
    got = by_remote(res.out(UPLINK) if frames is None else frames)
    exp = {r: fs for r, fs in expected.items() if fs}
    assert set(got) == set(exp), (
        f"{what} uplink: copies to {sorted(got)} "
        f"({ {r: len(f) for r, f in got.items()} }), expected to "
        f"{sorted(exp)} ({ {r: len(f) for r, f in exp.items()} })")
    bases = {}
    for r, fs in exp.items():
        g = got[r]
        tun = seg.tun(r)
        ulr = replace(ul, peer_mac=neigh[r])
        assert len(g) == len(fs), (f"{what} uplink to {r}: {len(g)} copies, "
                                   f"expected {len(fs)}")
        inners = [extract_inner(f, tun) for f in g]
        if ordered:
            for i, (a, e) in enumerate(zip(inners, fs)):
                assert a == e, (f"{what} to {r}: copy {i} carries the wrong "
                                f"frame\n" + describe_diff(a, e))
        else:
            ca, ce = Counter(inners), Counter(fs)
            extra, missing = ca - ce, ce - ca
            assert not extra and not missing, (
                f"{what} to {r}: unexpected inner frames: {_summ(extra)}; "
                f"missing: {_summ(missing)}")
        for i, (f, inner) in enumerate(zip(g, inners)):
            seq = None
            if seg.seq == "on":
                if r not in bases:
                    bases[r] = gre_seq(f)
                seq = bases[r] + i
            try:
                check_encap(f, ulr, tun, inner, seq=seq)
            except AssertionError as e:
                raise AssertionError(f"{what} copy {i} to {r}: {e}") from None
    return bases


def vni_of(frame: bytes) -> int:
    """The VNI of a VXLAN or GENEVE packet (scapy)."""
    from harness import GENEVE, VXLAN
    p = Ether(frame)
    if VXLAN in p:
        return p[VXLAN].vni
    if GENEVE in p:
        return p[GENEVE].vni
    raise AssertionError(f"not VXLAN/GENEVE: {p.summary()}")


def split_by_vni(frames: Iterable[bytes]) -> dict[int, list[bytes]]:
    out: dict[int, list[bytes]] = {}
    for f in frames:
        out.setdefault(vni_of(f), []).append(f)
    return out


def gre_seq(frame: bytes) -> int | None:
    from harness import GRE
    p = Ether(frame)
    g = p[GRE]
    return g.sequence_number if g.seqnum_present else None


# --------------------------------------------------------------------------
# JSON

def segments(res) -> list[dict]:
    return res._last("segments")


def segment(res, name: str, objs: list | None = None) -> dict:
    for s in (segments(res) if objs is None else objs):
        if s.get("name") == name:
            return s
    raise AssertionError(f"segment {name} missing from `show segment json`: "
                         f"{segments(res) if objs is None else objs}")


def all_of(res, key: str) -> list:
    """Every `key` object on stdout, in order."""
    return [o[key] for o in res.json_objs if key in o]


def check_segment_shape(s: dict):
    missing = [k for k in SEGMENT_KEYS if k not in s]
    assert not missing, f"segment JSON lacks {missing}: {s}"
    assert set(s["drop_reasons"]) == set(SEGMENT_DROP_REASONS), (
        f"segment {s['name']} drop_reasons keys {sorted(s['drop_reasons'])}, "
        f"expected {sorted(SEGMENT_DROP_REASONS)}")
    assert s["drops"] == sum(s["drop_reasons"].values()), (
        f"segment {s['name']}: drops={s['drops']} != sum(drop_reasons)")
    for r in s["remotes"]:
        miss = [k for k in REMOTE_KEYS if k not in r]
        assert not miss, f"segment {s['name']} remote JSON lacks {miss}: {r}"
    for m in s["members"]:
        assert set(m) >= {"port", "vlan"}, f"member JSON {m}"
    assert s["macs"] == s["learned_macs"] + s["static_macs"], s


def check_port_reasons(res):
    """The port counters know the segment drop reasons."""
    for e in res.ports:
        miss = [r for r in PORT_SEGMENT_REASONS if r not in e["drop_reasons"]]
        assert not miss, (f"port {e['port']} drop_reasons lack the segment "
                          f"reasons {miss}")


def remote_json(s: dict, ip: str) -> dict:
    for r in s["remotes"]:
        if r["ip"] == ip:
            return r
    raise AssertionError(f"segment {s['name']}: remote {ip} not listed: "
                         f"{s['remotes']}")


def seg_counters(s: dict, **want):
    got = {k: s[k] for k in want}
    assert got == want, f"segment {s['name']} counters {got}, expected {want}"


def fdb_map(entries: list[dict], seg: str | None = None) -> dict:
    """{(segment, mac): (kind, place)}, place = ("port", p, vlan) or
    ("remote", ip)."""
    out = {}
    for e in entries:
        if seg is not None and e["segment"] != seg:
            continue
        for k in ("segment", "mac", "kind", "age"):
            assert k in e, f"fdb entry lacks {k!r}: {e}"
        assert isinstance(e["age"], int) and e["age"] >= 0, e
        if "remote" in e:
            place = ("remote", e["remote"])
        else:
            assert "port" in e and "vlan" in e, f"fdb entry without a place: {e}"
            place = ("port", e["port"], e["vlan"])
        key = (e["segment"], e["mac"].lower())
        assert key not in out, f"fdb lists {key} twice: {entries}"
        out[key] = (e["kind"], place)
    return out


def fdb_ages(entries: list[dict]) -> dict:
    return {(e["segment"], e["mac"].lower()): e["age"] for e in entries}


def port_place(p: int, vlan: int = 0) -> tuple:
    return ("port", p, vlan)


def remote_place(ip: str) -> tuple:
    return ("remote", ip)
