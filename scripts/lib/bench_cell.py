#!/usr/bin/python3
"""One benchmark cell's traffic and tundra configuration (scripts/bench.sh).

  bench_cell.py gen-spec PROTO UNDERLAY DIRECTION SIZE TUNNELS
      the tundra-gen --spec of the cell's traffic
  bench_cell.py config PROTO UNDERLAY DIRECTION TUNNELS [--measure-ms MS] [--setup-only]
      tundra's command file: ports, neighbor, TUNNELS tunnels, the attachments or
      routes, `start`, and the measurement (or, with --measure-ms 0, nothing after start:
      the two-process setup drives it)
  bench_cell.py churn PROTO UNDERLAY LINES
      LINES alternating `tunnel add` / `tunnel del` of other tunnels (the churn run)

Tunnels. A cell with N tunnels configures N tunnels (VNI / GRE key 100 .. 100+N-1).
Decap traffic spreads the cell's 256 flows over H = min(N, 256) of them — the same
flow count at every N, so N = 1M vs N = 1 measures what the table's size costs: each
packet's tunnel differs from the previous one's, and the hot tunnels are spread over
the whole table (they are added at evenly spaced positions, so their ids, entries and
counters are far apart). L2 tunnels need an attachment each to deliver to: with N > 1
hot tunnel k is cross-connected to VLAN k+1 of the access port (decap pushes the tag).
Encap classifies by attachment (an array indexed by port and VLAN) or by route (LPM),
whose cost does not depend on N: encap traffic uses one tunnel, the others sit in the
table.

Addresses: tundra's uplink is 192.0.2.1/24 or 2001:db8::1/64 with MAC :01, the remote
VTEP (tundra-gen, or the pcap) 192.0.2.2 / 2001:db8::2 with MAC :02; the access port
has MAC :11; routed (gre) cells give it 10.2.0.254/16 and a host 10.2.0.1.
"""
import argparse
import sys

FLOWS = 256
# gre is L3 GRE with a key; greseq adds RFC 2890 sequence numbers (checked on decap).
PROTOCOLS = ["vxlan", "geneve0", "geneve2", "gretap", "gre", "greseq", "vxlan-esp"]
# vxlan-esp: VXLAN with ESP (AES-GCM-128) on the tunnel, both ways. Its decap pcap is the
# vxlan one encrypted by `esp-pcap` with ESP_IN; the inbound SA has no replay window,
# since the pcap replays the same sequence numbers forever.
ESP_OUT = (0x1001, "000102030405060708090a0b0c0d0e0f", "a0a1a2a3")
ESP_IN = (0x2002, "101112131415161718191a1b1c1d1e1f", "b0b1b2b3")
ACCESS_MAC = "02:00:00:00:00:11"


def hot_tunnels(tunnels):
    return min(tunnels, FLOWS)


def gen_spec(proto, underlay, direction, size, tunnels):
    if direction == "encap":
        # Inner frames as a tenant sends them (gre: to the routed access port's MAC).
        return f"proto=none size={size} flows={FLOWS} inner_dmac={ACCESS_MAC}"
    p, opts = {"vxlan": ("vxlan", 0), "vxlan-esp": ("vxlan", 0), "geneve0": ("geneve", 0), "geneve2": ("geneve", 2),
               "gretap": ("gretap", 0), "gre": ("gre", 0), "greseq": ("gre seq=1", 0)}[proto]
    hot = hot_tunnels(tunnels)
    return (f"proto={p} opts={opts} ip={underlay[1]} size={size} flows={FLOWS // hot} "
            f"tunnels={hot} vni=100")


def tunnel_order(tunnels):
    """The order tunnels are added in: hot tunnel k at position k * N / H."""
    hot = hot_tunnels(tunnels)
    stride = tunnels // hot
    hot_at = {k * stride: k for k in range(hot)}
    cold = iter(range(hot, tunnels))
    for pos in range(tunnels):
        yield hot_at[pos] if pos in hot_at else next(cold)


def addresses(underlay):
    """tundra's uplink address, the remote VTEP's, and the prefix length."""
    return ("192.0.2.1", "192.0.2.2", 24) if underlay == "v4" else ("2001:db8::1", "2001:db8::2", 64)


def tunnel_kind(proto):
    """The `tunnel add` type, its options, and the identifier keyword (vni or key)."""
    ttype, extra = {
        "vxlan": ("vxlan", ""),
        "vxlan-esp": ("vxlan", ""),
        "geneve0": ("geneve", ""),
        "geneve2": ("geneve", " option 0xfff0:0x01:00000000 option 0xfff0:0x02:0000000000000000"),
        "gretap": ("gretap", ""),
        "gre": ("gre", ""),
        "greseq": ("gre", " seq on"),
    }[proto]
    return ttype, extra, "key" if ttype in ("gre", "gretap") else "vni"


