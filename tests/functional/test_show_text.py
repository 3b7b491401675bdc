"""The human text of `show port stats`, `show tunnel stats` and `show fwd
stats` keeps its layout: each counter line is rebuilt here from the JSON of
the same (idle) moment with the layout's own format, independently of the
counter lists tundra generates the text from."""

from harness import (ACCESS, UPLINK, UNDERLAYS, Tunnel, make_inner_frames,
                     tunnel_config, tunnel_packet)

UL = UNDERLAYS["v4"]

SHOW = ["show port stats all", "show tunnel stats", "show fwd stats",
        "show port stats all json", "show tunnel stats json", "show fwd stats json"]


def _port_lines(e):
    lines = [f"port {e['port']} ({e['name']}, {e['role']})",
             f"  rx {e['rx_packets']:20d} packets {e['rx_bytes']:20d} bytes",
             f"  tx {e['tx_packets']:20d} packets {e['tx_bytes']:20d} bytes",
             f"  drops {e['drops']:17d}   arp/nd replies {e['nd_replies']}   "
             f"arp/nd learned {e['nd_learned']}   echo replies {e['echo_replies']}   "
             f"punted {e['punted']}"]
    lines += [f"    {r:<18s} {n}" for r, n in e["drop_reasons"].items() if n]
    hw = e["ethdev"]
    lines.append(f"  ethdev: ipackets {hw['ipackets']} opackets {hw['opackets']} "
                 f"imissed {hw['imissed']} ierrors {hw['ierrors']} "
                 f"oerrors {hw['oerrors']} rx_nombuf {hw['rx_nombuf']}")
    return lines


def _tunnel_lines(t):
    drops = "".join(f" {r}={n}" for r, n in t["drop_reasons"].items() if n)
    return [f"  encap {t['encap_packets']} packets {t['encap_bytes']} bytes; "
            f"decap {t['decap_packets']} packets {t['decap_bytes']} bytes",
            f"  oam {t['oam_packets']}, seq out-of-order {t['seq_out_of_order']} "
            f"duplicate {t['seq_duplicate']}, icmp errors {t['icmp_errors']}, "
            f"fragments {t['fragments']}",
            f"  drops {t['drops']}{drops}"]


def _worker_line(w):
    return (f"worker {w['worker']} (lcore {w['lcore']}): {w['packets']} packets in "
            f"{w['bursts']} bursts, {w['busy_cycles']} busy cycles, "
            f"{w['cycles_per_packet']:.2f} cycles/packet")


def test_show_text_layout(tundra):
    tun = Tunnel()
    enc = make_inner_frames(4, seed=95)
    dec = make_inner_frames(3, seed=96, start=50)
    up = [tunnel_packet(UL, tun, x) for x in dec]
    up += [tunnel_packet(UL, tun, dec[0], vni=999), b"\x00" * 20]
    cfg = tunnel_config(UL, [tun]) + ["start", "wait idle 300"] + SHOW + ["quit"]
    res = tundra.run(cfg, {ACCESS: enc, UPLINK: up}, epilogue=False)
    assert res.returncode == 0, res.describe()
    text = res.stdout.splitlines()
    want = [line for e in res.ports for line in _port_lines(e)]
    start = text.index(want[0])
    assert text[start:start + len(want)] == want
    t = res.tunnel("t1")
    assert (t["encap_packets"], t["decap_packets"]) == (4, 3)
    assert t["drops"] == 0 and res.port(UPLINK)["drops"] == 2
    got = text.index(want[0]) + len(want)
    block = text[got:got + 5]
    assert block[0].startswith("tunnel t1 (id ") and block[1].startswith("  uplink port 0,")
    assert block[2:] == _tunnel_lines(t)
    assert text[got + 5:got + 5 + len(res.workers)] == [_worker_line(w) for w in res.workers]
    assert text[got + 5 + len(res.workers)].startswith("total: ")
