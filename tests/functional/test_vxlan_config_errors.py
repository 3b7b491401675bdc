"""A bad line in a --config file: `error: <file>:<line>: <message naming the
token>` on stderr, non-zero exit, nothing after it runs, ports not started."""

import re

import pytest

from harness import (ACCESS, UPLINK, UNDERLAYS, Tunnel, make_inner_frames,
                     read_pcap, tunnel_config)

UL = UNDERLAYS["v4"]
GOOD = tunnel_config(UL, [Tunnel()])   # 7 lines incl. a leading comment

# name: (bad line inserted after GOOD minus its xconnect, token to be named)
BAD_LINES = {
    "unknown-command": ("frobnicate the widget", "frobnicate"),
    "bad-number": ("tunnel add t2 type vxlan local 192.0.2.1 remote 192.0.2.5 vni 12x",
                   "12x"),
    "number-out-of-range": ("tunnel add t2 type vxlan local 192.0.2.1 "
                            "remote 192.0.2.5 vni 16777216", "16777216"),
    "bad-ip": ("tunnel add t2 type vxlan local 192.0.2.1 remote 192.0.2.300 vni 5",
               "192.0.2.300"),
    "bad-mac": ("neigh add 192.0.2.7 02:00:00:00:00:zz port 0",
                "02:00:00:00:00:zz"),
    "unknown-tunnel": ("xconnect add 1 tunnel nosuch", "nosuch"),
    "missing-argument": ("port config 0 role", None),
    "bad-keyword": ("tunnel add t2 type vxlan local 192.0.2.1 remote 192.0.2.5 "
                    "vni 5 df maybe", "maybe"),
    "unknown-port": ("port config 9 role uplink", "9"),
}


@pytest.mark.parametrize("name", list(BAD_LINES))
def test_config_error(tundra, name):
    bad, token = BAD_LINES[name]
    lines = GOOD[:-1] + ["# a comment line", "", bad, GOOD[-1]]
    lineno = lines.index(bad) + 1
    res = tundra.run(lines, {ACCESS: make_inner_frames(4)}, expect_ok=False)
    assert res.returncode != 0, "tundra accepted a bad config line"
    errs = [l for l in res.stderr.splitlines() if l.startswith("error: ")]
    assert errs, f"no 'error: ' line on stderr:\n{res.stderr[-2000:]}"
    pat = re.compile(r"^error: (?P<file>\S+):(?P<line>\d+): (?P<msg>.+)$")
    m = next((pat.match(l) for l in errs if pat.match(l)), None)
    assert m, f"error line is not 'error: <file>:<line>: <message>': {errs}"
    assert m["file"] in (str(res.cfg), "run.cfg") or m["file"].endswith("/run.cfg"), m["file"]
    assert int(m["line"]) == lineno, f"reported line {m['line']}, bad line is {lineno}"
    if token is not None:
        assert token in m["msg"], f"message does not name {token!r}: {m['msg']}"
    # nothing after the bad line ran, and the ports were never started
    assert not res.json_objs, f"commands after the error ran: {res.json_objs}"
    for p in (UPLINK, ACCESS):
        for f in res.out_files[p]:
            if f.exists():
                assert read_pcap(f) == [], f"port {p} transmitted frames"


def test_config_ok_comments_blank_lines_hex(tundra):
    """Comments, blank lines, trailing comments and 0x numbers are accepted."""
    lines = ["# leading comment", ""] + GOOD[1:-1] + [
        "   # indented comment",
        "xconnect add 0x1 tunnel t1   # trailing comment",
        ""]
    res = tundra.run(lines, {ACCESS: make_inner_frames(4)})
    assert len(res.out(UPLINK)) == 4


def test_no_worker_lcore_is_refused(tundra):
    """EAL lcores without a worker (-l 0): a clear error and exit 1, not a crash."""
    res = tundra.run(GOOD, {ACCESS: make_inner_frames(2)}, workers=0, expect_ok=False)
    assert res.returncode == 1, f"exit {res.returncode}:\n{res.stderr[-2000:]}"
    assert "at least one worker lcore" in res.stderr, res.stderr[-2000:]
