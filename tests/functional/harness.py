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
from scapy.contrib.geneve import GENEVE, GeneveOptions  # noqa: F401
from scapy.layers.l2 import GRE  # noqa: F401
from scapy.utils import checksum as inet_checksum

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
    "unknown-remote", "no-attachment", "split-horizon", "hairpin",
    "no-underlay-route", "no-neighbor", "mtu-exceeded", "no-headroom", "no-mbuf",
    "arp-ignored", "tx-full",
    # GENEVE / GRE / ECN / routed access (milestone 2)
    "bad-version", "bad-payload-type", "bad-option",
    "unknown-critical-option", "bad-gre-checksum", "seq-out-of-order",
    "seq-duplicate", "ecn-not-ect", "no-route", "ttl-exceeded",
    # ping of our own addresses
    "bad-icmp", "ip-options",
    # ESP (issue 12)
    "esp-unknown-spi", "esp-malformed", "esp-auth-failed", "esp-replay", "esp-expired",
    "esp-required", "esp-no-room",
)

PORT_KEYS = ("port", "name", "role", "rx_packets", "rx_bytes", "tx_packets",
             "tx_bytes", "drops", "drop_reasons", "ethdev",
             "punted", "nd_replies", "echo_replies")
ETHDEV_KEYS = ("ipackets", "opackets", "ibytes", "obytes", "imissed",
               "ierrors", "oerrors", "rx_nombuf")
TUNNEL_KEYS = ("name", "type", "local", "remote", "encap_packets",
               "encap_bytes", "decap_packets", "decap_bytes", "drops",
               "drop_reasons",
               "key", "seq_out_of_order", "seq_duplicate", "oam_packets",
               "icmp_errors", "fragments")

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


def _is_probe(frame: bytes) -> bool:
    """An ARP request (EtherType 0x0806, op 1) or an ICMPv6 neighbor solicitation
    (0x86DD, next header 58, type 135) right after the Ethernet header: only sorts
    frames; what they hold is judged by scapy where a test looks at them."""
    if frame[12:14] == b"\x08\x06":
        return frame[20:22] == b"\x00\x01"
    return frame[12:14] == b"\x86\xdd" and len(frame) > 54 and frame[20] == 58 \
        and frame[54] == 135


