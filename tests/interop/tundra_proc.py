"""Helpers for interop tests that run tundra processes between namespaces.

* Topology  — network namespaces and veths, recording every object it makes so
               destroy() deletes exactly those (reverse order), nothing else.
* Tundra    — one tundra process on net_af_packet ports, driven line by line
               through its stdin (``--interactive`` with stdin not a terminal),
               its output in a log file polled, with deadlines, for the one-line
               JSON answers of ``show ... json``. Stopped by ``quit``, then by
               its own PID (SIGTERM, SIGKILL); its DPDK runtime dir removed.
* traffic   — ping and a 1 MiB TCP transfer (SHA-256 checked) between
               namespaces, every command under a timeout.

Everything here is bounded: no wait without a deadline.
"""
import hashlib
import json
import os
import pathlib
import shlex
import shutil
import signal
import subprocess
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
PY = "/usr/bin/python3"
DEFAULT_BIN = ROOT / "build" / "control" / "tundra"


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
    from tundra_netns import netns_unusable_reason
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
        run(["ip", "link", "set", "lo", "up"], ns=name)
        # Interfaces made or moved here later inherit "no DAD".
        run(["sysctl", "-qw", "net.ipv6.conf.all.accept_dad=0",
             "net.ipv6.conf.default.accept_dad=0"], ns=name)
        return name

    def veth(self, a, b):
        """A veth pair a <-> b, both in the root ns for now."""
        run(["ip", "link", "add", a, "type", "veth", "peer", "name", b])
        self.created.append(("link", a))

    @staticmethod
    def offloads_off(ifname, ns=None):
        # Veths otherwise hand AF_PACKET partial checksums and GSO/GRO
        # super-frames. Each feature on its own: not all exist everywhere.
        if shutil.which("ethtool") is None:
            return
        for feat in ("tx", "rx", "tso", "gso", "gro"):
            run(["ethtool", "-K", ifname, feat, "off"], check=False, ns=ns)

    def tundra_end(self, ifname, ns=None, mtu=None):
        """A veth end tundra owns (moved into ns if given): no IPv6 (the
        kernel sends nothing of its own there), promiscuous, offloads off,
        up."""
        if ns is not None:
            run(["ip", "link", "set", ifname, "netns", ns])
        run(["sysctl", "-qw", "net.ipv6.conf.%s.disable_ipv6=1" % ifname], ns=ns)
        self.offloads_off(ifname, ns)
        run(["ip", "link", "set", ifname, "promisc", "on"], ns=ns)
        if mtu:
            run(["ip", "link", "set", ifname, "mtu", str(mtu)], ns=ns)
        run(["ip", "link", "set", ifname, "up"], ns=ns)

    def host_end(self, ifname, ns, addrs, mtu=None):
        """Moves ifname into ns, addresses it (each "ip/plen"), brings it up."""
        run(["ip", "link", "set", ifname, "netns", ns])
        run(["sysctl", "-qw", "net.ipv6.conf.%s.accept_dad=0" % ifname], ns=ns)
        self.offloads_off(ifname, ns)
        if mtu:
            run(["ip", "link", "set", ifname, "mtu", str(mtu)], ns=ns)
        run(["ip", "link", "set", ifname, "up"], ns=ns)
        for a in addrs:
            extra = ["nodad"] if ":" in a else []
            run(["ip", "addr", "add", a, "dev", ifname, *extra], ns=ns)

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
    (port N = ifaces[N]), commands written to its stdin line by line.

    With netns, it runs inside that namespace (`ip netns exec` execs it, so
    the PID is tundra's). Each tundra gets a namespace of its own when
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
                    "--file-prefix=" + self.prefix, *vdevs, "--", "--interactive",
                    "--socket=" + self.sock, *flags]
        self.proc = None
        self._log = None

    def start(self):
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.PIPE,
                                     stdout=self._log, stderr=subprocess.STDOUT)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def log(self):
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def tail(self, n=40):
        return "\n".join(self.log().splitlines()[-n:])

    def send(self, *cmds):
        if not self.alive():
            raise TundraError("%s: tundra is not running (exit status %s); last output:\n%s"
                              % (self.name, self.proc and self.proc.poll(), self.tail()))
        try:
            for c in cmds:
                self.proc.stdin.write((c + "\n").encode())
            self.proc.stdin.flush()
        except BrokenPipeError:
            raise TundraError("%s: tundra closed its input; last output:\n%s"
                              % (self.name, self.tail()))

    def _scan(self, offset, key):
        data = self.log_path.read_bytes()[offset:].decode("utf-8", "replace")
        lines = data.split("\n")[:-1]          # complete lines only
        for i, line in enumerate(lines):
            j = line.find('{"%s"' % key) if key else line.find('{"')
            if j < 0:
                continue
            try:
                obj = json.loads(line[j:])
            except ValueError:
                continue
            return obj, "\n".join(lines[:i] + [line[:j]])
        return None

    def query(self, *cmds, key, timeout=15, allow_errors=False):
        """Sends cmds (the last a `show ... json`), waits for a JSON line
        whose first key is `key`; returns (obj, text printed before it).
        Raises TundraError when a command printed `error:` (unless
        allow_errors), tundra died, or no answer came within timeout."""
        offset = self.log_path.stat().st_size
        self.send(*cmds)
        deadline = time.monotonic() + timeout
        while True:
            found = self._scan(offset, key)
            if found:
                obj, text = found
                if not allow_errors and any(
                        "error:" in l for l in text.splitlines()):
                    raise TundraError("%s: a command was rejected:\n%s\ncommands: %s"
                                      % (self.name, text, list(cmds)))
                return obj, text
            if not self.alive():
                raise TundraError("%s: tundra exited (status %s) before answering %r; "
                                  "last output:\n%s" % (self.name, self.proc.poll(),
                                                        cmds[-1], self.tail()))
            if time.monotonic() >= deadline:
                raise TundraError("%s: no answer to %r within %d s; last output:\n%s"
                                  % (self.name, cmds[-1], timeout, self.tail()))
            time.sleep(0.1)

    def show(self, what, key, timeout=15):
        return self.query("show %s json" % what, key=key, timeout=timeout)[0]

    def stop(self, timeout=10):
        """quit, then SIGTERM, then SIGKILL — to our own child, by PID.
        Returns its exit status (None if it was never started)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write(b"quit\n")
                self.proc.stdin.flush()
            except (BrokenPipeError, ValueError):
                pass
            for sig, wait in ((None, timeout), (signal.SIGTERM, 5), (signal.SIGKILL, 5)):
                if sig is not None and self.proc.poll() is None:
                    self.proc.send_signal(sig)
                try:
                    self.proc.wait(timeout=wait)
                    break
                except subprocess.TimeoutExpired:
                    continue
        try:
            self.proc.stdin.close()
        except (BrokenPipeError, ValueError, OSError):
            pass
        if self._log:
            self._log.close()
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
            obj, _ = tundra.query("show %s json" % what, key=None, timeout=10)
            lines.append("%s: %s" % (what, json.dumps(obj)))
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


TCP_SERVER = r'''
import hashlib, socket, sys
addr, port, ready, tmo = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
s = socket.socket(fam, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((addr, port)); s.listen(1); s.settimeout(tmo)
open(ready, "w").close()
c, peer = s.accept(); c.settimeout(tmo)
h, n = hashlib.sha256(), 0
while True:
    b = c.recv(1 << 16)
    if not b:
        break
    h.update(b); n += len(b)
c.close(); s.close()
print(n, h.hexdigest())
'''

TCP_CLIENT = r'''
import socket, sys
addr, port, path, tmo = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
c = socket.socket(fam, socket.SOCK_STREAM); c.settimeout(tmo)
c.connect((addr, port))
with open(path, "rb") as f:
    c.sendall(f.read())
c.shutdown(socket.SHUT_WR)
while c.recv(1 << 16):
    pass
c.close()
'''


def tcp_transfer(from_ns, to_ns, addr, port, payload, workdir, timeout=30):
    """Sends the file `payload` from from_ns to a server on addr:port in
    to_ns; returns None on success (length and SHA-256 match), else why not."""
    data = pathlib.Path(payload).read_bytes()
    want = "%d %s" % (len(data), hashlib.sha256(data).hexdigest())
    ready = pathlib.Path(workdir) / ("ready.%d" % port)
    server = subprocess.Popen(
        ["ip", "netns", "exec", to_ns, "timeout", str(timeout + 10), PY, "-c",
         TCP_SERVER, addr, str(port), str(ready), str(timeout)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        if not wait_until(ready.exists, 10):
            return "server on [%s]:%d did not start" % (addr, port)
        c = run(["timeout", str(timeout + 5), PY, "-c", TCP_CLIENT, addr, str(port),
                 str(payload), str(timeout)], ns=from_ns, check=False, timeout=timeout + 10)
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


# Arguments for a probe link of each type, as scripts/lib/topology.sh's
# topo_kernel_supports uses them.
_PROBE_ARGS = {
    "vxlan": ["id", "1", "dstport", "4789", "local", "192.0.2.1"],
    "geneve": ["id", "1", "remote", "192.0.2.2"],
    "gre": ["local", "192.0.2.1", "remote", "192.0.2.2"],
    "gretap": ["local", "192.0.2.1", "remote", "192.0.2.2"],
    "ip6gre": ["local", "2001:db8::1", "remote", "2001:db8::2"],
    "ip6gretap": ["local", "2001:db8::1", "remote", "2001:db8::2"],
}


def kernel_link_error(link_type):
    """Why the kernel cannot create a link of this type (the `ip link add`
    error text, probed in a scratch namespace), or None if it can."""
    probe = "tundra-probe-py-%d" % os.getpid()
    r = run(["ip", "netns", "add", probe], check=False)
    if r.returncode != 0:
        return "cannot create a probe namespace: %s" % r.stderr.strip()
    try:
        r = run(["ip", "-n", probe, "link", "add", "tprobe0", "type", link_type,
                 *_PROBE_ARGS.get(link_type, [])], check=False)
        if r.returncode == 0:
            return None
        return (r.stderr or r.stdout).strip() or "exit status %d" % r.returncode
    finally:
        run(["ip", "netns", "del", probe], check=False)
