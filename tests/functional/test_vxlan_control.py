"""Control-plane behaviour seen through the data path and the JSON output:
several tunnels, deletes, clear stats, the stats contract."""

from harness import (ACCESS, DROP_REASONS, UPLINK, UNDERLAYS,
                     Tunnel, Xconnect, add_vlan, assert_frames_equal,
                     assert_io_counters, assert_only_drops, check_encap, make_inner_frames,
                     tunnel_config, tunnel_packet)

UL = UNDERLAYS["v4"]
PEER2_MAC = "02:00:00:00:00:22"


def _two_tunnels():
    t1 = Tunnel("t1", vni=100)
    t2 = Tunnel("t2", vni=200, remote=UL.other)
    cfg = tunnel_config(UL, [t1, t2], [Xconnect(ACCESS, 10, "t1"),
                                       Xconnect(ACCESS, 20, "t2")],
                        extra_neigh=[(UL.other, PEER2_MAC)])
    return t1, t2, cfg


def test_vlan_demux_two_tunnels(tundra):
    """VLAN 10 <-> VNI 100 to one remote, VLAN 20 <-> VNI 200 to another."""
    t1, t2, cfg = _two_tunnels()
    f1 = make_inner_frames(10, seed=71)
    f2 = make_inner_frames(10, seed=72, start=300)
    access_in = [x for a, b in zip(f1, f2)
                 for x in (add_vlan(a, 10), add_vlan(b, 20))]
    up_in = [x for a, b in zip(f1, f2)
             for x in (tunnel_packet(UL, t2, b, src_mac=PEER2_MAC),
                       tunnel_packet(UL, t1, a))]
    res = tundra.run(cfg, {ACCESS: access_in, UPLINK: up_in})
    out = res.out(UPLINK)
    assert len(out) == 20
    ul2 = UL.__class__(**{**UL.__dict__, "peer_mac": PEER2_MAC})
    for k, (a, b) in enumerate(zip(f1, f2)):
        check_encap(out[2 * k], UL, t1, a)
        check_encap(out[2 * k + 1], ul2, t2, b)
    want = [x for a, b in zip(f1, f2) for x in (add_vlan(b, 20), add_vlan(a, 10))]
    assert_frames_equal(res.out(ACCESS), want, what="access output")
    assert_only_drops(res, {})
    for name in ("t1", "t2"):
        t = res.tunnel(name)
        assert (t["encap_packets"], t["decap_packets"]) == (10, 10), t
    assert res.tunnel("t2")["remote"] == UL.other
    assert res.tunnel("t2")["vni"] == 200


def test_tunnel_and_xconnect_delete(tundra):
    """After `xconnect del` and `tunnel del`, traffic for them is dropped;
    a tunnel re-added under an old name with a new VNI is used."""
    t1, t2, cfg = _two_tunnels()
    t1_new = Tunnel("t1", vni=300)
    cfg += ["xconnect del 1 vlan 20", "tunnel del t2",
            "xconnect del 1 vlan 10", "tunnel del t1",
            t1_new.cli(UL), "xconnect add 1 vlan 10 tunnel t1"]
    f = make_inner_frames(4, seed=73)
    up_in = ([tunnel_packet(UL, t2, x, src_mac=PEER2_MAC) for x in f]
             + [tunnel_packet(UL, t1, x) for x in f]
             + [tunnel_packet(UL, t1_new, x) for x in f])
    access_in = [add_vlan(x, 20) for x in f] + [add_vlan(x, 10) for x in f]
    res = tundra.run(cfg, {ACCESS: access_in, UPLINK: up_in})
    assert_only_drops(res, {(UPLINK, "unknown-vni"): 8,
                            (ACCESS, "no-attachment"): 4})
    assert_frames_equal(res.out(ACCESS), [add_vlan(x, 10) for x in f],
                        what="decap via the re-added tunnel")
    out = res.out(UPLINK)
    assert len(out) == 4
    for o, x in zip(out, f):
        check_encap(o, UL, t1_new, x)
    names = sorted(t["name"] for t in res.tunnels)
    assert names == ["t1"], names
    assert res.tunnel("t1")["vni"] == 300