def _is_report(frame: bytes) -> bool:
    """An IGMP packet (IPv4 protocol 2) or an MLDv2 report (IPv6, hop-by-hop
    header, ICMPv6 type 143): a segment group's membership report
    (control/nexthops.h); only sorts frames, scapy judges them."""
    if frame[12:14] == b"\x08\x00":
        return len(frame) > 23 and frame[23] == 2
    return frame[12:14] == b"\x86\xdd" and len(frame) > 62 and frame[20] == 0 \
        and frame[54] == 58 and frame[62] == 143


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
    def _last(self, key: str, where=lambda entries: True) -> list:
        for o in reversed(self.json_objs):
            if key in o and where(o[key]):
                return o[key]
        raise AssertionError(f"no JSON object with key {key!r} on stdout; "
                             f"stdout tail:\n{self.stdout[-2000:]}")

    @property
    def ports(self) -> list[dict]:
        """`show port stats` (`show port info` lists "ports" too)."""
        return self._last("ports", lambda e: not e or "rx_packets" in e[0])

    @property
    def port_info(self) -> list[dict]:
        """`show port info all json` (add it with run(show=...))."""
        return self._last("ports", lambda e: bool(e) and "rx_workers" in e[0])

    @property
    def tunnels(self) -> list[dict]:
        return self._last("tunnels")

    @property
    def mempools(self) -> list[dict]:
        return self._last("mempools")

    @property
    def workers(self) -> list[dict]:
        return self._last("workers")

    @property
    def routes(self) -> list[dict]:
        return self._last("routes")

    @property
    def neighbors(self) -> list[dict]:
        return self._last("neighbors")

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
        """What port p sent, less (on the uplink) tundra's own ARP requests and
        neighbor solicitations for its next hops (control/nexthops.h): those go
        out whenever a tunnel's remote has no static neighbor; probes() has them;
        and its multicast membership reports (a segment's group): reports()."""
        frames = self.outputs.get(p, [])
        return frames if p != UPLINK else [
            f for f in frames if not _is_probe(f) and not _is_report(f)]

    def reports(self, p: int = 0) -> list[bytes]:
        return [f for f in self.outputs.get(p, []) if _is_report(f)]

    def probes(self, p: int = 0) -> list[bytes]:
        return [f for f in self.outputs.get(p, []) if _is_probe(f)]

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
            decode_as: Iterable[str] = (),
            show: Sequence[str] = (),
            queues: dict[int, tuple[int, int]] | None = None,
            interactive: bool = False) -> RunResult:
        """Run one batch.

        inputs: {port: [frame, ...]} (split round-robin over the rx queues
        when workers > 1) or {port: [[q0 frames], [q1 frames]]}.
        queues: {port: (rx, tx)} pcap queue pairs for that port (net_pcap has
        one queue per rx_pcap / tx_pcap given); default one of each per worker.
        interactive: feed the lines to `--interactive` on stdin instead of
        `--config`, so a failing command prints `error: ...` on stdout and
        the lines after it still run (as at the prompt).
        """
        binary = tundra_bin()
        n = next(_run_counter)
        prefix = f"tundra_ft_{os.getpid()}_{n}"
        rundir = self.tmp_path / f"run{n}"
        rundir.mkdir(parents=True)
        inputs = inputs or {}
        assert set(inputs) <= set(range(nports)), "input for a missing port"

        port_queues = queues or {}
        vdevs, out_files, in_frames = [], {}, {}
        for p in range(nports):
            nq, ntx = port_queues.get(p, (workers, workers))
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
            for q in range(ntx):
                tx = rundir / f"p{p}_tx{q}.pcap"
                out_files[p].append(tx)
                args.append(f"tx_pcap={tx}")
            vdevs.append(f"--vdev=net_pcap{p}," + ",".join(args))

        ending = list(EPILOGUE[:-1]) + list(show) + [EPILOGUE[-1]]
        lines = list(config) + (ending if epilogue else [])
        cfg = rundir / "run.cfg"
        cfg.write_text("".join(line + "\n" for line in lines))
        cfg.chmod(0o600)  # tundra refuses a config with SA keys that others may read

        source = "--interactive" if interactive else f"--config={cfg}"
        cmd = [str(binary), *lcore_args(workers), "--no-pci",
               *eal_mem_args(), f"--file-prefix={prefix}", *vdevs,
               "--", source, "--socket=none"]
        (rundir / "cmd.txt").write_text(shlex.join(cmd) + "\n")
        with open(cfg) if interactive else open(os.devnull) as stdin:
            proc = subprocess.Popen(cmd, stdin=stdin,
                                    stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True,
                                    errors="replace", cwd=rundir)
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
    # tshark must find nothing malformed in what tundra wrote.  One tshark
    # run over all output pcaps together (tshark's start-up dominates).
    combined, origin = [], []
    for p, files in res.out_files.items():
        for f in files:
            assert f.exists(), f"tx pcap {f} for port {p} was not written"
            frames = read_pcap(f)
            combined += frames
            origin += [(f, i + 1) for i in range(len(frames))]
    if combined:
        path = write_pcap(res.rundir / "all_tx.pcap", combined)
        problems = tshark_problems(path, res.decode_as)
        described = []
        for line in problems[:20]:
            num = line.split("\t", 1)[0]
            if num.isdigit() and 0 < int(num) <= len(origin):
                f, k = origin[int(num) - 1]
                line = f"{f.name} frame {k}: {line.split(chr(9), 1)[-1]}"
            described.append(line)
        assert not problems, (f"tshark found problems in tundra's output "
                              f"({path}):\n  " + "\n  ".join(described))


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

