"""Online (全程网办) and proxy (异地代收代办) applications, ratings, follow-ups: a test per rule."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

import pytest

from domain.calendar import WorkingCalendar
from domain.deadlines import (
    DeadlineMissed,
    DeadlinePaused,
    DeadlineSet,
    Escalated,
    FlagDeadlineMissed,
)
from domain.kernel import (
    Actor,
    Command,
    Event,
    EventRef,
    NeedsAttentionRaised,
    Receive,
    event_from_payload,
    to_payload,
)
from domain.limits import Rules
from domain.protocols import application as app
from domain.protocols.application_events import (
    ApplicationForwarded,
    Approve,
    DeliverResult,
    Deny,
    HandlingSupplementRequested,
    SendResult,
    VerifyAndForward,
)
from domain.protocols.application_states import RECEIVING_WAIT
from domain.protocols.casework import ABSENT
from domain.protocols.casework_events import (
    ANNOTATIONS,
    CloseFollowUp,
    FollowUpOpened,
    Rate,
    RatingGiven,
    RatingReceived,
    ResolveAttention,
)
from domain.protocols.details import ApplicationDetails, NoDetails
from domain.protocols.intake import (
    AcceptIntake,
    CaseLapsed,
    ProvideSupplement,
    RejectIntake,
    RequestSupplement,
    Submit,
    Withdraw,
)
from domain.settling import execute
from domain.statutes import Limit, RegionLimits
from domain.values import CaseNumber, MaterialRef, RegionCode
from tests.fixtures.sides import Link, assert_refused, shared

#: A region that configured its own intake and decision limits (no statute gives them).
RULES = Rules(WorkingCalendar(), RegionLimits(limits={
    ("single_region_approval", "intake"): Limit(5, "working_days"),
    ("single_region_approval", "decision"): Limit(10, "working_days"),
}))
DECIDER = app.decider(RULES)
HOME, AWAY = "150600", "610800"  # 鄂尔多斯 (receiving) — 榆林 (handling)
T0 = dt.datetime(2025, 3, 3, 1, 0, tzinfo=dt.UTC)  # Monday 09:00 in Shanghai
NUMBER = CaseNumber.new(RegionCode(HOME), T0.date(), uuid.UUID(int=0xBEEF))
PERSON = "b2" * 32
APPLICANT = Actor("applicant", "b2b2", HOME)
WINDOW = Actor("staff", "window-1", HOME, "窗口", "W1")
HANDLER = Actor("staff", "dept-1", AWAY, "审批", "")
State = Any


def doc(kind: str) -> MaterialRef:
    return MaterialRef(f"doc-{kind}", "f" * 64, "application/pdf", 2048, kind, kind)


def submit(mode: str = "online", process: str = "single_region_approval",
           **details: Any) -> Submit:
    return Submit(actor=APPLICANT if mode == "online" else WINDOW, case_number=str(NUMBER),
                  item_id="b2-40", process=process, mode=mode, person_key=PERSON,
                  applicant_masked="1506**********001X", channel="online" if mode == "online"
                  else "window", materials=(doc("申请表"),),
                  details=ApplicationDetails(**details) if details else NoDetails())


def run(state: State, command: Command, now: dt.datetime = T0) -> tuple[State, list[Event]]:
    return execute(DECIDER, state, command, now)


def refuses(state: State, command: Command, code: str, now: dt.datetime = T0) -> None:
    assert_refused(DECIDER, state, command, code, now)


class Proxy:
    """Both sides of one proxy case and the two links between them."""

    def __init__(self) -> None:
        self.r, _ = run(None, submit("proxy", handling_region=AWAY))
        self.h: State = None
        self.to_h, self.to_r = Link(HOME, AWAY), Link(AWAY, HOME)

    def at_r(self, command: Command, now: dt.datetime = T0) -> list[Event]:
        self.r, events = run(self.r, command, now)
        return events

    def at_h(self, command: Command, now: dt.datetime = T0) -> list[Event]:
        self.h, events = run(self.h, command, now)
        return events

    def to_handler(self, events: Sequence[Event], now: dt.datetime = T0) -> list[Event]:
        out: list[Event] = []
        for e in shared(events):
            out += self.at_h(self.to_h.receive(e), now)
        return out

    def to_receiver(self, events: Sequence[Event], now: dt.datetime = T0) -> list[Event]:
        out: list[Event] = []
        for e in shared(events):
            out += self.at_r(self.to_r.receive(e), now)
        return out

    def forwarded(self) -> Proxy:
        self.to_handler(self.at_r(VerifyAndForward(actor=WINDOW, identity_verified=True)))
        return self

    def statuses(self) -> tuple[str, str]:
        return (DECIDER.status(self.r),
                DECIDER.status(self.h) if self.h is not None else ABSENT)


def online_under_review() -> State:
    s, _ = run(None, submit())
    s, _ = run(s, AcceptIntake(actor=WINDOW))
    return s


def online_completed() -> State:
    s, _ = run(online_under_review(), Approve(actor=WINDOW, result=(doc("电子证照"),)))
    s, _ = run(s, DeliverResult(actor=WINDOW, channel="online"))
    return s


# --------------------------------------------------------------------------- online


def test_online_application_completes_after_approval_and_delivery() -> None:
    s, _ = run(online_under_review(), Approve(actor=WINDOW, result=(doc("电子证照"),)))
    assert DECIDER.status(s) == "approved"
    s, events = run(s, DeliverResult(actor=WINDOW, channel="post", tracking_no="EMS123"))
    assert [e.TYPE for e in events] == ["ResultDelivered", "CaseCompleted"]
    assert DECIDER.status(s) == "completed" and DECIDER.is_terminal(s)
    assert (DECIDER.status(s), ABSENT) in app.ALLOWED_TERMINAL_PAIRS
    summary = DECIDER.summary(s)
    assert (summary.role, summary.region, summary.process) == ("single", HOME,
                                                               "single_region_approval")


def test_intake_rejection_and_denial_state_their_reason() -> None:
    s, _ = run(None, submit())
    refuses(s, RejectIntake(actor=WINDOW, reason="  "), "reason_required")
    rejected, _ = run(s, RejectIntake(actor=WINDOW, reason="不属于受理范围"))
    assert DECIDER.status(rejected) == "rejected"
    reviewing = online_under_review()
    refuses(reviewing, Deny(actor=WINDOW, reason=""), "reason_required")
    denied, _ = run(reviewing, Deny(actor=WINDOW, reason="不符合法定条件"))
    assert DECIDER.status(denied) == "denied"


def test_supplement_request_lists_everything_at_once_and_only_once() -> None:
    s, _ = run(None, submit())
    refuses(s, RequestSupplement(actor=WINDOW, missing_kinds=()), "invalid_value")
    s, _ = run(s, RequestSupplement(actor=WINDOW, missing_kinds=("户口簿", "照片")))
    refuses(s, ProvideSupplement(actor=APPLICANT, materials=(doc("户口簿"),)),
            "supplement_incomplete")
    s, _ = run(s, ProvideSupplement(actor=APPLICANT, materials=(doc("户口簿"), doc("照片"))))
    assert DECIDER.status(s) == "submitted"
    refuses(s, RequestSupplement(actor=WINDOW, missing_kinds=("结婚证",)),
            "supplement_already_requested")


def test_the_intake_clock_stops_while_waiting_for_the_supplement() -> None:
    s, submitted = run(None, submit())
    [_intake] = [e for e in submitted if isinstance(e, DeadlineSet) and e.step == "intake"]
    two_days_later = T0 + dt.timedelta(days=2)  # Wednesday: 3 of 5 working days left
    s, asked = run(s, RequestSupplement(actor=WINDOW, missing_kinds=("户口簿",)), two_days_later)
    [paused] = [e for e in asked if isinstance(e, DeadlinePaused)]
    assert paused.remaining_days == 3
    assert "intake" not in s.keep.book
    much_later = T0 + dt.timedelta(days=20)
    s, supplied = run(s, ProvideSupplement(actor=APPLICANT, materials=(doc("户口簿"),)),
                      much_later)
    [resumed] = [e for e in supplied if isinstance(e, DeadlineSet)]
    assert resumed.step == "intake" and resumed.due_at > much_later
    assert RULES.remaining_days("single_region_approval", "intake", resumed.due_at,
                                much_later) == 3


def test_supplement_not_supplied_in_time_lapses_the_case() -> None:
    s, _ = run(None, submit())
    s, asked = run(s, RequestSupplement(actor=WINDOW, missing_kinds=("户口簿",)))
    [wait] = [e for e in asked if isinstance(e, DeadlineSet) and e.step == "supplement"]
    assert DECIDER.timers(s, wait.due_at - dt.timedelta(microseconds=1)) == []
    [lapse] = DECIDER.timers(s, wait.due_at)
    s, events = run(s, lapse, wait.due_at)
    assert isinstance(events[-1], CaseLapsed) and events[-1].at >= wait.due_at
    assert DECIDER.status(s) == "lapsed"


def test_decision_deadline_is_flagged_when_passed_and_never_early() -> None:
    s, accepted = run(None, submit())
    s, accepted = run(s, AcceptIntake(actor=WINDOW))
    [decision] = [e for e in accepted if isinstance(e, DeadlineSet)]
    assert decision.step == "decision"
    early = decision.due_at - dt.timedelta(microseconds=1)
    assert DECIDER.timers(s, early) == []
    assert DECIDER.decide(s, FlagDeadlineMissed(actor=WINDOW, step="decision"), early) == []
    [flag] = DECIDER.timers(s, decision.due_at)
    s, missed = run(s, flag, decision.due_at)
    assert isinstance(missed[0], DeadlineMissed)
    [escalate] = DECIDER.timers(s, decision.escalate_at)
    s, escalated = run(s, escalate, decision.escalate_at)
    assert [type(e) for e in escalated] == [Escalated]  # overdue, but no counterpart is missing
    assert DECIDER.status(s) == "under_review"


def test_withdrawal_is_possible_only_before_the_decision() -> None:
    s, events = run(online_under_review(), Withdraw(actor=APPLICANT, reason="不再需要"))
    assert DECIDER.status(s) == "withdrawn" and shared(events) == []
    approved, _ = run(online_under_review(), Approve(actor=WINDOW))
    refuses(approved, Withdraw(actor=APPLICANT), "already_decided")
    refuses(online_completed(), Withdraw(actor=APPLICANT), "case_closed")


def test_a_result_by_post_needs_its_tracking_number() -> None:
    approved, _ = run(online_under_review(), Approve(actor=WINDOW))
    refuses(approved, DeliverResult(actor=WINDOW, channel="post"), "tracking_no_required")
    refuses(approved, DeliverResult(actor=WINDOW, channel="window"), "invalid_channel")


@pytest.mark.parametrize(("command", "code"), [
    (submit(process="pension_transfer"), "unknown_process"),
    (submit(mode="together"), "invalid_mode"),
    (submit(mode="joint"), "invalid_details"),  # joint names its partner region
    (submit(mode="proxy"), "invalid_details"),
    (submit(mode="proxy", handling_region=HOME), "same_region"),
    (submit(mode="proxy", handling_region="000000"), "invalid_region"),
])
def test_an_application_this_protocol_cannot_run_is_refused(command: Submit, code: str) -> None:
    refuses(None, command, code)


# --------------------------------------------------------------------------- proxy


def test_proxy_window_forwards_after_identity_check_and_the_handler_decides() -> None:
    p = Proxy()
    forwarded = p.at_r(VerifyAndForward(actor=WINDOW, identity_verified=True))
    [message] = shared(forwarded)
    assert isinstance(message, ApplicationForwarded) and message.to_region == AWAY
    assert message.materials == (doc("申请表"),) and message.facts.person_key == PERSON
    p.to_handler(forwarded)
    assert p.statuses() == ("forwarded", "submitted")
    assert DECIDER.summary(p.h).role == "handling" and DECIDER.summary(p.h).region == AWAY
    p.to_receiver(p.at_h(AcceptIntake(actor=HANDLER)))
    assert p.statuses() == ("under_review", "under_review")
    p.to_receiver(p.at_h(Approve(actor=HANDLER, result=(doc("电子证照"),))))
    assert p.statuses() == ("awaiting_result", "approved")
    p.to_receiver(p.at_h(SendResult(actor=HANDLER, channel="online")))
    assert p.statuses() == ("result_received", "result_sent")
    assert p.r.result == (doc("电子证照"),)
    p.to_handler(p.at_r(DeliverResult(actor=WINDOW, channel="window")))
    assert p.statuses() == ("completed", "completed")
    assert p.statuses() in app.ALLOWED_TERMINAL_PAIRS


def test_identity_check_failure_refuses_at_the_window_without_forwarding() -> None:
    p = Proxy()
    events = p.at_r(VerifyAndForward(actor=WINDOW, identity_verified=False, note="人证不符"))
    assert shared(events) == [] and p.statuses() == ("rejected", ABSENT)
    assert p.statuses() in app.ALLOWED_TERMINAL_PAIRS


@pytest.mark.parametrize("command", [
    AcceptIntake(actor=WINDOW), RejectIntake(actor=WINDOW, reason="x"),
    RequestSupplement(actor=WINDOW, missing_kinds=("照片",)), Approve(actor=WINDOW),
    Deny(actor=WINDOW, reason="x"),
])
def test_the_receiving_window_does_not_decide(command: Command) -> None:
    refuses(Proxy().forwarded().r, command, "handled_elsewhere")


def test_the_handler_asks_for_the_supplement_and_the_window_forwards_it() -> None:
    p = Proxy().forwarded()
    asked = p.at_h(RequestSupplement(actor=HANDLER, missing_kinds=("户口簿", "照片")))
    [notice] = shared(asked)
    assert isinstance(notice, HandlingSupplementRequested)
    [wait] = [e for e in asked if isinstance(e, DeadlineSet) and e.step == "supplement"]
    assert notice.due_at == wait.due_at  # the handler's deadline, never recomputed
    p.to_receiver(asked)
    assert p.statuses() == ("supplement_requested", "supplement_requested")
    refuses(p.r, ProvideSupplement(actor=APPLICANT, materials=(doc("照片"),)),
            "supplement_incomplete")
    refuses(p.h, ProvideSupplement(actor=APPLICANT, materials=(doc("照片"),)),
            "handled_elsewhere")
    supplied = p.at_r(ProvideSupplement(actor=APPLICANT, materials=(doc("户口簿"), doc("照片"))))
    p.to_handler(supplied)
    assert p.statuses() == ("forwarded", "submitted")
    assert {m.kind for m in p.h.intake.materials} == {"申请表", "户口簿", "照片"}


def test_the_handler_lapses_the_supplement_and_a_late_supplement_is_ignored() -> None:
    p = Proxy().forwarded()
    asked = p.at_h(RequestSupplement(actor=HANDLER, missing_kinds=("照片",)))
    p.to_receiver(asked)
    [wait] = [e for e in asked if isinstance(e, DeadlineSet) and e.step == "supplement"]
    supplied = p.at_r(ProvideSupplement(actor=APPLICANT, materials=(doc("照片"),)))
    [lapse] = DECIDER.timers(p.h, wait.due_at)
    lapsed = p.at_h(lapse, wait.due_at)
    assert p.to_handler(supplied, wait.due_at) == []  # crossed the lapse: no effect
    p.to_receiver(lapsed, wait.due_at)
    assert p.statuses() == ("lapsed", "lapsed")
    assert DECIDER.timers(p.r, wait.due_at) == []  # only the handler decides a lapse


def test_withdrawal_reaching_the_handler_before_its_decision_withdraws_both_sides() -> None:
    p = Proxy().forwarded()
    p.to_receiver(p.at_h(AcceptIntake(actor=HANDLER)))
    withdrawn = p.at_r(Withdraw(actor=APPLICANT, reason="改为线下办理"))
    assert p.statuses() == ("withdrawing", "under_review")
    p.to_receiver(p.to_handler(withdrawn))
    assert p.statuses() == ("withdrawn", "withdrawn")


def test_withdrawal_crossing_the_decision_loses_and_the_case_completes() -> None:
    p = Proxy().forwarded()
    p.to_receiver(p.at_h(AcceptIntake(actor=HANDLER)))
    approved = p.at_h(Approve(actor=HANDLER))
    withdrawn = p.at_r(Withdraw(actor=APPLICANT))
    assert p.to_handler(withdrawn) == []  # the decision is on its way
    p.to_receiver(approved)
    assert p.statuses() == ("awaiting_result", "approved")
    p.to_receiver(p.at_h(SendResult(actor=HANDLER, channel="post", tracking_no="EMS9")))
    p.to_handler(p.at_r(DeliverResult(actor=WINDOW, channel="window")))
    assert p.statuses() == ("completed", "completed")


def test_withdrawal_crossing_a_denial_ends_denied_on_both_sides() -> None:
    p = Proxy().forwarded()
    p.to_receiver(p.at_h(AcceptIntake(actor=HANDLER)))
    denied = p.at_h(Deny(actor=HANDLER, reason="不符合法定条件"))
    withdrawn = p.at_r(Withdraw(actor=APPLICANT))
    p.to_handler(withdrawn)
    p.to_receiver(denied)
    assert p.statuses() == ("denied", "denied")


def test_withdrawal_overtaking_the_application_leaves_a_withdrawn_handling_side() -> None:
    p = Proxy()
    forwarded = p.at_r(VerifyAndForward(actor=WINDOW, identity_verified=True))
    withdrawn = p.at_r(Withdraw(actor=APPLICANT))
    confirmation = p.to_handler(withdrawn)  # arrives first
    assert DECIDER.status(p.h) == "withdrawn"
    assert p.to_handler(forwarded) == []  # the late application is ignored
    p.to_receiver(confirmation)
    assert p.statuses() == ("withdrawn", "withdrawn")


def test_waiting_for_the_handler_beyond_the_limit_escalates_then_needs_attention() -> None:
    p = Proxy()
    forwarded = p.at_r(VerifyAndForward(actor=WINDOW, identity_verified=True))
    [wait] = [e for e in forwarded if isinstance(e, DeadlineSet)]
    assert wait.step == RECEIVING_WAIT
    assert DECIDER.timers(p.r, wait.due_at - dt.timedelta(microseconds=1)) == []
    p.at_r(DECIDER.timers(p.r, wait.due_at)[0], wait.due_at)
    [escalate] = DECIDER.timers(p.r, wait.escalate_at)
    escalated = p.at_r(escalate, wait.escalate_at)
    assert isinstance(escalated[-1], NeedsAttentionRaised)
    assert DECIDER.status(p.r) == "needs_attention"
    p.at_r(ResolveAttention(actor=WINDOW, note="已联系办理地"), wait.escalate_at)
    assert DECIDER.status(p.r) == "forwarded"


def test_the_handling_side_takes_no_applicant_commands() -> None:
    p = Proxy().forwarded()
    refuses(p.h, Withdraw(actor=APPLICANT), "handled_elsewhere")
    p.to_receiver(p.at_h(RejectIntake(actor=HANDLER, reason="不属于本地事权")))
    assert p.statuses() == ("rejected", "rejected")
    refuses(p.h, Rate(actor=APPLICANT, score=5), "rate_elsewhere")


def test_a_duplicate_or_misdirected_counterpart_event_has_no_effect() -> None:
    p = Proxy().forwarded()
    accepted = shared(p.at_h(AcceptIntake(actor=HANDLER)))[0]
    delivery = p.to_r.receive(accepted)
    p.r, first = run(p.r, delivery)
    again, second = run(p.r, delivery)
    assert first and second == [] and again == p.r
    stray = Receive(actor=WINDOW, event=accepted, from_region="640100",
                    ref=EventRef("side-640100", 1))
    refuses(p.r, stray, "wrong_region")


# --------------------------------------------------------------------------- ratings


def completed_proxy() -> Proxy:
    p = Proxy().forwarded()
    p.to_receiver(p.at_h(AcceptIntake(actor=HANDLER)))
    p.to_receiver(p.at_h(Approve(actor=HANDLER)))
    p.to_receiver(p.at_h(SendResult(actor=HANDLER, channel="online")))
    p.to_handler(p.at_r(DeliverResult(actor=WINDOW, channel="online")))
    assert p.statuses() == ("completed", "completed")
    return p


def test_second_rating_for_same_case_and_region_is_refused() -> None:
    s, _ = run(online_completed(), Rate(actor=APPLICANT, score=4))
    refuses(s, Rate(actor=APPLICANT, score=5), "already_rated")
    p = completed_proxy()
    p.to_handler(p.at_r(Rate(actor=APPLICANT, score=5)))  # rates the handling region
    refuses(p.r, Rate(actor=APPLICANT, score=3, rated_region=AWAY), "already_rated")
    window_rated = p.at_r(Rate(actor=APPLICANT, score=5, rated_region=HOME))  # the window: once
    assert shared(window_rated) == []
    refuses(p.r, Rate(actor=APPLICANT, score=5, rated_region=HOME), "already_rated")


def test_a_rating_of_the_handling_region_reaches_it_and_a_poor_one_opens_its_follow_up() -> None:
    p = completed_proxy()
    given = p.at_r(Rate(actor=APPLICANT, score=1, comment="等太久"))
    [rating] = shared(given)
    assert isinstance(rating, RatingGiven) and rating.rated_region == AWAY
    assert not any(isinstance(e, FollowUpOpened) for e in given)  # not the window's to follow
    received = p.to_handler(given)
    assert [type(e) for e in received] == [RatingReceived, FollowUpOpened]
    refuses(p.h, CloseFollowUp(actor=HANDLER, note=" "), "note_required")
    p.at_h(CloseFollowUp(actor=HANDLER, note="已回访，压缩审批环节"))
    refuses(p.h, CloseFollowUp(actor=HANDLER, note="again"), "no_open_follow_up")
    assert p.statuses() == ("completed", "completed")


def test_a_good_rating_opens_no_follow_up() -> None:
    s, events = run(online_completed(), Rate(actor=APPLICANT, score=3))
    assert [type(e) for e in events] == [RatingGiven]
    refuses(s, CloseFollowUp(actor=WINDOW, note="x"), "no_open_follow_up")


@pytest.mark.parametrize("score", [0, 6, -1, True, 4.5, "5"])
def test_a_rating_is_a_whole_score_from_1_to_5(score: Any) -> None:
    refuses(online_completed(), Rate(actor=APPLICANT, score=score), "invalid_score")


def test_a_case_is_rated_only_once_finished_and_only_for_regions_that_took_part() -> None:
    refuses(online_under_review(), Rate(actor=APPLICANT, score=5), "not_completed")
    refuses(online_completed(), Rate(actor=APPLICANT, score=5, rated_region=AWAY),
            "unknown_rated_region")


def test_ratings_and_follow_ups_after_completion_are_annotations_not_transitions() -> None:
    s, rated = run(online_completed(), Rate(actor=APPLICANT, score=2))
    s, closed = run(s, CloseFollowUp(actor=WINDOW, note="整改完成"))
    assert all(isinstance(e, ANNOTATIONS) for e in rated + closed)
    assert DECIDER.status(s) == "completed" and DECIDER.is_terminal(s)
    assert DECIDER.timers(s, T0 + dt.timedelta(days=400)) == []


# --------------------------------------------------------------------------- registers, wire


def test_every_catalogue_item_offered_online_or_by_proxy_has_this_protocol() -> None:
    from domain.catalogue.loader import load_catalogue

    offered = {item.process for item in load_catalogue().items
               if {"online", "proxy"} & set(item.modes)}
    assert offered <= set(app.PROCESSES), sorted(offered - set(app.PROCESSES))


def test_applications_change_no_register() -> None:
    _, events = run(None, submit())
    assert all(app.register_effects(e) == [] for e in events)


def test_every_application_event_survives_the_payload_round_trip() -> None:
    p = Proxy()
    log = p.at_r(VerifyAndForward(actor=WINDOW, identity_verified=True))
    log += p.to_handler(log)
    asked = p.at_h(RequestSupplement(actor=HANDLER, missing_kinds=("照片",)))
    log += asked + p.to_receiver(asked)
    supplied = p.at_r(ProvideSupplement(actor=APPLICANT, materials=(doc("照片"),)))
    log += supplied + p.to_handler(supplied)
    for command in (AcceptIntake(actor=HANDLER), Approve(actor=HANDLER, result=(doc("证"),)),
                    SendResult(actor=HANDLER, channel="post", tracking_no="EMS1")):
        produced = p.at_h(command)
        log += produced + p.to_receiver(produced)
    done = p.at_r(DeliverResult(actor=WINDOW, channel="window"))
    log += done + p.to_handler(done)
    rated = p.at_r(Rate(actor=APPLICANT, score=1))
    log += rated + p.to_handler(rated)
    for event in log:
        assert event_from_payload(event.TYPE, to_payload(event)) == event, event.TYPE
    assert all(type(e).WIRE for e in log if e.to_region)
