"""Runs last (by name): no SA key or salt that any test of this run configured appears
in anything tundra or tundra-ctl wrote during the run — stdout and stderr of every batch
run, the logs of every live instance, traces, captures' text, JSON. Only the inputs that
carry keys by design (config files, pcaps of ciphertext) are not read."""
from pathlib import Path

import pytest

import harness

INPUTS = {".cfg", ".conf", ".batch", ".pcap", ".pcapng"}


def windows(secret: str):
    """Every 12-digit run of the secret (a leak of a part is a leak)."""
    s = secret.lower().removeprefix("0x")
    return {s[i:i + 12] for i in range(0, len(s) - 11, 2)}


def test_no_key_in_any_output_of_the_run(tmp_path_factory):
    if not harness.SA_SECRETS:
        pytest.skip("no test configured an SA in this run")
    needles = set().union(*(windows(s) for s in harness.SA_SECRETS))
    base = Path(tmp_path_factory.getbasetemp())
    scanned, leaks = 0, []
    for f in base.rglob("*"):
        if not f.is_file() or f.is_symlink() or f.suffix in INPUTS:
            continue
        text = f.read_bytes().decode("latin-1").lower()
        scanned += 1
        leaks += [f"{f}: ...{n}..." for n in needles if n in text]
    if scanned == 0:
        pytest.skip("nothing written yet: run with the modules that configure SAs")
    assert not leaks, "key material in tundra's output:\n" + "\n".join(sorted(leaks)[:20])
