"""A tundra process that stays up, driven through its control socket (for tests that
need a live process: the socket itself, telemetry, signals). Batch runs use harness.Tundra."""
import os
import pathlib
import subprocess
import sys
import tempfile
import time

import pytest

import harness

sys.path.insert(0, str(harness.REPO / "scripts" / "lib"))
from tundra_client import CommandError, TundraClient, TundraUnreachable  # noqa: E402,F401 (re-exported)


class Live:
    """A tundra process serving a control socket until stopped (by `quit`, then its PID)."""

    def __init__(self, sock, vdevs=None, flags=(), workdir=None):
        self.sock = str(sock)
        self.prefix = "tundra_sock_%d_%d" % (os.getpid(), next(_counter))
        vdevs = vdevs or ["--vdev=net_null0", "--vdev=net_null1"]
        self.cmd = [str(harness.tundra_bin()), *harness.lcore_args(1), "--no-pci",
                    *harness.eal_mem_args(), "--file-prefix=" + self.prefix, *vdevs,
                    "--", "--socket=" + self.sock, *flags]
        self.log_path = pathlib.Path(workdir or tempfile.gettempdir()) / (self.prefix + ".log")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT)

    def output(self):
        """What tundra printed so far (stdout and stderr), also after stop()."""
        return self.log_path.read_text(errors="replace")

    def client(self, timeout=20):
        """A connected client, waiting (bounded) for tundra to come up."""
        deadline = time.monotonic() + 30
        while True:
            if self.proc.poll() is not None:
                pytest.fail("tundra exited (%s) before serving %s:\n%s"
                            % (self.proc.returncode, self.sock, self.output()[-2000:]))
            try:
                return TundraClient(self.sock, timeout=timeout)
            except TundraUnreachable:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self):
        if self.proc.poll() is None:
            try:
                with TundraClient(self.sock, timeout=10) as c:
                    c.request("quit")
            except (TundraUnreachable, OSError):
                pass
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()  # our own child, by its PID
                self.proc.wait(timeout=10)
        self.log.close()
        harness._cleanup_prefix(self.prefix)
        return self.proc.returncode


_counter = iter(range(1 << 30))