def test_clear_stats(tundra):
    ul, tun = UL, Tunnel()
    f = make_inner_frames(5, seed=74)
    cfg = tunnel_config(ul, [tun]) + [
        "start", "wait idle 300",
        "show port stats all json", "show tunnel stats json",
        "clear stats",
        "show port stats all json", "show tunnel stats json",
        "show mempool json", "show fwd stats json", "quit"]
    res = tundra.run(cfg, {ACCESS: f, UPLINK: [b"\x00" * 20]}, epilogue=False)
    ports = [o["ports"] for o in res.json_objs if "ports" in o]
    tuns = [o["tunnels"] for o in res.json_objs if "tunnels" in o]
    assert len(ports) == 2 and len(tuns) == 2
    before = {e["port"]: e for e in ports[0]}
    assert before[ACCESS]["rx_packets"] == 5 and before[UPLINK]["drops"] == 1
    for e in ports[1]:
        for k in ("rx_packets", "rx_bytes", "tx_packets", "tx_bytes", "drops"):
            assert e[k] == 0, f"port {e['port']} {k}={e[k]} after clear stats"
        assert not any(e["drop_reasons"].values()), e["drop_reasons"]
    for t in tuns[1]:
        for k in ("encap_packets", "encap_bytes", "decap_packets",
                  "decap_bytes", "drops"):
            assert t[k] == 0, f"tunnel {t['name']} {k}={t[k]} after clear stats"


def test_stats_contract(tundra):
    """The JSON shapes and the counters' meaning on a mixed run."""
    ul, tun = UL, Tunnel()
    enc = make_inner_frames(7, seed=75)
    dec = make_inner_frames(9, seed=76, start=100)
    bad = [bytes(tunnel_packet(ul, tun, dec[0], vni=999))] * 3
    res = tundra.run(tunnel_config(ul, [tun]),
                     {ACCESS: enc,
                      UPLINK: [tunnel_packet(ul, tun, x) for x in dec] + bad})
    assert [e["port"] for e in res.ports] == [0, 1]
    p0, p1 = res.port(UPLINK), res.port(ACCESS)
    assert (p0["name"], p0["role"]) == ("net_pcap0", "uplink")
    assert (p1["name"], p1["role"]) == ("net_pcap1", "access")
    assert list(p0["drop_reasons"]) == list(DROP_REASONS) or \
        set(p0["drop_reasons"]) == set(DROP_REASONS)
    assert_io_counters(res)
    assert_only_drops(res, {(UPLINK, "unknown-vni"): 3})
    for e in res.ports:
        for k, v in e["ethdev"].items():
            assert isinstance(v, int) and v >= 0, (k, v)
        assert e["ethdev"]["imissed"] == 0 and e["ethdev"]["oerrors"] == 0
    t = res.tunnel("t1")
    assert (t["type"], t["local"], t["remote"], t["vni"]) == \
        ("vxlan", ul.local, ul.remote, 100)
    assert (t["encap_packets"], t["decap_packets"]) == (7, 9)
    assert t["decap_bytes"] > 0 and t["encap_bytes"] > 0
    mp = res.mempools
    assert mp and all(m["size"] > 0 and m["in_use"] + m["free"] == m["size"]
                      for m in mp), mp
    w = res.workers
    assert [x["lcore"] for x in w] == [1], w
    assert w[0]["packets"] == 7 + 9 + 3
    assert w[0]["busy_cycles"] > 0 and w[0]["cycles_per_packet"] > 0


def test_show_without_json_is_not_json(tundra):
    """Plain `show` commands print human text, not JSON lines."""
    cfg = tunnel_config(UL, [Tunnel()]) + [
        "start", "wait idle 100", "show port stats all", "show tunnel stats",
        "show mempool", "show fwd stats", "show tunnel", "quit"]
    res = tundra.run(cfg, {}, epilogue=False)
    assert res.returncode == 0, res.describe()
    assert not res.json_objs, "a non-json show printed JSON"
    assert "t1" in res.stdout
