"""tundra's log types (control/log.h): levels set by command and by EAL's
--log-level, and one line per event that matters — a link coming up, a next hop
that does not answer, a table full — never one per packet or per probe."""
import json
import os
import re
import time

from live import Live

TYPES = ["tundra.control", "tundra.port", "tundra.neigh", "tundra.fdb", "tundra.table"]


def sock(name):
    return "/tmp/tlog_%s_%d.sock" % (name, os.getpid())


def levels(c):
    return {e["type"]: e["level"] for e in json.loads(c.run("show log json"))["log"]}


def wait_for_line(t, pattern, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [line for line in t.output().splitlines() if re.search(pattern, line)]
        if found:
            return found
        time.sleep(0.05)
    return []


def test_levels_by_command_and_by_eal_flag(tmp_path):
    t = Live(sock("lv"), workdir=tmp_path,
             vdevs=["--vdev=net_null0", "--vdev=net_null1", "--log-level=tundra.fdb:debug"])
    try:
        c = t.client()
        assert levels(c) == {name: ("debug" if name == "tundra.fdb" else "info")
                             for name in TYPES}
        c.run("log level port debug")
        assert levels(c)["tundra.port"] == "debug"
        c.run("log level all warning")
        assert set(levels(c).values()) == {"warning"}
        ok, _, msg = c.request("log level nosuch info")
        assert not ok and msg.startswith("unknown log type 'nosuch': one of control, port")
        ok, _, msg = c.request("log level port loud")
        assert not ok and "loud" in msg
        assert set(levels(c).values()) == {"warning"}  # refused lines changed nothing
        assert "tundra.port         warning" not in c.run("show log")  # text form
        assert re.search(r"^tundra\.port\s+warning$", c.run("show log"), re.M)
    finally:
        assert t.stop() == 0


def test_unanswered_next_hop_and_links_logged_once(tmp_path):
    t = Live(sock("nh"), workdir=tmp_path,
             flags=["--neigh_retrans_ms=50", "--neigh_probes=2"])
    try:
        c = t.client()
        c.run("port config 0 role uplink", "port config 0 address 192.0.2.1/24",
              "tunnel add t1 type vxlan local 192.0.2.1 remote 192.0.2.99 vni 5", "start")
        assert wait_for_line(t, r"tundra\.port: port 1 \(net_null1\): link up")
        first = wait_for_line(t, r"next hop 192\.0\.2\.99 on port 0 does not answer")
        assert first and first[0].startswith("tundra.neigh: "), t.output()[-2000:]
        c.run("sleep 1500")  # dozens more probes, backing off: still one line
        neigh = json.loads(c.run("show neigh json"))
        assert len(re.findall(r"192\.0\.2\.99 on port 0 does not answer", t.output())) == 1
        assert "192.0.2.99" in json.dumps(neigh)
        c.run("quit")
        t.proc.wait(timeout=30)
        assert "tundra.port: port 0 (net_null0): closed" in t.output()
    finally:
        t.stop()


def test_table_full_is_logged_and_refused(tmp_path):
    t = Live(sock("tf"), workdir=tmp_path, flags=["--max_tunnels=2"])
    try:
        c = t.client()
        c.run("port config 0 role uplink", "port config 0 address 192.0.2.1/24",
              "tunnel add t1 type vxlan local 192.0.2.1 remote 192.0.2.9 vni 1",
              "tunnel add t2 type vxlan local 192.0.2.1 remote 192.0.2.9 vni 2")
        ok, _, msg = c.request("tunnel add t3 type vxlan local 192.0.2.1 remote 192.0.2.9 vni 3")
        assert not ok and msg == "all 2 tunnels are in use (raise --max_tunnels)"
        assert wait_for_line(t, r"^tundra\.table: all 2 tunnels are in use")
        assert [x["name"] for x in c.show_json("tunnel")["tunnels"]] == ["t1", "t2"]
    finally:
        assert t.stop() == 0
