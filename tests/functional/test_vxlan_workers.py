"""Two worker lcores, two rx/tx queues per port: every packet is delivered
exactly once and both workers share the work."""

import pytest

from harness import (ACCESS, UPLINK, UNDERLAYS, Tunnel, Xconnect, add_vlan,
                     assert_frames_equal, assert_io_counters,
                     assert_only_drops, assert_worker_packets, extract_inner,
                     check_encap, flow_frame, make_inner_frames,
                     tunnel_config, tunnel_packet)


@pytest.mark.parametrize("fam,vlan", [("v4", None), ("v6", 30)],
                         ids=["v4-untagged", "v6-vlan30"])
def test_two_workers_exactly_once(tundra, fam, vlan):
    ul, tun = UNDERLAYS[fam], Tunnel()
    enc_inner = ([flow_frame(fl, r) for r in range(2) for fl in range(60)]
                 + make_inner_frames(80, seed=51, start=1000))
    dec_inner = make_inner_frames(200, seed=52, start=2000)
    access_in = [add_vlan(f, vlan) for f in enc_inner] if vlan else enc_inner
    up_in = [tunnel_packet(ul, tun, f, sport=49152 + i)
             for i, f in enumerate(dec_inner)]
    res = tundra.run(tunnel_config(ul, [tun], [Xconnect(ACCESS, vlan, "t1")]),
                     {ACCESS: access_in, UPLINK: up_in}, workers=2)

    want_dec = [add_vlan(f, vlan) for f in dec_inner] if vlan else dec_inner
    assert_frames_equal(res.out(ACCESS), want_dec, ordered=False,
                        what="decap output (2 queues merged)")
    out = res.out(UPLINK)
    got_inner = [extract_inner(f, tun) for f in out]
    assert_frames_equal(got_inner, enc_inner, ordered=False,
                        what="encap output inner frames (2 queues merged)")
    by_inner = dict(zip(got_inner, out))
    for i in enc_inner:
        check_encap(by_inner[i], ul, tun, i)
    assert_only_drops(res, {})
    assert_io_counters(res)
    total = len(access_in) + len(up_in)
    assert_worker_packets(res, total)
    assert len(res.workers) == 2, res.workers
    assert all(w["packets"] > 0 for w in res.workers), (
        f"a worker processed nothing: {res.workers}")
    t = res.tunnel("t1")
    assert (t["encap_packets"], t["decap_packets"]) == (len(enc_inner),
                                                         len(dec_inner))


def test_two_workers_same_flow_same_port(tundra):
    """The source port depends on the flow, not on the worker/queue."""
    ul, tun = UNDERLAYS["v4"], Tunnel()
    inner = [flow_frame(fl, r) for r in range(4) for fl in range(20)]
    res = tundra.run(tunnel_config(ul, [tun]), {ACCESS: inner}, workers=2)
    out = res.out(UPLINK)
    assert len(out) == len(inner)
    from harness import inner_flow_key
    ports = {}
    for f in out:
        i = extract_inner(f, tun)
        sp = check_encap(f, ul, tun, i)
        ports.setdefault(inner_flow_key(i), set()).add(sp)
    assert all(len(v) == 1 for v in ports.values()), ports
