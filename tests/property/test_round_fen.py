"""`pension_limits.round_fen_times(fen, rate)` is `round_fen(Decimal(fen) * rate)` exactly: the
one rounding rule (half-up to the fen, ties away from zero) reckoned in integers where that is
exact, for every int and every rate — the rules' own, any finite `Decimal` of few or many digits,
ties, negatives, amounts past the bound (where `Decimal`'s way is taken) and a `bool`.

Why: the sheets' yearly figures are compared fen for fen between two regions and against the
simulator's oracle; a rounding that differed by one fen on one value would refuse a sheet.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from domain.protocols.pension_items import EIGHT, TWELVE
from domain.protocols.pension_limits import (
    BASE_FLOOR,
    ENTERPRISE_ACCOUNT_RATES,
    round_fen,
    round_fen_times,
)

RULES = [BASE_FLOOR, EIGHT, TWELVE, *(rate for _, rate in ENTERPRISE_ACCOUNT_RATES)]
rates = st.one_of(
    st.sampled_from(RULES),
    st.decimals(allow_nan=False, allow_infinity=False, places=2, min_value=-5, max_value=5),
    st.decimals(allow_nan=False, allow_infinity=False, places=14, min_value=-1, max_value=1),
    st.integers(-10**14, 10**14).map(lambda n: Decimal(n).scaleb(-13)),
    st.decimals(allow_nan=False, allow_infinity=False))
fens = st.one_of(st.integers(-10**8, 10**8), st.integers(-10**16, 10**16),
                 st.integers(-10**15 - 3, -10**15 + 3), st.integers(10**15 - 3, 10**15 + 3))


def _both(fen: int, rate: Decimal) -> tuple[object, object]:
    def result(f: Callable[[], object]) -> object:
        try:
            return f()
        except Exception as exc:  # the same refusal, whatever it is
            return type(exc)
    return (result(lambda: round_fen_times(fen, rate)),
            result(lambda: round_fen(Decimal(fen) * rate)))


@settings(max_examples=1000)
@given(fens, rates)
@example(5, Decimal("0.1"))  # a tie, up
@example(-5, Decimal("0.1"))  # a tie, away from zero
@example(15, Decimal("0.1"))
@example(25, Decimal("-0.1"))
@example(1, Decimal("0.5"))
@example(True, Decimal("0.5"))
@example(10**15 - 1, Decimal("0.123456789012"))
@example(0, Decimal("0.08"))
def test_integers_round_as_decimal_does(fen: int, rate: Decimal) -> None:
    for _ in range(2):  # the first call of a rate learns its ratio, the second uses it
        got, want = _both(fen, rate)
        assert got == want and type(got) is type(want)


def test_the_rules_rates_take_the_integers() -> None:
    from domain.protocols import pension_limits

    for rate in RULES:
        round_fen_times(1, rate)
        assert pension_limits._RATIOS[rate] is not None


def _quantized(amount: Decimal) -> object:
    try:
        return int(amount.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    except Exception as exc:  # the same refusal, whatever it is
        return type(exc)


def _rounded(amount: Decimal) -> object:
    try:
        return round_fen(amount)
    except Exception as exc:  # the same refusal, whatever it is
        return type(exc)


@settings(max_examples=1000)
@given(st.one_of(st.decimals(), st.decimals(places=3), st.decimals(places=1),
                 st.integers(-10**30, 10**30).map(lambda n: Decimal(n).scaleb(-2)),
                 st.integers(-10**30, 10**30).map(Decimal)))
@example(Decimal("0.5"))
@example(Decimal("-0.5"))
@example(Decimal("2.5"))
@example(Decimal("-0.4"))
@example(Decimal("-0"))
@example(Decimal("1E+23"))
@example(Decimal("9.9999E+23"))
@example(Decimal("1E+24"))
@example(Decimal("1E+30"))
@example(Decimal("NaN"))
@example(Decimal("-Infinity"))
def test_round_fen_rounds_as_quantize_does(amount: Decimal) -> None:
    """`round_fen`'s own shortcut (the exact ratio) against `quantize` half-up."""
    got, want = _rounded(amount), _quantized(amount)
    assert got == want and type(got) is type(want)


@pytest.mark.parametrize(("fen", "rate"), [(1, Decimal("1E+30")),
                                           (10**14, Decimal("1.23456789012E+16")),
                                           (-(10**14), Decimal("5E+14"))])
def test_a_rate_with_a_large_exponent_rounds_as_decimal_does(fen: int, rate: Decimal) -> None:
    """The first call learns the rate's ratio, the second uses it: both as `Decimal` does."""
    for _ in range(2):
        got, want = _both(fen, rate)
        assert got == want and type(got) is type(want)