# Every SA key and salt a test configures (hex, lower case); test_zz_key_hygiene.py
# checks at the end of the run that none appears in anything tundra wrote.
SA_SECRETS: set[str] = set()


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
    # GRE / GENEVE (milestone 2)
    key: int | None = None              # gre/gretap
    seq: str | None = None              # on|off (gre/gretap)
    csum: str | None = None             # on|off (gre/gretap)
    seq_check: str | None = None        # count|drop
    oversize: str | None = None         # drop|fragment
    options: tuple = ()                 # GENEVE: ((class, type, bytes), ...)

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
        if self.key is not None:
            toks += ["key", self._num(self.key)]
        for kw, v in (("seq", self.seq), ("csum", self.csum),
                      ("seq-check", self.seq_check),
                      ("oversize", self.oversize)):
            if v is not None:
                toks += [kw, v]
        for cls, typ, data in self.options:
            toks += ["option", f"{cls:#06x}:{typ:#04x}:{bytes(data).hex()}"]
        return " ".join(toks + list(self.extra))

    @property
    def l3(self) -> bool:
        """An L3 tunnel (type gre): IP payload, used with `route add`."""
        return self.type == "gre"

    @property
    def udp(self) -> bool:
        return _PROTO[self.type]["ipproto"] == 17

    @property
    def udp_dport(self) -> int | None:
        return self.dstport if self.dstport is not None else _PROTO[self.type]["port"]

    def decode_as(self) -> tuple:
        """tshark -d arguments for a non-default UDP port."""
        if (self.udp and self.dstport is not None
                and self.dstport != _PROTO[self.type]["port"]):
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
    """(TOS/traffic class, TTL/hop limit, DF) of the inner IP packet.

    DF is what `df inherit` copies to the outer IPv4 header: an IPv4 packet's
    own, and set for IPv6, which routers never fragment (Linux's vxlan and
    ip_tunnel do the same)."""
    p = Ether(inner)
    if IP in p:
        return p[IP].tos, p[IP].ttl, bool(int(p[IP].flags) & 0x2)
    if IPv6 in p:
        return p[IPv6].tc, p[IPv6].hlim, True
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


ETH_P_TEB = 0x6558          # Transparent Ethernet Bridging (GENEVE, gretap)
GENEVE_PORT = 6081


def geneve_options_len(options) -> int:
    """Bytes the options take on the wire: 4-byte header + data each."""
    return sum(4 + len(d) for _, _, d in options)


def _geneve_layers(tun: Tunnel, family: int, *, sport: int,
                   vni: int | None = None, udp_chksum: int | None = None,
                   version: int = 0, oam: int = 0, critical: int | None = None,
                   gproto: int = ETH_P_TEB, options=None,
                   optionlen: int | None = None, opt_raw: bytes | None = None,
                   reserved: int = 0, reserved2: int = 0, **_):
    """RFC 8926 section 3.4, built with scapy's GENEVE layer.

    options: ((class, type, data), ...) (default: the tunnel's own);
    opt_raw: raw option bytes instead (crafted faults); optionlen: the Opt
    Len field in 4-byte words (default: what the options take).  Opt Len is
    always written explicitly: scapy 2.5 masks it with 0x2f when computing
    it."""
    vni = tun.vni if vni is None else vni
    opts = tuple(tun.options if options is None else options)
    if critical is None:
        critical = int(any(t & 0x80 for _, t, _ in opts))
    if opt_raw is None:
        olist = [GeneveOptions(classid=c, type=t, length=len(d) // 4,
                               data=bytes(d)) for c, t, d in opts]
        olen = geneve_options_len(opts)
    else:
        olist, olen = [], len(opt_raw)
    if optionlen is None:
        optionlen = olen // 4
    udp = UDP(sport=sport, dport=tun.udp_dport, chksum=udp_chksum)
    g = GENEVE(version=version, optionlen=optionlen, oam=oam,
               critical=critical, reserved=reserved, proto=gproto, vni=vni,
               reserved2=reserved2, options=olist)
    if opt_raw is not None:
        return udp / g / Raw(opt_raw)
    return udp / g


