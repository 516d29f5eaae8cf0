"""Installing the year's official schedule rechecks every pending provisional deadline (issue 15,
item 3): a due date reckoned on the fallback moves later when the official schedule says so, and
never earlier."""

from __future__ import annotations

import datetime as dt
import json
import logging
import uuid
from pathlib import Path

import pytest

from domain import invariants as inv
from domain.calendar import CHINA, WorkingCalendar, is_provisional, parse_holiday_file
from domain.deadlines import DeadlineRecomputed, DeadlineSet, RecheckDeadlines
from domain.kernel import Actor, Event, event_from_payload, fold, to_payload
from domain.limits import Rules
from domain.protocols import SERVICE_PROTOCOLS
from domain.protocols.consultation import Consult, ConsultationOpened, ConsultationReplied
from domain.reckoning import Reckoning, from_basis
from domain.values import CaseNumber, RegionCode
from projections.cases import CaseView, Deadline, apply
from projections.documents import from_document, to_document
from projections.records import SideEvent
from regions.adapters.stores.memory import MemoryStore
from regions.core.config import RegionConfig
from regions.runtime.bootstrap import Region, build_region
from simulations import oracles
from tests.fixtures.world import RULES

REGION = "150600"
START = dt.datetime(2026, 12, 21, 10, 0, tzinfo=CHINA)  # a Monday; 2027 has no official data yet
PERSON = Actor("applicant", "anonymous", REGION)
#: An official 2027 schedule with a one-off week off (11–15 January) no fallback can foresee.
ONE_OFF_WEEK = {
    "year": 2027,
    "source": "a notice giving 2027-01-11…15 off (test)",
    "holidays": ["2027-01-01", *(f"2027-01-{d:02d}" for d in range(11, 16))],
    "workdays": [],
}


def end_of(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=CHINA)


def start(store: MemoryStore, *files: Path, now: dt.datetime = START) -> Region:
    return build_region(RegionConfig(region=REGION, holiday_files=files), clock=lambda: now,
                        ids=uuid.uuid4, broker=None, store=store)


def complain(region: Region) -> str:
    number = CaseNumber.new(RegionCode(REGION), START.date(), uuid.UUID(int=15))
    outcome = region.node.submit(
        str(number.case_id), str(number), "consultation",
        Consult(actor=PERSON, case_number=str(number), kind="complain", subject="办理太慢",
                text="一个月仍未办结"), START)
    assert outcome.ok, outcome
    return str(number.case_id)


def reply_due(region: Region, case_id: str) -> dt.datetime:
    view = region.node.side(case_id)
    assert view is not None and view.state is not None
    return view.state.book["reply"].due_at


def holiday_file(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "cn-2027.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_a_fallback_deadline_moves_later_when_the_official_schedule_is_installed(
        tmp_path: Path) -> None:
    store = MemoryStore()
    case = complain(start(store))
    # 15 working days on the conservative fallback (元旦 window 12-30…01-03 off): 01-14.
    assert reply_due(start(store), case) == end_of(dt.date(2027, 1, 14))
    restarted = start(store, holiday_file(tmp_path, ONE_OFF_WEEK))
    # the official schedule takes 11–15 January off too: the 15th working day is 01-19.
    assert reply_due(restarted, case) == end_of(dt.date(2027, 1, 19))


# --------------------------------------------------------------------------- at the node

#: The official 2027 schedule as far as the law fixes it: 元旦 alone in January.
NEW_YEAR_ONLY = {"year": 2027, "source": "元旦 only (test)", "holidays": ["2027-01-01"],
                 "workdays": []}


