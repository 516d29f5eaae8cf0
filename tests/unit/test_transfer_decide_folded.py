"""`TransferDecider.decide_folded`: the state it returns is the fold of its events (issue 17).

Why: `settling.settle` takes that state instead of folding the events a second time, so a
decision whose bookkeeping changed an event after folding it (a waiting limit put on the event
that made the status, the clears of an end put before the events) must still hand back exactly
what folding the recorded events gives. Every decision of the transfer scenarios below is
checked as it is made.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from domain.kernel import Command, Event, fold
from domain.protocols.transfer import TransferDecider
from tests.unit import test_transfer_rows as scenarios

SCENARIOS: list[Callable[[], None]] = [
    scenarios.test_the_last_match_rides_on_the_completion_and_old_streams_fold_alike,
    scenarios.test_several_origins_record_every_match_but_the_last,
    scenarios.test_a_mismatch_is_still_a_reconciled_row_and_the_correction_completes,
    scenarios.test_a_scheme_that_takes_the_relationship_over_first_folds_its_last_match_too,
    scenarios.test_a_withdrawal_and_its_cancellation_carry_their_waiting_limits,
    scenarios.test_an_operators_reversal_carries_its_waiting_limits,
    scenarios.test_a_take_over_carries_its_met_step,
]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda f: f.__name__)
def test_every_decision_hands_back_the_fold_of_its_events(
        scenario: Callable[[], None], monkeypatch: pytest.MonkeyPatch) -> None:
    real = TransferDecider.decide_folded
    checked: list[str] = []

    def checking(self: TransferDecider, state: Any, command: Command,
                 now: dt.datetime) -> tuple[list[Event], Any]:
        events, after = real(self, state, command, now)
        assert after == (fold(self, events, state) if events else state), type(command)
        checked.append(type(command).__name__)
        return events, after

    monkeypatch.setattr(TransferDecider, "decide_folded", checking)
    scenario()
    assert len(checked) > 5