def gre_proto_for(tun: Tunnel, payload: bytes) -> int:
    if not tun.l3:
        return ETH_P_TEB
    return 0x0800 if payload[0] >> 4 == 4 else 0x86DD


def _gre_layers(tun: Tunnel, family: int, *, inner: bytes = b"",
                seq: int | None = None, key="tunnel", csum: bool | None = None,
                gproto: int | None = None, **_):
    """RFC 2784 / RFC 2890, built with scapy's GRE layer (which computes the
    checksum over the GRE header and payload when C is set)."""
    k = tun.key if key == "tunnel" else key
    c = (tun.csum == "on") if csum is None else csum
    if gproto is None:
        gproto = gre_proto_for(tun, inner)
    return GRE(chksum_present=int(bool(c)), key_present=int(k is not None),
               seqnum_present=int(seq is not None), key=k or 0,
               sequence_number=seq or 0, proto=gproto)


def gre_raw(word: int, proto: int, payload: bytes = b"", *,
            chksum: int | str | None = None, key: int | None = None,
            seq: int | None = None) -> bytes:
    """A GRE header by hand, for flags scapy's layer would re-interpret.

    word: the flags/version word as sent; chksum "good" = correct RFC 1071
    sum, an int = that value, None = no checksum field (unless C is set in
    `word`, then "good")."""
    if word & 0x8000 and chksum is None:
        chksum = "good"
    fields = b""
    if chksum is not None:
        fields += b"\x00\x00\x00\x00"
    if key is not None:
        fields += struct.pack("!I", key)
    if seq is not None:
        fields += struct.pack("!I", seq)
    hdr = bytearray(struct.pack("!HH", word, proto) + fields)
    if chksum is not None:
        ck = inet_checksum(bytes(hdr) + payload) if chksum == "good" else chksum
        hdr[4:6] = struct.pack("!H", ck)
    return bytes(hdr) + payload


# Per-protocol pieces: how the tunnel header is built (encap expectation and
# crafted decap input), the default UDP port, the outer IP protocol.
_PROTO = {
    "vxlan": {"port": 4789, "ipproto": 17, "layers": _vxlan_layers,
              "expected_udp_chksum": _vxlan_expected_udp_chksum},
    "geneve": {"port": GENEVE_PORT, "ipproto": 17, "layers": _geneve_layers,
               "expected_udp_chksum": _vxlan_expected_udp_chksum},
    "gretap": {"port": None, "ipproto": 47, "layers": _gre_layers,
               "expected_udp_chksum": lambda tun, family: None},
    "gre": {"port": None, "ipproto": 47, "layers": _gre_layers,
            "expected_udp_chksum": lambda tun, family: None},
}
TUNNEL_TYPES = tuple(_PROTO)
L2_TYPES = ("vxlan", "geneve", "gretap")


def make_tunnel(type: str, **kw) -> Tunnel:
    """A Tunnel of `type` with that type's mandatory fields defaulted."""
    if type in ("gre", "gretap"):
        kw.setdefault("vni", None)
    return Tunnel(type=type, **kw)


def tunnel_header_len(tun: Tunnel) -> int:
    """Bytes between the outer IP header and the payload."""
    if tun.type == "vxlan":
        return 16
    if tun.type == "geneve":
        return 16 + geneve_options_len(tun.options)
    return 4 + 4 * sum((tun.csum == "on", tun.key is not None,
                        tun.seq == "on"))


def encap_ip_overhead(ul: Underlay, tun: Tunnel) -> int:
    """Outer IP header + tunnel headers: an L2 tunnel's inner frame, an L3
    tunnel's inner IP packet, may be at most MTU minus this."""
    return (20 if ul.family == 4 else 40) + tunnel_header_len(tun)


# -- raw IP helpers (byte level, checksums by scapy's RFC 1071 routine)