def test_an_earlier_official_date_is_recorded_and_logged_but_the_recorded_date_stands(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    store = MemoryStore()
    case = complain(start(store))
    with caplog.at_level(logging.WARNING, logger="regions.core.timer"):
        restarted = start(store, holiday_file(tmp_path, NEW_YEAR_ONLY))
    assert reply_due(restarted, case) == end_of(dt.date(2027, 1, 14))
    assert [r.case_id for r in restarted.timer.rechecked] == [case]
    recomputed = restarted.timer.rechecked[0].event
    assert recomputed.official_due_at == end_of(dt.date(2027, 1, 12))
    assert recomputed.due_at == recomputed.previous_due_at == end_of(dt.date(2027, 1, 14))
    assert not is_provisional(recomputed.calendar_version)
    assert "earlier than the recorded" in caplog.text and case in caplog.text


def test_a_start_on_an_unchanged_calendar_records_nothing_again(tmp_path: Path) -> None:
    store = MemoryStore()
    case = complain(start(store))
    path = holiday_file(tmp_path, ONE_OFF_WEEK)
    first = start(store, path)
    assert first.timer.stats["recomputed"] == 1
    for region in (start(store, path), start(store)):  # the second: back to no file at all
        assert region.timer.stats["recomputed"] == 0
        assert reply_due(region, case) == end_of(dt.date(2027, 1, 19))


def test_a_deadline_still_provisional_after_the_recheck_waits_for_more_data() -> None:
    store = MemoryStore()
    case = complain(start(store))
    again = start(store, now=START + dt.timedelta(hours=1))
    assert again.timer.stats["recomputed"] == 0
    assert reply_due(again, case) == end_of(dt.date(2027, 1, 14))


# --------------------------------------------------------------------------- in the domain

OFFICIAL = Rules(WorkingCalendar.with_files(parse_holiday_file(NEW_YEAR_ONLY, name="cn-2027.json")))
DECIDER = SERVICE_PROTOCOLS["consultation"].decider(OFFICIAL)
NUMBER = str(CaseNumber.new(RegionCode(REGION), START.date(), uuid.UUID(int=16)))
CLOCK = Actor.system("deadlines", REGION)
RECHECK = RecheckDeadlines(actor=Actor.system("calendar_recheck", REGION))


def recorded_by_an_old_release() -> list[Event]:
    """A complaint opened on 2026-12-21 by a release that counted 2027 as Monday–Friday, its
    `DeadlineSet` in the stored shape of then (schema v1: no `reckoning`), read as a node reads
    its store (`event_from_payload` with the stored schema version)."""
    at = START.astimezone(dt.UTC)
    stored = {"at": at.isoformat(), "actor": to_payload(CLOCK), "to_region": "", "step": "reply",
              "due_at": end_of(dt.date(2027, 1, 11)).isoformat(),
              "escalate_at": end_of(dt.date(2027, 1, 14)).isoformat(),
              "basis": "consultation waiting in reply_complain: 15 working days (local "
                       "default for reply_complain, not statute)",
              "calendar_version": "chinesecalendar-1.11.0+weekday-fallback"}
    return [ConsultationOpened(at=at, actor=PERSON, case_number=NUMBER, kind="complain",
                               subject="办理太慢", text="一个月仍未办结"),
            event_from_payload("DeadlineSet", stored, schema_version=1)]


def test_a_deadline_stored_before_its_reckoning_was_recorded_loads_with_it_read_from_the_basis(
        ) -> None:
    _, old = recorded_by_an_old_release()
    assert isinstance(old, DeadlineSet)
    assert old.reckoning == Reckoning("working_days", 15, START)
    assert old.due_at == end_of(dt.date(2027, 1, 11))


def test_a_deadline_an_old_release_reckoned_on_the_weekday_guess_moves_later() -> None:
    """元旦 was counted as a working day: the official schedule moves the 15th working day from
    01-11 to 01-12, and the escalation with it."""
    state = fold(DECIDER, recorded_by_an_old_release())
    later = START + dt.timedelta(days=3)
    events = DECIDER.decide(state, RECHECK, later)
    assert [e.TYPE for e in events] == ["DeadlineRecomputed"]
    moved = events[0]
    assert isinstance(moved, DeadlineRecomputed)
    assert (moved.previous_due_at, moved.due_at) == (end_of(dt.date(2027, 1, 11)),
                                                     end_of(dt.date(2027, 1, 12)))
    assert moved.escalate_at == end_of(dt.date(2027, 1, 15))  # 3 working days after 01-12
    assert moved.basis.startswith("consultation waiting in reply_complain: 15 working days")
    state = fold(DECIDER, events, state)
    assert DECIDER.next_timer(state) == moved.due_at
    assert DECIDER.decide(state, RECHECK, later) == []  # official now: nothing more to do
    assert inv.deadlines_never_early(state.case_id, REGION, [*recorded_by_an_old_release(),
                                                             *events]) == []
    assert oracles.deadline_violations(state.case_id, REGION, "consultation", events) == []


def test_a_deadline_already_flagged_missed_is_not_recomputed() -> None:
    state = fold(DECIDER, recorded_by_an_old_release())
    late = end_of(dt.date(2027, 1, 11))
    state = fold(DECIDER, DECIDER.decide(state, DECIDER.timers(state, late)[0], late), state)
    assert DECIDER.decide(state, RECHECK, late) == []


def test_an_answered_consultation_is_not_rechecked() -> None:
    state = fold(DECIDER, recorded_by_an_old_release())
    state = fold(DECIDER, [ConsultationReplied(at=START, actor=CLOCK, reply="已答复")], state)
    assert DECIDER.decide(state, RECHECK, START) == []


def test_the_invariant_and_the_oracle_refuse_a_deadline_recomputed_earlier() -> None:
    opened = recorded_by_an_old_release()
    earlier = DeadlineRecomputed(
        at=START, actor=RECHECK.actor, step="reply", due_at=end_of(dt.date(2027, 1, 8)),
        escalate_at=end_of(dt.date(2027, 1, 14)), previous_due_at=end_of(dt.date(2027, 1, 11)),
        official_due_at=end_of(dt.date(2027, 1, 8)), basis="b", calendar_version="v")
    assert {v.rule for v in inv.deadlines_never_early("c", REGION, [*opened, earlier])} == {
        "deadlines"}
    assert {v.rule for v in oracles.deadline_violations("c", REGION, "consultation",
                                                        [earlier])} == {
        "deadline_recomputed_earlier"}


# --------------------------------------------------------------------------- reading the basis


@pytest.mark.parametrize("spec", [
    RULES.deadline_for("pension_transfer", "contact_letter", START),
    RULES.resume("pension_transfer", "contact_letter", START, 7),
    RULES.waiting_limit("pension_transfer", "supplement_requested", START),  # calendar days
    RULES.waiting_limit("consultation", "reply_complain", START),
    RULES.deadline_for("unemployment_transfer", "funds_remittance", START),  # a month
    Rules(WorkingCalendar()).deadline_for("pension_transfer", "transfer_out", START),  # warning
], ids=["statute", "resumed", "calendar-days-past-rest-day", "waiting", "month", "fallback"])
def test_every_basis_the_rules_write_reckons_again_to_the_same_deadline(spec) -> None:
    """The structured reckoning gives the same deadline again, and a record stored without it
    gets the same reckoning back from its basis (the upcaster's reading)."""
    calendar = WorkingCalendar() if "warning" in spec.basis else RULES.calendar
    assert spec.reckoning is not None and spec.reckoning.start == START
    assert Rules(calendar).recompute(spec.reckoning, spec.basis) == spec
    assert from_basis(spec.basis, START) == spec.reckoning


def test_a_basis_the_rules_did_not_write_is_not_reckoned() -> None:
    assert from_basis("agreed with the applicant", START) is None


def test_a_supplement_period_ending_on_a_rest_day_keeps_its_extension_when_reckoned_again(
        ) -> None:
    # 30 calendar days from 2026-12-02 end on 2027-01-01 (元旦), so on the next working day.
    at = dt.datetime(2026, 12, 2, 10, tzinfo=CHINA)
    spec = OFFICIAL.waiting_limit("pension_transfer", "supplement_requested", at)
    assert "民法典 第二百零三条" in spec.basis
    assert spec.reckoning == Reckoning("calendar_days", 30, at, rest_day_rule=True)
    assert from_basis(spec.basis, at) == spec.reckoning
    assert OFFICIAL.recompute(spec.reckoning, spec.basis) == spec


# --------------------------------------------------------------------------- the case view


def test_the_case_view_shows_the_recomputed_deadline_and_what_it_was() -> None:
    events = recorded_by_an_old_release()
    state = fold(DECIDER, events)
    events += DECIDER.decide(state, RECHECK, START)
    view = None
    for position, event in enumerate(events, 1):
        record = SideEvent(position, REGION, state.case_id, NUMBER, "consultation", "side",
                           position, event.TYPE, event.SCHEMA_VERSION, to_payload(event))
        view = apply(view, record, DECIDER)
        if position == 2:
            assert view.deadline is not None and view.deadline.provisional
            assert view.deadline.recomputed_from is None
    assert view is not None and view.deadline is not None
    assert view.deadline.due_at == end_of(dt.date(2027, 1, 12))
    assert view.deadline.recomputed_from == end_of(dt.date(2027, 1, 11))
    assert not view.deadline.provisional
    assert from_document(to_document(view)).deadlines == view.deadlines
    old_row = to_document(view)
    old_row["deadlines"] = [row[:4] for row in old_row["deadlines"]]  # written before the field
    assert from_document(old_row).deadline.recomputed_from is None


def test_the_case_page_says_a_deadline_is_provisional_and_what_a_recomputed_one_replaced() -> None:
    from api.web.pages import _templates, local

    def rendered(deadline: Deadline) -> str:
        view = CaseView("c", NUMBER, "consultation", REGION, deadlines=(deadline,))
        return _templates().env.get_template("case.html").render(
            view=view, local=local, site={"region_name": "鄂尔多斯市", "region": REGION},
            role_names={}, region_name=str, yuan=str, item_name="投诉")

    before, after = end_of(dt.date(2027, 1, 11)), end_of(dt.date(2027, 1, 12))
    assert "官方安排公布后可能顺延" in rendered(Deadline("reply", before, "b", True))
    moved = rendered(Deadline("reply", after, "b", False, recomputed_from=before))
    assert f"原为 {local(before)} 前，按官方节假日安排顺延" in moved
    assert "可能顺延" not in moved
    assert "已按官方节假日安排核对" in rendered(Deadline("reply", before, "b", False, before))
