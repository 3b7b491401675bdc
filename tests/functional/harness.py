"""Functional-test harness for tundra: run the real binary on net_pcap ports.

Inputs are built and outputs are judged by independent implementations
(scapy's protocol layers and tshark's dissectors), never by tundra's code.

Pieces:
  * pcap I/O          write_pcap / read_pcap (own tiny codec, Ethernet only)
  * running tundra    Tundra.run(config_lines, inputs={port: frames}, ...)
                      -> RunResult (rc, stdout/stderr, JSON objects, output
                      frames per port).  Every successful run is checked for
                      a clean exit, complete JSON, mempool in_use == 0 and
                      tshark finding nothing malformed in any output pcap.
  * scenario data     Underlay (v4/v6 addressing), Tunnel (one `tunnel add`),
                      tunnel_config() -> config lines
  * expectations      expected_encap(), check_encap(), tunnel_packet()
                      (protocol-specific parts live in the _PROTO table so
                      GENEVE and GRE can plug in later)
  * traffic           make_inner_frames(), add_vlan(), flow_frame()
  * tshark            tshark_problems(), tshark_fields()

The tundra binary is build/control/tundra, or $TUNDRA_BIN.  If it is absent
every test that needs it FAILS (pytest.fail), it is never skipped.
"""

from __future__ import annotations

import glob
import itertools
import json
import os
import random
import shlex
import shutil
import struct
import subprocess
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterable, Sequence

import pytest
from scapy.all import (  # noqa: F401  (re-exported for the tests)
    ARP, Dot1Q, Ether, ICMP, IP, IPv6, Padding, Raw, TCP, UDP, NoPayload,
    conf as scapy_conf)
from scapy.layers.inet6 import (  # noqa: F401
    ICMPv6ND_NA, ICMPv6ND_NS, ICMPv6NDOptDstLLAddr, ICMPv6NDOptSrcLLAddr,
    IPv6ExtHdrFragment)
from scapy.layers.vxlan import VXLAN

scapy_conf.verb = 0

REPO = Path(__file__).resolve().parents[2]
DEFAULT_BIN = REPO / "build" / "control" / "tundra"
RUN_TIMEOUT_S = 60
TSHARK_TIMEOUT_S = 60

# The contract's drop-reason names (DESIGN.md / dataplane/drop_reasons.def).
# Kept here independently; test_harness_selftest checks the .def agrees.
DROP_REASONS = (
    "no-role", "truncated", "not-for-us", "not-tunnel", "bad-ip-header",
    "bad-ip-checksum", "ip-fragment", "bad-udp-length", "bad-udp-checksum",
    "unknown-port", "bad-flags", "unknown-vni", "remote-mismatch",
    "no-attachment", "no-neighbor", "mtu-exceeded", "no-headroom",
    "arp-ignored", "tx-full",
)

PORT_KEYS = ("port", "name", "role", "rx_packets", "rx_bytes", "tx_packets",
             "tx_bytes", "drops", "drop_reasons", "ethdev")
ETHDEV_KEYS = ("ipackets", "opackets", "ibytes", "obytes", "imissed",
               "ierrors", "oerrors", "rx_nombuf")
TUNNEL_KEYS = ("name", "type", "local", "remote", "encap_packets",
               "encap_bytes", "decap_packets", "decap_bytes", "drops",
               "drop_reasons")

# Appended to every batch config unless a test brings its own ending.
EPILOGUE = (
    "start",
    "wait idle 300",
    "show port stats all json",
    "show tunnel stats json",
    "show mempool json",
    "show fwd stats json",
    "quit",
)

UDP_SPORT_MIN, UDP_SPORT_MAX = 49152, 65535


# --------------------------------------------------------------------------
# pcap I/O (classic libpcap format, LINKTYPE_ETHERNET)

def write_pcap(path: os.PathLike, frames: Iterable) -> Path:
    """Write frames (bytes or scapy packets) as a microsecond pcap."""
    path = Path(path)
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i, fr in enumerate(frames):
            b = bytes(fr)
            f.write(struct.pack("<IIII", 1_700_000_000 + i // 1_000_000,
                                i % 1_000_000, len(b), len(b)))
            f.write(b)
    return path


def read_pcap(path: os.PathLike) -> list[bytes]:
    """Return the frames of a pcap (us or ns, either byte order)."""
    data = Path(path).read_bytes()
    assert len(data) >= 24, f"{path}: not a pcap (only {len(data)} bytes)"
    magic_le = struct.unpack("<I", data[:4])[0]
    if magic_le in (0xA1B2C3D4, 0xA1B23C4D):
        end = "<"
    elif struct.unpack(">I", data[:4])[0] in (0xA1B2C3D4, 0xA1B23C4D):
        end = ">"
    else:
        raise AssertionError(f"{path}: bad pcap magic {data[:4].hex()}")
    linktype = struct.unpack(end + "I", data[20:24])[0]
    assert linktype == 1, f"{path}: linktype {linktype}, expected Ethernet"
    frames, off = [], 24
    while off < len(data):
        assert off + 16 <= len(data), f"{path}: truncated record header"
        _, _, incl, orig = struct.unpack(end + "IIII", data[off:off + 16])
        off += 16
        assert off + incl <= len(data), f"{path}: truncated record"
        assert incl == orig, (f"{path}: frame {len(frames) + 1} captured "
                              f"{incl} of {orig} bytes (snaplen cut)")
        frames.append(data[off:off + incl])
        off += incl
    return frames


