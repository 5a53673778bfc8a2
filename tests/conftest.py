"""Shared fixtures. Resources a test needs (shared data, Chromium, PostgreSQL) go through
:func:`require`: absent locally -> skip with the reason; absent in CI (``NBLABEL_STRICT=1``,
set by ``scripts/test.sh`` when ``CI`` is set) -> the test fails instead of skipping."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("NBLABEL_SHARED_DATA", ROOT.parent / "shared" / "data"))
STRICT = os.environ.get("NBLABEL_STRICT", "") not in ("", "0")
pytest_plugins = ["tests.pg"]  # fixtures pg_server / pg_url: a throwaway PostgreSQL cluster


def require(condition: bool, reason: str) -> None:
    """Skip (locally) or fail (CI, NBLABEL_STRICT=1) when a resource is missing."""
    if condition:
        return
    if STRICT:
        pytest.fail(f"required resource missing in strict mode: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Path of ../shared/data (real data sets); skips locally when absent."""
    require(SHARED_DATA.is_dir(), f"shared data sets not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """In CI (NBLABEL_STRICT=1) a skip is a failure, whatever raised it (importorskip
    included), unless the test is marked ``allow_skip``: nothing that should run may
    silently not run."""
    outcome = yield
    report = outcome.get_result()
    allowed = item.get_closest_marker("allow_skip") is not None
    if STRICT and report.skipped and not hasattr(report, "wasxfail") and not allowed:
        report.outcome = "failed"
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.longrepr = f"skipped in strict mode (CI): {reason}"
