"""The control socket and tundra-ctl (DESIGN.md §5.1): framing, exit codes,
batches, several clients at once (and 8 × 10k commands under traffic), hostile
clients, the socket file's life (modes, no access for other users, a live one
refused, a stale one replaced), completion from the server's grammar, and the
same traffic whichever way a command came in.

One tundra on null ports serves most tests (module scope); tests that need
their own process (start/stop behaviour, traffic) start one."""
import os
import pathlib
import pty
import select
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time

import pytest

import harness
from live import CommandError, Live
from harness import (ACCESS, UPLINK, UNDERLAYS, Tunnel, check_encap,
                     make_inner_frames, read_pcap, tunnel_config, write_pcap)


UL = UNDERLAYS["v4"]


def ctl_bin():
    p = pathlib.Path(os.environ.get("TUNDRA_CTL_BIN",
                                    str(harness.tundra_bin().with_name("tundra-ctl"))))
    if not os.access(p, os.X_OK):
        pytest.fail("tundra-ctl not found: %s (set TUNDRA_CTL_BIN)" % p, pytrace=False)
    return p




@pytest.fixture(scope="module")
def sockdir():
    # UNIX socket paths are limited to 107 bytes: keep them short, not under pytest's tmp.
    d = tempfile.mkdtemp(prefix="tsock", dir="/tmp")
    yield pathlib.Path(d)
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def live(sockdir):
    t = Live(sockdir / "run" / "t.sock", workdir=sockdir)
    t.client().close()
    yield t
    assert t.stop() == 0, t.output()[-2000:]


def ctl(live, *args, stdin=None, timeout=30):
    return subprocess.run([str(ctl_bin()), "--socket=" + live.sock, *args], input=stdin,
                          capture_output=True, text=True, timeout=timeout)


# ------------------------------------------------------------- tundra-ctl

