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

_TIERS = ("unit", "property", "integration", "e2e")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test carries the marker of the tier folder it lives in."""
    for item in items:
        parts = Path(str(item.fspath)).parts
        for tier in _TIERS:
            if tier in parts:
                item.add_marker(getattr(pytest.mark, tier))


_durations: dict[str, list[float]] = {tier: [] for tier in _TIERS}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when != "call" and not (report.when == "setup" and report.skipped):
        return
    for tier in _TIERS:
        if tier in report.keywords:
            _durations[tier].append(report.duration)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Per-tier counts and durations, so CI shows where the time goes ("0 tests" for empty tiers)."""
    terminalreporter.section("durations per tier")
    for tier in _TIERS:
        times = _durations[tier]
        terminalreporter.write_line(f"{tier:<12} {len(times):>5} tests  {sum(times):8.1f} s")