def eth_ip_offset(frame: bytes) -> int | None:
    """Offset of the IP header in an Ethernet frame (through 802.1Q tags)."""
    off = 12
    while frame[off:off + 2] in (b"\x81\x00", b"\x88\xa8"):
        off += 4
    et = frame[off:off + 2]
    if et in (b"\x08\x00", b"\x86\xdd"):
        return off + 2
    return None


def ip_packet_len(ipb: bytes) -> int:
    if ipb[0] >> 4 == 4:
        return struct.unpack("!H", ipb[2:4])[0]
    return 40 + struct.unpack("!H", ipb[4:6])[0]


def eth_ip_payload(frame: bytes) -> bytes | None:
    """The IP packet an Ethernet frame carries, without padding/trailer."""
    off = eth_ip_offset(frame)
    if off is None:
        return None
    ipb = frame[off:]
    return ipb[:ip_packet_len(ipb)]


def ip_tos(ipb: bytes) -> int:
    if ipb[0] >> 4 == 4:
        return ipb[1]
    return ((ipb[0] & 0x0F) << 4) | (ipb[1] >> 4)


def ip_ttl(ipb: bytes) -> int:
    return ipb[8] if ipb[0] >> 4 == 4 else ipb[7]


def _fix_ip4_checksum(b: bytearray, off: int = 0):
    hl = (b[off] & 0x0F) * 4
    b[off + 10:off + 12] = b"\x00\x00"
    b[off + 10:off + 12] = struct.pack("!H", inet_checksum(bytes(b[off:off + hl])))


def ip_with(ipb: bytes, *, ttl: int | None = None, tos: int | None = None,
            ecn: int | None = None, off: int = 0) -> bytes:
    """`ipb` (or the IP header at `off` inside it) with TTL/hop limit, TOS /
    traffic class or only the ECN bits replaced; IPv4 checksum recomputed."""
    b = bytearray(ipb)
    v4 = b[off] >> 4 == 4
    if ecn is not None:
        tos = (ip_tos(bytes(b[off:])) & 0xFC) | ecn
    if tos is not None:
        if v4:
            b[off + 1] = tos
        else:
            b[off] = (b[off] & 0xF0) | (tos >> 4)
            b[off + 1] = ((tos & 0x0F) << 4) | (b[off + 1] & 0x0F)
    if ttl is not None:
        b[off + (8 if v4 else 7)] = ttl
    if v4:
        _fix_ip4_checksum(b, off)
    return bytes(b)


def frame_with_ecn(frame: bytes, ecn: int) -> bytes:
    off = eth_ip_offset(frame)
    assert off is not None, "frame carries no IP packet"
    return ip_with(frame, ecn=ecn, off=off)


def routed_payload(frame: bytes) -> bytes:
    """What a router forwards for an access frame: its IP packet (Ethernet
    padding removed) with the TTL / hop limit decremented."""
    ipb = eth_ip_payload(frame)
    assert ipb is not None, "not an IP frame"
    return ip_with(ipb, ttl=ip_ttl(ipb) - 1)


def rfc6040_decap(outer_ecn: int, inner_ecn: int) -> int | None:
    """RFC 6040 section 4.2 (normal mode): the inner ECN after decap, or
    None when the packet must be dropped (outer CE over Not-ECT)."""
    if outer_ecn == 3:
        return None if inner_ecn == 0 else 3
    if outer_ecn == 1 and inner_ecn == 2:
        return 1
    return inner_ecn


def outer_tos_expected(tun: Tunnel, inner_tos: int | None) -> int:
    """RFC 6040 normal-mode encap: ECN copied from an IP inner packet (0
    otherwise); DSCP from `tos` (its ECN bits masked) or inherited."""
    ecn = inner_tos & 3 if inner_tos is not None else 0
    if tun.tos is None:
        dscp = 0
    elif tun.tos == "inherit":
        dscp = (inner_tos or 0) & 0xFC
    else:
        dscp = tun.tos & 0xFC
    return dscp | ecn


