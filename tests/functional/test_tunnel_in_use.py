"""`tunnel del` of a tunnel that an xconnect or a route still uses is refused
with an error naming them, and changes nothing: traffic keeps going through
the same tunnel. Once the users are deleted, the tunnel can be."""

from harness import (ACCESS, UPLINK, UNDERLAYS, Tunnel, Xconnect,
                     add_vlan, assert_config_error, assert_only_drops,
                     check_encap, make_inner_frames, make_tunnel,
                     routed_config, routed_frames, tunnel_config)

UL = UNDERLAYS["v4"]
T1 = Tunnel("t1", vni=100)
CFG = tunnel_config(UL, [T1], [Xconnect(ACCESS, 10, "t1")])
IN_USE = "error: tunnel 't1' is in use by xconnect 1 vlan 10; delete it first"


def _errors(res):
    return [line for line in res.stdout.splitlines() if line.startswith("error: ")]


def _tunnel_objs(res):
    return [o["tunnels"] for o in res.json_objs if "tunnels" in o]


def test_refused_delete_keeps_the_tunnel_working(tundra):
    """The refused delete prints the error; frames sent after it are still
    encapsulated by t1 (the same tunnel id and VNI), none dropped."""
    frames = make_inner_frames(6, seed=91)
    cfg = CFG + ["show tunnel json", "tunnel del t1"]
    res = tundra.run(cfg, {ACCESS: [add_vlan(f, 10) for f in frames]},
                     interactive=True)
    assert _errors(res) == [IN_USE], res.stdout[-2000:]
    out = res.out(UPLINK)
    assert len(out) == len(frames), f"{len(out)} sent; drops {res.nonzero_drops()}"
    for o, f in zip(out, frames):
        check_encap(o, UL, T1, f)
    assert_only_drops(res, {})
    before, after = _tunnel_objs(res)[0], _tunnel_objs(res)[-1]
    assert [(t["name"], t["id"], t["attachment"]) for t in before] == \
        [(t["name"], t["id"], t["attachment"]) for t in after] == \
        [("t1", before[0]["id"], "port 1 vlan 10")]
    assert after[0]["encap_packets"] == len(frames)


def test_refused_delete_of_a_routed_tunnel_keeps_routing(tundra):
    """Routes count as users too: every one is named, and routed traffic
    still goes into the gre tunnel."""
    t = make_tunnel("gre")
    frames = routed_frames(4, seed=92)
    res = tundra.run(routed_config(UL, [t]) + ["tunnel del t1"],
                     {ACCESS: frames}, interactive=True,
                     show=["show route json"])
    assert _errors(res) == ["error: tunnel 't1' is in use by route 10.2.0.0/16 "
                            "and route fd00:2::/32; delete those first"]
    out = res.out(UPLINK)
    assert len(out) == len(frames), f"{len(out)} sent; drops {res.nonzero_drops()}"
    for o, f in zip(out, frames):
        check_encap(o, UL, t, f)
    assert_only_drops(res, {})
    assert len(res.routes) == 2


def test_delete_after_xconnect_del_then_frames_are_dropped(tundra):
    """After `xconnect del` the delete succeeds; the port's frames are then
    dropped as no-attachment and nothing is sent."""
    frames = make_inner_frames(5, seed=93)
    cfg = CFG + ["tunnel del t1", "xconnect del 1 vlan 10", "tunnel del t1"]
    res = tundra.run(cfg, {ACCESS: [add_vlan(f, 10) for f in frames]},
                     interactive=True)
    assert _errors(res) == [IN_USE], res.stdout[-2000:]
    assert res.out(UPLINK) == [] and res.out(ACCESS) == []
    assert_only_drops(res, {(ACCESS, "no-attachment"): len(frames)})
    assert res.tunnels == []


def test_refused_delete_in_a_config_file_stops_it(tundra):
    """In a --config file the refusal is a config error: file:line, non-zero
    exit, ports never started."""
    lines = CFG + ["tunnel del t1"]
    res = tundra.run(lines, {ACCESS: [add_vlan(f, 10) for f in make_inner_frames(3)]},
                     expect_ok=False)
    assert_config_error(res, len(lines), "'t1' is in use by xconnect 1 vlan 10")
