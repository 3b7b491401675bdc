#!/usr/bin/python3
"""Writes the seed corpus of tests/fuzz/command_fuzz into a directory.

Usage: /usr/bin/python3 tests/fuzz/make_command_corpus.py OUT_DIR

Each seed is a config file (command_fuzz splits its input into lines): the grammar of
README.md and DESIGN.md section 5 as tests/functional configures tundra (harness.py's
tunnel_config and routed_config), every tunnel type and option, the deletes, every
show, and the bad lines of tests/functional/test_vxlan_config_errors.py behind a good
prefix. command_fuzz runs on three ports (0..2) with room for 8 tunnels.
"""

import os
import sys

UPLINK_V4 = [
    "port config 0 role uplink",
    "port config 0 address 192.0.2.1/24",
    "port config 0 mac 02:00:00:00:00:01",
    "port config 1 role access",
    "neigh add 192.0.2.2 02:00:00:00:00:02 port 0",
]
UPLINK_V6 = [
    "port config 0 role uplink",
    "port config 0 address 2001:db8::1/64",
    "port config 0 mac 02:00:00:00:00:01",
    "port config 1 role access",
    "neigh add 2001:db8::2 02:00:00:00:00:02 port 0",
]
ROUTED = UPLINK_V4 + [
    "port config 2 role access",
    "port config 2 mac 02:00:00:00:02:01",
    "port config 2 address 10.0.0.1/24",
    "port config 2 address fd00::1/64",
    "neigh add 10.0.0.2 02:00:00:00:02:02 port 2",
    "neigh add fd00::2 02:00:00:00:02:02 port 2",
]
SHOWS = [
    "show port info all json",
    "show port info 1",
    "show port stats all",
    "show port stats 0 json",
    "show fwd stats json",
    "show mempool",
    "show tunnel",
    "show tunnel json",
    "show tunnel stats t1 json",
    "show route json",
    "show neigh",
    "clear stats",
    "help",
    "help tunnel add",
]