def expected_encap(ul: Underlay, tun: Tunnel, inner: bytes, *, sport: int | None,
                   ip_id: int = 0, flow_label: int = 0,
                   seq: int | None = None):
    """The frame tundra must send on the uplink for `inner` (the frame
    received on the access port; for an L3 gre tunnel the routed IP packet
    is the payload).

    Fields the contract leaves open (IPv4 ID, IPv6 flow label, the UDP source
    port value) are taken from the observed frame by the caller; `seq` is the
    GRE sequence number the packet must carry (tunnels with seq on)."""
    if tun.l3:
        payload = routed_payload(inner)
        itos, ittl = ip_tos(payload), ip_ttl(payload)
        idf = bool(payload[6] & 0x40) if payload[0] >> 4 == 4 else True
    else:
        payload = inner
        itos, ittl, idf = inner_tos_ttl_df(inner)
    if tun.seq == "on":
        assert seq is not None, "tunnel has seq on: pass the expected seq"
    tos = outer_tos_expected(tun, itos)
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
    l4 = proto["layers"](tun, ul.family, sport=sport, seq=seq, inner=payload,
                         udp_chksum=proto["expected_udp_chksum"](tun, ul.family))
    return Ether(src=ul.port_mac, dst=ul.peer_mac) / ip / l4 / Raw(payload)


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


def observed_open_fields(frame: bytes, udp: bool = True) -> dict:
    """The fields the contract does not fix: IPv4 id, flow label, sport.

    Read from the outer headers only (a GRE payload may hold UDP too)."""
    res = {"ip_id": 0, "flow_label": 0, "sport": None}
    off = eth_ip_offset(frame)
    if off is None:
        return res
    if frame[off] >> 4 == 4:
        res["ip_id"] = struct.unpack("!H", frame[off + 4:off + 6])[0]
        l4, proto = off + (frame[off] & 0x0F) * 4, frame[off + 9]
    else:
        res["flow_label"] = struct.unpack("!I", frame[off:off + 4])[0] & 0xFFFFF
        l4, proto = off + 40, frame[off + 6]
    if udp and proto == 17 and len(frame) >= l4 + 2:
        res["sport"] = struct.unpack("!H", frame[l4:l4 + 2])[0]
    return res