# --------------------------------------------------------------------------
# tshark, the second oracle

TSHARK_PREFS = (
    "-o", "ip.check_checksum:TRUE",
    "-o", "udp.check_checksum:TRUE",
    "-o", "tcp.check_checksum:TRUE",
    # Our inner TCP segments are not real conversations: sequence analysis
    # would only report "previous segment not captured" noise.
    "-o", "tcp.analyze_sequence_numbers:FALSE",
)


def _tshark(args: Sequence[str]) -> str:
    exe = shutil.which("tshark")
    if exe is None:
        pytest.fail("tshark not found on PATH (apt-get install tshark)")
    p = subprocess.run([exe, *args], capture_output=True, text=True,
                       timeout=TSHARK_TIMEOUT_S)
    if p.returncode != 0:
        raise AssertionError(f"tshark {' '.join(args)} failed "
                             f"rc={p.returncode}: {p.stderr.strip()}")
    return p.stdout


def _decode_as_args(decode_as: Iterable[str]) -> list[str]:
    out = []
    for d in decode_as:
        out += ["-d", d]
    return out


def tshark_problems(pcap: os.PathLike, decode_as: Iterable[str] = ()
                    ) -> list[str]:
    """Expert entries of severity >= warning and malformed frames."""
    out = _tshark(["-r", str(pcap), *TSHARK_PREFS, *_decode_as_args(decode_as),
                   "-Y", "_ws.expert.severity >= warning or _ws.malformed",
                   "-T", "fields", "-e", "frame.number",
                   "-e", "_ws.expert.message", "-e", "_ws.col.Protocol"])
    return [line for line in out.splitlines() if line.strip()]


def tshark_fields(pcap: os.PathLike, fields: Sequence[str],
                  decode_as: Iterable[str] = (), display_filter: str = "",
                  occurrence: str = "f") -> list[list[str]]:
    """One row per frame: the requested fields as tshark dissects them.

    occurrence "f": the first (outermost) occurrence of each field; "a": all
    occurrences, comma-separated."""
    args = ["-r", str(pcap), *TSHARK_PREFS, *_decode_as_args(decode_as),
            "-T", "fields", "-E", "separator=|", "-E", f"occurrence={occurrence}"]
    if display_filter:
        args += ["-Y", display_filter]
    for f in fields:
        args += ["-e", f]
    out = _tshark(args)
    return [line.split("|") for line in out.splitlines()]


def assert_tshark_clean(pcap: os.PathLike, decode_as: Iterable[str] = ()):
    problems = tshark_problems(pcap, decode_as)
    assert not problems, (f"tshark found problems in {pcap}:\n  "
                          + "\n  ".join(problems[:20]))


# --------------------------------------------------------------------------
# Running tundra

_run_counter = itertools.count()


def tundra_bin() -> Path:
    p = Path(os.environ.get("TUNDRA_BIN", str(DEFAULT_BIN)))
    if not (p.is_file() and os.access(p, os.X_OK)):
        pytest.fail(f"tundra binary not found or not executable: {p} "
                    "(build it with meson/ninja, or set TUNDRA_BIN)",
                    pytrace=False)
    return p


def eal_mem_args() -> list[str]:
    return shlex.split(os.environ.get("TUNDRA_EAL_MEM", "--no-huge -m 512"))


def lcore_args(workers: int) -> list[str]:
    """Main lcore 0 plus `workers` worker lcores.

    With fewer CPUs than lcores (2-core CI boxes) map lcores onto CPUs
    round-robin via --lcores; EAL refuses `-l 0-2` on a 2-CPU machine."""
    ncpu = len(os.sched_getaffinity(0))
    if workers + 1 <= ncpu:
        return ["-l", f"0-{workers}"]
    cpus = sorted(os.sched_getaffinity(0))
    return ["--lcores=" + ",".join(f"{i}@{cpus[i % ncpu]}"
                                   for i in range(workers + 1))]