def seeds():
    s = {}
    s["vxlan4"] = ["# generated like tests/functional/harness.py"] + UPLINK_V4 + [
        "tunnel add t1 type vxlan local 192.0.2.1 remote 192.0.2.2 vni 100",
        "xconnect add 1 tunnel t1",
    ]
    s["vxlan4_vlans"] = UPLINK_V4 + [
        "tunnel add t1 type vxlan local 192.0.2.1 remote 192.0.2.2 vni 100 dstport 4790 ttl 9 "
        "tos 0xb8 df clear udp-csum on",
        "tunnel add t2 type vxlan local 192.0.2.1 remote 192.0.2.3 vni 0x65 ttl inherit "
        "tos inherit df inherit",
        "xconnect add 1 vlan 10 tunnel t1",
        "xconnect add 0x1 vlan 4094 tunnel t2   # trailing comment",
        "xconnect del 1 vlan 10",
        "xconnect add 1 tunnel t1",
    ]
    s["vxlan6"] = UPLINK_V6 + [
        "tunnel add t1 type vxlan local 2001:db8::1 remote 2001:db8::2 vni 16777215",
        "xconnect add 1 vlan 7 tunnel t1",
    ]
    s["geneve"] = UPLINK_V4 + [
        "geneve option known 0x0102:0x81",
        "tunnel add g1 type geneve local 192.0.2.1 remote 192.0.2.2 vni 200 "
        "option 0x0102:0x01:00000001 option 0x0102:0x81:0000000200000003",
        "tunnel add g2 type geneve local 192.0.2.1 remote 192.0.2.2 vni 201 dstport 6082",
        "xconnect add 1 vlan 20 tunnel g1",
    ]
    s["gretap"] = UPLINK_V4 + [
        "tunnel add gt1 type gretap local 192.0.2.1 remote 192.0.2.2 key 5 seq on csum on "
        "seq-check drop",
        "tunnel add gt2 type gretap local 192.0.2.1 remote 192.0.2.2",
        "xconnect add 1 vlan 30 tunnel gt1",
        "xconnect add 1 tunnel gt2",
    ]
    s["gre_routed"] = ROUTED + [
        "tunnel add r1 type gre local 192.0.2.1 remote 192.0.2.2 key 7 oversize fragment",
        "tunnel add r2 type gre local 192.0.2.1 remote 192.0.2.2",
        "route add 10.1.0.0/16 tunnel r1",
        "route add 10.1.2.0/24 tunnel r2",
        "route add fd00:1::/64 tunnel r1",
        "port config 0 mtu 9000",
        "route del 10.1.2.0/24",
        "tunnel del r1",
    ]
    s["segment"] = UPLINK_V4 + [
        "segment add s1 type vxlan local 192.0.2.1 vni 300 udp-csum on",
        "segment s1 member port 1 vlan 40",
        "segment s1 member port 1",
        "segment s1 remote 192.0.2.2",
        "segment s1 remote 192.0.2.3",
        "segment s1 ageing 30",
        "segment s1 max-macs 100",
        "segment s1 unknown-remote learn",
        "segment s1 suppress on",
        "segment s1 group 239.1.1.1",
        "segment s1 group 239.1.1.2",
        "fdb add s1 02:00:00:00:0a:01 port 1 vlan 40 ip 10.9.0.1",
        "fdb add s1 02:00:00:00:0a:02 remote 192.0.2.3 ip fd00::2",
        "fdb del s1 02:00:00:00:0a:01",
        "segment add s2 type gretap local 192.0.2.1 key 9 seq on",
        "segment s2 no remote 192.0.2.2",
        "segment s2 group 239.1.1.2",
        "segment s1 no group",
        "segment s1 no member port 1",
        "fdb flush s1 learned",
        "show segment s1 json",
        "show fdb json",
        "segment del s2",
    ]
    s["deletes"] = UPLINK_V4 + [
        "tunnel add t1 type vxlan local 192.0.2.1 remote 192.0.2.2 vni 100",
        "xconnect add 1 tunnel t1",
        "xconnect del 1",
        "tunnel del t1",
        "neigh del 192.0.2.2",
        "port config 1 role uplink",
        "port config 0 role access",
    ]
    s["full_tables"] = UPLINK_V4 + [
        "tunnel add t%d type vxlan local 192.0.2.1 remote 192.0.2.2 vni %d" % (i, i)
        for i in range(1, 10)
    ] + ["tunnel del t3", "tunnel add t9 type vxlan local 192.0.2.1 remote 192.0.2.2 vni 9"]
    s["shows"] = UPLINK_V4 + [
        "tunnel add t1 type vxlan local 192.0.2.1 remote 192.0.2.2 vni 100",
    ] + SHOWS
    s["run_verbs"] = ["stop", "wait idle 10", "# start and sleep are left out by command_fuzz",
                      "quit", "port config 0 role uplink"]
    s["comments"] = ["# leading comment", "", "   # indented comment", "\t",
                     "port config 0x0 role uplink # trailing", "port config 0 mtu 0x5dc\r"]
    s["refused"] = UPLINK_V4 + [
        "tunnel add t1 type vxlan local 192.0.2.1 remote 192.0.2.2 vni 100",
        "tunnel add t1 type vxlan local 192.0.2.1 remote 192.0.2.2 vni 101",
        "tunnel add t2 type vxlan local 192.0.2.1 remote 192.0.2.2 vni 100",
        "tunnel add t3 type geneve local 192.0.2.1 remote 192.0.2.2 vni 5 dstport 4789",
        "tunnel add t4 type vxlan local 192.0.2.9 remote 192.0.2.2 vni 5",
        "tunnel add t5 type vxlan local 192.0.2.1 remote 2001:db8::2 vni 5",
        "tunnel add t6 type gre local 192.0.2.1 remote 192.0.2.2 vni 5",
        "tunnel add t7 type vxlan local 192.0.2.1 remote 192.0.2.2 vni 5 seq on",
        "tunnel add t8 type gretap local 192.0.2.1 remote 192.0.2.2 seq-check drop",
        "tunnel add t9 type vxlan local 192.0.2.1 remote 192.0.2.2 vni 6 oversize fragment",
        "xconnect add 0 tunnel t1",
        "xconnect add 1 tunnel nosuch",
        "route add 10.0.0.0/8 tunnel t1",
        "port config 0 address 192.0.2.7/24",
        "port config 1 address 192.0.2.1/24",
        "port config 0 mac 01:00:5e:00:00:01",
        "port config 2 address 10.0.0.1/24",
        "neigh add 192.0.2.5 ff:ff:ff:ff:ff:ff port 0",
        "neigh add 192.0.2.5 02:00:00:00:00:05 port 2",
        "neigh del 192.0.2.99",
        "port config 0 mtu 67",
        "show tunnel nosuch",
        "show port info 3",
    ]
    good = UPLINK_V4 + ["tunnel add t1 type vxlan local 192.0.2.1 remote 192.0.2.2 vni 100"]
    bad = {  # tests/functional/test_vxlan_config_errors.py
        "unknown_command": "frobnicate the widget",
        "bad_number": "tunnel add t2 type vxlan local 192.0.2.1 remote 192.0.2.5 vni 12x",
        "number_out_of_range": "tunnel add t2 type vxlan local 192.0.2.1 remote 192.0.2.5 "
                               "vni 16777216",
        "bad_ip": "tunnel add t2 type vxlan local 192.0.2.1 remote 192.0.2.300 vni 5",
        "bad_mac": "neigh add 192.0.2.7 02:00:00:00:00:zz port 0",
        "unknown_tunnel": "xconnect add 1 tunnel nosuch",
        "missing_argument": "port config 0 role",
        "bad_keyword": "tunnel add t2 type vxlan local 192.0.2.1 remote 192.0.2.5 vni 5 "
                       "df maybe",
        "unknown_port": "port config 9 role uplink",
        "bad_option": "tunnel add g type geneve local 192.0.2.1 remote 192.0.2.2 vni 1 "
                      "option 0x10000:1:00",
        "duplicate_keyword": "tunnel add t2 type vxlan local 192.0.2.1 remote 192.0.2.5 vni 5 "
                             "vni 6",
    }
    for name, line in bad.items():
        s["error_" + name] = good + [line, "xconnect add 1 tunnel t1"]
    return s


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make_command_corpus.py OUT_DIR")
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    all_seeds = seeds()
    for name, lines in sorted(all_seeds.items()):
        with open(os.path.join(out, "cmd_" + name), "w") as f:
            f.write("\n".join(lines) + "\n")
    print("wrote %d seeds to %s" % (len(all_seeds), out))


if __name__ == "__main__":
    main()
