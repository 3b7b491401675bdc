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


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "not_sanitized: run on the optimised build only; deselected when "
        "TUNDRA_SANITIZED=1 (scripts/test.sh's ASan + UBSan pass)")


def pytest_collection_modifyitems(config, items):
    """The sanitizer pass reruns the suite for memory errors, not for behaviour already
    checked on the optimised build: modules marked not_sanitized (scale, packaging, the
    harness's self-tests) are deselected there, not skipped."""
    if os.environ.get("TUNDRA_SANITIZED") != "1":
        return
    keep = [item for item in items if item.get_closest_marker("not_sanitized") is None]
    dropped = [item for item in items if item.get_closest_marker("not_sanitized") is not None]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep
