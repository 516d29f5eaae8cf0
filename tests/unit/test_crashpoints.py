"""Crash points (`regions.runtime.crashpoints`) are inert unless armed and refuse a bad plan
(that an armed one kills its process at the planned pass is an integration test: it needs a
process to kill, `tests/integration/test_crashpoint_kill.py`)."""

from __future__ import annotations

import pytest

from regions.runtime import crashpoints


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
