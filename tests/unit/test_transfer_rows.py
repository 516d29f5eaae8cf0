"""How many events a completed transfer records, and why old streams still fold (issue 17).

Each new status of a transfer side starts a wait with its waiting limit (`domain.limits`,
`Rules.waiting_limit`). The limit is recorded, never derived again at fold time (a calendar
installed later must not rewrite what was recorded): the status event that starts the wait
carries it (`waiting`), so no `TransferWaitingTimerSet` row follows it. Deployments have stored
that event for years, so it stays a known event that still folds to the same state.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from collections import Counter
from typing import Any

from domain.deadlines import DeadlineCleared, met_of
from domain.encoding import to_payload
from domain.kernel import Actor, Event, event_from_payload, fold
from domain.protocols import medical, pension
from domain.protocols.intake import Withdraw
from domain.protocols.transfer import (
    ApproveTransferOut,
    ContributionYear,
    DestinationState,
    Reconciled,
    ReverseTransfer,
    TransferCompleted,
    TransferConcluded,
    TransferWaitingTimerSet,
)
from domain.protocols.transfer_events import Reconciliation
from domain.protocols.transfer_waiting import waiting_of
from projections.cases import apply
from projections.records import SideEvent
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


def test_a_completed_transfer_records_9_rows_at_the_destination_and_6_at_the_origin() -> None:
    """The domain's own rows (the node adds its outbox, inbox and command records): 13 and 7
    before the last match rode on the completion (no `Reconciled`, no completion deadline set
    and met in one decision) and each met step on the event that meets it (no
    `DeadlineCleared`)."""
    world, case = completed()
    assert sum(rows(world, case, DEST).values()) == 9
    assert sum(rows(world, case, ORIGIN).values()) == 6
    for region in (DEST, ORIGIN):
        assert not {"Reconciled", "DeadlineCleared"} & set(rows(world, case, region))
        assert rows(world, case, region)["DeadlineSet"] == 1
    met = {region: [(e.TYPE, met_of(e)) for e in world.sides[(case, region)].events
                    if met_of(e)] for region in (DEST, ORIGIN)}
    assert met == {DEST: [("ContactLetterIssued", ("contact_letter",))],
                   ORIGIN: [("FundsRemitted", ("transfer_out",))]}


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


# --------------------------------------------------------------------------- the last match


def completion_in_old_form(side: Any, events: list[Event]) -> list[Event]:
    """The stream as the destination recorded it before the last match rode on the completion:
    `Reconciled`, the completion's `DeadlineSet` (unless already running), the
    `CompleteTransfer` decision's `DeadlineCleared`, its conclusions and `TransferCompleted`
    without `reconciled` — each event as stored then (payloads without the new key)."""
    old: list[Event] = []
    for e in events:
        if not isinstance(e, TransferCompleted) or e.reconciled is None:
            old.append(e)
            continue
        r, now, decider = e.reconciled, e.at, side.decider
        at = next(i for i, x in enumerate(old) if isinstance(x, TransferConcluded)
                  and x.at == now and all(isinstance(y, TransferConcluded) for y in old[i:]))
        conclusions, before = old[at:], old[:at]
        state = fold(decider, before)
        assert state is not None
        match = Reconciled(at=now, actor=e.actor, from_region=r.from_region, matched=True,
                           stated_fen=r.stated_fen, received_fen=r.received_fen,
                           difference_fen=r.stated_fen - r.received_fen)
        deadline = [] if "completion" in state.book else decider._deadline(
            "completion", now, state.region)
        clear = DeadlineCleared(at=now, actor=Actor.system("transfer_policy", state.region),
                                step="completion")
        payload = to_payload(e)
        del payload["reconciled"]
        stored = event_from_payload("TransferCompleted", payload, 1)
        old = [*before, match, *deadline, clear, *conclusions, stored]
    return old


def folds_alike_without_the_folded_match(world: TransferWorld, case: str) -> None:
    side = world.sides[(case, DEST)]
    old = completion_in_old_form(side, side.events)
    assert len(old) > len(side.events)
    assert fold(side.decider, old) == fold(side.decider, side.events)


def test_the_last_match_rides_on_the_completion_and_old_streams_fold_alike() -> None:
    world, case = completed()
    done = world.sides[(case, DEST)].events[-1]
    assert isinstance(done, TransferCompleted)
    assert done.reconciled == Reconciliation(ORIGIN, SHEET.amount_fen, SHEET.amount_fen)
    assert to_payload(done)["reconciled"] == {"from_region": ORIGIN,
                                              "stated_fen": SHEET.amount_fen,
                                              "received_fen": SHEET.amount_fen}
    folds_alike_without_the_folded_match(world, case)


def test_several_origins_record_every_match_but_the_last() -> None:
    other = "640100"
    world, case = accepted_case(TRANSFERS, "pension_transfer", (ORIGIN, other), DEST)
    for origin in (ORIGIN, other):  # two phases: both hold, then both transfer out
        world.act(case, origin, ApproveTransferOut(actor=staff(origin)))
    for origin in (ORIGIN, other):
        world.transfer_out(case, origin, SHEET)
    world.funds(case, DEST, ORIGIN, SHEET.amount_fen, "B-1")
    world.funds(case, DEST, other, SHEET.amount_fen, "B-2")
    assert world.status(case, DEST) == "completed"
    events = world.sides[(case, DEST)].events
    assert [e.from_region for e in events if isinstance(e, Reconciled)] == [ORIGIN]
    done = events[-1]
    assert isinstance(done, TransferCompleted) and done.reconciled is not None
    assert done.reconciled.from_region == other
    folds_alike_without_the_folded_match(world, case)


def test_a_mismatch_is_still_a_reconciled_row_and_the_correction_completes() -> None:
    world, case = accepted_case(TRANSFERS, "pension_transfer", (ORIGIN,), DEST)
    world.transfer_out(case, ORIGIN, SHEET, remit=False)
    world.funds(case, DEST, ORIGIN, SHEET.amount_fen - 100, "B-1")
    assert world.status(case, DEST) == "needs_attention"
    world.funds(case, DEST, ORIGIN, 100, "B-2")
    assert world.status(case, DEST) == "completed"
    events = world.sides[(case, DEST)].events
    assert [e.matched for e in events if isinstance(e, Reconciled)] == [False]
    folds_alike_without_the_folded_match(world, case)


def test_a_scheme_that_takes_the_relationship_over_first_folds_its_last_match_too() -> None:
    world, case = accepted_case(TRANSFERS, "medical_transfer", (ORIGIN,), DEST)
    sheet = medical.sample_sheet(random.Random(3))
    world.act(case, ORIGIN, ApproveTransferOut(actor=staff(ORIGIN),
                                               suspended_on=dt.date(2025, 3, 1)))
    world.transfer_out(case, ORIGIN, sheet)
    world.funds(case, DEST, ORIGIN, sheet.amount_fen, "B-1")
    assert world.status(case, DEST) == "completed"
    types = [e.TYPE for e in world.sides[(case, DEST)].events]
    assert "RelationshipTakenOver" in types and "Reconciled" not in types
    folds_alike_without_the_folded_match(world, case)


def test_the_views_show_the_folded_match_as_before() -> None:
    """The case view's timeline and milestones, folded from the new stream and the old one."""
    world, case = completed()
    side = world.sides[(case, DEST)]
    new, old = (view_of(side, events)
                for events in (side.events, completion_in_old_form(side, side.events)))
    assert dict(new.milestones) == dict(old.milestones)
    assert "reconciled" in dict(new.milestones)
    steps = [(s.type, s.text, s.actor) for s in new.timeline]
    assert steps == [(s.type, s.text, s.actor) for s in old.timeline]
    assert [t for t, _, _ in steps][-3:] == ["Reconciled", "TransferConcluded",
                                             "TransferCompleted"]


