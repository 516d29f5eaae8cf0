"""Property suite: online, proxy, joint and local applications under faulty delivery and skewed
clocks.

Each example prepares one application — online, or proxy between a receiving window and a
handling region — at some stage, then interleaves window staff, handling staff, the applicant
(supplements, withdrawals, ratings), the network (link order, reordering within a link,
re-delivery of recorded events), timers and time, each region on its own clock. After every
step: only legal phase changes, nothing but annotations after a terminal state, deadlines and
lapses never early, no withdrawal after a decision, the window completes only with the
handler's result, one rating per case and rated region and only once the case is finished, a
follow-up only for a poor rating, no step twice, allowed terminal pairs; the window forwards
only what its guide's list finds complete (一次性告知 first), the handler accepts only once the
posted originals arrived, acceptance is deemed only when the 5 working days are over, and a
joint case's accepting side decides only on its partner's answer. After the drain: every
side is terminal or explicitly needs attention, in an allowed pair. Broken variants at the end
prove the property can fail.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from domain import invariants as inv
from domain.deadlines import DeadlineSet, FlagDeadlineMissed
from domain.kernel import Actor, Command, Event, Receive
from domain.protocols import PROTOCOLS
from domain.protocols import application as app
from domain.protocols.application_events import (
    AcceptanceDeemed,
    ApplicationApproved,
    ApplicationDenied,
    ApplicationForwarded,
    Approve,
    CaseCompleted,
    HandlingNoticeReceived,
    HandlingWithdrawalConfirmed,
    SendResult,
    VerifyAndForward,
    WithdrawalForwarded,
)
from domain.protocols.application_states import ApplicationSide
from domain.protocols.casework import ABSENT, POOR_RATING, receive_rating, start_step
from domain.protocols.casework_events import FollowUpOpened, RatingGiven, RatingReceived
from domain.protocols.details import ApplicationDetails, Details, JointDetails, NoDetails
from domain.protocols.intake import (
    AcceptIntake,
    ApplicationWithdrawn,
    CaseLapsed,
    IntakeAccepted,
    RequestSupplement,
    Submit,
)
from domain.values import CaseNumber, MaterialRef, RegionCode
from tests.fixtures.world import REGION_RULES, START, World, assert_clean, step, with_decider

HOME, AWAY = "150600", "610800"  # 鄂尔多斯 receives, 榆林 handles
PERSON = "d4" * 32
PROCESS = "single_region_approval"
DECIDER = app.decider(REGION_RULES)


# =========================================================================== rules


def application_safety(world: World, *, at_rest: bool = False) -> list[str]:
    found = world.phase_safety()
    found += _pairs(world, at_rest=at_rest)
    found += _ratings(world)
    for side in world.live_sides():
        found += _side_rules(side)
    if at_rest:
        found += [str(v) for v in inv.liveness(world.summaries())]
    return found


def _pairs(world: World, *, at_rest: bool) -> list[str]:
    """(accepting side, handling side or absent) is allowed once both ended."""
    found: list[str] = []
    cases: dict[str, dict[str, Any]] = {}
    for side in world.live_sides():
        cases.setdefault(side.case_id, {})[side.state.role] = side.state
    for case, roles in sorted(cases.items()):
        accepting = roles.get("single") or roles.get("receiving") or roles.get("accepting")
        handling = roles.get("handling") or roles.get("partner")
        if accepting is None or not accepting.terminal:
            continue
        if handling is not None and not handling.terminal:
            if at_rest and not handling.keep.attention:
                found.append(f"{case}: handling side still {handling.phase} at rest")
            continue
        pair = (accepting.phase, handling.phase if handling is not None else ABSENT)
        if pair not in app.ALLOWED_TERMINAL_PAIRS:
            found.append(f"{case}: terminal pair {pair} is not allowed")
    return found


def _ratings(world: World) -> list[str]:
    """One rating per case and rated region, recorded once where it is kept."""
    found: list[str] = []
    given_: Counter[tuple[str, str]] = Counter()
    for side in world.live_sides():
        for e in side.events:
            if isinstance(e, RatingGiven):
                given_[(side.case_id, e.rated_region)] += 1
        received = [e for e in side.events if isinstance(e, RatingReceived)]
        if len(received) > 1:
            found.append(f"{side.region}: recorded {len(received)} ratings of itself")
    found += [f"{case}: region {region} rated {n} times"
              for (case, region), n in sorted(given_.items()) if n > 1]
    return found


def _side_rules(side: Any) -> list[str]:
    found: list[str] = []
    decided = ended = result_in = False
    supplement_due: dt.datetime | None = None
    poor: set[str] = set()
    state: Any = None
    notice_due: dt.datetime | None = None
    for e in side.events:
        before, state = state, DECIDER.evolve(state, e)
        if isinstance(e, DeadlineSet) and e.step == "acceptance_notice":
            notice_due = e.due_at
        if isinstance(e, AcceptanceDeemed) and (notice_due is None or e.at < notice_due
                                                or e.due_at != notice_due):
            found.append(f"{side.region}: acceptance deemed at {e.at}, due {notice_due}")
        if isinstance(e, ApplicationForwarded):
            have = {m.kind for m in e.materials}
            missing = set(before.intake.submitted.required) - have
            if missing:
                found.append(f"{side.region}: forwarded without {sorted(missing)}")
        if isinstance(e, IntakeAccepted) and before is not None and before.originals_pending:
            found.append(f"{side.region}: accepted before the originals "
                         f"{before.originals_pending} arrived")
        if (isinstance(e, ApplicationApproved) and before is not None
                and before.role == "accepting" and (not before.requested or before.declined)):
            found.append(f"{side.region}: a joint case approved without its partner's part")
        notice = e.notice if isinstance(e, HandlingNoticeReceived) else ""
        decided = decided or isinstance(e, (ApplicationApproved, ApplicationDenied)) or (
            notice in ("HandlingApproved", "HandlingDenied", "HandlingResultSent"))
        result_in = result_in or notice == "HandlingResultSent"
        if isinstance(e, ApplicationWithdrawn) and decided:
            found.append(f"{side.region}: withdrawn after the decision")
        elif isinstance(e, CaseCompleted) and state.role == "receiving" and not result_in:
            found.append(f"{side.region}: the window completed without the handler's result")
        elif isinstance(e, DeadlineSet) and e.step == "supplement":
            supplement_due = e.due_at
        elif isinstance(e, CaseLapsed) and (supplement_due is None or e.at < supplement_due):
            found.append(f"{side.region}: lapsed at {e.at}, before {supplement_due}")
        elif isinstance(e, RatingGiven):
            if not ended:
                found.append(f"{side.region}: rated before the case was finished")
            if e.score <= POOR_RATING:
                poor.add(e.rated_region)
        elif isinstance(e, RatingReceived) and e.score <= POOR_RATING:
            poor.add(e.rated_region)
        elif isinstance(e, FollowUpOpened) and e.rated_region not in poor:
            found.append(f"{side.region}: a follow-up without a poor rating")
        ended = ended or state.terminal
    return found


# =========================================================================== scenarios

MODES = ("online", "proxy", "joint", "local")
#: Where a run starts, in the order `start_application` reaches them.
STAGES = ("submitted", "forwarded", "supplement_requested", "under_review", "approved",
          "result_sent")
#: The same, race-rich stages first (Hypothesis favours early choices).
DRAWN_STAGES = ("approved", "supplement_requested", "under_review", "result_sent", "forwarded",
                "submitted")


def start_application(world: World, mode: str, stage: str) -> str:
    case = str(CaseNumber.new(RegionCode(HOME), START.date(), uuid.UUID(int=4242)))
    window = Actor("staff", "window-1", HOME, "窗口", "W1")
    handler = Actor("staff", "dept-1", AWAY, "审批", "")
    accepting = world.side(case, HOME, PROCESS)
    form = MaterialRef("doc-form", "e" * 64, "application/pdf", 4096, "申请表", "申请表")
    details: Details = NoDetails()
    if mode == "proxy":
        details = ApplicationDetails(AWAY)
    elif mode == "joint":
        details = JointDetails(AWAY)
    # From the start, the guide asks for a paper original the applicant did not bring.
    required = ("申请表", "居民身份证") if stage == "submitted" else ()
    assert world.execute(accepting, Submit(
        actor=window, case_number=case, item_id="b2-40", process=PROCESS,
        mode=mode, person_key=PERSON, applicant_masked="1506**********002X", channel="window",
        materials=(form,), details=details, required=required))
    if stage == "submitted":
        return case
    deciding = accepting
    if mode == "joint":  # the partner's part is the world's to deliver and give
        command = (RequestSupplement(actor=handler, missing_kinds=("照片",))
                   if stage == "supplement_requested" else AcceptIntake(actor=window))
        assert world.execute(accepting, command)
        world.run_policies()
        return case
    if mode == "proxy":
        assert world.execute(accepting, VerifyAndForward(actor=window, identity_verified=True))
        world.deliver(world.in_order()[0])
        deciding = world.sides[(case, AWAY)]
    if stage == "supplement_requested":
        assert world.execute(deciding, RequestSupplement(actor=handler, missing_kinds=("照片",)))
        world.run_policies()
        return case
    script: list[Command] = [AcceptIntake(actor=handler), Approve(actor=handler),
                             SendResult(actor=handler, channel="online")]
    for command, reached in zip(script, ("under_review", "approved", "result_sent"), strict=True):
        if STAGES.index(stage) < STAGES.index(reached) or (
                mode in ("online", "local") and isinstance(command, SendResult)):
            break
        assert world.execute(deciding, command)
    return case


def new_world(decider: Any, data: st.DataObject) -> World:
    skew = data.draw(st.lists(st.integers(-36, 36), min_size=2, max_size=2), label="skew")
    return World({PROCESS: with_decider(PROTOCOLS[PROCESS], decider)},
                 random.Random(data.draw(st.integers(0, 2**32 - 1), label="seed")), REGION_RULES,
                 {HOME: dt.timedelta(hours=skew[0]), AWAY: dt.timedelta(hours=skew[1])})


def explore(decider: Any, data: st.DataObject, *, modes: tuple[str, ...] = MODES,
            stages: tuple[str, ...] = DRAWN_STAGES, max_steps: int = 40) -> World:
    world = new_world(decider, data)
    world.applicant_returns = data.draw(st.booleans(), label="applicant returns")
    start_application(world, data.draw(st.sampled_from(modes), label="mode"),
                      data.draw(st.sampled_from(stages), label="stage"))
    assert_clean(application_safety(world))
    for _ in range(data.draw(st.integers(1, max_steps), label="steps")):
        step(world, data)
        world.run_policies()
        assert_clean(application_safety(world))
    world.drain()
    assert_clean(application_safety(world, at_rest=True))
    return world


def application_property(decider: Any, *, modes: tuple[str, ...] = MODES,
                         stages: tuple[str, ...] = DRAWN_STAGES,
                         **overrides: Any) -> Callable[[], None]:
    """The Hypothesis test of `explore` (real or broken decider; optionally fewer scenarios)."""

    @settings(deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                    HealthCheck.data_too_large], **overrides)
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        explore(decider, data, modes=modes, stages=stages)

    return run


def test_online_and_proxy_applications_keep_every_invariant_under_faulty_delivery() -> None:
    application_property(DECIDER)()


# =========================================================================== it can fail


@dataclass(frozen=True)
class HandlerHonoursLateWithdrawal(app.ApplicationDecider):
    """Broken: the handling region withdraws a case it has already decided."""

    def _handling_receives(self, side: ApplicationSide, command: Receive,
                           now: dt.datetime) -> list[Event]:
        if isinstance(command.event, WithdrawalForwarded) and side.phase == "approved":
            return [ApplicationWithdrawn(at=now, actor=command.actor),
                    HandlingWithdrawalConfirmed(at=now, actor=command.actor,
                                                    to_region=command.from_region)]
        return super()._handling_receives(side, command, now)


@dataclass(frozen=True)
class RecordsRedeliveredRating(app.ApplicationDecider):
    """Broken: the rated region records a re-delivered rating again (a second rating)."""

    def decide(self, state: ApplicationSide | None, command: Command,
               now: dt.datetime) -> list[Event]:
        if (state is not None and isinstance(command, Receive)
                and isinstance(command.event, RatingGiven)):
            return receive_rating(replace(state.keep, rated=()), command, state.region, now)
        return super().decide(state, command, now)


@dataclass(frozen=True)
class WindowForwardsIncomplete(app.ApplicationDecider):
    """Broken: the window forwards without checking the guide's list (no 一次性告知)."""

    def _verify_and_forward(self, side: ApplicationSide, command: VerifyAndForward,
                            now: dt.datetime) -> list[Event]:
        blind = replace(side, intake=replace(side.intake, submitted=replace(
            side.intake.submitted, required=())))
        return super()._verify_and_forward(blind, command, now)