def check_encap(frame: bytes, ul: Underlay, tun: Tunnel, inner: bytes, *,
                seq: int | None = None) -> int | None:
    """Assert `frame` is the encapsulation of `inner`; return its UDP sport
    (None for GRE).

    The comparison is byte-exact against a frame scapy builds from the
    contract, with scapy computing the checksums, so header checksums and
    lengths are verified too."""
    o = observed_open_fields(frame, udp=tun.udp)
    sport = o["sport"]
    if tun.udp:
        assert sport is not None, f"encap output has no UDP header: {Ether(frame).summary()}"
        assert UDP_SPORT_MIN <= sport <= UDP_SPORT_MAX, (
            f"UDP source port {sport} outside {UDP_SPORT_MIN}..{UDP_SPORT_MAX}")
    exp = bytes(expected_encap(ul, tun, inner, sport=sport, ip_id=o["ip_id"],
                               flow_label=o["flow_label"], seq=seq))
    assert frame == exp, ("encap output differs from the expected frame:\n"
                          + describe_diff(frame, exp))
    p = Ether(frame)
    if tun.udp and UDP in p and ul.family == 6:
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

    inner: the payload (an Ethernet frame; for an L3 gre tunnel an IP packet).
    udp_chksum: "auto" = 0 over IPv4, correct over IPv6; None = correct;
    an int = that value.  tunnel_kw go to the protocol's header builder
    (GENEVE: options, oam, version, gproto, ...; GRE: seq, key, csum, gproto);
    ip_kw to the outer IP layer (e.g. {"tos": 3} for an outer CE mark)."""
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
                         udp_chksum=udp_chksum, inner=inner, **tunnel_kw)
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
    off = eth_ip_offset(frame)
    ipb = frame[off:off + ip_packet_len(frame[off:])]
    l4 = ipb[(ipb[0] & 0x0F) * 4 if ipb[0] >> 4 == 4 else 40:]
    if tun.type == "geneve":
        return l4[8 + 8 + (l4[8] & 0x3F) * 4:]
    word = struct.unpack("!H", l4[:2])[0]
    return l4[4 + 4 * sum(bool(word & b) for b in (0x8000, 0x2000, 0x1000)):]


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
        frames_in, frames_out = res.in_frames[p], res.outputs.get(p, [])  # probes too
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


# --------------------------------------------------------------------------
# Routed access ports and L3 gre tunnels (milestone 2)

@dataclass(frozen=True)
class RoutedAccess:
    """A routed access port: its MAC and gateway addresses."""
    port: int = ACCESS
    mac: str = "02:00:00:00:01:01"
    v4: str = "10.1.0.1"
    plen4: int = 16
    v6: str = "fd00:1::1"
    plen6: int = 64


RACC = RoutedAccess()
# a host on the routed access port (static neighbor unless a test learns it)
HOST4, HOST6, HOST_MAC = "10.1.0.5", "fd00:1::5", "02:00:00:00:01:05"
# the remote side's networks, routed into the tunnel
REMOTE_NETS = ("10.2.0.0/16", "fd00:2::/32")


def routed_config(ul: Underlay, tunnels: Sequence[Tunnel], *,
                  routes: Sequence[tuple[str, str]] | None = None,
                  hosts: Sequence[tuple[str, str]] = ((HOST4, HOST_MAC),
                                                      (HOST6, HOST_MAC)),
                  acc: RoutedAccess = RACC, uplink_mtu: int | None = None,
                  neighbor: bool = True, addresses: str = "46",
                  uplink: int = UPLINK) -> list[str]:
    """Config lines: uplink, a routed access port, gre tunnels, routes."""
    if routes is None:
        routes = [(p, tunnels[0].name) for p in REMOTE_NETS]
    lines = [
        "# generated by tests/functional/harness.py (routed access)",
        f"port config {uplink} role uplink",
        f"port config {uplink} address {ul.local}/{ul.plen}",
        f"port config {uplink} mac {ul.port_mac}",
        f"port config {acc.port} role access",
        f"port config {acc.port} mac {acc.mac}",
    ]
    if "4" in addresses:
        lines.append(f"port config {acc.port} address {acc.v4}/{acc.plen4}")
    if "6" in addresses:
        lines.append(f"port config {acc.port} address {acc.v6}/{acc.plen6}")
    if uplink_mtu is not None:
        lines.append(f"port config {uplink} mtu {uplink_mtu}")
    if neighbor:
        lines.append(f"neigh add {ul.remote} {ul.peer_mac} port {uplink}")
    for ip, mac in hosts:
        lines.append(f"neigh add {ip} {mac} port {acc.port}")
    lines += [t.cli(ul) for t in tunnels]
    lines += [f"route add {p} tunnel {n}" for p, n in routes]
    return lines


def to_router(frame: bytes, *, src_mac: str = HOST_MAC,
              acc: RoutedAccess = RACC) -> bytes:
    """`frame` re-addressed host -> the access port's MAC (to be routed)."""
    mac = lambda m: bytes.fromhex(m.replace(":", ""))  # noqa: E731
    return mac(acc.mac) + mac(src_mac) + frame[12:]


def routed_frames(n: int, *, seed: int = 1, kinds=("udp4", "tcp4", "udp6", "tcp6"),
                  sizes=PAYLOAD_SIZES, start: int = 0) -> list[bytes]:
    """IP frames from the access host to the remote networks (10.2/16,
    fd00:2::/32), addressed to the access port's MAC."""
    return [to_router(f) for f in make_inner_frames(n, seed=seed, kinds=kinds,
                                                    sizes=sizes, start=start)]


