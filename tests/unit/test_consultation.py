"""咨询 / 投诉 / 建议 (issue 13): opened with a reply deadline by kind, answered once by staff,
flagged overdue by the timer when the reply is late; the case view shows its texts."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from domain.kernel import Actor, DomainError, fold, to_payload
from domain.protocols import SERVICE_PROTOCOLS, consultation
from domain.protocols.consultation import Consult, ReplyConsultation
from domain.values import CaseNumber, RegionCode
from projections.cases import CaseView, apply
from projections.documents import from_document, to_document
from projections.records import SideEvent
from projections.report import quarter_of, quarter_period, quarterly
from projections.views import monthly_on_time, supervise
from tests.fixtures.world import RULES, START

REGION = "150600"
NUMBER = str(CaseNumber.new(RegionCode(REGION), START.date(), uuid.UUID(int=7)))
PERSON = Actor("applicant", "anonymous", REGION)
STAFF = Actor("staff", "W0451", REGION, "收件窗口")
DECIDER = SERVICE_PROTOCOLS["consultation"].decider(RULES)


def opened(kind: str = "complain") -> tuple[consultation.ConsultationState, list]:
    events = DECIDER.decide(None, Consult(actor=PERSON, case_number=NUMBER, kind=kind,
                                          subject="办理太慢", text="一个月仍未办结"), START)
    state = fold(DECIDER, events)
    assert state is not None
    return state, events


def viewed(state: consultation.ConsultationState, events: list) -> CaseView:
    view = None
    for position, event in enumerate(events, 1):
        record = SideEvent(position, REGION, state.case_id, NUMBER, "consultation", "side",
                           position, event.TYPE, event.SCHEMA_VERSION, to_payload(event))
        view = apply(view, record, DECIDER)
    assert view is not None
    return view


def test_a_complaint_is_open_with_a_later_reply_deadline_than_a_consultation() -> None:
    complaint, events = opened("complain")
    consult, _ = opened("consult")
    assert [e.TYPE for e in events] == ["ConsultationOpened", "DeadlineSet"]
    assert DECIDER.status(complaint) == "open" and not DECIDER.is_terminal(complaint)
    assert START < DECIDER.next_timer(consult) < DECIDER.next_timer(complaint)


def test_a_reply_ends_it_and_a_second_reply_is_refused() -> None:
    state, _ = opened()
    events = DECIDER.decide(state, ReplyConsultation(actor=STAFF, reply="已核实并督促办理"), START)
    assert [e.TYPE for e in events] == ["ConsultationReplied"]
    state = fold(DECIDER, events, state)
    assert DECIDER.is_terminal(state) and DECIDER.next_timer(state) is None
    with pytest.raises(DomainError) as refused:
        DECIDER.decide(state, ReplyConsultation(actor=STAFF, reply="again"), START)
    assert refused.value.code == "case_closed"


@pytest.mark.parametrize("change", [{"kind": "praise"}, {"subject": " "}, {"text": ""},
                                    {"about_case": "not-a-number"}])
def test_bad_input_is_refused_naming_the_field(change: dict[str, str]) -> None:
    fields = {"case_number": NUMBER, "kind": "consult", "subject": "s", "text": "t", **change}
    with pytest.raises(DomainError) as refused:
        DECIDER.decide(None, Consult(actor=PERSON, **fields), START)
    assert refused.value.code == "invalid_value"


def test_a_late_reply_is_flagged_overdue_once_and_the_view_says_so() -> None:
    state, events = opened()
    due = DECIDER.next_timer(state)
    late = due + dt.timedelta(minutes=1)
    flagged = DECIDER.decide(state, DECIDER.timers(state, late)[0], late)
    assert [e.TYPE for e in flagged] == ["DeadlineMissed"]
    events += flagged
    state = fold(DECIDER, flagged, state)
    events += DECIDER.decide(state, ReplyConsultation(actor=STAFF, reply="已答复"), late)
    view = viewed(state, events)
    assert (view.status, view.status_text, view.overdue) == ("replied", "已答复", ("reply",))
    assert view.consultation["kind"] == "complain" and view.consultation["reply"] == "已答复"
    assert from_document(to_document(view)).consultation == view.consultation


def test_consultations_are_not_counted_as_cases_in_the_supervision_figures() -> None:
    """A complaint answered late is not an ordinary case received, finished or overdue: the
    figures, the monthly on-time rate and the quarterly report count applications only (the
    complaints have their own view, `GET /api/v1/supervision/complaints`)."""
    state, events = opened()
    late = DECIDER.next_timer(state) + dt.timedelta(minutes=1)
    flagged = DECIDER.decide(state, DECIDER.timers(state, late)[0], late)
    state = fold(DECIDER, flagged, state)
    replied = DECIDER.decide(state, ReplyConsultation(actor=STAFF, reply="已答复"), late)
    answered = viewed(state, events + flagged + replied)
    waiting = viewed(state, events)
    assert answered.terminal and answered.overdue and not waiting.terminal
    figures = supervise([answered, waiting])
    assert (figures.received, figures.open, figures.overdue, figures.on_time_rate,
            dict(figures.by_process)) == (0, 0, 0, None, {})
    assert monthly_on_time([answered, waiting]) == []
    start, end = quarter_period(quarter_of(START))
    assert quarterly([answered, waiting], start, end + dt.timedelta(days=400)) == []
