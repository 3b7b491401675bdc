"""Packet capture: `capture start|stop` inside tundra (DPDK's pcapng library) and
dpdk-dumpcap attached to tundra as a secondary process (rte_pdump, hugepages only).
The pcapng files are read by scapy and tshark and compared with what tundra was sent
and what it put on the wire (its tx pcap)."""
import json
import os
import pathlib
import select
import shutil
import subprocess
import tempfile
import time

import pytest
from scapy.utils import rdpcap

import harness
from harness import (ACCESS, UPLINK, UL4, Tunnel, check_encap, make_inner_frames,
                     read_pcap, tunnel_config, write_pcap)
from live import Live

TUN = Tunnel("t1", vni=321)
CFG = [line for line in tunnel_config(UL4, [TUN]) if not line.startswith("#")]


def pcap_ports(d, frames):
    rx = write_pcap(d / "rx.pcap", frames)
    empty = write_pcap(d / "empty.pcap", [])
    return ["--vdev=net_pcap0,rx_pcap=%s,tx_pcap=%s" % (empty, d / "tx0.pcap"),
            "--vdev=net_pcap1,rx_pcap=%s,tx_pcap=%s" % (rx, d / "tx1.pcap")]


def directions(path):
    """pcapng EPB direction of each packet (1 inbound, 2 outbound), by tshark."""
    out = subprocess.run(["tshark", "-r", str(path), "-T", "fields", "-e",
                          "frame.packet_flags_direction"], capture_output=True, text=True,
                         timeout=60, check=True).stdout
    return [int(x, 0) for x in out.split()]


def test_capture_both_ways_and_a_count(tmp_path):
    frames = make_inner_frames(10, seed=17)
    t = Live("/tmp/tcap%d.sock" % os.getpid(), vdevs=pcap_ports(tmp_path, frames),
             workdir=tmp_path)
    up, acc = tmp_path / "uplink.pcapng", tmp_path / "access.pcapng"
    began = time.time()
    try:
        c = t.client()
        c.run(*CFG)
        # Before start: attached at start, so it sees the first packet.
        assert c.run("capture start port %d both file %s" % (UPLINK, up)) == \
            "capturing port 0 both into %s\n" % up
        st = c.show_json("capture")["capture"]
        assert st["active"] and not st["attached"] and st["written"] == 0
        ok, _, msg = c.request("capture start port 1 rx file %s" % acc)
        assert not ok and msg == "a capture of port 0 runs: 'capture stop' first"
        c.run("start", "wait idle 300")
        assert c.run("capture stop") == \
            "capture of port 0 stopped: 10 packets written to %s, 0 dropped\n" % up
        ok, _, msg = c.request("capture stop")
        assert not ok and msg == "no capture is running"
        assert c.show_json("capture") == {"capture": {"active": False}}
    finally:
        assert t.stop() == 0
    wire = read_pcap(tmp_path / "tx0.pcap")
    assert len(wire) == 10
    packets = rdpcap(str(up))
    got = [bytes(p) for p in packets]
    assert got == wire
    # Wall-clock timestamps (DPDK 22.11's own TSC conversion overflows after ~9 s).
    assert all(began - 1 <= float(p.time) <= time.time() + 1 for p in packets), \
        [float(p.time) for p in packets]
    for g, f in zip(got, frames):
        check_encap(g, UL4, TUN, f)
    assert directions(up) == [2] * 10
    harness.assert_tshark_clean(up)


