"""多地联办 of a single-decision item (issue 15 item 8): the region the applicant goes to accepts
and decides, a partner region supplies its records (调档函, 协查, 结算确认) — b1-26, b1-28, b2-26,
b2-45, b2-62, b2-68, b3-7 — and a poor rating's follow-up has a deadline."""

from __future__ import annotations

import datetime as dt
from typing import Any

from domain.calendar import WorkingCalendar
from domain.kernel import Command, Event
from domain.limits import Rules
from domain.protocols import application as app
from domain.protocols.application_events import Approve, DeliverResult, Deny
from domain.protocols.casework import ABSENT
from domain.protocols.casework_events import FollowUpOpened, Rate
from domain.protocols.intake import AcceptIntake, Submit, Withdraw
from domain.settling import execute
from domain.statutes import RegionLimits
from tests.fixtures.sides import Link, assert_refused, shared
from tests.unit.test_application import APPLICANT, HANDLER, NUMBER, PERSON, T0, WINDOW, doc

RULES = Rules(WorkingCalendar(), RegionLimits())
DECIDER = app.decider(RULES)
HOME, AWAY = "150600", "610800"
State = Any


def joint(process: str = "certificate_issuance", item: str = "b1-26") -> Submit:
    from domain.protocols.details import JointDetails

    return Submit(actor=WINDOW, case_number=str(NUMBER), item_id=item, process=process,
                  mode="joint", person_key=PERSON, applicant_masked="1506**********001X",
                  channel="window", materials=(doc("申请表"),), details=JointDetails(AWAY))


class Joint:
    """The accepting side (A) and the partner (P) of one joint case, and their links."""

    def __init__(self, process: str = "certificate_issuance", item: str = "b1-26") -> None:
        self.a, _ = execute(DECIDER, None, joint(process, item), T0)
        self.p: State = None
        self.to_p, self.to_a = Link(HOME, AWAY), Link(AWAY, HOME)

    def at_a(self, command: Command, now: dt.datetime = T0) -> list[Event]:
        self.a, events = execute(DECIDER, self.a, command, now)
        return events

    def at_p(self, command: Command, now: dt.datetime = T0) -> list[Event]:
        self.p, events = execute(DECIDER, self.p, command, now)
        return events

    def to_partner(self, events: list[Event]) -> list[Event]:
        return [e for ev in shared(events) for e in self.at_p(self.to_p.receive(ev))]

    def to_accepting(self, events: list[Event]) -> list[Event]:
        return [e for ev in shared(events) for e in self.at_a(self.to_a.receive(ev))]

    def statuses(self) -> tuple[str, str]:
        return (DECIDER.status(self.a),
                DECIDER.status(self.p) if self.p is not None else ABSENT)


def test_a_joint_item_is_accepted_here_and_the_partner_supplies_its_records() -> None:
    from domain.protocols.application_events import GiveAssistance

    j = Joint()
    j.to_partner(j.at_a(AcceptIntake(actor=WINDOW)))
    assert j.statuses() == ("awaiting_records", "requested")
    j.to_accepting(j.at_p(GiveAssistance(actor=HANDLER, materials=(doc("缴存使用记录"),))))
    assert j.statuses() == ("under_review", "assisted")
    j.at_a(Approve(actor=WINDOW, result=(doc("缴存使用证明"),)))
    j.to_partner(j.at_a(DeliverResult(actor=WINDOW, channel="window")))
    assert j.statuses() == ("completed", "closed")
    assert (j.statuses()) in app.ALLOWED_TERMINAL_PAIRS


def test_a_partner_refusal_leaves_only_a_written_denial() -> None:
    from domain.protocols.application_events import DeclineAssistance

    j = Joint("registration", "b1-28")
    j.to_partner(j.at_a(AcceptIntake(actor=WINDOW)))
    j.to_accepting(j.at_p(DeclineAssistance(actor=HANDLER, reason="车辆档案有查封记录")))
    assert_refused(DECIDER, j.a, Approve(actor=WINDOW), "assistance_declined", T0)
    j.to_partner(j.at_a(Deny(actor=WINDOW, reason="转出地车辆档案有查封记录")))
    assert j.statuses() == ("denied", "closed") and j.statuses() in app.ALLOWED_TERMINAL_PAIRS


