"""GRE sequence numbers (RFC 2890 section 2.2): encap numbers 0, 1, ... per
tunnel; decap compares with serial arithmetic against the last accepted
number: older -> seq_out_of_order, equal -> seq_duplicate; counted and
forwarded (seq-check count, the default) or dropped (seq-check drop)."""

import pytest

from harness import (ACCESS, UPLINK, UNDERLAYS, Xconnect, add_vlan,
                     assert_frames_equal, assert_only_drops,
                     assert_routed_frames_equal, check_encap, l3_packets,
                     make_inner_frames, make_tunnel, routed_config,
                     routed_out_frame, tunnel_config, tunnel_packet)

# (seq, verdict): N newer, D duplicate, O older.  Chosen so that whether or
# not a counted-and-forwarded packet moves "the last accepted" number, the
# verdicts are the same; it walks across the 2^32 wrap.
SEQ = [(10, "N"), (11, "N"), (11, "D"), (9, "O"), (12, "N"),
       (0xFFFFFFFE, "O"), (13, "N"), (0x7FFFFFF0, "N"), (0xFFFFFFD0, "N"),
       (0xFFFFFFFF, "N"), (0, "N"), (1, "N"), (0xFFFFFFFF, "O"), (2, "N"),
       (2, "D"), (3, "N")]


@pytest.mark.parametrize("typ,fam,mode", [
    ("gretap", "v4", None), ("gretap", "v4", "count"), ("gretap", "v4", "drop"),
    ("gretap", "v6", "drop"), ("gre", "v4", None), ("gre", "v4", "drop"),
    ("gre", "v6", "count"), ("gre", "v6", "drop")])
def test_seq_check(tundra, typ, fam, mode):
    ul = UNDERLAYS[fam]
    t = make_tunnel(typ, seq="on", seq_check=mode, key=7)
    if typ == "gre":
        payload = l3_packets(len(SEQ), start=700)
        cfg = routed_config(ul, [t])
        want_of = routed_out_frame
    else:
        payload = make_inner_frames(len(SEQ), seed=701)
        cfg = tunnel_config(ul, [t])
        want_of = lambda f: f  # noqa: E731
    up = [tunnel_packet(ul, t, p, seq=s) for p, (s, _) in zip(payload, SEQ)]
    res = tundra.run(cfg, {UPLINK: up})
    n_old = sum(v == "O" for _, v in SEQ)
    n_dup = sum(v == "D" for _, v in SEQ)
    if mode == "drop":
        want = [want_of(p) for p, (_, v) in zip(payload, SEQ) if v == "N"]
        drops = {(UPLINK, "seq-out-of-order"): n_old,
                 (UPLINK, "seq-duplicate"): n_dup}
    else:
        want = [want_of(p) for p in payload]
        drops = {}
        j = res.tunnel("t1")
        assert (j["seq_out_of_order"], j["seq_duplicate"]) == (n_old, n_dup), (
            f"tunnel seq counters {j['seq_out_of_order']}/{j['seq_duplicate']}, "
            f"expected {n_old}/{n_dup}")
    if typ == "gre":
        assert_routed_frames_equal(res.out(ACCESS), want)
    else:
        assert_frames_equal(res.out(ACCESS), want, what="decap output")
    assert_only_drops(res, drops)
    assert res.tunnel("t1")["decap_packets"] == len(want)


@pytest.mark.parametrize("fam", ["v4", "v6"])
def test_encap_seq_per_tunnel(tundra, fam):
    """Two seq tunnels interleaved: each counts 0, 1, 2, ... on its own."""
    ul = UNDERLAYS[fam]
    t1 = make_tunnel("gretap", name="s1", seq="on", key=1)
    t2 = make_tunnel("gretap", name="s2", seq="on", key=2, csum="on")
    f1 = make_inner_frames(7, seed=711)
    f2 = make_inner_frames(5, seed=712, start=50)
    access_in = ([add_vlan(f, 10) for f in f1[:2]]
                 + [x for a, b in zip(f1[2:], f2) for x in (add_vlan(a, 10),
                                                             add_vlan(b, 20))])
    res = tundra.run(tunnel_config(ul, [t1, t2], [Xconnect(ACCESS, 10, "s1"),
                                                  Xconnect(ACCESS, 20, "s2")]),
                     {ACCESS: access_in})
    out = res.out(UPLINK)
    assert len(out) == len(access_in)
    order = ["s1", "s1"] + ["s1", "s2"] * 5
    n = {"s1": 0, "s2": 0}
    src = {"s1": iter(f1), "s2": iter(f2)}
    for f, name in zip(out, order):
        check_encap(f, ul, t1 if name == "s1" else t2, next(src[name]), seq=n[name])
        n[name] += 1
    assert_only_drops(res, {})
