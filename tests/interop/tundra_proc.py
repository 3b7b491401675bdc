"""Helpers for interop tests that run tundra processes between namespaces.

* Topology  — network namespaces and veths, recording every object it makes so
               destroy() deletes exactly those (reverse order), nothing else.
* Tundra    — one tundra process on net_af_packet ports, driven through its
               control socket (scripts/lib/tundra_client.py): each command's
               reply says it ran, and whether tundra accepted it. Its output
               (EAL, errors) goes to a log file quoted in failure messages.
               Stopped by ``quit``, then by its own PID (SIGTERM, SIGKILL); its
               socket file and DPDK runtime dir removed.
* traffic   — ping and a 1 MiB TCP transfer (SHA-256 checked,
               scripts/lib/tcp_transfer.py) between namespaces, every command
               under a timeout.

Namespaces and veth ends are set up by scripts/lib/topology.sh's functions
(tundra_netns.topology_sh), the same that scripts/demo.sh uses.

Everything here is bounded: no wait without a deadline.
"""
import hashlib
import json
import os
import pathlib
import shlex
import shutil
import signal
import stat
import subprocess
import sys
import time

from tundra_netns import netns_unusable_reason, topology_sh

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts" / "lib"))
from tundra_client import TundraClient, TundraUnreachable  # noqa: E402

PY = "/usr/bin/python3"
DEFAULT_BIN = ROOT / "build" / "control" / "tundra"
TCP_TRANSFER = ROOT / "scripts" / "lib" / "tcp_transfer.py"


class TundraError(AssertionError):
    """tundra did not answer, rejected a command or died."""


def tundra_bin():
    return pathlib.Path(os.environ.get("TUNDRA_BIN", str(DEFAULT_BIN)))


def eal_mem_args():
    """TUNDRA_EAL_MEM (default --no-huge -m 512); --huge-unlink added when
    hugepages are used, so a unique --file-prefix leaves no hugepage files."""
    args = shlex.split(os.environ.get("TUNDRA_EAL_MEM", "--no-huge -m 512"))
    if not ({"--no-huge", "--in-memory"} & set(args)) and \
            not any(a.startswith("--huge-unlink") for a in args):
        args.append("--huge-unlink")
    return args


def lcore_args():
    """Main lcore 0 and one worker: on CPUs 0 and 1, or both on CPU 0 where there is only
    one (user-mode Linux, tests/interop/uml.py)."""
    return ["-l", "0-1"] if (os.cpu_count() or 1) >= 2 else ["--lcores=0@0,1@0"]


def run(cmd, timeout=20, check=True, ns=None):
    """Runs cmd (a list), optionally inside netns ns; returns CompletedProcess."""
    if ns is not None:
        cmd = ["ip", "netns", "exec", ns, *cmd]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise AssertionError("`%s` exited %d: %s" % (
            shlex.join(cmd), r.returncode, (r.stderr or r.stdout).strip()))
    return r


