"""A segment under a new-MAC storm: tens of thousands of frames from never-seen
source MACs, more than the control thread is allowed to learn at once, mixed with
known-unicast traffic to a member and to a remote. No known-unicast frame may be
lost, duplicated or misdelivered, no frame may leave the segment or flood, and
every new MAC must be accounted for: learned, refused by max-macs, or counted as
a learn event the workers could not hand over. With 1 and 2 workers (the
functional suite also runs this under ASan)."""
import re

import pytest
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Dot1Q, Ether
from scapy.layers.vxlan import VXLAN
from scapy.packet import Raw

from harness import UPLINK

ACCESS = 1
LOCAL, REMOTE = "192.0.2.1", "192.0.2.2"
TO_MEMBER, TO_REMOTE = "02:00:00:00:dd:01", "02:00:00:00:dd:02"
STORM = 10000
MAX_MACS = 4000


def storm_mac(k: int) -> str:
    return "02:5e:%02x:%02x:%02x:%02x" % (k >> 24 & 0xFF, k >> 16 & 0xFF, k >> 8 & 0xFF, k & 0xFF)


def frame(k: int, dst: str) -> bytes:
    return bytes(Ether(src=storm_mac(k), dst=dst) / Dot1Q(vlan=10) /
                 IP(src="10.9.0.1", dst="10.9.0.2") / UDP(sport=33333, dport=9) /
                 Raw(k.to_bytes(4, "big")))


@pytest.mark.parametrize("workers", [1, 2])
def test_new_mac_storm_with_known_unicast(tundra, workers):
    cfg = ["port config 0 role uplink", "port config 0 mac 02:00:00:00:00:01",
           f"port config 0 address {LOCAL}/24", "port config 1 role access",
           f"neigh add {REMOTE} 02:00:00:00:00:02 port 0",
           f"segment add s1 type vxlan local {LOCAL} vni 100",
           "segment s1 member port 1 vlan 10", "segment s1 member port 1 vlan 20",
           f"segment s1 remote {REMOTE}", f"segment s1 max-macs {MAX_MACS}",
           f"fdb add s1 {TO_MEMBER} port 1 vlan 20", f"fdb add s1 {TO_REMOTE} remote {REMOTE}"]
    # Every frame has a new source; every third goes to the remote, the rest to VLAN 20.
    frames = [frame(k, TO_REMOTE if k % 3 == 0 else TO_MEMBER) for k in range(STORM)]
    # The sleep lets the once-a-second event log see the final counts.
    res = tundra.run(cfg, {ACCESS: frames}, workers=workers,
                     show=["sleep 1100", "show segment s1 json"])
    to_member = [Ether(p) for p in res.out(ACCESS)]
    to_remote = [Ether(p) for p in res.out(UPLINK)]
    # Exactly the frames for each place, each once (order across workers may differ).
    want_member = sorted(k for k in range(STORM) if k % 3)
    want_remote = sorted(k for k in range(0, STORM, 3))
    assert all(p[Dot1Q].vlan == 20 and p[Ether].dst == TO_MEMBER for p in to_member)
    assert sorted(int.from_bytes(bytes(p[Raw])[:4], "big") for p in to_member) == want_member
    assert all(p[IP].dst == REMOTE and p[VXLAN].vni == 100 for p in to_remote)
    assert sorted(int.from_bytes(bytes(p[VXLAN].payload[Raw])[:4], "big")
                  for p in to_remote) == want_remote
    seg = [o for o in res.json_objs if "segments" in o][-1]["segments"][0]
    assert seg["flooded"] == 0 and seg["drops"] == 0, seg
    assert seg["learned_macs"] <= MAX_MACS and seg["static_macs"] == 2, seg
    # Each new MAC was learned, refused by max-macs, or its event counted as dropped.
    assert seg["learned"] + seg["limit_dropped"] + seg["learn_dropped"] == STORM, seg
    assert seg["learned"] == seg["learned_macs"], seg
    # The log (stderr) says so in a few lines, at most one of each kind a second, never one
    # per frame; their counts add up to the counters.
    lost = [int(m) for m in re.findall(r"^tundra\.fdb: segment s1: (\d+) learn events lost",
                                       res.stderr, re.M)]
    refused = [int(m) for m in re.findall(
        r"^tundra\.fdb: segment s1: (\d+) new MACs not learned \(max-macs 4000 reached\)",
        res.stderr, re.M)]
    assert sum(lost) == seg["learn_dropped"] and sum(refused) == seg["limit_dropped"], \
        res.stderr[-3000:]
    assert seg["limit_dropped"] > 0 and 1 <= len(refused) <= 10 and len(lost) <= 10
