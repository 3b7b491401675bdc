"""GRE (gretap and L3 gre) decap validation: every drop reason from crafted
packets, exact counters.  Shares its machinery with test_geneve_drops."""

import pytest

from drop_cases import separate_cases
from test_geneve_drops import run_batched, run_separate

PROTOS = ("gretap", "gre")


@pytest.mark.parametrize("fam", ["v4", "v6"])
@pytest.mark.parametrize("proto", PROTOS)
def test_decap_drops_batched(tundra, proto, fam):
    run_batched(tundra, proto, fam)


SEP = [(p, c, f) for p in PROTOS for c, f in separate_cases(p)]


@pytest.mark.parametrize("proto,case,fam", SEP,
                         ids=[f"{p}-{c.id}-{f}" for p, c, f in SEP])
def test_drop_separate(tundra, proto, case, fam):
    run_separate(tundra, proto, case, fam)