@dataclass
class RunResult:
    cmd: list[str]
    rundir: Path
    cfg: Path
    returncode: int
    stdout: str
    stderr: str
    json_objs: list[dict]
    json_errors: list[str]
    outputs: dict[int, list[bytes]]       # port -> frames (queues merged)
    out_files: dict[int, list[Path]]
    in_frames: dict[int, list[bytes]]
    decode_as: tuple = ()

    # -- JSON accessors (the last object of each kind) --
    def _last(self, key: str) -> list:
        for o in reversed(self.json_objs):
            if key in o:
                return o[key]
        raise AssertionError(f"no JSON object with key {key!r} on stdout; "
                             f"stdout tail:\n{self.stdout[-2000:]}")

    @property
    def ports(self) -> list[dict]:
        return self._last("ports")

    @property
    def tunnels(self) -> list[dict]:
        return self._last("tunnels")

    @property
    def mempools(self) -> list[dict]:
        return self._last("mempools")

    @property
    def workers(self) -> list[dict]:
        return self._last("workers")

    def port(self, p: int) -> dict:
        for e in self.ports:
            if e.get("port") == p:
                return e
        raise AssertionError(f"port {p} missing from port stats: {self.ports}")

    def tunnel(self, name: str) -> dict:
        for e in self.tunnels:
            if e.get("name") == name:
                return e
        raise AssertionError(f"tunnel {name} missing from tunnel stats: "
                             f"{self.tunnels}")

    def out(self, p: int) -> list[bytes]:
        return self.outputs.get(p, [])

    def nonzero_drops(self) -> dict[tuple[int, str], int]:
        """{(port, reason): count} for every nonzero port drop counter."""
        res = {}
        for e in self.ports:
            for r, n in e.get("drop_reasons", {}).items():
                if n:
                    res[(e["port"], r)] = n
        return res

    def describe(self) -> str:
        return (f"run dir {self.rundir}\ncmd: {' '.join(self.cmd)}\n"
                f"rc={self.returncode}\nstderr tail:\n{self.stderr[-3000:]}")