def test_capture_rx_with_a_count_stops_by_itself(tmp_path):
    frames = make_inner_frames(12, seed=18)
    t = Live("/tmp/tcapc%d.sock" % os.getpid(), vdevs=pcap_ports(tmp_path, frames),
             workdir=tmp_path)
    acc = tmp_path / "access.pcapng"
    try:
        c = t.client()
        c.run(*CFG)
        c.run("capture start port %d rx count 4 snaplen 64 file %s" % (ACCESS, acc))
        c.run("start", "wait idle 300")
        deadline = time.monotonic() + 10
        while c.show_json("capture")["capture"]["active"]:
            assert time.monotonic() < deadline, "a count of 4 did not end the capture"
            time.sleep(0.05)
    finally:
        assert t.stop() == 0
    assert "capture of port 1 stopped: 4 packets written" in t.output()
    got = rdpcap(str(acc))
    assert [bytes(p) for p in got] == [f[:64] for f in frames[:4]]
    assert [p.wirelen for p in got] == [len(f) for f in frames[:4]]
    assert directions(acc) == [1] * 4


def test_capture_refusals_change_nothing(tmp_path):
    t = Live("/tmp/tcapr%d.sock" % os.getpid(), workdir=tmp_path)
    try:
        c = t.client()
        for cmd, why in (
                ("capture start port 7 rx file %s/x.pcapng" % tmp_path, "port 7"),
                ("capture start port 0 rx file /nonexistent/dir/x.pcapng", "cannot create"),
                ("capture start port 0 sideways file %s/x.pcapng" % tmp_path, "sideways"),
                ("capture start port 0 rx snaplen 10 file %s/x.pcapng" % tmp_path, "10"),
                ("capture stop", "no capture is running")):
            ok, _, msg = c.request(cmd)
            assert not ok and why in msg, (cmd, msg)
            assert c.show_json("capture") == {"capture": {"active": False}}
        assert not (tmp_path / "x.pcapng").exists()
    finally:
        assert t.stop() == 0


def test_dpdk_dumpcap_captures_a_running_tundra(tmp_path):
    if "--no-huge" in harness.eal_mem_args() or "--in-memory" in harness.eal_mem_args():
        pytest.skip("dpdk-dumpcap attaches only to a primary on hugepages "
                    "(TUNDRA_EAL_MEM=%s)" % " ".join(harness.eal_mem_args()))
    dumpcap = shutil.which("dpdk-dumpcap")
    if dumpcap is None:
        pytest.skip("dpdk-dumpcap not installed (Debian's dpdk package)")
    frames = make_inner_frames(8, seed=19)
    # dpdk-dumpcap probes the primary's vdevs again from their devargs, which DPDK 22.11
    # cuts short: the pcap files need short paths.
    short = pathlib.Path(tempfile.mkdtemp(prefix="tdc", dir="/tmp"))
    t = Live("/tmp/tcapd%d.sock" % os.getpid(), vdevs=pcap_ports(short, frames),
             workdir=tmp_path)
    out = tmp_path / "dump.pcapng"
    dc = None
    try:
        c = t.client()
        c.run(*CFG)
        dc = subprocess.Popen([dumpcap, "--file-prefix=" + t.prefix, "-i", "net_pcap1",
                               "-c", "8", "-w", str(out)],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        # It counts "Packets captured: N" once attached; only then send traffic.
        seen, deadline = b"", time.monotonic() + 30
        while b"Packets captured" not in seen:
            assert dc.poll() is None, "dpdk-dumpcap exited: %s" % seen.decode(errors="replace")
            assert time.monotonic() < deadline, "dpdk-dumpcap did not attach: %s" % seen
            if select.select([dc.stdout], [], [], 0.2)[0]:
                seen += os.read(dc.stdout.fileno(), 4096)
        c.run("start", "wait idle 300")
        assert dc.wait(timeout=30) == 0, seen
    finally:
        if dc is not None and dc.poll() is None:
            dc.kill()  # our own child, by its PID
            dc.wait(timeout=10)
        assert t.stop() == 0
        shutil.rmtree(short, ignore_errors=True)
    got = [bytes(p) for p in rdpcap(str(out))]
    assert got == frames  # the access port's rx: the frames as sent, in order
    assert json.dumps(directions(out)) == json.dumps([1] * 8)
