"""Stream age limits are sized from the protocols' longest wait (`regions.adapters.brokers.retention`)."""

from __future__ import annotations

import pytest

from regions.adapters.brokers import retention


def test_the_age_limit_outlasts_the_longest_wait_of_any_protocol_with_a_week_to_spare() -> None:
    """30 working days (awaiting a counterpart) span at most 63 calendar days — on the official
    schedules (2015–2026) and on the conservative fallback after them."""
    longest = retention.longest_wait_days(range(2015, 2036))
    assert longest == 63
    assert longest + 7 <= retention.MAX_AGE_DAYS
    assert retention.STREAMS.max_age == retention.MAX_AGE_DAYS * 86400


def test_the_official_years_alone_never_need_as_long() -> None:
    assert retention.longest_wait_days(range(2015, 2026)) < 63


@pytest.mark.parametrize(("max_age", "max_bytes"), [(0, -1), (-1.0, -1), (60.0, 0), (60.0, 512)])
def test_a_limit_that_would_discard_everything_is_refused(max_age: float, max_bytes: int) -> None:
    with pytest.raises(ValueError):
        retention.Retention(max_age=max_age, max_bytes=max_bytes)