def test_one_command_exit_status_and_streams(live):
    r = ctl(live, "help", "tunnel", "del")
    assert r.returncode == 0 and r.stderr == ""
    assert r.stdout.startswith("tunnel del <name:name>"), r.stdout
    r = ctl(live, "tunnel", "del", "nosuch")
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr == "error: no tunnel 'nosuch'\n"
    r = subprocess.run([str(ctl_bin()), "--socket=" + live.sock + ".none", "help"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and "cannot connect" in r.stderr, r.stderr
    r = subprocess.run([str(ctl_bin()), "--bogus", "help"], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 2 and "unknown option '--bogus'" in r.stderr


def test_json_flag_asks_for_the_json_form(live):
    import json
    r = ctl(live, "--json", "show", "port", "info", "all")
    assert r.returncode == 0, r.stderr
    ports = json.loads(r.stdout)["ports"]
    assert [p["port"] for p in ports] == [0, 1]
    assert [p["driver"] for p in ports] == ["net_null", "net_null"]
    # Already json: not doubled. Not a show: left alone.
    assert ctl(live, "--json", "show", "port", "info", "all", "json").stdout == r.stdout
    assert ctl(live, "--json", "help", "quit").returncode == 0


def test_batch_from_file_stops_at_the_first_error(live, tmp_path):
    f = tmp_path / "batch.cfg"
    f.write_text("# a comment\n"
                 "port config 0 role uplink\n"
                 "port config 0 address 192.0.2.1/24\n"
                 "tunnel add bt1 type vxlan local 192.0.2.1 remote 192.0.2.9 vni 7\n"
                 "tunnel add bt2 type vxlan local 192.0.2.1 remote 192.0.2.9 vni 99999999\n"
                 "tunnel add bt3 type vxlan local 192.0.2.1 remote 192.0.2.9 vni 8\n")
    try:
        r = ctl(live, "-f", str(f))
        assert r.returncode == 1, r
        assert r.stderr.startswith("%s:5: error: " % f), r.stderr
        names = [t["name"] for t in live.client().show_json("tunnel")["tunnels"]]
        assert "bt1" in names and "bt2" not in names and "bt3" not in names, names
        # The same batch from a pipe names <stdin>.
        r = ctl(live, stdin="tunnel del bt1\ntunnel del bt1\n")
        assert r.returncode == 1 and r.stderr.startswith("<stdin>:2: error: no tunnel"), r
    finally:
        ctl(live, "tunnel", "del", "bt1")


# ------------------------------------------------------------ the protocol

def test_reply_framing_holds_any_output(live):
    """Header, output bytes, message bytes: the reply ends exactly where the
    header says, even when the output has blank lines and text like a header."""
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(10)
    s.connect(live.sock)
    s.sendall(b"help\nnot-a-command\r\n")
    data = b""
    while data.count(b"\n") < 2 or not data.rstrip().endswith(b"(try 'help')"):
        chunk = s.recv(65536)
        assert chunk, data[-200:]
        data += chunk
    head, rest = data.split(b"\n", 1)
    status, nout, nmsg = head.split(b" ")
    assert status == b"ok" and nmsg == b"0"
    out, rest = rest[:int(nout)], rest[int(nout):]
    assert b"tunnel add <name:name>" in out and out.endswith(b"\n")
    head, rest = rest.split(b"\n", 1)
    status, nout, nmsg = head.split(b" ")
    assert status == b"error" and nout == b"0"
    assert rest == b"unknown command 'not-a-command' (try 'help')" and len(rest) == int(nmsg)
    s.close()


def test_completion_comes_from_the_server_grammar(live):
    c = live.client()
    assert c.complete("tunnel add t1 type ") == ["vxlan", "geneve", "gre", "gretap"]
    assert c.complete("show po") == ["port"]
    assert "<name>" in c.complete("tunnel del ")
    with pytest.raises(CommandError, match="'@' requests are '@complete <line>' and '@batch'"):
        c.run("@nope")


def test_several_clients_at_once(live):
    """Eight clients add and delete their own tunnels concurrently: every command
    answered, every one applied once, nothing left over."""
    live.client().run("port config 0 role uplink", "port config 0 address 192.0.2.1/24")
    errors = []

    def worker(n):
        try:
            with live.client() as c:
                for i in range(25):
                    name = "c%d_%d" % (n, i)
                    c.run("tunnel add %s type vxlan local 192.0.2.1 remote 192.0.2.%d vni %d"
                          % (name, 10 + n, 1000 * n + i))
                    assert c.show_json("tunnel %s" % name)["tunnels"][0]["name"] == name
                for i in range(25):
                    c.run("tunnel del c%d_%d" % (n, i))
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(repr(e))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a client hung"
    assert errors == []
    left = [t["name"] for t in live.client().show_json("tunnel")["tunnels"]]
    assert not [n for n in left if n.startswith("c")], left


def _served_within(live, seconds):
    start = time.monotonic()
    with live.client(timeout=seconds) as c:
        assert "tunnel del" in c.run("help tunnel del")
    return time.monotonic() - start


def test_hostile_clients_change_nothing_and_stall_no_one(live):
    """A silent connection, half a request, binary garbage, a 1 MiB line and a
    request cut off by a disconnect: each refused or ignored, nothing applied,
    and a well-behaved client served at once beside them."""
    live.client().run("port config 0 role uplink", "port config 0 address 192.0.2.1/24")
    silent = socket.socket(socket.AF_UNIX)
    silent.connect(live.sock)
    half = socket.socket(socket.AF_UNIX)
    half.connect(live.sock)
    half.sendall(b"tunnel add h1 type vxlan local 192.0.2.1 remote 192.0.2.5 vni 5")
    assert _served_within(live, 5) < 5

    with live.client() as c:
        ok, out, msg = c.request("\x00\x01\xfe\x7f junk")
        assert not ok and "byte 0x00 at column 1" in msg
        ok, out, msg = c.request("x" * (1 << 20))
        assert not ok and msg == "request longer than 65536 bytes; not run"
        # The connection is still good after both.
        assert "quit" in c.run("help quit")

    # Cut off mid-request: the half line is never run.
    half.close()
    cut = socket.socket(socket.AF_UNIX)
    cut.connect(live.sock)
    cut.sendall(b"tunnel add h2 type vxlan local 192.0.2.1 remote 192.0.2.6 vni 6")
    cut.shutdown(socket.SHUT_WR)
    assert cut.recv(100) == b""  # closed without a reply
    cut.close()
    # A client that does not read its replies: the others go on.
    greedy = socket.socket(socket.AF_UNIX)
    greedy.connect(live.sock)
    greedy.setblocking(False)
    try:
        for _ in range(2000):
            greedy.send(b"help\n")
    except BlockingIOError:
        pass
    assert _served_within(live, 5) < 5
    names = [t["name"] for t in live.client().show_json("tunnel")["tunnels"]]
    assert "h1" not in names and "h2" not in names, names
    for s in (silent, greedy):
        s.close()


def test_idle_connections_are_closed_after_the_timeout(sockdir):
    t = Live(sockdir / "idle.sock", flags=["--socket_timeout_s=1"], workdir=sockdir)
    try:
        t.client().close()
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(10)
        s.connect(t.sock)
        s.sendall(b"show por")
        start = time.monotonic()
        assert s.recv(100) == b""  # closed by tundra, not by our timeout
        assert 0.5 < time.monotonic() - start < 8
        s.close()
    finally:
        assert t.stop() == 0


# ------------------------------------------------------ the socket's life

def test_socket_and_directory_modes(live):
    st = os.stat(live.sock)
    assert stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(live.sock)).st_mode) == 0o700


def test_a_non_root_user_cannot_connect(live):
    """The 0700 directory and 0600 socket keep everyone but root out: `nobody`
    cannot connect (EACCES), while root in the same moment can."""
    if os.geteuid() != 0:
        pytest.skip("needs root to switch to another user")
    probe = ("import socket, sys\n"
             "s = socket.socket(socket.AF_UNIX)\n"
             "try:\n"
             "    s.connect(sys.argv[1])\n"
             "except PermissionError:\n"
             "    sys.exit(13)\n"
             "sys.exit(0)\n")
    r = subprocess.run([sys.executable, "-c", probe, live.sock], user=65534, group=65534,
                       extra_groups=[], capture_output=True, text=True, timeout=30)
    assert r.returncode == 13, (r.returncode, r.stderr)
    r = subprocess.run([sys.executable, "-c", probe, live.sock], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0, r.stderr


def test_a_live_socket_is_refused_a_stale_one_replaced(live, sockdir):
    second = Live(live.sock, workdir=sockdir)
    assert second.proc.wait(timeout=60) == 1
    assert "another process is serving %s" % live.sock in second.output()
    second.stop()
    assert "quit" in live.client().run("help quit")  # the first one is untouched

    stale = sockdir / "stale.sock"
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(stale))
    s.close()  # a socket file nobody listens on, as a killed tundra leaves it
    t = Live(stale, workdir=sockdir)
    try:
        assert "quit" in t.client().run("help quit")
    finally:
        assert t.stop() == 0
    assert not stale.exists()

    regular = sockdir / "regular.sock"
    regular.write_text("not a socket")
    t = Live(regular, workdir=sockdir)
    assert t.proc.wait(timeout=60) == 1
    assert "exists and is not a socket" in t.output()
    t.stop()
    assert regular.read_text() == "not a socket"


def test_quit_over_the_socket_answers_then_exits(sockdir):
    t = Live(sockdir / "q.sock", workdir=sockdir)
    t.client().close()
    r = subprocess.run([str(ctl_bin()), "--socket=" + t.sock, "quit"], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert t.proc.wait(timeout=30) == 0
    assert not os.path.exists(t.sock)
    t.stop()


def test_interactive_prompt_completes_from_the_server(live):
    """tundra-ctl on a terminal: TAB completes with the server's words, Enter
    runs the line; Ctrl-D ends it."""
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(str(ctl_bin()), [str(ctl_bin()), "--socket=" + live.sock])
    seen = b""

    def read_until(token, timeout=10):
        nonlocal seen
        deadline = time.monotonic() + timeout
        while token not in seen and time.monotonic() < deadline:
            r, _, _ = select.select([fd], [], [], 0.2)
            if r:
                try:
                    seen += os.read(fd, 4096)
                except OSError:
                    break
        return token in seen

    try:
        assert read_until(b"tundra> "), seen
        os.write(fd, b"show po\t")
        assert read_until(b"show port "), seen
        os.write(fd, b"info all\r")
        assert read_until(b"port 1: net_null1"), seen
        os.write(fd, b"\x04")
        _, status = os.waitpid(pid, 0)
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    finally:
        try:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        os.close(fd)


# ------------------------------------------------ same traffic, any source

def test_traffic_is_the_same_configured_over_the_socket(sockdir, tmp_path, tundra):
    """A tunnel configured through the socket encapsulates exactly as the same
    lines in --config do (scapy-checked, byte for byte the same frames)."""
    tun = Tunnel("t1", vni=4242)
    cfg = tunnel_config(UL, [tun])
    frames = make_inner_frames(8, seed=7)
    batch = tundra.run(cfg, {ACCESS: frames})

    rx = write_pcap(tmp_path / "rx.pcap", frames)
    tx = tmp_path / "tx.pcap"
    access_rx = tmp_path / "empty.pcap"
    write_pcap(access_rx, [])
    vdevs = ["--vdev=net_pcap0,rx_pcap=%s,tx_pcap=%s" % (access_rx, tx),
             "--vdev=net_pcap1,rx_pcap=%s,tx_pcap=%s" % (rx, tmp_path / "tx1.pcap")]
    assert (UPLINK, ACCESS) == (0, 1)
    t = Live(sockdir / "traffic.sock", vdevs=vdevs, workdir=sockdir)
    try:
        with t.client() as c:
            c.run(*[line for line in cfg if not line.startswith("#")])
            c.run("start", "wait idle 300")
            ports = c.show_json("port stats all")["ports"]
            assert ports[UPLINK]["tx_packets"] == len(frames), ports
            c.request("quit")
        assert t.proc.wait(timeout=30) == 0
    finally:
        t.stop()
    out = read_pcap(tx)
    assert out == batch.out(UPLINK)
    for o, f in zip(out, frames):
        check_encap(o, UL, tun, f)


def test_batch_mode_runs_nothing_after_a_failure(live):
    """After "@batch", requests sent behind a failed one are answered "not run"
    and change nothing; a new "@batch" starts over. Without it, each runs."""
    with live.client() as c:
        assert c.request("@batch") == (True, "", "")
        assert c.request("tunnel del nosuch")[0] is False
        ok, out, msg = c.request("port config 0 mtu 1400")
        assert (ok, msg) == (False, "not run: an earlier request of this batch failed")
        assert c.request("@batch") == (True, "", "")  # starts over
        assert "quit" in c.run("help quit")
    with live.client() as c:  # a new connection: not in batch mode
        assert c.show_json("port info 0")["ports"][0]["mtu"] != 1400  # was not run
        assert c.request("tunnel del nosuch")[0] is False
        assert "quit" in c.run("help quit")


# ------------------------------------------------ load: 8 clients × 10k commands

LOAD_CLIENTS = 8
LOAD_COMMANDS = int(os.environ.get("TUNDRA_SOCKET_LOAD_COMMANDS", "10000"))
LOAD_WINDOW = 50  # requests a client has in flight: it sends them, then reads the replies


def _replies(sock, n, buf):
    """Reads n framed replies; returns [(ok, output, message)] and what is left over."""
    out = []
    while len(out) < n:
        nl = buf.find(b"\n")
        if nl >= 0:
            status, nout, nmsg = buf[:nl].decode().split(" ")
            end = nl + 1 + int(nout) + int(nmsg)
            if len(buf) >= end:
                body = buf[nl + 1:end]
                out.append((status == "ok", body[:int(nout)].decode(),
                            body[int(nout):].decode()))
                buf = buf[end:]
                continue
        chunk = sock.recv(1 << 16)
        if not chunk:
            raise AssertionError("tundra closed the connection after %d of %d replies"
                                 % (len(out), n))
        buf += chunk
    return out, buf


def _load_client(path, n, commands):
    """One client's share of the load: cycles of five requests whose replies are each
    checked exactly. Returns a list of problems (empty when every reply was right)."""
    import json  # noqa: PLC0415 - runs in a forked process
    problems = []
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(120)
    s.connect(path)
    buf = b""
    sent = 0
    last_rx = 0
    cycle = 0
    while sent < commands and len(problems) < 10:
        batch, checks = [], []
        while len(batch) + 5 <= LOAD_WINDOW and sent + len(batch) + 5 <= commands:
            name = "l%d_%d" % (n, cycle)
            vni = 100000 * (n + 1) + cycle
            batch += ["tunnel add %s type vxlan local 192.0.2.1 remote 192.0.2.%d vni %d"
                      % (name, 10 + n, vni),
                      "show tunnel %s json" % name,
                      "tunnel del %s" % name,
                      "tunnel del %s" % name,
                      "show fwd stats json"]
            checks.append((name, vni))
            cycle += 1
        if not batch:
            break
        s.sendall(("\n".join(batch) + "\n").encode())
        replies, buf = _replies(s, len(batch), buf)
        sent += len(batch)
        for k, (name, vni) in enumerate(checks):
            add, show, dele, again, stats = replies[5 * k:5 * k + 5]
            if add != (True, "", "") or dele != (True, "", ""):
                problems.append("%s: add/del replied %r %r" % (name, add, dele))
            t = json.loads(show[1])["tunnels"] if show[0] else []
            if len(t) != 1 or t[0]["name"] != name or t[0]["vni"] != vni:
                problems.append("%s: show replied %r" % (name, show))
            if again[0] or again[2] != "no tunnel '%s'" % name:
                problems.append("%s: a second del replied %r" % (name, again))
            rx = json.loads(stats[1])["workers"][0]["packets"] if stats[0] else -1
            if rx < last_rx:
                problems.append("the worker's packets went from %d to %d" % (last_rx, rx))
            last_rx = rx
    s.close()
    if sent != commands and not problems:
        problems.append("sent %d of %d" % (sent, commands))
    return problems


def test_eight_clients_ten_thousand_commands_each_under_traffic(sockdir, tmp_path):
    """8 clients issue 10k commands each (tunnel add, show, del, a refused del, show
    stats), 50 in flight at a time, while the worker encapsulates traffic replayed
    without end: every reply is the right one, complete, in order; nothing is left
    over; and the worker forwards throughout (no drop)."""
    frames = make_inner_frames(32, seed=3)
    vdevs = ["--vdev=net_null0,no-rx=1",
             "--vdev=net_pcap1,rx_pcap=%s,infinite_rx=1" % write_pcap(tmp_path / "in.pcap",
                                                                      frames)]
    t = Live(sockdir / "load.sock", vdevs=vdevs, workdir=sockdir)
    try:
        with t.client() as c:
            c.run(*[line for line in tunnel_config(UL, [Tunnel("t1", vni=7)])
                    if not line.startswith("#")])
            c.run("start")
            before = c.show_json("port stats all")["ports"][UPLINK]["tx_packets"]
            import multiprocessing  # noqa: PLC0415
            with multiprocessing.get_context("fork").Pool(LOAD_CLIENTS) as pool:
                results = pool.starmap(_load_client, [(t.sock, n, LOAD_COMMANDS)
                                                      for n in range(LOAD_CLIENTS)],
                                       chunksize=1)
            assert [p for r in results for p in r] == []
            ports = c.show_json("port stats all")["ports"]
            assert ports[UPLINK]["tx_packets"] > before, "the worker stopped forwarding"
            names = [x["name"] for x in c.show_json("tunnel")["tunnels"]]
            assert names == ["t1"], names[:10]
            c.run("stop")
            ports = c.show_json("port stats all")["ports"]
            assert [p["drops"] for p in ports] == [0, 0], ports
    finally:
        assert t.stop() == 0, t.output()[-2000:]
