"""Household moves (户口迁移): both sides' rules, one test per rule."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

import pytest

from domain.calendar import CHINA, WorkingCalendar
from domain.deadlines import DeadlineMissed, DeadlineSet, Escalate, Escalated, FlagDeadlineMissed
from domain.invariants import single_residence
from domain.kernel import (
    Actor,
    Command,
    CounterpartEventRejected,
    DomainError,
    Event,
    NeedsAttentionRaised,
    event_from_payload,
    to_payload,
)
from domain.limits import Rules
from domain.protocols import household as hh
from domain.protocols.application_events import Approve, Deny
from domain.protocols.casework import ABSENT
from domain.protocols.casework_events import (
    ANNOTATIONS,
    CloseFollowUp,
    FollowUpOpened,
    Lapse,
    Rate,
    RatingGiven,
    ResolveAttention,
)
from domain.protocols.details import HouseholdDetails
from domain.protocols.household_events import (
    AWAITING_ORIGIN,
    MOVE_OUT_STEP,
    PERMIT_STEP,
    CheckMoveOut,
    ExpirePermit,
    HouseholdSettled,
    MigrationCertificateIssued,
    MovedOut,
    MoveOutApproved,
    MoveOutCancellationConfirmed,
    MoveOutHoldReleased,
    MoveOutRefused,
    MoveOutRequested,
    MoveOutRequestReceived,
    MoveOutReversed,
    RefuseMoveOut,
    RegisterMoveOut,
    RegistrationReinstated,
    SendMoveOutRequest,
    Settle,
    SettlementReceiptReceived,
)
from domain.protocols.intake import (
    AcceptIntake,
    ApplicationWithdrawn,
    CaseLapsed,
    ProvideSupplement,
    RequestSupplement,
    Submit,
    Withdraw,
)
from domain.registers import (
    RegisterEffect,
    RegisterEntry,
    RegisterKey,
    apply_register_effects,
    decide_register,
)
from domain.settling import execute
from domain.statutes import Limit, RegionLimits
from domain.values import CaseNumber, MaterialRef, RegionCode
from tests.fixtures.sides import Link, assert_refused, shared

RULES = Rules(WorkingCalendar())
DECIDER = hh.decider(RULES)
DEST, ORIGIN = "150900", "140200"  # 乌兰察布 ← 大同, a pilot pair
T0 = dt.datetime(2025, 3, 3, 1, 0, tzinfo=dt.UTC)  # Monday 09:00 in Shanghai
NUMBER = CaseNumber.new(RegionCode(DEST), T0.date(), uuid.UUID(int=0xC0FFEE))
PERSON = "a1" * 32
STAFF_D = Actor("staff", "police-d-1", DEST, "户籍民警", "W1")
STAFF_O = Actor("staff", "police-o-1", ORIGIN, "户籍民警", "W1")
APPLICANT = Actor("applicant", "a1a1", DEST)
INBOX_D = Actor.system("inbox", DEST)
INBOX_O = Actor.system("inbox", ORIGIN)
State = Any


#: 工作调动 (b2-3) is approved on its evidence (the move type's condition).
TRANSFER_NOTICE = MaterialRef("doc-transfer", "d" * 64, "application/pdf", 1024, "工作调动证明",
                              "工作调动证明")


def submit(item: str = "b2-3", materials: tuple[MaterialRef, ...] = (TRANSFER_NOTICE,),
           **details: Any) -> Submit:
    return Submit(actor=STAFF_D, case_number=str(NUMBER), item_id=item, process=hh.PROCESS,
                  mode="joint", person_key=PERSON, applicant_masked="1409**********123X",
                  channel="window", materials=materials,
                  details=HouseholdDetails(**{"origin_region": ORIGIN, **details}))


def run(state: State, command: Command, now: dt.datetime = T0,
        decider: Any = DECIDER) -> tuple[State, list[Event]]:
    return execute(decider, state, command, now)


def approved_destination(now: dt.datetime = T0, **kw: Any) -> tuple[State, list[Event]]:
    """A destination that issued the permit and sent the move-out request at `now`."""
    d, _ = run(None, submit(**kw), now)
    d, _ = run(d, AcceptIntake(actor=STAFF_D), now)
    d, _ = run(d, Approve(actor=STAFF_D), now)
    [send] = DECIDER.policy(d, now)
    d, events = run(d, send, now)
    return d, events


def origin_with_request(now: dt.datetime = T0, **kw: Any) -> tuple[State, State, Link, Link]:
    """(destination, origin, link d→o, link o→d) with the request recorded at the origin."""
    d, events = approved_destination(now, **kw)
    to_origin, to_dest = Link(DEST, ORIGIN), Link(ORIGIN, DEST)
    [request] = shared(events)
    o, _ = run(None, to_origin.receive(request), now)
    return d, o, to_origin, to_dest


def registers_with_origin_residence() -> dict[RegisterKey, RegisterEntry]:
    """The person lives at the origin (opened by an earlier, pre-existing case)."""
    entries, _ = apply_register_effects(
        {}, ORIGIN, [RegisterEffect("open", PERSON, hh.SCHEME, "earlier-case")], T0,
        Actor.system("register"))
    return entries


def apply_effects(entries: dict[RegisterKey, RegisterEntry], region: str,
                  events: Sequence[Event]) -> dict[RegisterKey, RegisterEntry]:
    effects = [fx for e in events for fx in hh.register_effects(e)]
    new, _ = apply_register_effects(entries, region, effects, T0, Actor.system("register"))
    return new


def refuses(state: State, command: Command, code: str, now: dt.datetime = T0) -> None:
    assert_refused(DECIDER, state, command, code, now)


# --------------------------------------------------------------------------- the happy path


def test_destination_settles_only_after_the_origin_moved_the_person_out() -> None:
    entries = registers_with_origin_residence()
    d, o, to_origin, to_dest = origin_with_request()
    o, checked = run(o, CheckMoveOut(actor=STAFF_O, on_register=True))
    entries = apply_effects(entries, ORIGIN, checked)
    assert DECIDER.status(o) == "held"
    assert entries[(ORIGIN, PERSON, hh.SCHEME)].status == "in_transit"
    o, moved = run(o, RegisterMoveOut(actor=Actor.backend("police-hukou", ORIGIN)))
    entries = apply_effects(entries, ORIGIN, moved)
    assert entries[(ORIGIN, PERSON, hh.SCHEME)].status == "ended"
    [certificate] = shared(moved)
    assert isinstance(certificate, MigrationCertificateIssued)
    d, received = run(d, to_dest.receive(certificate))
    assert DECIDER.status(d) == "certificate_received" and shared(received) == []
    d, settled = run(d, Settle(actor=STAFF_D, address="集宁区新华街1号"))
    entries = apply_effects(entries, DEST, settled)
    assert DECIDER.status(d) == "settled"
    assert entries[(DEST, PERSON, hh.SCHEME)].status == "active"
    assert single_residence(entries, quiescent=True) == []
    [receipt_note] = shared(settled)
    o, closed = run(o, to_origin.receive(receipt_note))
    assert DECIDER.status(o) == "moved_out"
    assert (DECIDER.status(d), DECIDER.status(o)) in hh.ALLOWED_TERMINAL_PAIRS
    assert isinstance(closed[-1], SettlementReceiptReceived)


def test_permit_expiry_is_an_absolute_instant_forty_calendar_days_after_issue() -> None:
    d, events = approved_destination()
    expected = dt.datetime(2025, 4, 13, 0, 0, tzinfo=CHINA)  # day 40 after 3 March ends
    assert d.permit_expires_at == expected
    spec = RULES.deadline_for(hh.PROCESS, PERMIT_STEP, T0)
    assert spec is not None and spec.due_at == expected
    [request] = shared(events)
    assert isinstance(request, MoveOutRequested)
    assert request.permit_expires_at == expected and request.to_region == ORIGIN


# --------------------------------------------------------------------------- expiry


def test_destination_cannot_expire_permit_while_move_out_outstanding() -> None:
    d, _ = approved_destination()
    after_expiry = d.permit_expires_at + dt.timedelta(days=3)
    refuses(d, ExpirePermit(actor=Actor.system("permit_expiry", DEST)),
            "move_out_outstanding", after_expiry)
    assert not any(isinstance(c, ExpirePermit) for c in DECIDER.timers(d, after_expiry))
    d, _ = run(d, Withdraw(actor=APPLICANT))
    assert DECIDER.status(d) == "withdrawing"
    refuses(d, ExpirePermit(actor=Actor.system("permit_expiry", DEST)),
            "move_out_outstanding", after_expiry)


def test_destination_expires_only_a_permit_it_never_sent() -> None:
    d, _ = run(None, submit())
    d, _ = run(d, AcceptIntake(actor=STAFF_D))
    d, _ = run(d, Approve(actor=STAFF_D))
    expiry = d.permit_expires_at
    just_before = expiry - dt.timedelta(microseconds=1)
    assert DECIDER.timers(d, just_before) == []
    assert DECIDER.next_timer(d) == expiry
    assert DECIDER.policy(d, expiry) == []  # never send a permit that has expired
    refuses(d, SendMoveOutRequest(actor=Actor.system("move_out_request", DEST)),
            "permit_expired", expiry)
    [expire] = DECIDER.timers(d, expiry)
    d, events = run(d, expire, expiry)
    assert DECIDER.status(d) == "lapsed"
    assert isinstance(events[-1], CaseLapsed) and events[-1].waiting_state == "permit_issued"
    assert shared(events) == []


def test_origin_refuses_move_out_against_expired_permit_by_its_own_clock() -> None:
    d, o, _, to_dest = origin_with_request()
    expiry = o.permit_expires_at
    # The destination's clock is behind: by its clock the permit is still valid, which does
    # not matter — the origin decides with its own clock.
    assert DECIDER.timers(d, expiry - dt.timedelta(hours=6)) == []
    o_clock = expiry
    o2, events = run(o, CheckMoveOut(actor=STAFF_O, on_register=True), o_clock)
    assert DECIDER.status(o2) == "refused"
    [refusal] = shared(events)
    assert isinstance(refusal, MoveOutRefused) and refusal.code == "permit_expired"
    # A held request past expiry cannot be moved out; the origin's timer refuses it instead.
    held, _ = run(o, CheckMoveOut(actor=STAFF_O, on_register=True))
    refuses(held, RegisterMoveOut(actor=STAFF_O), "permit_expired", o_clock)
    [timer] = DECIDER.timers(held, o_clock)
    assert isinstance(timer, RefuseMoveOut) and timer.code == "permit_expired"
    held2, timed = run(held, timer, o_clock)
    assert [type(e) for e in timed] == [MoveOutHoldReleased, MoveOutRefused]
    assert DECIDER.status(held2) == "refused"
    d, _ = run(d, to_dest.receive(refusal), expiry - dt.timedelta(hours=6))
    assert DECIDER.status(d) == "lapsed"
    assert (DECIDER.status(d), DECIDER.status(o2)) in hh.ALLOWED_TERMINAL_PAIRS


def test_origin_moves_out_only_strictly_before_the_permit_expires() -> None:
    _, o, _, _ = origin_with_request()
    expiry = o.permit_expires_at
    o, _ = run(o, CheckMoveOut(actor=STAFF_O, on_register=True))
    last_moment = expiry - dt.timedelta(microseconds=1)
    moved, events = run(o, RegisterMoveOut(actor=STAFF_O), last_moment)
    assert DECIDER.status(moved) == "certificate_sent"
    assert all(e.at < expiry for e in events)
    refuses(o, RegisterMoveOut(actor=STAFF_O), "permit_expired", expiry)


def test_origin_refuses_on_receipt_when_the_permit_already_expired_by_its_clock() -> None:
    _, events = approved_destination()
    [request] = shared(events)
    assert isinstance(request, MoveOutRequested)
    late = request.permit_expires_at + dt.timedelta(minutes=1)
    o, received = run(None, Link(DEST, ORIGIN).receive(request), late)
    assert isinstance(received[0], MoveOutRequestReceived)
    assert DECIDER.status(o) == "refused"
    assert [e.code for e in shared(received) if isinstance(e, MoveOutRefused)] == [
        "permit_expired"]


def test_staff_cannot_claim_a_valid_permit_expired() -> None:
    _, o, _, _ = origin_with_request()
    refuses(o, RefuseMoveOut(actor=STAFF_O, code="permit_expired", reason="过期"),
            "permit_still_valid")


# --------------------------------------------------------------------------- refusals


@pytest.mark.parametrize(("check", "code"), [
    (CheckMoveOut(actor=STAFF_O, on_register=False), "not_on_register"),
    (CheckMoveOut(actor=STAFF_O, on_register=True, legal_bar="正在服刑"), "legal_bar"),
    (RefuseMoveOut(actor=STAFF_O, code="data_mismatch", reason="信息不一致"), "data_mismatch"),
])
def test_origin_refusal_ends_the_destination_refused_by_origin(check: Command, code: str) -> None:
    d, o, _, to_dest = origin_with_request()
    o, events = run(o, check)
    [refusal] = shared(events)
    assert isinstance(refusal, MoveOutRefused) and refusal.code == code and refusal.reason
    d, _ = run(d, to_dest.receive(refusal))
    assert (DECIDER.status(d), DECIDER.status(o)) == ("refused_by_origin", "refused")
    assert ("refused_by_origin", "refused") in hh.ALLOWED_TERMINAL_PAIRS


def test_refusal_after_the_hold_releases_the_registration() -> None:
    entries = registers_with_origin_residence()
    _, o, _, _ = origin_with_request()
    o, held = run(o, CheckMoveOut(actor=STAFF_O, on_register=True))
    entries = apply_effects(entries, ORIGIN, held)
    o, refused = run(o, RefuseMoveOut(actor=STAFF_O, code="other", reason="户主不同意"))
    entries = apply_effects(entries, ORIGIN, refused)
    assert entries[(ORIGIN, PERSON, hh.SCHEME)].status == "active"


@pytest.mark.parametrize(("command", "code"), [
    (RefuseMoveOut(actor=STAFF_O, code="other", reason="  "), "reason_required"),
    (RefuseMoveOut(actor=STAFF_O, code="because", reason="x"), "invalid_refusal_code"),
    (RegisterMoveOut(actor=STAFF_O), "not_held"),
    (Approve(actor=STAFF_O), "not_applicable"),
])
def test_bad_origin_commands_are_refused_and_change_nothing(command: Command, code: str) -> None:
    _, o, _, _ = origin_with_request()
    refuses(o, command, code)


# --------------------------------------------------------------------------- withdrawal


def test_withdrawal_before_the_origin_acted_cancels_and_keeps_the_registration() -> None:
    entries = registers_with_origin_residence()
    d, o, to_origin, to_dest = origin_with_request()
    o, held = run(o, CheckMoveOut(actor=STAFF_O, on_register=True))
    entries = apply_effects(entries, ORIGIN, held)
    d, withdrawn = run(d, Withdraw(actor=APPLICANT, reason="计划有变"))
    [notice] = shared(withdrawn)
    o, cancelled = run(o, to_origin.receive(notice))
    entries = apply_effects(entries, ORIGIN, cancelled)
    assert entries[(ORIGIN, PERSON, hh.SCHEME)].status == "active"
    [confirmation] = shared(cancelled)
    d, _ = run(d, to_dest.receive(confirmation))
    assert (DECIDER.status(d), DECIDER.status(o)) == ("withdrawn", "cancelled")
    assert single_residence(entries, quiescent=True) == []


def test_withdrawal_that_overtakes_the_request_leaves_a_cancelled_origin() -> None:
    d, events = approved_destination()
    [request] = shared(events)
    d, withdrawn = run(d, Withdraw(actor=APPLICANT))
    [notice] = shared(withdrawn)
    o, tombstone = run(None, Link(DEST, ORIGIN).receive(notice, version=9))
    assert DECIDER.status(o) == "cancelled"
    assert [type(e) for e in shared(tombstone)] == [MoveOutCancellationConfirmed]
    late, nothing = run(o, Link(DEST, ORIGIN).receive(request, version=8))
    assert nothing == [] and late == o


def test_withdrawal_crossing_a_refusal_ends_withdrawn_and_refused() -> None:
    d, o, to_origin, to_dest = origin_with_request()
    o, refused = run(o, CheckMoveOut(actor=STAFF_O, on_register=False))
    d, withdrawn = run(d, Withdraw(actor=APPLICANT))
    o, ignored = run(o, to_origin.receive(shared(withdrawn)[0]))
    assert ignored == []
    d, _ = run(d, to_dest.receive(shared(refused)[0]))
    assert (DECIDER.status(d), DECIDER.status(o)) == ("withdrawn", "refused")
    assert ("withdrawn", "refused") in hh.ALLOWED_TERMINAL_PAIRS


def test_withdrawal_after_settlement_is_refused() -> None:
    refuses(settled_destination(), Withdraw(actor=APPLICANT), "case_closed")


def test_withdrawal_before_the_request_needs_no_origin() -> None:
    d, _ = run(None, submit())
    d, _ = run(d, AcceptIntake(actor=STAFF_D))
    d, events = run(d, Withdraw(actor=APPLICANT))
    assert shared(events) == [] and DECIDER.status(d) == "withdrawn"
    assert ("withdrawn", ABSENT) in hh.ALLOWED_TERMINAL_PAIRS


# --------------------------------------------------------------------------- counterpart faults


def test_a_duplicate_counterpart_event_has_no_effect() -> None:
    d, o, _, to_dest = origin_with_request()
    o, _ = run(o, CheckMoveOut(actor=STAFF_O, on_register=True))
    o, moved = run(o, RegisterMoveOut(actor=STAFF_O))
    delivery = to_dest.receive(shared(moved)[0])
    d, first = run(d, delivery)
    again, second = run(d, delivery)
    assert first and second == [] and again == d


def test_a_counterpart_event_from_another_region_needs_attention() -> None:
    d, _ = approved_destination()
    stranger = Link("610800", DEST)
    forged = MigrationCertificateIssued(at=T0, actor=STAFF_O, to_region=DEST,
                                           certificate_no="QY-x", person_key=PERSON)
    d, events = run(d, stranger.receive(forged))
    rejected, attention = events
    assert isinstance(rejected, CounterpartEventRejected) and "wrong_region" in rejected.reason
    assert isinstance(attention, NeedsAttentionRaised)
    assert DECIDER.status(d) == "needs_attention" and not DECIDER.is_terminal(d)
    assert DECIDER.summary(d).needs_attention


def test_an_unexpected_counterpart_event_needs_attention_until_resolved() -> None:
    d, _, _, to_dest = origin_with_request()
    reversal = MoveOutReversed(at=T0, actor=STAFF_O, to_region=DEST, certificate_no="QY",
                                  reason="?")
    d, _ = run(d, to_dest.receive(reversal))
    assert DECIDER.status(d) == "needs_attention"
    refuses(d, ResolveAttention(actor=STAFF_D, note=""), "note_required")
    d, _ = run(d, ResolveAttention(actor=STAFF_D, note="核实：对方系统误发"))
    assert DECIDER.status(d) == "awaiting_origin"


# --------------------------------------------------------------------------- timers


def test_waiting_for_the_origin_beyond_the_limit_escalates_then_needs_attention() -> None:
    d, events = approved_destination()
    [wait] = [e for e in events if isinstance(e, DeadlineSet)]
    assert wait.step == AWAITING_ORIGIN
    before = wait.due_at - dt.timedelta(microseconds=1)
    assert DECIDER.timers(d, before) == []
    assert DECIDER.decide(d, FlagDeadlineMissed(actor=STAFF_D, step=wait.step), before) == []
    [flag] = DECIDER.timers(d, wait.due_at)
    d, missed = run(d, flag, wait.due_at)
    assert isinstance(missed[0], DeadlineMissed) and missed[0].at >= wait.due_at
    assert DECIDER.status(d) == "awaiting_origin"
    assert DECIDER.timers(d, wait.escalate_at - dt.timedelta(microseconds=1)) == []
    [escalate] = DECIDER.timers(d, wait.escalate_at)
    assert isinstance(escalate, Escalate)
    d, escalated = run(d, escalate, wait.escalate_at)
    assert [type(e) for e in escalated] == [Escalated, NeedsAttentionRaised]
    assert DECIDER.status(d) == "needs_attention"
    assert DECIDER.next_timer(d) is None  # nothing hangs silently: a person must look
    d, resolved = run(d, ResolveAttention(actor=STAFF_D, note="已电话联系迁出地"), wait.escalate_at)
    assert any(isinstance(e, DeadlineSet) for e in resolved)  # the wait runs again
    assert DECIDER.next_timer(d) is not None


def test_the_origin_clock_for_a_configured_move_out_limit_starts_at_its_receipt() -> None:
    rules = Rules(WorkingCalendar(), RegionLimits(region=ORIGIN, limits={
        (hh.PROCESS, MOVE_OUT_STEP): Limit(2, "working_days")}))
    decider = hh.decider(rules)
    _, events = approved_destination()
    received_at = T0 + dt.timedelta(days=4)  # Friday: the request took a while to arrive
    o, receipt = run(None, Link(DEST, ORIGIN).receive(shared(events)[0]), received_at, decider)
    [limit] = [e for e in receipt if isinstance(e, DeadlineSet)]
    assert limit.step == "move_out" and limit.due_at == dt.datetime(2025, 3, 12, tzinfo=CHINA)
    assert decider.timers(o, limit.due_at - dt.timedelta(microseconds=1)) == []
    assert [c.step for c in decider.timers(o, limit.due_at)
            if isinstance(c, FlagDeadlineMissed)] == ["move_out"]
    o, _ = run(o, CheckMoveOut(actor=STAFF_O, on_register=True), received_at, decider)
    o, _ = run(o, RegisterMoveOut(actor=STAFF_O), received_at, decider)
    assert "move_out" not in o.keep.book  # the step is done: nothing to flag any more


def test_supplement_not_supplied_in_time_lapses_the_case() -> None:
    d, _ = run(None, submit())
    d, events = run(d, RequestSupplement(actor=STAFF_D, missing_kinds=("户口簿", "结婚证")))
    [wait] = [e for e in events if isinstance(e, DeadlineSet)]
    assert DECIDER.status(d) == "supplement_requested"
    assert DECIDER.timers(d, wait.due_at - dt.timedelta(microseconds=1)) == []
    assert DECIDER.decide(d, Lapse(actor=STAFF_D, step="supplement"), T0) == []  # not yet due
    [lapse] = DECIDER.timers(d, wait.due_at)
    d, lapsed = run(d, lapse, wait.due_at)
    assert DECIDER.status(d) == "lapsed"
    assert isinstance(lapsed[-1], CaseLapsed) and lapsed[-1].at >= wait.due_at


def test_a_supplement_covering_every_kind_resumes_intake() -> None:
    d, _ = run(None, submit())
    d, _ = run(d, RequestSupplement(actor=STAFF_D, missing_kinds=("户口簿",)))
    incomplete = ProvideSupplement(actor=APPLICANT, materials=())
    refuses(d, incomplete, "supplement_incomplete")
    doc = MaterialRef("d1", "0" * 64, "application/pdf", 1000, "户口簿", "户口簿")
    d, _ = run(d, ProvideSupplement(actor=APPLICANT, materials=(doc,)))
    assert DECIDER.status(d) == "submitted" and "supplement" not in d.keep.book


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(("command", "code"), [
    (submit(origin_region="150900"), "same_region"),
    (submit(origin_region="99x"), "invalid_region"),
    (submit(origin_region=None), "invalid_region"),
    (Submit(actor=STAFF_D, case_number=str(NUMBER), item_id="b2-3", process="pension_transfer",
            mode="joint", person_key=PERSON, applicant_masked="", channel="window",
            details=HouseholdDetails(ORIGIN)), "unknown_process"),
    (Submit(actor=STAFF_D, case_number=str(NUMBER), item_id="b2-3", process=hh.PROCESS,
            mode="online", person_key=PERSON, applicant_masked="", channel="window",
            details=HouseholdDetails(ORIGIN)), "invalid_mode"),
    (Submit(actor=STAFF_D, case_number="no-such-number", item_id="b2-3", process=hh.PROCESS,
            mode="joint", person_key=PERSON, applicant_masked="", channel="window",
            details=HouseholdDetails(ORIGIN)), "invalid_value"),
])
def test_a_submission_needs_a_valid_distinct_origin_region(command: Submit, code: str) -> None:
    refuses(None, command, code)


def test_a_denial_states_its_reason() -> None:
    d, _ = run(None, submit())
    d, _ = run(d, AcceptIntake(actor=STAFF_D))
    refuses(d, Deny(actor=STAFF_D, reason=" "), "reason_required")
    d, events = run(d, Deny(actor=STAFF_D, reason="不符合投靠条件"))
    assert DECIDER.status(d) == "denied" and shared(events) == []


def test_commands_of_the_wrong_side_or_time_are_refused() -> None:
    d, o, _, _ = origin_with_request()
    refuses(d, CheckMoveOut(actor=STAFF_D, on_register=True), "not_applicable")
    refuses(d, Approve(actor=STAFF_D), "not_under_review")
    refuses(o, Withdraw(actor=APPLICANT), "not_applicable")
    refuses(None, AcceptIntake(actor=STAFF_D), "not_submitted")


# --------------------------------------------------------------------------- ratings


def settled_destination() -> State:
    d, o, _, to_dest = origin_with_request()
    o, _ = run(o, CheckMoveOut(actor=STAFF_O, on_register=True))
    o, moved = run(o, RegisterMoveOut(actor=STAFF_O))
    d, _ = run(d, to_dest.receive(shared(moved)[0]))
    d, _ = run(d, Settle(actor=STAFF_D, address="集宁区新华街1号"))
    return d


def test_second_rating_for_same_case_and_region_is_refused() -> None:
    d = settled_destination()
    d, events = run(d, Rate(actor=APPLICANT, score=5))
    assert [type(e) for e in events] == [RatingGiven]
    refuses(d, Rate(actor=APPLICANT, score=1), "already_rated")


def test_a_poor_rating_opens_a_follow_up_that_staff_close_with_a_note() -> None:
    d = settled_destination()
    d, events = run(d, Rate(actor=APPLICANT, score=2, comment="跑了两趟"))
    assert isinstance(events[-1], FollowUpOpened)
    assert events[-1].due_at is not None and events[-1].due_at > T0  # 差评整改 has a deadline
    assert hh.decider(Rules(WorkingCalendar())).next_timer(d) == events[-1].due_at
    refuses(d, CloseFollowUp(actor=STAFF_D, note=""), "note_required")
    d, _ = run(d, CloseFollowUp(actor=STAFF_D, note="已回访并说明网上迁移流程"))
    refuses(d, CloseFollowUp(actor=STAFF_D, note="again"), "no_open_follow_up")


def test_ratings_are_annotations_and_never_change_a_finished_case() -> None:
    d = settled_destination()
    d, events = run(d, Rate(actor=APPLICANT, score=1))
    d, closed = run(d, CloseFollowUp(actor=STAFF_D, note="整改"))
    assert all(isinstance(e, ANNOTATIONS) for e in events + closed)
    assert DECIDER.status(d) == "settled" and DECIDER.is_terminal(d)


def test_only_a_finished_case_is_rated_and_only_at_the_destination() -> None:
    d, o, _, _ = origin_with_request()
    refuses(d, Rate(actor=APPLICANT, score=4), "not_completed")
    refuses(o, Rate(actor=APPLICANT, score=4), "rate_elsewhere")
    finished = settled_destination()
    refuses(finished, Rate(actor=APPLICANT, score=6), "invalid_score")
    refuses(finished, Rate(actor=APPLICANT, score=True), "invalid_score")
    refuses(finished, Rate(actor=APPLICANT, score=4, rated_region=ORIGIN), "unknown_rated_region")


# --------------------------------------------------------------------------- registers, wire


def test_register_effects_follow_the_move_in_order() -> None:
    kinds = {
        MoveOutApproved: "begin_move_out", MoveOutHoldReleased: "cancel_move_out",
        MovedOut: "end", RegistrationReinstated: "reinstate", HouseholdSettled: "open",
    }
    case_id = str(NUMBER.case_id)
    for cls, kind in kinds.items():
        names = {f.name for f in dataclasses.fields(cls)}
        extra = {"certificate_no": "QY-1"} if "certificate_no" in names else {}
        event = cls(at=T0, actor=STAFF_O, person_key=PERSON, scheme=hh.SCHEME, case_id=case_id,
                    **extra)
        [effect] = hh.register_effects(event)
        assert (effect.kind, effect.person_key, effect.scheme, effect.case_id) == (
            kind, PERSON, "hukou", case_id)
    assert hh.register_effects(MoveOutRefused(at=T0, actor=STAFF_O, code="x", reason="y")) == []


def test_a_second_move_of_the_same_person_is_refused_by_the_origin_register() -> None:
    entries = registers_with_origin_residence()
    held, _ = apply_register_effects(
        entries, ORIGIN, [RegisterEffect("begin_move_out", PERSON, hh.SCHEME, "case-1")], T0,
        Actor.system("register"))
    with pytest.raises(DomainError) as info:
        decide_register(held[(ORIGIN, PERSON, hh.SCHEME)],
                        RegisterEffect("begin_move_out", PERSON, hh.SCHEME, "case-2"), T0,
                        Actor.system("register"))
    assert info.value.code == "already_in_transit"


def test_single_residence_checker_sees_two_homes_and_nobody_home() -> None:
    entries = registers_with_origin_residence()
    assert single_residence(entries, quiescent=True) == []
    two = apply_effects(entries, DEST, [HouseholdSettled(
        at=T0, actor=STAFF_D, person_key=PERSON, scheme=hh.SCHEME, case_id="c",
        certificate_no="QY")])
    assert len(single_residence(two)) == 1
    held, _ = apply_register_effects(entries, ORIGIN, [
        RegisterEffect("begin_move_out", PERSON, hh.SCHEME, "c"),
        RegisterEffect("end", PERSON, hh.SCHEME, "c")], T0, Actor.system("register"))
    assert single_residence(held) == []
    assert len(single_residence(held, quiescent=True)) == 1
    assert single_residence(held, quiescent=True, in_transit={PERSON}) == []


def test_every_household_event_survives_the_payload_round_trip() -> None:
    d, o, to_origin, to_dest = origin_with_request()
    o, held = run(o, CheckMoveOut(actor=STAFF_O, on_register=True))
    o, moved = run(o, RegisterMoveOut(actor=STAFF_O))
    d, withdrawn = run(d, Withdraw(actor=APPLICANT))
    d, got = run(d, to_dest.receive(shared(moved)[0]))
    o, reversed_ = run(o, to_origin.receive(shared(withdrawn)[0]))
    for event in [*held, *moved, *withdrawn, *got, *reversed_]:
        assert event_from_payload(event.TYPE, to_payload(event)) == event
    wire = {type(e) for e in [*moved, *withdrawn, *reversed_] if e.to_region}
    assert all(cls.WIRE for cls in wire)
    assert not any(type(e).WIRE for e in held)
    assert isinstance(withdrawn[0], ApplicationWithdrawn)
