"""DPDK telemetry (control/telemetry.h): tundra's /tundra/... endpoints, read from the
telemetry socket as any collector reads it, give the same values as `show ... json`
over the control socket, with traffic counted (pcap in, encap out), a segment with FDB
entries, and bad parameters answered with null. dpdk-telemetry.py reads them too."""
import json
import os
import shutil
import socket
import subprocess
import time

import pytest

from harness import (ACCESS, UL4 as _UL, make_inner_frames, tunnel_config, Tunnel,
                     write_pcap)
from live import Live


def flat(obj, prefix=""):
    """What a telemetry dict holds for a `show ... json` object: nested objects as
    "a/b" keys, arrays left out, '-' as '_', booleans as 0/1, floats as "%.2f"."""
    out = {}
    for k, v in obj.items():
        key = prefix + k.replace("-", "_")
        if isinstance(v, dict):
            out.update(flat(v, key + "/"))
        elif isinstance(v, list):
            continue
        elif isinstance(v, bool):
            out[key] = int(v)
        elif isinstance(v, float):
            out[key] = "%.2f" % v
        else:
            out[key] = v
    return out


class TelemetryClient:
    """The DPDK telemetry v2 protocol: SOCK_SEQPACKET, a JSON greeting, then one JSON
    reply {"<cmd>": value} per command."""

    def __init__(self, prefix):
        path = "/var/run/dpdk/%s/dpdk_telemetry.v2" % prefix
        deadline = time.monotonic() + 20
        while not os.path.exists(path):
            assert time.monotonic() < deadline, "no telemetry socket at " + path
            time.sleep(0.05)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.sock.settimeout(10)
        self.sock.connect(path)
        self.greeting = json.loads(self.sock.recv(16384))

    def get(self, cmd):
        self.sock.send(cmd.encode())
        reply = json.loads(self.sock.recv(65536))
        assert list(reply) == [cmd.split(",")[0]], reply
        return reply[cmd.split(",")[0]]


@pytest.fixture(scope="module")
def running(tmp_path_factory):
    d = tmp_path_factory.mktemp("tel")
    frames = make_inner_frames(12, seed=5)
    rx = write_pcap(d / "rx.pcap", frames)
    empty = write_pcap(d / "empty.pcap", [])
    vdevs = ["--vdev=net_pcap0,rx_pcap=%s,tx_pcap=%s" % (empty, d / "tx0.pcap"),
             "--vdev=net_pcap1,rx_pcap=%s,tx_pcap=%s" % (rx, d / "tx1.pcap")]
    t = Live("/tmp/ttel%d.sock" % os.getpid(), vdevs=vdevs, workdir=d)
    c = t.client()
    cfg = [line for line in tunnel_config(_UL, [Tunnel("t1", vni=77)]) if line[0] != "#"]
    c.run(*cfg)
    # Static neighbors: nothing is probed, so no counter moves between two reads.
    c.run("neigh add 192.0.2.77 02:00:00:00:77:77 port 0",
          "neigh add 192.0.2.50 02:00:00:00:50:50 port 0")
    c.run("tunnel add t2 type vxlan local %s remote 192.0.2.77 vni 78" % _UL.local,
          "segment add s1 type vxlan local %s vni 900" % _UL.local,
          "segment s1 remote 192.0.2.50",
          "fdb add s1 02:00:00:00:00:01 remote 192.0.2.50",
          "fdb add s1 02:00:00:00:00:02 remote 192.0.2.50",
          "start", "wait idle 300")
    assert c.show_json("port stats all")["ports"][ACCESS]["rx_packets"] == len(frames)
    yield t, c, TelemetryClient(t.prefix)
    c.close()
    assert t.stop() == 0


def test_lists_and_info(running):
    t, c, tel = running
    assert tel.greeting["version"].startswith("DPDK")
    assert tel.get("/tundra/ports") == [0, 1]
    assert tel.get("/tundra/workers") == [w["worker"] for w in c.show_json("fwd stats")["workers"]]
    assert tel.get("/tundra/tunnels") == [x["name"] for x in c.show_json("tunnel")["tunnels"]]
    assert tel.get("/tundra/segments") == ["s1"]
    info = tel.get("/tundra/info")
    assert info == {"ports": 2, "workers": 1, "tunnels": len(tel.get("/tundra/tunnels")),
                    "segments": 1, "running": 1}


def test_port_tunnel_worker_segment_counters_match_show_json(running):
    t, c, tel = running
    for p in c.show_json("port stats all")["ports"]:
        got = tel.get("/tundra/ports,%d" % p["port"])
        assert got == flat(p)
    assert got["drop_reasons/no_role"] == p["drop_reasons"]["no-role"]
    assert tel.get("/tundra/tunnels,t1")["encap_packets"] == 12
    assert tel.get("/tundra/ports,0")["tx_packets"] == 12
    for name in ("t1", "t2"):
        assert tel.get("/tundra/tunnels," + name) == \
            flat(c.show_json("tunnel stats " + name)["tunnels"][0])
    w = c.show_json("fwd stats")["workers"][0]
    got = tel.get("/tundra/workers,0")
    # busy cycles move between the two reads; every other field is fixed once idle
    for k in ("busy_cycles", "cycles_per_packet"):
        got.pop(k), w.pop(k)
    assert got == flat(w)
    seg = c.show_json("segment s1")["segments"][0]
    assert tel.get("/tundra/segments,s1") == flat(seg)
    assert seg["static_macs"] == 2


def test_fdb_and_drops(running):
    t, c, tel = running
    fdb = tel.get("/tundra/fdb,s1")
    assert {k: fdb[k] for k in ("segment", "macs", "learned_macs", "static_macs", "listed")} \
        == {"segment": "s1", "macs": 2, "learned_macs": 0, "static_macs": 2, "listed": 2}
    assert sorted(fdb["entries"]) == ["02:00:00:00:00:01 remote 192.0.2.50 static",
                                      "02:00:00:00:00:02 remote 192.0.2.50 static"]
    drops = tel.get("/tundra/drops")
    ports = c.show_json("port stats all")["ports"]
    want = {}
    for p in ports:
        for reason, n in p["drop_reasons"].items():
            want[reason.replace("-", "_")] = want.get(reason.replace("-", "_"), 0) + n
    assert drops == dict(total=sum(p["drops"] for p in ports), **want)


def test_bad_parameters_answer_null(running):
    t, c, tel = running
    for cmd in ("/tundra/ports,2", "/tundra/ports,x", "/tundra/workers,5", "/tundra/tunnels,nope",
                "/tundra/segments,nope", "/tundra/fdb,nope", "/tundra/fdb"):
        assert tel.get(cmd) is None, cmd
    assert tel.get("/tundra/info")["ports"] == 2  # still answering


def test_dpdk_telemetry_py_reads_them(running):
    t, c, tel = running
    tool = shutil.which("dpdk-telemetry.py")
    if tool is None:
        pytest.skip("dpdk-telemetry.py not installed (Debian's dpdk package)")
    r = subprocess.run(["/usr/bin/python3", tool, "-f", t.prefix], input="/tundra/tunnels,t1\n",
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    body = r.stdout[r.stdout.index('{"/tundra/tunnels"'):]
    obj = json.JSONDecoder().raw_decode(body)[0]
    assert obj["/tundra/tunnels"]["name"] == "t1"
    assert obj["/tundra/tunnels"]["encap_packets"] == 12
