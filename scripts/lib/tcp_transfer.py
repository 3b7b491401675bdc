"""A one-shot TCP transfer between network namespaces, checked end to end: the
receiving side hashes what it got, the caller compares with what was sent.

    tcp_transfer.py server ADDR PORT READYFILE TIMEOUT   -> prints "<bytes> <sha256>"
    tcp_transfer.py client ADDR PORT FILE TIMEOUT

The server creates READYFILE once it listens. Every socket operation is bounded by
TIMEOUT seconds. Used by scripts/demo.sh (through `ip netns exec`) and by
tests/interop/tundra_proc.tcp_transfer.
"""
import hashlib
import socket
import sys


def _family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def server(addr, port, ready, tmo):
    s = socket.socket(_family(addr), socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(1)
    s.settimeout(tmo)
    open(ready, "w").close()
    c, _ = s.accept()
    c.settimeout(tmo)
    h, n = hashlib.sha256(), 0
    while True:
        b = c.recv(1 << 16)
        if not b:
            break
        h.update(b)
        n += len(b)
    c.close()
    s.close()
    print(n, h.hexdigest())


def client(addr, port, path, tmo):
    c = socket.socket(_family(addr), socket.SOCK_STREAM)
    c.settimeout(tmo)
    c.connect((addr, port))
    with open(path, "rb") as f:
        c.sendall(f.read())
    c.shutdown(socket.SHUT_WR)
    while c.recv(1 << 16):
        pass
    c.close()


def main(argv):
    if len(argv) != 5 or argv[0] not in ("server", "client"):
        sys.exit(__doc__)
    role, addr, port, arg, tmo = argv
    (server if role == "server" else client)(addr, int(port), arg, float(tmo))


if __name__ == "__main__":
    main(sys.argv[1:])