class Tundra:
    """Runs tundra in batch mode in a per-test directory."""

    def __init__(self, tmp_path: Path):
        self.tmp_path = Path(tmp_path)

    def run(self, config: Sequence[str], inputs: dict | None = None, *,
            nports: int = 2, workers: int = 1, epilogue: bool = True,
            expect_ok: bool = True, check: bool = True,
            decode_as: Iterable[str] = ()) -> RunResult:
        """Run one batch.

        inputs: {port: [frame, ...]} (split round-robin over the rx queues
        when workers > 1) or {port: [[q0 frames], [q1 frames]]}.
        """
        binary = tundra_bin()
        n = next(_run_counter)
        prefix = f"tundra_ft_{os.getpid()}_{n}"
        rundir = self.tmp_path / f"run{n}"
        rundir.mkdir(parents=True)
        inputs = inputs or {}
        assert set(inputs) <= set(range(nports)), "input for a missing port"

        nq = workers
        vdevs, out_files, in_frames = [], {}, {}
        for p in range(nports):
            frames = inputs.get(p, [])
            if frames and isinstance(frames[0], list):
                queues = [[bytes(f) for f in q] for q in frames]
                assert len(queues) == nq, "one frame list per rx queue"
            else:
                frames = [bytes(f) for f in frames]
                queues = [frames[q::nq] for q in range(nq)]
            in_frames[p] = [f for q in queues for f in q]
            args = []
            for q in range(nq):
                rx = write_pcap(rundir / f"p{p}_rx{q}.pcap", queues[q])
                args.append(f"rx_pcap={rx}")
            out_files[p] = []
            for q in range(nq):
                tx = rundir / f"p{p}_tx{q}.pcap"
                out_files[p].append(tx)
                args.append(f"tx_pcap={tx}")
            vdevs.append(f"--vdev=net_pcap{p}," + ",".join(args))

        lines = list(config) + (list(EPILOGUE) if epilogue else [])
        cfg = rundir / "run.cfg"
        cfg.write_text("".join(line + "\n" for line in lines))

        cmd = [str(binary), *lcore_args(workers), "--no-pci",
               *eal_mem_args(), f"--file-prefix={prefix}", *vdevs,
               "--", f"--config={cfg}"]
        (rundir / "cmd.txt").write_text(shlex.join(cmd) + "\n")
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, errors="replace", cwd=rundir)
        try:
            stdout, stderr = proc.communicate(timeout=RUN_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()  # our own child, by its PID
            stdout, stderr = proc.communicate()
            _cleanup_prefix(prefix)
            pytest.fail(f"tundra did not finish within {RUN_TIMEOUT_S}s "
                        f"(killed pid {proc.pid}); run dir {rundir}\n"
                        f"stdout tail:\n{stdout[-2000:]}\n"
                        f"stderr tail:\n{stderr[-2000:]}", pytrace=False)
        finally:
            if proc.poll() is not None:
                _cleanup_prefix(prefix)
        (rundir / "stdout.txt").write_text(stdout)
        (rundir / "stderr.txt").write_text(stderr)

        objs, errs = [], []
        for line in stdout.splitlines():
            s = line.strip()
            if not s.startswith("{"):
                continue
            try:
                o = json.loads(s)
            except json.JSONDecodeError as e:
                errs.append(f"{e}: {s[:200]}")
                continue
            if isinstance(o, dict):
                objs.append(o)
            else:
                errs.append(f"not an object: {s[:200]}")

        outputs = {}
        for p, files in out_files.items():
            frames = []
            for f in files:
                if f.exists():
                    frames += read_pcap(f)
            outputs[p] = frames

        res = RunResult(cmd=cmd, rundir=rundir, cfg=cfg,
                        returncode=proc.returncode, stdout=stdout,
                        stderr=stderr, json_objs=objs, json_errors=errs,
                        outputs=outputs, out_files=out_files,
                        in_frames=in_frames, decode_as=tuple(decode_as))
        if check and expect_ok:
            assert_healthy(res, epilogue=epilogue)
        return res


def _cleanup_prefix(prefix: str):
    """Remove the EAL runtime dir / hugepage files of our own run."""
    for d in (f"/var/run/dpdk/{prefix}",
              f"{os.environ.get('XDG_RUNTIME_DIR', '/nonexistent')}/dpdk/{prefix}"):
        if os.path.isdir(d):
            shutil.rmtree(d, ignore_errors=True)
    for f in glob.glob(f"/dev/hugepages/{prefix}map_*"):
        try:
            os.unlink(f)
        except OSError:
            pass


def assert_healthy(res: RunResult, epilogue: bool = True):
    """What every successful run must satisfy."""
    assert res.returncode == 0, f"tundra exited {res.returncode}\n{res.describe()}"
    assert not res.json_errors, ("stdout lines that look like JSON but do not "
                                 f"parse: {res.json_errors}")
    if epilogue:
        for key in ("ports", "tunnels", "mempools", "workers"):
            res._last(key)
        check_port_stats_shape(res.ports)
        check_tunnel_stats_shape(res.tunnels)
        assert res.workers, "show fwd stats json lists no workers"
    # The leak check: tundra holds no mbufs once idle.
    for pool in res.mempools if epilogue else _maybe(res, "mempools"):
        assert pool.get("in_use") == 0, (
            f"mbuf leak: mempool {pool.get('name')} has in_use="
            f"{pool.get('in_use')} after wait idle (size {pool.get('size')}, "
            f"free {pool.get('free')})")
    # tshark must find nothing malformed in what tundra wrote.
    for p, files in res.out_files.items():
        for f in files:
            assert f.exists(), f"tx pcap {f} for port {p} was not written"
            if read_pcap(f):
                assert_tshark_clean(f, res.decode_as)


def _maybe(res: RunResult, key: str) -> list:
    try:
        return res._last(key)
    except AssertionError:
        return []


def check_port_stats_shape(ports: list[dict]):
    assert isinstance(ports, list) and ports, "port stats: empty 'ports'"
    for e in ports:
        missing = [k for k in PORT_KEYS if k not in e]
        assert not missing, f"port stats entry lacks {missing}: {e}"
        dr = e["drop_reasons"]
        assert set(dr) == set(DROP_REASONS), (
            f"port {e['port']} drop_reasons keys differ from the contract: "
            f"missing {sorted(set(DROP_REASONS) - set(dr))}, "
            f"extra {sorted(set(dr) - set(DROP_REASONS))}")
        assert e["drops"] == sum(dr.values()), (
            f"port {e['port']}: drops={e['drops']} != sum(drop_reasons)="
            f"{sum(dr.values())}")
        missing = [k for k in ETHDEV_KEYS if k not in e["ethdev"]]
        assert not missing, f"port {e['port']} ethdev lacks {missing}"


def check_tunnel_stats_shape(tunnels: list[dict]):
    assert isinstance(tunnels, list)
    for e in tunnels:
        missing = [k for k in TUNNEL_KEYS if k not in e]
        assert not missing, f"tunnel stats entry lacks {missing}: {e}"
        assert e["drops"] == sum(e["drop_reasons"].values()), (
            f"tunnel {e['name']}: drops != sum(drop_reasons)")


# --------------------------------------------------------------------------
# Scenario data (protocol-agnostic)

@dataclass(frozen=True)
class Underlay:
    family: int            # 4 or 6
    local: str             # our VTEP address (uplink port address)
    remote: str            # the peer VTEP
    plen: int
    port_mac: str = "02:00:00:00:00:01"   # uplink port MAC
    peer_mac: str = "02:00:00:00:00:02"   # neighbor MAC of `remote`
    other: str = ""        # another host in the subnet (not a tunnel remote)
    foreign: str = ""      # an address that is not ours

    def mirrored(self) -> "Underlay":
        return replace(self, local=self.remote, remote=self.local,
                       port_mac=self.peer_mac, peer_mac=self.port_mac)

    @property
    def ip_layer(self):
        return IP if self.family == 4 else IPv6


UL4 = Underlay(4, "192.0.2.1", "192.0.2.2", 24,
               other="192.0.2.3", foreign="192.0.2.99")
UL6 = Underlay(6, "2001:db8::1", "2001:db8::2", 64,
               other="2001:db8::3", foreign="2001:db8::99")
UNDERLAYS = {"v4": UL4, "v6": UL6}

UPLINK, ACCESS = 0, 1


@dataclass(frozen=True)
class Tunnel:
    name: str = "t1"
    type: str = "vxlan"
    vni: int | None = 100
    dstport: int | None = None
    ttl: int | str | None = None        # n or "inherit"
    tos: int | str | None = None        # n or "inherit"
    df: str | None = None               # set|clear|inherit
    udp_csum: str | None = None         # on|off
    remote: str | None = None           # overrides Underlay.remote
    extra: tuple = ()                   # further raw CLI tokens
    hex_numbers: bool = False           # write numbers as 0x.. in the CLI

    def _num(self, v: int) -> str:
        return hex(v) if self.hex_numbers else str(v)

    def cli(self, ul: Underlay) -> str:
        toks = ["tunnel", "add", self.name, "type", self.type,
                "local", ul.local, "remote", self.remote or ul.remote]
        if self.vni is not None:
            toks += ["vni", self._num(self.vni)]
        if self.dstport is not None:
            toks += ["dstport", self._num(self.dstport)]
        for key, v in (("ttl", self.ttl), ("tos", self.tos)):
            if v is not None:
                toks += [key, v if isinstance(v, str) else self._num(v)]
        if self.df is not None:
            toks += ["df", self.df]
        if self.udp_csum is not None:
            toks += ["udp-csum", self.udp_csum]
        return " ".join(toks + list(self.extra))

    @property
    def udp_dport(self) -> int:
        return self.dstport if self.dstport is not None else _PROTO[self.type]["port"]

    def decode_as(self) -> tuple:
        """tshark -d arguments for a non-default UDP port."""
        if self.dstport is not None and self.dstport != _PROTO[self.type]["port"]:
            return (f"udp.port=={self.dstport},{self.type}",)
        return ()


@dataclass(frozen=True)
class Xconnect:
    port: int = ACCESS
    vlan: int | None = None
    tunnel: str = "t1"

    def cli(self) -> str:
        v = f" vlan {self.vlan}" if self.vlan is not None else ""
        return f"xconnect add {self.port}{v} tunnel {self.tunnel}"


def tunnel_config(ul: Underlay, tunnels: Sequence[Tunnel] = (Tunnel(),),
                  xconnects: Sequence[Xconnect] | None = None, *,
                  neighbor: bool = True,
                  extra_neigh: Sequence[tuple[str, str]] = (),
                  uplink: int = UPLINK, access: int = ACCESS) -> list[str]:
    """Config lines: uplink + access roles, neighbor, tunnels, xconnects."""
    if xconnects is None:
        xconnects = [Xconnect(access, None, tunnels[0].name)]
    lines = [
        "# generated by tests/functional/harness.py",
        f"port config {uplink} role uplink",
        f"port config {uplink} address {ul.local}/{ul.plen}",
        f"port config {uplink} mac {ul.port_mac}",
        f"port config {access} role access",
    ]
    if neighbor:
        lines.append(f"neigh add {ul.remote} {ul.peer_mac} port {uplink}")
    for ip, mac in extra_neigh:
        lines.append(f"neigh add {ip} {mac} port {uplink}")
    lines += [t.cli(ul) for t in tunnels]
    lines += [x.cli() for x in xconnects]
    return lines


# --------------------------------------------------------------------------
# Expected frames

def inner_tos_ttl_df(inner: bytes) -> tuple[int | None, int | None, bool | None]:
    """(TOS/traffic class, TTL/hop limit, DF) of the inner IP packet."""
    p = Ether(inner)
    if IP in p:
        return p[IP].tos, p[IP].ttl, bool(int(p[IP].flags) & 0x2)
    if IPv6 in p:
        return p[IPv6].tc, p[IPv6].hlim, None
    return None, None, None


def vxlan_header(vni: int, flags: int = 0x08, reserved: tuple = (0, 0)) -> bytes:
    """RFC 7348 section 5 by hand: flags(8) reserved(24) VNI(24) reserved(8).

    Used for headers scapy's VXLAN layer would re-interpret (it treats some
    reserved flag bits as VXLAN-GPE / GBP and changes the layout)."""
    return struct.pack("!BBH", flags, reserved[0] >> 16,
                       reserved[0] & 0xFFFF) + struct.pack(
        "!I", (vni << 8) | reserved[1])


def _vxlan_layers(tun: Tunnel, family: int, *, sport: int, vni: int | None = None,
                  flags: int = 0x08, udp_chksum: int | None = None,
                  reserved: tuple = (0, 0), **_):
    vni = tun.vni if vni is None else vni
    udp = UDP(sport=sport, dport=tun.udp_dport, chksum=udp_chksum)
    if flags == 0x08 and reserved == (0, 0):
        return udp / VXLAN(flags=0x08, vni=vni)
    return udp / Raw(vxlan_header(vni, flags, reserved))


def _vxlan_expected_udp_chksum(tun: Tunnel, family: int) -> int | None:
    """None = scapy computes it; 0 = must be zero."""
    if family == 6 or tun.udp_csum == "on":
        return None
    return 0


# Per-protocol pieces: how the tunnel header is built (encap expectation and
# crafted decap input), the default UDP port, the outer IP protocol.
_PROTO = {
    "vxlan": {"port": 4789, "ipproto": 17, "layers": _vxlan_layers,
              "expected_udp_chksum": _vxlan_expected_udp_chksum},
}


def expected_encap(ul: Underlay, tun: Tunnel, inner: bytes, *, sport: int,
                   ip_id: int = 0, flow_label: int = 0):
    """The frame tundra must send on the uplink for `inner`.

    Fields the contract leaves open (IPv4 ID, IPv6 flow label, the UDP source
    port value) are taken from the observed frame by the caller."""
    itos, ittl, idf = inner_tos_ttl_df(inner)
    tos = tun.tos
    if tos is None:
        tos = 0
    elif tos == "inherit":
        tos = itos if itos is not None else 0
    ttl = tun.ttl
    if ttl is None:
        ttl = 64
    elif ttl == "inherit":
        ttl = ittl if ittl is not None else 64
    proto = _PROTO[tun.type]
    if ul.family == 4:
        if tun.df in (None, "set"):
            df = True
        elif tun.df == "clear":
            df = False
        else:
            df = bool(idf)
        ip = IP(src=ul.local, dst=tun.remote or ul.remote, ttl=ttl, tos=tos,
                flags="DF" if df else 0, id=ip_id, proto=proto["ipproto"])
    else:
        ip = IPv6(src=ul.local, dst=tun.remote or ul.remote, hlim=ttl, tc=tos,
                  fl=flow_label, nh=proto["ipproto"])
    l4 = proto["layers"](tun, ul.family, sport=sport,
                         udp_chksum=proto["expected_udp_chksum"](tun, ul.family))
    return Ether(src=ul.port_mac, dst=ul.peer_mac) / ip / l4 / Raw(inner)


def _flat_fields(pkt) -> list[tuple[str, object]]:
    out, layer, depth = [], pkt, 0
    while layer is not None and not isinstance(layer, (NoPayload, Raw, Padding)):
        for f in layer.fields_desc:
            try:
                v = layer.getfieldval(f.name)
            except Exception:  # pragma: no cover - scapy corner cases
                continue
            out.append((f"{depth}:{layer.name}.{f.name}", v))
        layer, depth = layer.payload, depth + 1
    return out


def describe_diff(actual: bytes, expected: bytes) -> str:
    """Human-readable difference between two frames (fields, then bytes)."""
    lines = [f"length actual={len(actual)} expected={len(expected)}"]
    off = next((i for i, (a, b) in enumerate(zip(actual, expected)) if a != b),
               min(len(actual), len(expected)))
    lines.append(f"first differing byte at offset {off}")
    fa, fe = dict(_flat_fields(Ether(actual))), dict(_flat_fields(Ether(expected)))
    for k in fe:
        a = fa.get(k, "<absent>")
        try:
            same = (k in fa) and bool(a == fe[k])
        except Exception:
            same = repr(a) == repr(fe[k])
        if not same:
            lines.append(f"  {k}: actual={a!r} expected={fe[k]!r}")
    lines.append(f"actual  : {actual[max(0, off - 8):off + 24].hex()}")
    lines.append(f"expected: {expected[max(0, off - 8):off + 24].hex()}")
    return "\n".join(lines)


def observed_open_fields(frame: bytes) -> dict:
    """The fields the contract does not fix: IPv4 id, flow label, sport."""
    p = Ether(frame)
    res = {"ip_id": 0, "flow_label": 0, "sport": None}
    if IP in p:
        res["ip_id"] = p[IP].id
    if IPv6 in p:
        res["flow_label"] = p[IPv6].fl
    if UDP in p:
        res["sport"] = p[UDP].sport
    return res


def check_encap(frame: bytes, ul: Underlay, tun: Tunnel, inner: bytes) -> int:
    """Assert `frame` is the encapsulation of `inner`; return its UDP sport.

    The comparison is byte-exact against a frame scapy builds from the
    contract, with scapy computing the checksums, so header checksums and
    lengths are verified too."""
    o = observed_open_fields(frame)
    sport = o["sport"]
    assert sport is not None, f"encap output has no UDP header: {Ether(frame).summary()}"
    assert UDP_SPORT_MIN <= sport <= UDP_SPORT_MAX, (
        f"UDP source port {sport} outside {UDP_SPORT_MIN}..{UDP_SPORT_MAX}")
    exp = bytes(expected_encap(ul, tun, inner, sport=sport, ip_id=o["ip_id"],
                               flow_label=o["flow_label"]))
    assert frame == exp, ("encap output differs from the expected frame:\n"
                          + describe_diff(frame, exp))
    p = Ether(frame)
    if UDP in p and ul.family == 6:
        assert p[UDP].chksum != 0, "UDP checksum 0 over IPv6"
    return sport


def tunnel_packet(ul: Underlay, tun: Tunnel, inner: bytes, *,
                  src_mac: str | None = None, dst_mac: str | None = None,
                  src: str | None = None, dst: str | None = None,
                  sport: int = 50000, vni: int | None = None,
                  flags: int = 0x08, dport: int | None = None,
                  ttl: int = 64, udp_chksum: int | None = "auto",
                  ip_kw: dict | None = None, **tunnel_kw) -> "Ether":
    """A well-formed tunnel packet as the remote VTEP would send it.

    udp_chksum: "auto" = 0 over IPv4, correct over IPv6; None = correct;
    an int = that value."""
    if udp_chksum == "auto":
        udp_chksum = 0 if ul.family == 4 else None
    proto = _PROTO[tun.type]
    eth = Ether(src=src_mac or ul.peer_mac, dst=dst_mac or ul.port_mac)
    if ul.family == 4:
        ip = IP(src=src or tun.remote or ul.remote, dst=dst or ul.local,
                ttl=ttl, proto=proto["ipproto"], **(ip_kw or {}))
    else:
        ip = IPv6(src=src or tun.remote or ul.remote, dst=dst or ul.local,
                  hlim=ttl, nh=proto["ipproto"], **(ip_kw or {}))
    l4 = proto["layers"](tun, ul.family, sport=sport, vni=vni, flags=flags,
                         udp_chksum=udp_chksum, **tunnel_kw)
    if dport is not None:
        l4[UDP].dport = dport
    return eth / ip / l4 / Raw(inner)


# --------------------------------------------------------------------------
# Traffic

def mac_for(i: int, base: int = 0x10) -> str:
    return "02:%02x:%02x:%02x:%02x:%02x" % (base, (i >> 24) & 0xFF,
                                            (i >> 16) & 0xFF, (i >> 8) & 0xFF,
                                            i & 0xFF)


def pad60(b: bytes) -> bytes:
    return b if len(b) >= 60 else b + b"\x00" * (60 - len(b))


def add_vlan(frame: bytes, vid: int, pcp: int = 0) -> bytes:
    return frame[:12] + struct.pack("!HH", 0x8100, (pcp << 13) | vid) + frame[12:]


def strip_vlan(frame: bytes) -> bytes:
    assert frame[12:14] == b"\x81\x00", "frame has no 802.1Q tag"
    return frame[:12] + frame[16:]


INNER_KINDS = ("udp4", "tcp4", "udp6", "tcp6", "arp", "raw")
# Payload sizes; the largest inner frame stays well under what fits an
# IPv6-underlay encap into a 1500-byte MTU (1444).
PAYLOAD_SIZES = (0, 6, 18, 64, 200, 512, 1000, 1350)


def make_inner_frame(i: int, kind: str, size: int, rng: random.Random, *,
                     tos: int = 0, ttl: int = 64, df: bool = False) -> bytes:
    # Random bytes, but starting with a zero byte: heuristic dissectors
    # (RTP/RTCP and friends) then leave the payload alone, so tshark's verdict
    # is about the headers tundra writes, not about our random data.
    payload = Raw((b"\x00" + bytes(rng.randrange(256) for _ in range(size)))[:size])
    src, dst = mac_for(i, 0x10), mac_for(i, 0x20)
    a, b = (i >> 8) & 0xFF, i & 0xFF
    sp, dp = 40000 + (i % 900), 41000 + (i * 7 % 900)
    if kind == "udp4":
        p = (Ether(src=src, dst=dst) / IP(src=f"10.1.{a}.{b}", dst="10.2.0.1",
             tos=tos, ttl=ttl, flags="DF" if df else 0, id=i & 0xFFFF)
             / UDP(sport=sp, dport=dp) / payload)
    elif kind == "tcp4":
        p = (Ether(src=src, dst=dst) / IP(src=f"10.1.{a}.{b}", dst="10.2.0.2",
             tos=tos, ttl=ttl, flags="DF" if df else 0, id=i & 0xFFFF)
             / TCP(sport=sp, dport=dp, flags="PA", seq=1000 + i, ack=1)
             / payload)
    elif kind == "udp6":
        p = (Ether(src=src, dst=dst) / IPv6(src=f"fd00:1::{i:x}", dst="fd00:2::1",
             tc=tos, hlim=ttl, fl=i & 0xFFFFF) / UDP(sport=sp, dport=dp) / payload)
    elif kind == "tcp6":
        p = (Ether(src=src, dst=dst) / IPv6(src=f"fd00:1::{i:x}", dst="fd00:2::2",
             tc=tos, hlim=ttl) / TCP(sport=sp, dport=dp, flags="PA",
                                     seq=1000 + i, ack=1) / payload)
    elif kind == "arp":
        p = Ether(src=src, dst="ff:ff:ff:ff:ff:ff") / ARP(
            op=1, hwsrc=src, psrc=f"10.9.{a}.{b}", pdst="10.9.255.254")
    elif kind == "raw":
        p = Ether(src=src, dst=dst, type=0x88B5) / payload
    else:
        raise ValueError(kind)
    return pad60(bytes(p))


def make_inner_frames(n: int, *, seed: int = 1, kinds=INNER_KINDS,
                      sizes=PAYLOAD_SIZES, start: int = 0) -> list[bytes]:
    """n varied, tshark-clean inner Ethernet frames (deterministic)."""
    rng = random.Random(seed)
    return [make_inner_frame(start + i, kinds[i % len(kinds)],
                             sizes[(i // len(kinds) + i) % len(sizes)], rng)
            for i in range(n)]


def flow_frame(flow: int, rep: int, *, v6: bool = False, tcp: bool = False) -> bytes:
    """Flow `flow` (a fixed inner 5-tuple), repetition `rep` (payload differs)."""
    src, dst = mac_for(flow, 0x30), mac_for(0, 0x40)
    payload = Raw(b"\x00" + bytes([(rep * 31 + flow) & 0xFF]) * (9 + rep * 17))
    l4 = (TCP(sport=20000 + flow, dport=443, flags="A", seq=rep * 100, ack=1)
          if tcp else UDP(sport=20000 + flow, dport=30000 + (flow % 3)))
    if v6:
        ip = IPv6(src=f"fd00:10::{flow + 1:x}", dst="fd00:20::1")
    else:
        ip = IP(src=f"10.10.{flow // 250}.{flow % 250 + 1}", dst="10.20.0.1")
    return pad60(bytes(Ether(src=src, dst=dst) / ip / l4 / payload))


def inner_flow_key(inner: bytes) -> tuple:
    p = Ether(inner)
    ipl = p[IP] if IP in p else p[IPv6]
    l4 = p[UDP] if UDP in p else p[TCP]
    return (ipl.src, ipl.dst, ipl.payload.name, l4.sport, l4.dport)


def extract_inner(frame: bytes, tun: Tunnel) -> bytes:
    """The tunnel payload of an encapsulated frame (via scapy)."""
    p = Ether(frame)
    if tun.type == "vxlan":
        udp = p[UDP]
        return bytes(VXLAN(bytes(udp.payload)).payload)
    raise NotImplementedError(tun.type)


# --------------------------------------------------------------------------
# Assertions shared by the scenarios

def assert_frames_equal(actual: list[bytes], expected: list[bytes], *,
                        ordered: bool = True, what: str = "frames"):
    assert len(actual) == len(expected), (
        f"{what}: got {len(actual)} frames, expected {len(expected)}")
    if ordered:
        for i, (a, e) in enumerate(zip(actual, expected)):
            assert a == e, (f"{what}: frame {i} differs\n" + describe_diff(a, e))
    else:
        from collections import Counter
        ca, ce = Counter(actual), Counter(expected)
        extra, missing = ca - ce, ce - ca
        assert not extra and not missing, (
            f"{what}: {sum(extra.values())} unexpected and "
            f"{sum(missing.values())} missing frames; first unexpected: "
            f"{Ether(next(iter(extra))).summary() if extra else '-'}; "
            f"first missing: {Ether(next(iter(missing))).summary() if missing else '-'}")


def assert_only_drops(res: RunResult, expected: dict[tuple[int, str], int]):
    """Port drop counters are exactly `expected` ({(port, reason): n})."""
    got = res.nonzero_drops()
    assert got == expected, (f"port drop counters: got {got}, expected "
                             f"{expected}")


def assert_nothing_forwarded(res: RunResult, ports: Iterable[int] | None = None):
    for p in (res.outputs if ports is None else ports):
        assert not res.out(p), (f"port {p} transmitted {len(res.out(p))} "
                                f"frames, expected none; first: "
                                f"{Ether(res.out(p)[0]).summary()}")


def assert_port_counters(res: RunResult, p: int, *, rx: int | None = None,
                         rx_bytes: int | None = None, tx: int | None = None,
                         tx_bytes: int | None = None):
    """tundra's own port counters and the ethdev counters agree with `want`."""
    e = res.port(p)
    eth = e["ethdev"]
    for key, ekey, want in (("rx_packets", "ipackets", rx),
                            ("rx_bytes", "ibytes", rx_bytes),
                            ("tx_packets", "opackets", tx),
                            ("tx_bytes", "obytes", tx_bytes)):
        if want is None:
            continue
        assert e[key] == want, f"port {p} {key}={e[key]}, expected {want}"
        assert eth[ekey] == want, (f"port {p} ethdev.{ekey}={eth[ekey]}, "
                                   f"expected {want}")


def assert_io_counters(res: RunResult):
    """rx counters match what we fed in, tx counters match what came out."""
    for p in res.in_frames:
        frames_in, frames_out = res.in_frames[p], res.out(p)
        assert_port_counters(res, p, rx=len(frames_in),
                             rx_bytes=sum(map(len, frames_in)),
                             tx=len(frames_out),
                             tx_bytes=sum(map(len, frames_out)))


def assert_worker_packets(res: RunResult, total: int):
    got = sum(w["packets"] for w in res.workers)
    assert got == total, (f"fwd stats: workers processed {got} packets in "
                          f"all, expected {total}: {res.workers}")


def udp_checksum_expected(frame: bytes) -> int:
    """The correct checksum of the outer UDP header of `frame` (RFC 768 /
    RFC 8200 8.1 pseudo-header, scapy's checksum()), from the raw bytes: the
    UDP length bounds the data (re-building a dissected scapy packet would
    drop inner Ethernet padding from the sum)."""
    from scapy.utils import checksum
    l2 = 14 + (4 if frame[12:14] == b"\x81\x00" else 0)
    if frame[l2] >> 4 == 4:
        hl = (frame[l2] & 0x0F) * 4
        src, dst = frame[l2 + 12:l2 + 16], frame[l2 + 16:l2 + 20]
    else:
        hl = 40
        src, dst = frame[l2 + 8:l2 + 24], frame[l2 + 24:l2 + 40]
    raw = frame[l2 + hl:]
    ulen = struct.unpack("!H", raw[4:6])[0]
    data = raw[:6] + b"\x00\x00" + raw[8:ulen]
    if len(src) == 4:
        ph = src + dst + struct.pack("!BBH", 0, 17, ulen)
    else:
        ph = src + dst + struct.pack("!IxxxB", ulen, 17)
    ck = checksum(ph + data)
    return 0xFFFF if ck == 0 else ck
