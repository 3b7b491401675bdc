"""The multi-worker queue layout: ports with fewer tx queues than workers.

Two workers (-l 0-2). A net_pcap port has one queue per rx_pcap / tx_pcap
given, so one pair is a port with one rx and one tx queue. tundra used to refuse
to start there ("each of the 2 workers needs its own" tx queue); now workers
share the tx queue (worker w sends on queue w % tx_queues) under a lock, as Open
vSwitch does with fewer tx queues than PMD threads.

The stress case gives the access port two rx queues but one tx queue, so both
workers decapsulate onto that one queue at once: the lock is what keeps the
pcap PMD's writer (and its counters) whole. Every frame must come out exactly
once; scapy builds the inputs and the expected outputs.
"""

from collections import Counter

import pytest

from harness import (ACCESS, UPLINK, UNDERLAYS, Ether, Tunnel, Xconnect,
                     add_vlan, assert_frames_equal, assert_io_counters,
                     assert_only_drops, assert_worker_packets, check_encap,
                     extract_inner, flow_frame, make_inner_frames,
                     tunnel_config, tunnel_packet)

SHOW_INFO = ("show port info all json",)


def layout_lines(res) -> list[str]:
    return [line for line in res.stderr.splitlines()
            if line.startswith("tundra: port ")]


@pytest.mark.parametrize("fam,vlan", [("v4", None), ("v6", 30)],
                         ids=["v4-untagged", "v6-vlan30"])
def test_two_workers_one_queue_ports(tundra, fam, vlan):
    ul, tun = UNDERLAYS[fam], Tunnel()
    enc_inner = ([flow_frame(fl, r) for r in range(2) for fl in range(40)]
                 + make_inner_frames(60, seed=61, start=1000))
    dec_inner = make_inner_frames(150, seed=62, start=2000)
    access_in = [add_vlan(f, vlan) for f in enc_inner] if vlan else enc_inner
    up_in = [tunnel_packet(ul, tun, f, sport=49152 + i)
             for i, f in enumerate(dec_inner)]
    res = tundra.run(tunnel_config(ul, [tun], [Xconnect(ACCESS, vlan, "t1")]),
                     {ACCESS: access_in, UPLINK: up_in}, workers=2,
                     queues={UPLINK: (1, 1), ACCESS: (1, 1)}, show=SHOW_INFO)

    # The layout: each single rx queue polled by one worker (round-robin over
    # the ports), the single tx queue of each port shared by both workers.
    info = {e["port"]: e for e in res.port_info}
    for p, rx_worker in ((UPLINK, 0), (ACCESS, 1)):
        e = info[p]
        assert (e["rx_queues"], e["tx_queues"]) == (1, 1), e
        assert e["rx_workers"] == [rx_worker], e
        assert e["tx_workers"] == [[0, 1]] and e["tx_shared"] is True, e
        assert e["rss"] is False and e["rss_fields"] == [], e
    assert layout_lines(res) == [
        "tundra: port 0 (net_pcap0): rx queues 1 (q0: worker 0), rss off; "
        "tx queues 1 (q0: workers 0,1 (shared, locked))",
        "tundra: port 1 (net_pcap1): rx queues 1 (q0: worker 1), rss off; "
        "tx queues 1 (q0: workers 0,1 (shared, locked))",
    ], res.stderr

    want_dec = [add_vlan(f, vlan) for f in dec_inner] if vlan else dec_inner
    assert_frames_equal(res.out(ACCESS), want_dec, ordered=False,
                        what="decap output")
    out = res.out(UPLINK)
    got_inner = [extract_inner(f, tun) for f in out]
    assert_frames_equal(got_inner, enc_inner, ordered=False,
                        what="encap output inner frames")
    by_inner = dict(zip(got_inner, out))
    for i in enc_inner:
        check_encap(by_inner[i], ul, tun, i)
    assert_only_drops(res, {})
    assert_io_counters(res)
    assert_worker_packets(res, len(access_in) + len(up_in))
    # Worker 0 polls the uplink, worker 1 the access port.
    assert [w["packets"] for w in res.workers] == [len(up_in), len(access_in)]
    t = res.tunnel("t1")
    assert (t["encap_packets"], t["decap_packets"]) == (len(enc_inner),
                                                         len(dec_inner))


def raw_inner(i: int) -> bytes:
    """A unique 64-byte inner frame (local experimental EtherType: no inner
    checksums, so it can be made by numbering the payload)."""
    eth = bytes(Ether(src="02:10:00:00:00:01", dst="02:20:00:00:00:01",
                      type=0x88B5))
    return eth + b"\x00" + i.to_bytes(4, "big") + bytes(64 - len(eth) - 5)


def test_two_workers_decap_onto_one_tx_queue(tundra):
    """Both workers send on the access port's one tx queue at the same time:
    every packet leaves exactly once, the counters agree, no mbuf is lost."""
    per_queue = 20000
    ul, tun = UNDERLAYS["v4"], Tunnel()
    inner = [raw_inner(i) for i in range(2 * per_queue)]
    # One scapy-built VXLAN packet (outer UDP checksum 0 over IPv4), its
    # payload swapped for each numbered inner frame of the same length.
    template = bytes(tunnel_packet(ul, tun, inner[0]))
    head = template[:-len(inner[0])]
    assert head + inner[0] == template
    up_q = [[head + f for f in inner[:per_queue]],
            [head + f for f in inner[per_queue:]]]
    # Some encap too, on the uplink's two (unshared) tx queues.
    enc_inner = make_inner_frames(40, seed=63, start=3000)
    res = tundra.run(tunnel_config(ul, [tun]),
                     {UPLINK: up_q, ACCESS: [enc_inner[0::2], enc_inner[1::2]]},
                     workers=2, queues={UPLINK: (2, 2), ACCESS: (2, 1)},
                     show=SHOW_INFO)

    info = {e["port"]: e for e in res.port_info}
    assert info[UPLINK]["rx_workers"] == [0, 1], info[UPLINK]
    assert info[UPLINK]["tx_workers"] == [[0], [1]], info[UPLINK]
    assert info[UPLINK]["tx_shared"] is False, info[UPLINK]
    assert info[ACCESS]["rx_workers"] == [0, 1], info[ACCESS]
    assert info[ACCESS]["tx_workers"] == [[0, 1]], info[ACCESS]
    assert info[ACCESS]["tx_shared"] is True, info[ACCESS]

    got = res.out(ACCESS)
    dup = [f for f, n in Counter(got).items() if n > 1]
    assert not dup, f"{len(dup)} frames left the shared queue more than once"
    assert_frames_equal(got, inner, ordered=False, what="decap output")
    out = res.out(UPLINK)
    got_inner = [extract_inner(f, tun) for f in out]
    assert_frames_equal(got_inner, enc_inner, ordered=False,
                        what="encap output inner frames")
    for o, i in zip(out, got_inner):
        check_encap(o, ul, tun, i)
    assert_only_drops(res, {})
    assert_io_counters(res)  # the shared queue's ethdev opackets included
    assert_worker_packets(res, len(inner) + len(enc_inner))
    assert all(w["packets"] >= per_queue for w in res.workers), res.workers
    assert res.tunnel("t1")["decap_packets"] == len(inner)
