"""UDP source-port entropy (RFC 7348 section 5): a hash of the inner flow,
stable per flow, spread over 49152..65535."""

from collections import defaultdict

import pytest

from harness import (ACCESS, UPLINK, UNDERLAYS, Tunnel, assert_only_drops,
                     check_encap, flow_frame, inner_flow_key, tunnel_config)

FLOWS, REPS = 64, 3


@pytest.mark.parametrize("fam,inner_v6,tcp", [("v4", False, False),
                                              ("v6", True, True)],
                         ids=["v4-udp4", "v6-tcp6"])
def test_source_port_per_flow(tundra, fam, inner_v6, tcp):
    ul, tun = UNDERLAYS[fam], Tunnel()
    # repetitions are interleaved and carry different payloads and lengths
    inner = [flow_frame(fl, rep, v6=inner_v6, tcp=tcp)
             for rep in range(REPS) for fl in range(FLOWS)]
    res = tundra.run(tunnel_config(ul, [tun]), {ACCESS: inner})
    out = res.out(UPLINK)
    assert len(out) == len(inner)
    ports = defaultdict(set)
    for f, i in zip(out, inner):
        ports[inner_flow_key(i)].add(check_encap(f, ul, tun, i))
    assert len(ports) == FLOWS
    unstable = {k: v for k, v in ports.items() if len(v) != 1}
    assert not unstable, (f"{len(unstable)} flows used more than one source "
                          f"port, e.g. {next(iter(unstable.items()))}")
    distinct = {next(iter(v)) for v in ports.values()}
    assert len(distinct) >= 16, (f"{FLOWS} flows map onto only {len(distinct)} "
                                 f"source ports: {sorted(distinct)}")
    assert_only_drops(res, {})


def test_source_port_stable_across_runs(tundra):
    """The hash depends on the flow only: two runs give the same ports."""
    ul, tun = UNDERLAYS["v4"], Tunnel()
    inner = [flow_frame(fl, 0) for fl in range(16)]
    a = tundra.run(tunnel_config(ul, [tun]), {ACCESS: inner})
    b = tundra.run(tunnel_config(ul, [tun]), {ACCESS: list(reversed(inner))})
    pa = [check_encap(f, ul, tun, i) for f, i in zip(a.out(UPLINK), inner)]
    pb = [check_encap(f, ul, tun, i)
          for f, i in zip(b.out(UPLINK), reversed(inner))]
    assert len(pa) == len(pb) == 16
    assert pa == list(reversed(pb))
