"""Every drop reason: crafted inputs are dropped, counted under their named
reason on the receiving port, and nothing is forwarded."""

import pytest

from drop_cases import DROP_CASES, INNER, cases_for
from drop_runner import run_separate
from harness import (ACCESS, UPLINK, UNDERLAYS, Tunnel, assert_frames_equal,
                     assert_io_counters, assert_nothing_forwarded,
                     assert_only_drops, make_inner_frames, tunnel_config,
                     tunnel_packet)

CASES = cases_for("vxlan")


@pytest.mark.parametrize("case,fam", CASES,
                         ids=[f"{c.id}-{f}" for c, f in CASES])
def test_drop(tundra, case, fam):
    run_separate(tundra, Tunnel(), case, fam)


@pytest.mark.parametrize("fam", ["v4", "v6"])
def test_drops_mixed_with_good_traffic(tundra, fam):
    """Drops interleaved with good packets in the same bursts: every good
    packet still comes out, in order, and each reason counts exactly."""
    ul, tun = UNDERLAYS[fam], Tunnel()
    bad, want = [], {}
    for c in DROP_CASES:
        if c.port != UPLINK or c.config is not None or fam not in c.families \
                or c.proto not in (None, "vxlan"):
            continue
        fr = c.build(ul, tun)
        bad.append(fr)
        want[(UPLINK, c.reason)] = want.get((UPLINK, c.reason), 0) + len(fr)
    good_inner = make_inner_frames(80, seed=31)
    good = [bytes(tunnel_packet(ul, tun, f)) for f in good_inner]
    # interleave: a few good, then one case's frames, ...
    mixed, gi = [], 0
    for fr in bad:
        mixed += good[gi:gi + 4] + fr
        gi += 4
    mixed += good[gi:]
    # plus encap traffic on the access port in the same run
    access_in = make_inner_frames(20, seed=32, start=500)
    res = tundra.run(tunnel_config(ul, [tun]),
                     {UPLINK: mixed, ACCESS: access_in})
    assert_frames_equal(res.out(ACCESS), good_inner, what="access output")
    assert len(res.out(UPLINK)) == len(access_in)
    assert_only_drops(res, want)
    assert_io_counters(res)
    t = res.tunnel("t1")
    assert (t["encap_packets"], t["decap_packets"]) == (len(access_in),
                                                         len(good)), t


def test_no_role(tundra):
    """A port without a role drops everything it receives as no-role."""
    ul, tun = UNDERLAYS["v4"], Tunnel()
    frames = [bytes(tunnel_packet(ul, tun, f)) for f in INNER] + INNER
    res = tundra.run(tunnel_config(ul, [tun]), {2: frames}, nports=3)
    assert_nothing_forwarded(res)
    assert_only_drops(res, {(2, "no-role"): len(frames)})
    assert_io_counters(res)
