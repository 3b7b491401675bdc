"""GENEVE, gretap and gre decap validation: every drop reason from crafted packets,
with exact counters (RFC 8926 section 3, RFC 2784 / RFC 2890).

The cases live in drop_cases.py (shared with VXLAN).  To keep the suite
fast, the uplink cases that run with the default config share one tundra
run per protocol and underlay, interleaved with good packets; each reason's
counter must equal the number of frames of the cases that expect it."""

import pytest

from drop_cases import DROP_TUNNELS, separate_cases
from drop_runner import run_batched, run_separate

PROTOS = ("geneve", "gretap", "gre")


@pytest.mark.parametrize("fam", ["v4", "v6"])
@pytest.mark.parametrize("proto", PROTOS)
def test_decap_drops_batched(tundra, proto, fam):
    run_batched(tundra, proto, fam)


SEP = [(p, c, f) for p in PROTOS for c, f in separate_cases(p)]


@pytest.mark.parametrize("proto,case,fam", SEP,
                         ids=[f"{p}-{c.id}-{f}" for p, c, f in SEP])
def test_drop_separate(tundra, proto, case, fam):
    run_separate(tundra, DROP_TUNNELS[proto], case, fam)