def l3_packet(i: int, kind: str, size: int, *, dst4: str = HOST4,
              dst6: str = HOST6, tos: int = 0, ttl: int = 64,
              df: bool = False) -> bytes:
    """An IP packet from the remote network to a host on the access port."""
    payload = Raw(b"\x00" + bytes((i * 7 + k) & 0xFF for k in range(size - 1))
                  if size else b"")
    a, b = (i >> 8) & 0xFF, i & 0xFF
    sp, dp = 42000 + (i % 900), 43000 + (i * 3 % 900)
    if kind in ("udp4", "tcp4"):
        ip = IP(src=f"10.2.{a}.{b}", dst=dst4, tos=tos, ttl=ttl,
                flags="DF" if df else 0, id=(i * 13) & 0xFFFF)
    else:
        ip = IPv6(src=f"fd00:2::{i + 1:x}", dst=dst6, tc=tos, hlim=ttl,
                  fl=i & 0xFFFFF)
    l4 = (UDP(sport=sp, dport=dp) if kind.startswith("udp")
          else TCP(sport=sp, dport=dp, flags="PA", seq=7 + i, ack=1))
    return bytes(ip / l4 / payload)


def l3_packets(n: int, *, kinds=("udp4", "tcp4", "udp6", "tcp6"),
               sizes=PAYLOAD_SIZES, start: int = 0, **kw) -> list[bytes]:
    return [l3_packet(start + i, kinds[i % len(kinds)],
                      sizes[(i // len(kinds) + i) % len(sizes)], **kw)
            for i in range(n)]


def routed_out_frame(ipb: bytes, *, dst_mac: str = HOST_MAC,
                     acc: RoutedAccess = RACC, ecn: int | None = None) -> bytes:
    """What a routed access port sends for a decapsulated IP packet: a new
    Ethernet header (neighbor MAC, port MAC), TTL / hop limit - 1."""
    out = ip_with(ipb, ttl=ip_ttl(ipb) - 1, ecn=ecn)
    et = 0x0800 if ipb[0] >> 4 == 4 else 0x86DD
    return bytes(Ether(dst=dst_mac, src=acc.mac, type=et)) + out


def assert_routed_frames_equal(actual: list[bytes], expected: list[bytes], *,
                               what: str = "access output"):
    """Like assert_frames_equal, but a frame shorter than the Ethernet
    minimum may arrive zero-padded to 60 bytes (either is allowed)."""
    fixed = []
    for a, e in zip(actual, expected):
        if len(e) < 60 and len(a) == 60 and a[len(e):] == b"\x00" * (60 - len(e)):
            fixed.append(a[:len(e)])
        else:
            fixed.append(a)
    assert_frames_equal(fixed + actual[len(expected):], expected, what=what)


def tunnel_json_int(res: RunResult, name: str, key: str) -> int:
    t = res.tunnel(name)
    assert key in t, f"tunnel {name} JSON lacks {key!r}: {t}"
    return t[key]


def port_json_int(res: RunResult, p: int, key: str) -> int:
    e = res.port(p)
    assert key in e, f"port {p} JSON lacks {key!r}: {e}"
    return e[key]


def assert_config_error(res: RunResult, lineno: int, token: str | None):
    """A --config file error: `error: <file>:<line>: <msg naming token>`,
    non-zero exit, nothing after it ran, no frame sent."""
    import re
    assert res.returncode != 0, "tundra accepted a bad config line"
    errs = [l for l in res.stderr.splitlines() if l.startswith("error: ")]
    assert errs, f"no 'error: ' line on stderr:\n{res.stderr[-2000:]}"
    pat = re.compile(r"^error: (?P<file>\S+):(?P<line>\d+): (?P<msg>.+)$")
    m = next((pat.match(l) for l in errs if pat.match(l)), None)
    assert m, f"error line is not 'error: <file>:<line>: <message>': {errs}"
    assert int(m["line"]) == lineno, (f"reported line {m['line']}, bad line "
                                      f"is {lineno}: {m.group(0)}")
    if token is not None:
        assert token in m["msg"], f"message does not name {token!r}: {m['msg']}"
    assert not res.json_objs, f"commands after the error ran: {res.json_objs}"
    for p, files in res.out_files.items():
        for f in files:
            if f.exists():
                assert read_pcap(f) == [], f"port {p} transmitted frames"
