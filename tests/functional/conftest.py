"""pytest glue for the functional suite (see harness.py)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import pytest  # noqa: E402

import harness  # noqa: E402


def pytest_report_header(config):
    p = os.environ.get("TUNDRA_BIN", str(harness.DEFAULT_BIN))
    state = "present" if os.access(p, os.X_OK) else "MISSING (tests will fail)"
    return [f"tundra binary: {p} ({state})",
            f"EAL memory args: {' '.join(harness.eal_mem_args())}"]


@pytest.fixture
def tundra(tmp_path):
    """Runs the tundra binary in batch mode inside this test's tmp dir."""
    return harness.Tundra(tmp_path)
