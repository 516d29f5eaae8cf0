"""Household moves as a 户籍 officer runs them (issue 15 item 9): family members move together
(随迁), 落户 after a staff check, conditions per move type, no withdrawal after 注销, and the
30-day 补正 lapse extended past holidays (民法典 art. 203)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from domain.calendar import CHINA, WorkingCalendar, china_date
from domain.kernel import Actor
from domain.limits import Rules
from domain.protocols import household as hh
from domain.protocols.application_events import Approve
from domain.protocols.household_events import (
    CheckMoveOut,
    HouseholdSettled,
    MigrationCertificateIssued,
    RegisterMoveOut,
)
from domain.protocols.intake import AcceptIntake, Withdraw
from domain.values import MaterialRef
from tests.fixtures.sides import shared
from tests.unit.test_household import (
    APPLICANT,
    DEST,
    ORIGIN,
    PERSON,
    STAFF_D,
    STAFF_O,
    T0,
    apply_effects,
    origin_with_request,
    refuses,
    registers_with_origin_residence,
    run,
    submit,
)


def doc(kind: str) -> MaterialRef:
    return MaterialRef(f"doc-{kind}", "e" * 64, "application/pdf", 1024, kind, kind)


def moved_out() -> tuple:
    d, o, to_origin, to_dest = origin_with_request()
    o, held = run(o, CheckMoveOut(actor=STAFF_O, on_register=True))
    o, moved = run(o, RegisterMoveOut(actor=STAFF_O))
    return d, o, to_origin, to_dest, [*held, *moved]


# --------------------------------------------------------------------------- 30-day lapse


def test_a_30_day_period_ending_on_a_holiday_ends_on_the_next_working_day() -> None:
    rules = Rules(WorkingCalendar())
    start = dt.datetime(2025, 9, 1, 2, 0, tzinfo=dt.UTC)  # +30 days: 10-01, 国庆 (10-01…10-08)
    spec = rules.waiting_limit(hh.PROCESS, "supplement", start)
    last_day = china_date(spec.due_at - dt.timedelta(microseconds=1))
    assert last_day == dt.date(2025, 10, 9)
    assert "民法典" in spec.basis
    plain = rules.waiting_limit(hh.PROCESS, "supplement", dt.datetime(2025, 3, 3, 2, tzinfo=dt.UTC))
    assert china_date(plain.due_at - dt.timedelta(microseconds=1)) == dt.date(2025, 4, 2)


# --------------------------------------------------------------------------- 落户 check


def test_the_migration_certificate_waits_for_a_staff_check_before_settling() -> None:
    from domain.protocols.household_events import Settle

    entries = apply_effects(registers_with_origin_residence(), ORIGIN, [])
    d, o, to_origin, to_dest, moved = moved_out()
    [certificate] = shared(moved)
    d, received = run(d, to_dest.receive(certificate))
    assert not any(isinstance(e, HouseholdSettled) for e in received) and shared(received) == []
    assert hh.decider(Rules(WorkingCalendar())).status(d) == "certificate_received"
    d, settled = run(d, Settle(actor=STAFF_D, address="乌兰察布市集宁区新华街1号"))
    assert any(isinstance(e, HouseholdSettled) for e in settled)
    o, _ = run(o, to_origin.receive(*shared(settled)))
    assert hh.decider(Rules(WorkingCalendar())).status(o) == "moved_out"
    assert entries  # the residence at the origin existed before the move


# --------------------------------------------------------------------------- withdrawal


def test_withdrawal_after_deregistration_is_refused_and_the_move_completes() -> None:
    from domain.protocols.household_events import Settle

    entries = registers_with_origin_residence()
    d, o, to_origin, to_dest, moved = moved_out()
    entries = apply_effects(entries, ORIGIN, moved)
    d, withdrawn = run(d, Withdraw(actor=APPLICANT))  # crosses the 迁移证
    d, _ = run(d, to_dest.receive(*shared(moved)))
    o, answer = run(o, to_origin.receive(*shared(withdrawn)))
    assert not any(type(e).__name__ == "RegistrationReinstated" for e in answer)
    entries = apply_effects(entries, ORIGIN, answer)
    assert entries[(ORIGIN, PERSON, hh.SCHEME)].status == "ended"  # still moved out
    d, _ = run(d, to_dest.receive(*shared(answer)))
    decider = hh.decider(Rules(WorkingCalendar()))
    assert decider.status(d) == "certificate_received"
    refuses(d, Withdraw(actor=APPLICANT), "already_moved_out")
    d, settled = run(d, Settle(actor=STAFF_D, address="集宁区新华街1号"))
    o, _ = run(o, to_origin.receive(*shared(settled)))
    assert (decider.status(d), decider.status(o)) == ("settled", "moved_out")


# --------------------------------------------------------------------------- move types


@pytest.mark.parametrize(("item", "evidence"), [
    ("b2-3", "工作调动证明"), ("b2-4", "录取通知书"), ("b2-5", "毕业证书"),
    ("b2-6", "结婚证"), ("b2-7", "亲属关系证明"),
])
def test_each_move_type_is_approved_only_with_its_own_evidence(item: str, evidence: str) -> None:
    d, _ = run(None, dataclasses.replace(submit(), item_id=item, materials=()))
    d, _ = run(d, AcceptIntake(actor=STAFF_D))
    refuses(d, Approve(actor=STAFF_D), "move_conditions")
    d, _ = run(None, dataclasses.replace(submit(), item_id=item, materials=(doc(evidence),)))
    d, _ = run(d, AcceptIntake(actor=STAFF_D))
    d, _ = run(d, Approve(actor=STAFF_D))
    assert hh.decider(Rules(WorkingCalendar())).status(d) == "permit_issued"


# --------------------------------------------------------------------------- 随迁


def test_family_members_move_with_the_applicant_and_each_is_registered_once() -> None:
    from domain.invariants import single_residence
    from domain.protocols.details import Member
    from domain.protocols.household_events import Settle
    from domain.registers import RegisterEffect, apply_register_effects

    child = "c3" * 32
    entries, _ = apply_register_effects(registers_with_origin_residence(), ORIGIN, [
        RegisterEffect("open", child, hh.SCHEME, "earlier")], T0, Actor.system("register"))
    family = (Member(relation="子女", person_key=child, masked="1409**********0021"),)
    d, o, _, to_dest = origin_with_request(members=family, item="b2-3",
                                                   materials=(doc("工作调动证明"),))
    o, held = run(o, CheckMoveOut(actor=STAFF_O, on_register=True))
    o, moved = run(o, RegisterMoveOut(actor=STAFF_O))
    entries = apply_effects(apply_effects(entries, ORIGIN, held), ORIGIN, moved)
    assert {entries[(ORIGIN, p, hh.SCHEME)].status for p in (PERSON, child)} == {"ended"}
    [certificate] = shared(moved)
    assert isinstance(certificate, MigrationCertificateIssued)
    d, _ = run(d, to_dest.receive(certificate))
    d, settled = run(d, Settle(actor=STAFF_D, address="集宁区新华街1号"))
    entries = apply_effects(entries, DEST, settled)
    assert {entries[(DEST, p, hh.SCHEME)].status for p in (PERSON, child)} == {"active"}
    assert single_residence(entries, quiescent=True) == []


def test_a_companion_the_move_type_does_not_allow_is_refused() -> None:
    from domain.protocols.details import HouseholdDetails, Member

    student = dataclasses.replace(submit(), item_id="b2-4", details=HouseholdDetails(
        ORIGIN, members=(Member(relation="配偶", person_key="d4" * 32, masked="1409****"),)))
    from tests.fixtures.sides import assert_refused

    assert_refused(hh.decider(Rules(WorkingCalendar())), None, student, "companion_not_allowed",
                   T0)
    assert CHINA  # the calendar's zone, as the rules reckon in it


def test_the_node_keys_each_member_and_no_id_number_reaches_the_domain() -> None:
    import random
    import uuid

    from domain.protocols.details import HouseholdDetails, Member
    from domain.protocols.intake import Submit
    from domain.values import CaseNumber, RegionCode
    from regions.core.admission import admit
    from simulations.workload import draw_applicant

    me, child = (draw_applicant(random.Random(n)) for n in (1, 2))
    number = CaseNumber.new(RegionCode(DEST), T0.date(), uuid.UUID(int=5))
    command = Submit(actor=STAFF_D, case_number=str(number), item_id="b2-3",
                     process=hh.PROCESS, mode="joint", person_key="", applicant_masked="",
                     channel="window", details=HouseholdDetails(ORIGIN, members=(
                         Member(relation="子女", id_number=child.citizen.number),)))
    admitted = admit(command, region=DEST, now=T0, applicant_id=me.citizen.number,
                     register_key=b"k" * 32)
    assert isinstance(admitted, Submit) and isinstance(admitted.details, HouseholdDetails)
    [member] = admitted.details.members
    assert member.id_number == "" and member.masked == child.citizen.masked
    assert member.person_key == child.citizen.keyed_hash(b"k" * 32)
