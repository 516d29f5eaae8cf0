"""Test-wide configuration: tier markers by folder, Hypothesis profiles.

Profiles: `dev` (default locally), `ci` (Hypothesis' own derandomised profile, loaded when
CI=true), `nightly` (many more examples). Stateful tests set `deadline=None` themselves: the
machine is shared and noisy.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("dev", max_examples=60, deadline=None)
settings.register_profile(
    "nightly", max_examples=2000, stateful_step_count=200, deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
if os.environ.get("HYPOTHESIS_PROFILE"):
    settings.load_profile(os.environ["HYPOTHESIS_PROFILE"])
elif os.environ.get("CI", "").lower() not in ("true", "1"):
    settings.load_profile("dev")

_TIERS = ("unit", "property", "integration", "e2e", "browser", "hostile")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test carries the marker of the tier folder it lives in."""
    for item in items:
        parts = Path(str(item.fspath)).parts
        for tier in _TIERS:
            if tier in parts:
                item.add_marker(getattr(pytest.mark, tier))


_counts: dict[str, int] = dict.fromkeys(_TIERS, 0)
_seconds: dict[str, float] = dict.fromkeys(_TIERS, 0.0)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    for tier in _TIERS:
        if tier in report.keywords:
            _seconds[tier] += report.duration  # setup (fixtures) and teardown included
            if report.when == "call" or (report.when == "setup" and report.skipped):
                _counts[tier] += 1


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Per-tier counts and durations, so CI shows where the time goes ("0 tests" for empty tiers)."""
    terminalreporter.section("durations per tier")
    for tier in _TIERS:
        terminalreporter.write_line(f"{tier:<12} {_counts[tier]:>5} tests  {_seconds[tier]:8.1f} s")
