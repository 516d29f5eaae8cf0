"""The per-key token bucket that bounds how often one requester makes the node read its store."""

from __future__ import annotations

import pytest

from regions.core.request_budget import RequestBudget


def test_a_key_gets_its_burst_at_once_then_is_told_how_long_to_wait() -> None:
    budget = RequestBudget(rate=2.0, burst=3)
    assert [budget.take("610800", 0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert budget.take("610800", 0.0) == pytest.approx(0.5)  # one token at 2 per second
    assert budget.take("610800", 0.25) == pytest.approx(0.25)  # a refusal spends nothing


def test_tokens_come_back_at_the_rate_and_never_beyond_the_burst() -> None:
    budget = RequestBudget(rate=2.0, burst=3)
    for _ in range(3):
        budget.take("610800", 0.0)
    assert budget.take("610800", 0.5) == 0.0  # one back after half a second
    assert budget.take("610800", 0.5) > 0
    granted = sum(budget.take("610800", 100.0) == 0.0 for _ in range(10))
    assert granted == 3  # a long pause refills to the burst, not to 200


def test_one_key_spending_its_budget_leaves_the_others_theirs() -> None:
    budget = RequestBudget(rate=1.0, burst=2)
    while budget.take("152900", 0.0) == 0.0:
        pass
    assert budget.take("610800", 0.0) == 0.0


def test_the_keys_remembered_are_bounded_the_least_recent_forgotten_first() -> None:
    budget = RequestBudget(rate=1.0, burst=1, max_keys=2)
    for key in ("a", "b", "c"):
        assert budget.take(key, 0.0) == 0.0
    assert len(budget._buckets) == 2
    assert budget.take("c", 0.0) > 0  # still remembered: its budget is spent
    assert budget.take("a", 0.0) == 0.0  # forgotten: starts again with a full bucket


def test_a_clock_going_backwards_grants_nothing_extra() -> None:
    budget = RequestBudget(rate=1.0, burst=1)
    assert budget.take("a", 10.0) == 0.0
    assert budget.take("a", 5.0) > 0
