"""Crash points (`regions.runtime.crashpoints`) are inert unless armed, refuse a bad plan, and kill the
process exactly at the planned pass — the fault tests rely on all three."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from regions.runtime import crashpoints

ROOT = Path(__file__).resolve().parents[2]


def test_a_plan_names_known_points_with_a_pass_count() -> None:
    assert crashpoints.parse("") == {}
    assert crashpoints.parse(" after_commit_before_ack:3 , after_commit_before_publish:1") == {
        "after_commit_before_ack": 3, "after_commit_before_publish": 1}


@pytest.mark.parametrize(("spec", "complaint"), [
    ("after_lunch:1", "unknown crash point 'after_lunch'"),
    ("after_commit_before_ack", "needs a pass count"),
    ("after_commit_before_ack:0", "needs a pass count"),
    ("after_commit_before_ack:x", "needs a pass count"),
])
def test_a_bad_plan_is_refused_with_the_reason(spec: str, complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        crashpoints.arm({crashpoints.ENV: spec})


def test_unarmed_points_do_nothing() -> None:
    crashpoints.arm({})
    for _ in range(3):
        crashpoints.reached(crashpoints.AFTER_COMMIT_BEFORE_ACK)  # still alive


def test_an_armed_point_kills_the_process_on_the_planned_pass_only() -> None:
    script = ("import sys; from regions.runtime import crashpoints as c; c.arm(); "
              "c.reached(c.AFTER_COMMIT_BEFORE_ACK); c.reached(c.AFTER_COMMIT_BEFORE_PUBLISH); "
              "print('survived pass 1', flush=True); c.reached(c.AFTER_COMMIT_BEFORE_ACK); "
              "print('survived pass 2', flush=True)")
    child = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                           text=True, timeout=30, start_new_session=True,
                           env={"PYTHONPATH": str(ROOT),
                                crashpoints.ENV: "after_commit_before_ack:2"})
    assert child.returncode == -signal.SIGKILL
    assert child.stdout == "survived pass 1\n"
    assert "CRASH POINT after_commit_before_ack pass 2: SIGKILL" in child.stderr
