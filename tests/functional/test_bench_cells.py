"""scripts/bench.sh's cells are measurements of forwarding, not of dropping: for each
protocol, underlay, direction and tunnel count, tundra-gen's traffic for the cell
(scripts/lib/bench_cell.py gen-spec) run once through tundra with the cell's config
(bench_cell.py config) must come out whole — every packet forwarded, no drop, and
tshark finding nothing malformed in the output (the harness checks that)."""

import subprocess
import sys

import pytest

from harness import REPO, Tundra, read_pcap

# Once, on the optimised build (the same forwarding paths as the protocol modules).
pytestmark = pytest.mark.not_sanitized

GEN = REPO / "build" / "bench" / "gen" / "tundra-gen"
CELL = [sys.executable, str(REPO / "scripts" / "lib" / "bench_cell.py")]
PROTOCOLS = ("vxlan", "geneve0", "geneve2", "gretap", "gre", "greseq")

CASES = [(p, ul, d, 1) for p in PROTOCOLS for ul in ("v4", "v6") for d in ("encap", "decap")]
# Many tunnels: decap spreads its flows over 256 of them (VLAN attachments for L2).
CASES += [(p, "v4", "decap", 300) for p in PROTOCOLS]
# ESP on the one tunnel (its decap pcap encrypted by bench_cell.py esp-pcap).
CASES += [("vxlan-esp", ul, d, 1) for ul in ("v4", "v6") for d in ("encap", "decap")]


@pytest.mark.parametrize("proto,underlay,direction,tunnels", CASES)
def test_bench_cell_traffic_is_forwarded(tmp_path, proto, underlay, direction, tunnels):
    if not GEN.exists():
        pytest.fail(f"{GEN} is not built")
    spec = subprocess.run(CELL + ["gen-spec", proto, underlay, direction, "1500", str(tunnels)],
                          check=True, capture_output=True, text=True).stdout.strip()
    pcap = tmp_path / "cell.pcap"
    # 1500-byte inner frames: the largest cell, where the uplink MTU matters.
    subprocess.run([str(GEN), "--", f"--spec={spec}", f"--write_pcap={pcap}", "--count=512"],
                   check=True, capture_output=True, text=True, timeout=60)
    if proto == "vxlan-esp" and direction == "decap":
        plain = pcap.with_suffix(".plain.pcap")
        pcap.rename(plain)
        subprocess.run(CELL + ["esp-pcap", str(plain), str(pcap)], check=True, timeout=120)
    frames = read_pcap(pcap)
    assert len(frames) == 512
    config = subprocess.run(CELL + ["config", proto, underlay, direction, str(tunnels),
                                    "--setup-only"],
                            check=True, capture_output=True, text=True).stdout.splitlines()
    rx_port = 1 if direction == "encap" else 0
    # The inner UDP ports (1024 + flow, 5001) include registered ones (e.g. 1153, ANSI
    # C12.22) whose dissectors would call tundra-gen's payload malformed: read it as data.
    res = Tundra(tmp_path).run(config, {rx_port: frames},
                               decode_as=("udp.port==1024-1300,data", "udp.port==5001,data"),
                               show=["show sa json"] if proto == "vxlan-esp" else [])
    assert res.nonzero_drops() == {}, res.describe()
    out = res.out(1 - rx_port)
    assert len(out) == len(frames), res.describe()
    if proto == "vxlan-esp":
        if direction == "encap":
            ip = out[0][14] >> 4
            assert out[0][14 + 9 if ip == 4 else 14 + 6] == 50, "encap output is not ESP"
        sa = {s["name"]: s for o in res.json_objs if "sas" in o for s in o["sas"]}
        assert sa["esp-out" if direction == "encap" else "esp-in"]["packets"] == len(frames)
    if direction == "decap" and tunnels > 1 and proto not in ("gre", "greseq"):
        # L2 tunnels deliver on their VLANs: 256 tunnels in use, each on its own tag.
        vlans = {int.from_bytes(f[14:16], "big") & 0x0FFF for f in out}
        assert out[0][12:14] == b"\x81\x00" and len(vlans) == 256


SEGMENT = [sys.executable, str(REPO / "scripts" / "lib" / "bench_segment.py")]


@pytest.mark.parametrize("cell,remotes", [("ku-encap", 1), ("ku-decap", 1), ("bum-encap", 8)])
def test_segment_cell_traffic_is_forwarded(tmp_path, cell, remotes):
    """The segment cells (scripts/lib/bench_segment.py): known unicast goes whole to the
    one place the FDB says, a broadcast once to each of the R remotes, nothing dropped;
    scapy reads the copies' outer destinations."""
    from scapy.layers.inet import IP
    from scapy.layers.l2 import Ether
    from scapy.layers.vxlan import VXLAN
    pcap = tmp_path / "cell.pcap"
    subprocess.run(SEGMENT + ["pcap", cell, str(pcap), "--fdb", "1000"], check=True)
    frames = read_pcap(pcap)
    assert len(frames) == 256
    config = subprocess.run(SEGMENT + ["config", cell, "--fdb", "1000", "--remotes",
                                       str(remotes), "--setup-only"],
                            check=True, capture_output=True, text=True).stdout.splitlines()
    rx_port = 0 if cell == "ku-decap" else 1
    res = Tundra(tmp_path).run(config, {rx_port: frames}, decode_as=("udp.port==1024-1300,data",))
    assert res.nonzero_drops() == {}, res.describe()
    out = res.out(1 - rx_port)
    assert len(out) == len(frames) * remotes, res.describe()
    if cell == "ku-decap":
        assert sorted(out) == sorted(bytes(Ether(f)[VXLAN].payload) for f in frames)
        return
    dsts = [Ether(f)[IP].dst for f in out]
    assert all(Ether(f)[VXLAN].vni == 100 for f in out)
    want = ["192.0.2.%d" % (2 + r) for r in range(remotes)]
    assert sorted(set(dsts)) == sorted(want) and all(dsts.count(d) == 256 for d in want), dsts