def wait_until(pred, timeout, interval=0.1):
    """Polls pred() until truthy or timeout; returns its last value."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(interval)


def require_interop(tools=("ip", "ping", "sysctl")):
    """For a module-scoped autouse fixture: skips when namespaces cannot be made
    or a tool is missing, fails when the tundra binary is."""
    import pytest
    reason = netns_unusable_reason()
    if reason:
        pytest.skip(reason)
    if not os.access(tundra_bin(), os.X_OK):
        pytest.fail("tundra binary %s missing (ninja -C build, or set TUNDRA_BIN)"
                    % tundra_bin(), pytrace=False)
    for tool in tools:
        if shutil.which(tool) is None:
            pytest.skip("'%s' not installed" % tool)


# --------------------------------------------------------------- topology

class Topology:
    """Namespaces and veths; destroy() removes only what this object made."""

    def __init__(self):
        self.created = []   # ("netns"|"link", name), in creation order

    def netns(self, name):
        run(["ip", "netns", "add", name])
        self.created.append(("netns", name))
        topology_sh("topo_netns_init", name)   # lo up; no DAD from here on
        return name

    def veth(self, a, b):
        """A veth pair a <-> b, both in the root ns for now."""
        run(["ip", "link", "add", a, "type", "veth", "peer", "name", b])
        self.created.append(("link", a))

    @staticmethod
    def offloads_off(ifname, ns=None):
        """No checksum/segmentation offloads on a veth end (topology.sh)."""
        topology_sh("topo_offloads_off", ifname, ns or "")

    def tundra_end(self, ifname, ns=None, mtu=None):
        """A veth end tundra owns (moved into ns if given): no IPv6 (the
        kernel sends nothing of its own there), promiscuous, offloads off,
        up (topology.sh's topo_tundra_end)."""
        if ns is not None:
            run(["ip", "link", "set", ifname, "netns", ns])
        topology_sh("topo_tundra_end", ifname, ns or "", mtu or "")

    def host_end(self, ifname, ns, addrs, mtu=None):
        """Moves ifname into ns, addresses it (each "ip/plen"), brings it up
        (topology.sh's topo_host_end)."""
        run(["ip", "link", "set", ifname, "netns", ns])
        topology_sh("topo_host_end", ifname, ns, mtu or "", *addrs)

    def destroy(self):
        """Deletes, newest first, what this object created; never raises."""
        problems = []
        for kind, name in reversed(self.created):
            try:
                if kind == "link":
                    if run(["ip", "link", "show", name], check=False).returncode == 0:
                        run(["ip", "link", "del", name], check=False)
                else:
                    run(["ip", "netns", "del", name], check=False)
            except Exception as e:  # noqa: BLE001 - keep tearing down
                problems.append("%s %s: %s" % (kind, name, e))
        self.created = []
        return problems

    def teardown(self, *tundras):
        """Stops the tundra processes given (None allowed), then destroys the
        topology; returns the objects that survived (empty: all gone)."""
        made = list(self.created)
        for t in tundras:
            if t is not None:
                t.stop()
        self.destroy()
        return self.leftovers(made)

    def leftovers(self, names):
        """Which of these (kind, name) objects still exist."""
        netns = run(["ip", "netns", "list"], check=False).stdout.split()
        left = []
        for kind, name in names:
            if kind == "netns" and name in netns:
                left.append(name)
            if kind == "link" and run(["ip", "link", "show", name],
                                      check=False).returncode == 0:
                left.append(name)
        return left


def ns_mac(ns, ifname):
    return run(["cat", "/sys/class/net/%s/address" % ifname], ns=ns).stdout.strip()


# ----------------------------------------------------------------- tundra

class Tundra:
    """One tundra process with net_af_packet ports on the given interfaces
    (port N = ifaces[N]), run without a prompt (stdin /dev/null) and driven
    through its control socket, one connection per call.

    With netns, it runs inside that namespace (`ip netns exec` execs it, so
    the PID is tundra's; the socket is a file, reachable from everywhere).
    Each tundra gets a namespace of its own when
    several run at once: DPDK 22.11's net_af_packet names its PACKET_FANOUT
    group (pid ^ ifindex) & 0xffff, and the kernel refuses (EINVAL) a socket
    joining an existing group of that id bound to another device in the same
    namespace, so two processes whose pid XOR equals the XOR of two of their
    ifindexes collide ("could not set PACKET_FANOUT ... Invalid argument")."""

    def __init__(self, name, workdir, ifaces, lcores, netns=None, flags=()):
        self.name = name
        self.prefix = "tundra_it_%s_%d" % (name, os.getpid())
        self.log_path = pathlib.Path(workdir) / ("%s.log" % name)
        vdevs = ["--vdev=net_af_packet%d,iface=%s" % (i, ifc)
                 for i, ifc in enumerate(ifaces)]
        pre = ["ip", "netns", "exec", netns] if netns else []
        # UNIX socket paths are short (107 bytes): under /tmp, not the workdir.
        self.sock = "/tmp/%s.sock" % self.prefix
        self.cmd = [*pre, str(tundra_bin()), *lcores, "--no-pci", *eal_mem_args(),
                    "--file-prefix=" + self.prefix, *vdevs, "--",
                    "--socket=" + self.sock, *flags]
        self.proc = None
        self._log = None

    def start(self, timeout=60):
        """Starts tundra and waits, at most `timeout` s, until its control
        socket answers (it does once tundra is configured). Raises TundraError,
        with the end of tundra's output, when it exits or stays silent."""
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL,
                                     stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while True:
            if not self.alive():
                raise TundraError("%s: tundra exited (status %s) before serving %s; "
                                  "last output:\n%s" % (self.name, self.proc.poll(),
                                                        self.sock, self.tail()))
            left = deadline - time.monotonic()
            if left <= 0:
                raise TundraError("%s: no answer on %s within %d s; last output:\n%s"
                                  % (self.name, self.sock, timeout, self.tail()))
            try:
                with TundraClient(self.sock, timeout=max(left, 0.1)) as c:
                    c.request("help quit")
                return
            except TundraUnreachable:
                time.sleep(0.05)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def log(self):
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def tail(self, n=40):
        return "\n".join(self.log().splitlines()[-n:])

    def _run(self, cmds, timeout, allow_errors):
        """Runs cmds in order on one connection, each once the one before
        answered; returns [(command, ok, output, message)]."""
        if not self.alive():
            raise TundraError("%s: tundra is not running (exit status %s); last output:\n%s"
                              % (self.name, self.proc and self.proc.poll(), self.tail()))
        replies = []
        try:
            with TundraClient(self.sock, timeout=timeout) as c:
                for cmd in cmds:
                    ok, out, msg = c.request(cmd)
                    replies.append((cmd, ok, out, msg))
                    if not ok and not allow_errors:
                        raise TundraError("%s: tundra rejected %r: error: %s\ncommands: %s"
                                          % (self.name, cmd, msg.rstrip(), list(cmds)))
        except TundraUnreachable as e:
            cmd = cmds[len(replies)]
            if self.proc.poll() is not None:
                why = "tundra exited (status %s) before answering" % self.proc.poll()
            else:
                why = "no answer (%s) to" % e
            raise TundraError("%s: %s %r; last output:\n%s"
                              % (self.name, why, cmd, self.tail())) from None
        return replies

    @staticmethod
    def _text(replies):
        """What the prompt would have printed for these replies."""
        return "".join(out + ("" if ok else "error: %s\n" % msg.rstrip("\n"))
                       for _, ok, out, msg in replies)

    def send(self, *cmds, timeout=15, allow_errors=False):
        """Runs cmds in order; returns what the last one printed. A command
        tundra rejects raises TundraError, unless allow_errors (its `error:`
        line is then in the output)."""
        return self._text(self._run(cmds, timeout, allow_errors)[-1:])

    def query(self, *cmds, key=None, timeout=15, allow_errors=False):
        """Runs cmds, the last a `show ... json`, each within timeout s;
        returns (the parsed JSON, what the commands before it printed). key,
        when given, must be the JSON's first key. Raises TundraError when a
        command was rejected (the earlier ones: unless allow_errors), tundra
        died or did not answer."""
        *before, (cmd, ok, out, msg) = self._run(cmds, timeout, allow_errors)
        if not ok:
            raise TundraError("%s: tundra rejected %r: error: %s" % (self.name, cmd, msg))
        try:
            obj = json.loads(out)
        except ValueError:
            raise TundraError("%s: %r answered no JSON:\n%s" % (self.name, cmd, out)) from None
        if key is not None and next(iter(obj), None) != key:
            raise TundraError("%s: %r answered no %r:\n%s" % (self.name, cmd, key, out))
        return obj, self._text(before)

    def show(self, what, key=None, timeout=15):
        """The parsed `show <what> json`."""
        return self.query("show %s json" % what, key=key, timeout=timeout)[0]

    def mbufs_in_use(self, settle=0.0, timeout=10):
        """{pool name: mbufs in use}. With settle > 0, read again every settle
        s until two reads agree (at most timeout s): for a baseline taken
        right after `start`, when tundra's first probes and reports may still
        be in flight."""
        def read():
            return {p["name"]: p["in_use"] for p in self.show("mempool")["mempools"]}
        last = read()
        deadline = time.monotonic() + timeout
        while settle > 0 and time.monotonic() < deadline:
            time.sleep(settle)
            now, last = last, read()
            if now == last:
                break
        return last

    def stop(self, timeout=10):
        """quit over the socket, then SIGTERM, then SIGKILL — to our own
        child, by PID. Returns its exit status (None if it was never started)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            try:
                with TundraClient(self.sock, timeout=5) as c:
                    c.request("quit")
            except (TundraUnreachable, OSError):
                pass
            for sig, wait in ((None, timeout), (signal.SIGTERM, 5), (signal.SIGKILL, 5)):
                if sig is not None and self.proc.poll() is None:
                    self.proc.send_signal(sig)
                try:
                    self.proc.wait(timeout=wait)
                    break
                except subprocess.TimeoutExpired:
                    continue
        if self._log:
            self._log.close()
        # tundra removes its socket as it exits, but not when killed.
        try:
            if stat.S_ISSOCK(os.lstat(self.sock).st_mode):
                os.unlink(self.sock)
        except OSError:
            pass
        shutil.rmtree("/var/run/dpdk/" + self.prefix, ignore_errors=True)
        return self.proc.returncode


def describe(tundra, *shows):
    """The JSON of each `show <what> json` (e.g. "port stats all"), one per line,
    for failure messages; never raises."""
    if tundra is None or not tundra.alive():
        return "tundra not running"
    lines = []
    for what in shows:
        try:
            lines.append("%s: %s" % (what, json.dumps(tundra.show(what, timeout=10))))
        except TundraError as e:
            lines.append("%s: %s" % (what, e))
    return "\n".join(lines)


# ---------------------------------------------------------------- traffic

def ping(ns, addr, count=3, size=None, df=False, interval=0.3, wait=2, timeout=30):
    """ping from ns; returns CompletedProcess (check returncode yourself)."""
    cmd = ["ping", "-6" if ":" in addr else "-4", "-c", str(count),
           "-i", str(interval), "-W", str(wait)]
    if size is not None:
        cmd += ["-s", str(size)]
    if df:
        cmd += ["-M", "do"]
    return run(["timeout", str(timeout), *cmd, addr], ns=ns, check=False,
               timeout=timeout + 5)


def tcp_transfer(from_ns, to_ns, addr, port, payload, workdir, timeout=30):
    """Sends the file `payload` from from_ns to a server on addr:port in
    to_ns; returns None on success (length and SHA-256 match), else why not."""
    data = pathlib.Path(payload).read_bytes()
    want = "%d %s" % (len(data), hashlib.sha256(data).hexdigest())
    ready = pathlib.Path(workdir) / ("ready.%d" % port)
    server = subprocess.Popen(
        ["ip", "netns", "exec", to_ns, "timeout", str(timeout + 10), PY,
         str(TCP_TRANSFER), "server", addr, str(port), str(ready), str(timeout)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        if not wait_until(ready.exists, 10):
            return "server on [%s]:%d did not start" % (addr, port)
        c = run(["timeout", str(timeout + 5), PY, str(TCP_TRANSFER), "client", addr,
                 str(port), str(payload), str(timeout)], ns=from_ns, check=False,
                timeout=timeout + 10)
        if c.returncode != 0:
            return "client to [%s]:%d failed (status %d): %s" % (
                addr, port, c.returncode, (c.stderr or c.stdout).strip()[-300:])
        out, _ = server.communicate(timeout=timeout + 10)
        got = out.strip().splitlines()[-1] if out.strip() else ""
        if got != want:
            return "receiver at [%s]:%d got %r, sent %r" % (addr, port, got, want)
        return None
    finally:
        if server.poll() is None:
            # Our own child, by its PID: `ip netns exec` execs timeout(1),
            # which passes SIGTERM on to the server.
            server.terminate()
            try:
                server.wait(timeout=5)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(timeout=5)


def received(ping_result):
    """How many replies a ping (CompletedProcess) reported."""
    for line in ping_result.stdout.splitlines():
        if " received" in line:
            for part in line.split(","):
                if part.strip().endswith("received"):
                    return int(part.split()[0])
    return 0