def view_of(side: Any, events: list[Event]) -> Any:
    view = None
    for position, e in enumerate(events, 1):
        record = SideEvent(position=position, region=DEST, case_id=side.state.case_id,
                           case_number=side.state.case_number, process=side.state.process,
                           side_id="s", version=position, type=e.TYPE,
                           schema_version=e.SCHEMA_VERSION, payload=to_payload(e))
        view = apply(view, record, side.decider)
    return view


# --------------------------------------------------------------------------- the met steps


def met_in_old_form(events: list[Event]) -> list[Event]:
    """The stream as recorded before a met step rode on the event that meets it: the event as
    stored then (no `met` key in its payload, at its schema of then), a `DeadlineCleared` after
    it for each step."""
    old: list[Event] = []
    for e in events:
        steps = met_of(e)
        if not steps:
            old.append(e)
            continue
        payload = to_payload(e)
        del payload["met"]
        version = 2 if e.TYPE == "ContactLetterIssued" else 1
        old.append(event_from_payload(e.TYPE, payload, version))
        old += [DeadlineCleared(at=e.at, actor=e.actor, step=step) for step in steps]
    return old


def folds_alike_with_clears(world: TransferWorld, case: str, region: str) -> None:
    side = world.sides[(case, region)]
    new_prefix: list[Event] = []
    old_prefix: list[Event] = []
    for e in side.events:  # after every event, both streams fold alike
        new_prefix.append(e)
        old_prefix += met_in_old_form([e])
        assert fold(side.decider, old_prefix) == fold(side.decider, new_prefix)
        if region == DEST:
            new, old = view_of(side, new_prefix), view_of(side, old_prefix)
            assert (new.deadlines, new.overdue) == (old.deadlines, old.overdue)