def test_a_personnel_file_travels_with_a_tracking_number_within_15_working_days() -> None:
    from domain.deadlines import DeadlineSet
    from domain.protocols.application_events import GiveAssistance

    j = Joint("personnel_file_transfer", "b2-26")
    received = j.to_partner(j.at_a(AcceptIntake(actor=WINDOW)))
    [due] = [e for e in received if isinstance(e, DeadlineSet)
             and e.step == "transfer_out"]
    assert due.due_at.date() == dt.date(2025, 3, 24)  # 15 WD from Monday 2025-03-03
    assert_refused(DECIDER, j.p, GiveAssistance(actor=HANDLER, materials=()),
                   "tracking_no_required", T0)
    j.to_accepting(j.at_p(GiveAssistance(actor=HANDLER, tracking_no="JY2025030001")))
    assert j.statuses() == ("under_review", "assisted")


def test_withdrawal_while_the_partner_works_closes_it_and_late_records_are_ignored() -> None:
    from domain.protocols.application_events import GiveAssistance

    j = Joint("disability_cert_move", "b2-68")
    j.to_partner(j.at_a(AcceptIntake(actor=WINDOW)))
    given = j.at_p(GiveAssistance(actor=HANDLER, materials=(doc("残疾人证档案"),)))
    j.to_partner(j.at_a(Withdraw(actor=APPLICANT, reason="不再需要")))
    assert j.to_accepting(given) == []  # crossed the withdrawal: nothing recorded after the end
    assert j.statuses() == ("withdrawn", "closed") and j.statuses() in app.ALLOWED_TERMINAL_PAIRS


def test_every_joint_transition_is_in_the_table() -> None:
    from domain.invariants import legal_transitions
    from domain.protocols.application_events import GiveAssistance
    from domain.protocols.casework_events import ANNOTATIONS

    j = Joint("direct_settlement", "b2-62")
    log_a, log_p = [], []
    log_a += (accepted := j.at_a(AcceptIntake(actor=WINDOW)))
    log_p += j.to_partner(accepted)
    log_p += (given := j.at_p(GiveAssistance(actor=HANDLER, materials=(doc("结算单"),))))
    log_a += j.to_accepting(given)
    log_a += j.at_a(Approve(actor=WINDOW))
    log_a += (done := j.at_a(DeliverResult(actor=WINDOW, channel="online")))
    log_p += j.to_partner(done)
    _, first = execute(DECIDER, None, joint("direct_settlement", "b2-62"), T0)
    for log in (first + log_a, log_p):
        assert legal_transitions(str(NUMBER), HOME, DECIDER, log, app.TRANSITIONS,
                                 annotations=frozenset(ANNOTATIONS)) == []


def test_a_poor_rating_opens_a_follow_up_with_a_deadline() -> None:
    j = Joint()
    j.to_partner(j.at_a(AcceptIntake(actor=WINDOW)))
    from domain.protocols.application_events import GiveAssistance

    j.to_accepting(j.at_p(GiveAssistance(actor=HANDLER, materials=(doc("记录"),))))
    j.at_a(Approve(actor=WINDOW))
    j.to_partner(j.at_a(DeliverResult(actor=WINDOW, channel="window")))
    [opened] = [e for e in j.at_a(Rate(actor=APPLICANT, score=1)) if isinstance(e, FollowUpOpened)]
    assert opened.due_at is not None and opened.due_at > T0
    assert DECIDER.next_timer(j.a) == opened.due_at


def test_every_item_run_jointly_completes_with_its_partner() -> None:
    """Every catalogue item handled in mode joint — b1-26, b1-28, b2-26, b2-62, b2-68, b3-7
    (joint only) and the other single-decision items that list it — runs a whole case: accepted here, the partner's
    records in (with a tracking number where a file travels), approved and delivered, both
    sides ended in an allowed pair."""
    from domain.catalogue import load_catalogue
    from domain.protocols.application_events import GiveAssistance

    items = [i for i in load_catalogue().items if "joint" in i.modes]
    assert {"b1-26", "b1-28", "b2-26", "b2-62", "b2-68", "b3-7"} <= {i.id for i in items}
    for item in items:
        if item.process not in app.PROCESSES:
            continue  # transfers and household moves: their own protocols and tests
        j = Joint(item.process, item.id)
        j.to_partner(j.at_a(AcceptIntake(actor=WINDOW)))
        assert j.statuses() == ("awaiting_records", "requested"), item.id
        j.to_accepting(j.at_p(GiveAssistance(actor=HANDLER, materials=(doc("记录"),),
                                             tracking_no="JY2025030001")))
        j.at_a(Approve(actor=WINDOW, result=(doc("结果"),)))
        j.to_partner(j.at_a(DeliverResult(actor=WINDOW, channel="window")))
        assert j.statuses() == ("completed", "closed"), item.id
        assert j.statuses() in app.ALLOWED_TERMINAL_PAIRS