def churn(proto, underlay, lines, out):
    """LINES alternating `tunnel add cN` / `tunnel del cN` of other tunnels (VNI or key
    100000+N, never a measured one), the control-thread load of the churn run."""
    local, remote, _ = addresses(underlay)
    ttype, extra, ident = tunnel_kind(proto)
    for i in range(lines):
        n = i // 2
        if i % 2 == 0:
            out.write(f"tunnel add c{n} type {ttype} local {local} remote {remote} "
                      f"{ident} {100000 + n}{extra}\n")
        else:
            out.write(f"tunnel del c{n}\n")


def config(proto, underlay, direction, tunnels, measure_ms, out, setup_only=False):
    local, remote, plen = addresses(underlay)
    ttype, extra, ident = tunnel_kind(proto)
    w = out.write
    w("port config 0 role uplink\n")
    w(f"port config 0 address {local}/{plen}\n")
    w("port config 0 mac 02:00:00:00:00:01\n")
    # Room for 1500-byte inner frames plus the outer headers (as OVS's mtu_request).
    w("port config 0 mtu 9000\n")
    w("port config 1 role access\n")
    w(f"port config 1 mac {ACCESS_MAC}\n")
    w(f"neigh add {remote} 02:00:00:00:00:02 port 0\n")
    for i in tunnel_order(tunnels):
        w(f"tunnel add t{i} type {ttype} local {local} remote {remote} {ident} {100 + i}{extra}\n")
    hot = hot_tunnels(tunnels) if direction == "decap" else 1
    if ttype == "gre":
        w("port config 1 address 10.2.0.254/16\n")
        w("neigh add 10.2.0.1 02:00:00:00:10:02 port 1\n")
        w("route add 10.0.0.0/8 tunnel t0\n")
    elif hot == 1:
        w("xconnect add 1 tunnel t0\n")
    else:
        for k in range(hot):
            w(f"xconnect add 1 vlan {k + 1} tunnel t{k}\n")
    if proto == "vxlan-esp":
        w("sa add esp-out spi %d aead aes-gcm-128 key %s salt %s\n" % ESP_OUT)
        w("sa add esp-in spi %d aead aes-gcm-128 key %s salt %s replay-window 0\n" % ESP_IN)
        w("tunnel t0 protect out esp-out in esp-in\n")
    if setup_only:
        return
    w("start\n")
    if measure_ms > 0:
        w("sleep 1000\n")
        w("clear stats\n")
        w(f"sleep {measure_ms}\n")
        w("show fwd stats json\n")
        w("show port stats all json\n")
        w("quit\n")


def esp_pcap(src, dst):
    """The vxlan decap pcap `src` as the remote VTEP would send it under ESP_IN: each
    packet's IP payload encrypted (scapy, python-cryptography), sequence numbers 1, 2..."""
    from scapy.layers.inet import IP
    from scapy.layers.inet6 import IPv6
    from scapy.layers.ipsec import ESP, SecurityAssociation
    from scapy.layers.l2 import Ether
    from scapy.utils import rdpcap, wrpcap
    spi, key, salt = ESP_IN
    sa = SecurityAssociation(ESP, spi=spi, crypt_algo="AES-GCM",
                             crypt_key=bytes.fromhex(key + salt))
    out = []
    for p in rdpcap(src):
        ip = p[IP] if IP in p else p[IPv6]
        out.append(Ether(src=p.src, dst=p.dst) / sa.encrypt(ip))
    wrpcap(dst, out)


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("gen-spec")
    c = sub.add_parser("config")
    for p in (g, c):
        p.add_argument("proto", choices=PROTOCOLS)
        p.add_argument("underlay", choices=["v4", "v6"])
        p.add_argument("direction", choices=["encap", "decap"])
    g.add_argument("size", type=int)
    g.add_argument("tunnels", type=int)
    c.add_argument("tunnels", type=int)
    c.add_argument("--measure-ms", type=int, default=3000)
    c.add_argument("--setup-only", action="store_true", help="stop before `start`")
    ch = sub.add_parser("churn")
    ch.add_argument("proto", choices=PROTOCOLS)
    ch.add_argument("underlay", choices=["v4", "v6"])
    ch.add_argument("lines", type=int)
    ep = sub.add_parser("esp-pcap", help="encrypt a vxlan decap pcap for vxlan-esp")
    ep.add_argument("src")
    ep.add_argument("dst")
    a = ap.parse_args()
    if a.cmd == "esp-pcap":
        esp_pcap(a.src, a.dst)
    elif a.cmd == "gen-spec":
        print(gen_spec(a.proto, a.underlay, a.direction, a.size, a.tunnels))
    elif a.cmd == "config":
        config(a.proto, a.underlay, a.direction, a.tunnels, a.measure_ms, sys.stdout,
               a.setup_only)
    else:
        churn(a.proto, a.underlay, a.lines, sys.stdout)


if __name__ == "__main__":
    main()
