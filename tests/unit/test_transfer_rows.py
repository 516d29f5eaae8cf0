"""How many events a completed transfer records, and why old streams still fold (issue 17).

Each new status of a transfer side starts a wait with its waiting limit (`domain.limits`,
`Rules.waiting_limit`). The limit is recorded, never derived again at fold time (a calendar
installed later must not rewrite what was recorded): the status event that starts the wait
carries it (`waiting`), so no `TransferWaitingTimerSet` row follows it. Deployments have stored
that event for years, so it stays a known event that still folds to the same state.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from typing import Any

from domain.kernel import Actor, Event, fold
from domain.protocols import pension
from domain.protocols.intake import Withdraw
from domain.protocols.transfer import (
    ApproveTransferOut,
    ContributionYear,
    DestinationState,
    ReverseTransfer,
    TransferWaitingTimerSet,
)
from domain.protocols.transfer_waiting import waiting_of
from tests.fixtures.transfers import TRANSFERS, TransferWorld, accepted_case, completed_case, staff

DEST, ORIGIN = "150600", "610800"
SHEET = pension.transfer_amount(1_000_000, [ContributionYear(2023, 12, 500_000)])


def completed() -> tuple[TransferWorld, str]:
    return completed_case(DEST, ORIGIN, SHEET)


def rows(world: TransferWorld, case: str, region: str) -> Counter[str]:
    return Counter(e.TYPE for e in world.sides[(case, region)].events)


def test_a_status_event_carries_the_waiting_limit_it_starts() -> None:
    world, case = completed()
    for region in (DEST, ORIGIN):
        events = world.sides[(case, region)].events
        assert rows(world, case, region)["TransferWaitingTimerSet"] == 0
        carried = [(e.TYPE, w.waiting_state) for e in events if (w := waiting_of(e)) is not None]
        expected = {DEST: [("ApplicationSubmitted", "submitted"), ("IntakeAccepted", "accepted"),
                           ("ContactLetterIssued", "awaiting_counterpart")],
                    ORIGIN: [("ContactLetterReceived", "received"),
                             ("TransferOutHeld", "approved"), ("InfoSheetIssued", "remitting"),
                             ("FundsRemitted", "awaiting_counterpart")]}
        assert carried == expected[region]


def test_a_completed_transfer_records_13_rows_at_the_destination_and_7_at_the_origin() -> None:
    """The domain's own rows (the node adds its outbox, inbox and command records)."""
    world, case = completed()
    assert sum(rows(world, case, DEST).values()) == 13
    assert sum(rows(world, case, ORIGIN).values()) == 7


def as_old_stream(events: list[Event]) -> list[Event]:
    """The stream the same steps recorded before the limit rode on the status event: the event
    without it, then a `TransferWaitingTimerSet` (schema v2) stating it."""
    old: list[Event] = []
    for e in events:
        w = waiting_of(e)
        if w is None:
            old.append(e)
            continue
        old.append(dataclasses.replace(e, waiting=None))  # type: ignore[type-var]
        old.append(TransferWaitingTimerSet(
            at=e.at, actor=Actor.system("waiting_timer", "150600"),
            waiting_state=w.waiting_state, status="", due_at=w.due_at, basis=w.basis,
            calendar_version=w.calendar_version, reckoning=w.reckoning))
    return old


def test_an_old_stream_with_waiting_timer_events_folds_to_the_same_state() -> None:
    world, case = completed()
    folds_alike_in_the_old_form(world, case)


def folds_alike_in_the_old_form(world: TransferWorld, case: str) -> None:
    for region in (DEST, ORIGIN):
        side = world.sides[(case, region)]
        old = as_old_stream(side.events)
        assert len(old) > len(side.events)
        new_prefix: list[Event] = []
        old_prefix: list[Event] = []
        remaining = iter(old)
        for e in side.events:  # after every event, both streams fold alike
            new_prefix.append(e)
            old_prefix.append(next(remaining))
            if waiting_of(e) is not None:
                old_prefix.append(next(remaining))
            new, was = fold(side.decider, new_prefix), fold(side.decider, old_prefix)
            assert was == without_submitted_limit(new)


def without_submitted_limit(state: Any) -> Any:
    """The destination's intake keeps the application as submitted: the one difference."""
    if not isinstance(state, DestinationState):
        return state
    submitted = dataclasses.replace(state.intake.submitted, waiting=None)
    return dataclasses.replace(state, intake=dataclasses.replace(state.intake,
                                                                 submitted=submitted))


# --------------------------------------------------------------------------- off the usual course

APPLICANT = Actor("applicant", "e1" * 32, DEST)
OPERATOR = Actor("staff", "op-1", DEST, role="operator")


def timer_rows(world: TransferWorld, case: str) -> dict[str, list[str]]:
    """The `TransferWaitingTimerSet` rows each side still records."""
    return {region: [e.TYPE for e in world.sides[(case, region)].events
                     if e.TYPE == "TransferWaitingTimerSet"] for region in (DEST, ORIGIN)}


def test_a_withdrawal_and_its_cancellation_carry_their_waiting_limits() -> None:
    """The withdrawal makes `withdrawing`; the origin's receipt of the cancellation carries
    `released` (the answer itself is the shared event)."""
    world, case = accepted_case(TRANSFERS, "pension_transfer", (ORIGIN,), DEST)
    world.act(case, ORIGIN, ApproveTransferOut(actor=staff(ORIGIN)))
    world.act(case, DEST, Withdraw(actor=APPLICANT, reason="申请人撤回"))
    assert (world.status(case, DEST), world.status(case, ORIGIN)) == ("withdrawn", "released")
    assert timer_rows(world, case) == {DEST: [], ORIGIN: []}
    origin = world.sides[(case, ORIGIN)].events
    assert [e.TYPE for e in origin if waiting_of(e) is not None][-1] == "CancellationReceived"
    folds_alike_in_the_old_form(world, case)


def test_an_operators_reversal_carries_its_waiting_limits() -> None:
    world, case = accepted_case(TRANSFERS, "pension_transfer", (ORIGIN,), DEST)
    world.transfer_out(case, ORIGIN, SHEET)
    world.act(case, DEST, ReverseTransfer(actor=OPERATOR, reason="经办错误：转入地错误"))
    world.bank_deliver(0, "none")
    world.run_policies()
    world.deliver_all()
    assert (world.status(case, DEST), world.status(case, ORIGIN)) == ("withdrawn", "reinstated")
    assert timer_rows(world, case) == {DEST: [], ORIGIN: []}
    folds_alike_in_the_old_form(world, case)