def test_a_met_step_rides_on_the_event_that_meets_it_and_old_streams_fold_alike() -> None:
    world, case = completed()
    for region in (DEST, ORIGIN):
        folds_alike_with_clears(world, case, region)
    dest = world.sides[(case, DEST)]
    after_letter = next(i for i, e in enumerate(dest.events) if e.TYPE == "ContactLetterIssued")
    assert [d.step for d in view_of(dest, dest.events[:after_letter]).deadlines] == [
        "contact_letter"]
    assert not view_of(dest, dest.events[:after_letter + 1]).deadlines


def test_the_last_of_several_letters_carries_the_met_review_step() -> None:
    world, case = accepted_case(TRANSFERS, "pension_transfer", (ORIGIN, "640100"), DEST)
    letters = [e for e in world.sides[(case, DEST)].events if e.TYPE == "ContactLetterIssued"]
    assert [met_of(e) for e in letters] == [(), ("contact_letter",)]
    folds_alike_with_clears(world, case, DEST)


def test_a_take_over_carries_its_met_step() -> None:
    world, case = accepted_case(TRANSFERS, "medical_transfer", (ORIGIN,), DEST)
    world.act(case, ORIGIN, ApproveTransferOut(actor=staff(ORIGIN),
                                               suspended_on=dt.date(2025, 3, 1)))
    world.transfer_out(case, ORIGIN, medical.sample_sheet(random.Random(3)), remit=False)
    taken = [e for e in world.sides[(case, DEST)].events if e.TYPE == "RelationshipTakenOver"]
    assert [met_of(e) for e in taken] == [("transfer_in",)]
    for region in (DEST, ORIGIN):
        folds_alike_with_clears(world, case, region)


def test_a_clear_no_carrier_precedes_stays_a_row() -> None:
    """A withdrawal's clears (and a refusal's, an end's) follow no event that meets them."""
    world, case = accepted_case(TRANSFERS, "pension_transfer", (ORIGIN,), DEST)
    world.act(case, ORIGIN, ApproveTransferOut(actor=staff(ORIGIN)))
    world.act(case, DEST, Withdraw(actor=APPLICANT, reason="申请人撤回"))
    origin = rows(world, case, ORIGIN)
    assert origin["DeadlineCleared"] == 1  # released with the cancellation's answer
