"""The Python client of tundra's control socket (control/control_protocol.h).

    from tundra_client import TundraClient, CommandError
    with TundraClient("/run/tundra/tundra.sock") as t:
        t.run("tunnel add t1 type vxlan local 10.0.0.1 remote 10.0.0.2 vni 5")
        ports = t.show_json("port stats all")      # the parsed `show port stats all json`

A request is one command line; a reply is "ok|error <output-bytes> <message-bytes>\\n"
then the output and the error message. run() raises CommandError when tundra refused
the command and TundraUnreachable when it could not be asked (no socket, the
connection lost, no reply within the timeout). Every wait is bounded.
"""
import json
import socket
import time


class TundraUnreachable(ConnectionError):
    """No tundra answered on the socket (or the connection broke)."""


class CommandError(RuntimeError):
    """tundra answered `error: ...`; .message is its text, .output what it printed."""

    def __init__(self, command, message, output=""):
        super().__init__("%r: error: %s" % (command, message))
        self.command = command
        self.message = message
        self.output = output


class TundraClient:
    def __init__(self, path, timeout=60.0, connect_timeout=0.0):
        """connect_timeout > 0 keeps retrying a refused/missing socket that long
        (a tundra that is still starting)."""
        self.path = str(path)
        self.timeout = timeout
        self._sock = None
        self._connect(connect_timeout)

    def _connect(self, wait):
        deadline = time.monotonic() + wait
        while True:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(self.timeout)
            try:
                s.connect(self.path)
                self._sock = s
                return
            except (FileNotFoundError, ConnectionRefusedError) as e:
                s.close()
                if time.monotonic() >= deadline:
                    raise TundraUnreachable("cannot connect to %s: %s" % (self.path, e))
                time.sleep(0.05)

    def close(self):
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _recv_exact(self, n, buf):
        while len(buf) < n:
            try:
                chunk = self._sock.recv(max(65536, n - len(buf)))
            except socket.timeout:
                raise TundraUnreachable("no reply from %s within %s s" % (self.path, self.timeout))
            if not chunk:
                raise TundraUnreachable("tundra closed the connection before replying")
            buf += chunk
        return buf

    def request(self, line):
        """Sends one request; returns (ok, output, message)."""
        if self._sock is None:
            self._connect(0)
        try:
            self._sock.sendall(line.encode() + b"\n")
            buf = b""
            while b"\n" not in buf:
                if len(buf) > 64:
                    raise TundraUnreachable("not a tundra reply: %r" % buf[:64])
                buf = self._recv_exact(len(buf) + 1, buf)
            head, rest = buf.split(b"\n", 1)
            status, nout, nmsg = head.decode().split(" ")
            rest = self._recv_exact(int(nout) + int(nmsg), rest)
        except (BrokenPipeError, ConnectionResetError) as e:
            self.close()
            raise TundraUnreachable("connection to %s lost: %s" % (self.path, e))
        except TundraUnreachable:
            self.close()
            raise
        out = rest[:int(nout)].decode(errors="replace")
        msg = rest[int(nout):].decode(errors="replace")
        return status == "ok", out, msg

    def run(self, *commands):
        """Runs each command in order; returns the output of the last. Raises
        CommandError at the first one tundra refuses."""
        out = ""
        for c in commands:
            ok, out, msg = self.request(c)
            if not ok:
                raise CommandError(c, msg, out)
        return out

    def show_json(self, what):
        """The parsed output of `show <what> json`."""
        return json.loads(self.run("show %s json" % what))

    def complete(self, line):
        """The prompt's completion candidates for the end of `line`."""
        return self.run("@complete " + line).splitlines()
