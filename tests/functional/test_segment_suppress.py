"""ARP/ND suppression in a segment (`segment <name> suppress on`): a member's ARP
request or neighbor solicitation for an address the segment knows (from `fdb add
... ip`, or snooped from ARP/ND crossing it) is answered by tundra, back to the
asker, instead of being flooded; everything else floods as before. scapy judges
the answers (fields, ICMPv6 checksum) and tshark must find them clean."""
import ipaddress

from scapy.layers.inet6 import (ICMPv6ND_NA, ICMPv6ND_NS, ICMPv6NDOptDstLLAddr,
                                ICMPv6NDOptSrcLLAddr, IPv6)
from scapy.layers.l2 import ARP, Dot1Q, Ether

from harness import UPLINK

ACCESS = 1
LOCAL, REMOTE = "192.0.2.1", "192.0.2.2"
A_MAC, B_MAC, C_MAC = "02:00:00:00:0a:01", "02:00:00:00:0a:02", "02:00:00:00:0a:03"
A4, B4, A6, B6 = "10.9.0.1", "10.9.0.2", "fd00::1", "fd00::2"
BCAST = "ff:ff:ff:ff:ff:ff"


def config(suppress: str) -> list[str]:
    return ["port config 0 role uplink", "port config 0 mac 02:00:00:00:00:01",
            f"port config 0 address {LOCAL}/24", "port config 1 role access",
            f"neigh add {REMOTE} 02:00:00:00:00:02 port 0",
            f"segment add s1 type vxlan local {LOCAL} vni 100",
            "segment s1 member port 1 vlan 10", "segment s1 member port 1 vlan 20",
            f"segment s1 remote {REMOTE}", f"segment s1 suppress {suppress}",
            f"fdb add s1 {B_MAC} port 1 vlan 20 ip {B4}",
            f"fdb add s1 {C_MAC} port 1 vlan 20 ip {B6}"]


def arp_request(spa: str, tpa: str, vlan: int = 10) -> bytes:
    return bytes(Ether(src=A_MAC, dst=BCAST) / Dot1Q(vlan=vlan) /
                 ARP(op=1, hwsrc=A_MAC, psrc=spa, pdst=tpa))


def neighbor_solicit(target: str) -> bytes:
    # To the target's solicited-node group (RFC 4291 §2.7.1), as hosts send it.
    low = ipaddress.IPv6Address(target).packed[13:]
    group = "ff02::1:ff%02x:%02x%02x" % tuple(low)
    mac = "33:33:ff:%02x:%02x:%02x" % tuple(low)
    return bytes(Ether(src=A_MAC, dst=mac) / Dot1Q(vlan=10) /
                 IPv6(src=A6, dst=group, hlim=255) / ICMPv6ND_NS(tgt=target) /
                 ICMPv6NDOptSrcLLAddr(lladdr=A_MAC))


def test_requests_for_known_addresses_are_answered(tundra):
    frames = [arp_request(A4, B4), neighbor_solicit(B6),
              arp_request(A4, "10.9.0.77"),  # unknown: flooded
              arp_request(A4, A4)]           # gratuitous: flooded
    res = tundra.run(config("on"), {ACCESS: frames},
                     show=["show segment s1 json", "show fdb s1 json"])
    out = [Ether(p) for p in res.out(ACCESS)]
    answers = [p for p in out if p[Dot1Q].vlan == 10]
    assert len(answers) == 2, [p.summary() for p in out]
    arp = next(p for p in answers if ARP in p)
    assert (arp[Ether].dst, arp[Ether].src) == (A_MAC, B_MAC)
    assert (arp[ARP].op, arp[ARP].hwsrc, arp[ARP].psrc, arp[ARP].hwdst, arp[ARP].pdst) == \
        (2, B_MAC, B4, A_MAC, A4)
    na = next(p for p in answers if ICMPv6ND_NA in p)
    assert (na[Ether].dst, na[Ether].src) == (A_MAC, C_MAC)
    assert (na[IPv6].src, na[IPv6].dst, na[IPv6].hlim) == (B6, A6, 255)
    assert (na[ICMPv6ND_NA].tgt, na[ICMPv6ND_NA].S, na[ICMPv6ND_NA].O, na[ICMPv6ND_NA].R) == \
        (B6, 1, 1, 0)
    assert na[ICMPv6NDOptDstLLAddr].lladdr == C_MAC
    check = na[IPv6].copy()
    del check[ICMPv6ND_NA].cksum
    assert IPv6(bytes(check))[ICMPv6ND_NA].cksum == na[ICMPv6ND_NA].cksum, "NA checksum"
    # The other two were flooded: to VLAN 20 and to the remote, as without suppression.
    assert sorted(p[ARP].pdst for p in out if p[Dot1Q].vlan == 20) == sorted(["10.9.0.77", A4])
    assert len(res.out(UPLINK)) == 2
    seg = [o for o in res.json_objs if "segments" in o][-1]["segments"][0]
    assert (seg["suppress"], seg["suppressed"], seg["flooded"]) == (True, 2, 2), seg
    # What the requests taught: A's addresses are bound to A's MAC now.
    fdb = {e["mac"]: e for e in [o for o in res.json_objs if "fdb" in o][-1]["fdb"]}
    assert sorted(fdb[A_MAC]["ips"]) == sorted([A4, A6]), fdb
    assert fdb[B_MAC]["ips"] == [B4] and fdb[C_MAC]["ips"] == [B6]


def test_suppression_off_floods_everything(tundra):
    res = tundra.run(config("off"), {ACCESS: [arp_request(A4, B4), neighbor_solicit(B6)]},
                     show=["show segment s1 json"])
    out = [Ether(p) for p in res.out(ACCESS)]
    assert [p[Dot1Q].vlan for p in out] == [20, 20]
    assert len(res.out(UPLINK)) == 2
    seg = [o for o in res.json_objs if "segments" in o][-1]["segments"][0]
    assert (seg["suppressed"], seg["hosts"]) == (0, 2), seg