@dataclass(frozen=True)
class DeemsBeforeOriginals(app.ApplicationDecider):
    """Broken: the 5-day clock runs from the forwarding although originals were posted, and
    acceptance is deemed while they are still on the way."""

    def _handling_first(self, command: Receive, now: dt.datetime) -> list[Event]:
        events = super()._handling_first(command, now)
        event = command.event
        if isinstance(event, ApplicationForwarded) and event.originals_tracking_no:
            events += start_step(self.rules, PROCESS, "acceptance_notice", now, command.actor)
        return events

    def _deem_accepted(self, side: ApplicationSide, command: FlagDeadlineMissed,
                       now: dt.datetime) -> list[Event]:
        return super()._deem_accepted(replace(side, originals_pending=""), command, now)


@pytest.mark.parametrize(("broken", "stages"), [
    (HandlerHonoursLateWithdrawal(REGION_RULES), ("under_review", "approved")),
    (RecordsRedeliveredRating(REGION_RULES), ("result_sent",)),
    (WindowForwardsIncomplete(REGION_RULES), ("submitted",)),
    (DeemsBeforeOriginals(REGION_RULES), ("submitted",)),
], ids=lambda b: type(b).__name__ if isinstance(b, app.ApplicationDecider) else "")
def test_the_property_catches_a_broken_application_protocol(
        broken: app.ApplicationDecider, stages: tuple[str, ...]) -> None:
    """The same property, on the proxy scenarios where each bug lives, must fail (it stops at
    the first failing example; the ceiling only bounds an unlucky random run). Derandomized:
    with random draws DeemsBeforeOriginals escaped 1000 examples about one run in four, which
    failed landings; a fixed draw sequence that catches every mutant cannot flake."""
    with pytest.raises(AssertionError):
        application_property(broken, modes=("proxy",), stages=stages, max_examples=1000,
                             database=None, phases=[Phase.generate], derandomize=True)()
