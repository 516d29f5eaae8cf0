"""What each scheme adds to the generic transfer: benefit before money, no money under a year,
the medical transfer-in step, the unemployment remittance month, register effects, wire form."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import pytest

from domain.deadlines import met_of
from domain.kernel import Decider, DomainError, event_from_payload, to_payload
from domain.protocols import PROTOCOLS, housing_fund, medical, pension, transfer, unemployment
from domain.protocols.transfer import (
    ApproveTransferOut,
    Component,
    InfoSheet,
    IssueInfoSheet,
    StartBenefit,
)
from domain.registers import RegisterEffect
from tests.fixtures.transfers import TRANSFERS, accepted_case, staff
from tests.fixtures.world import RULES

DEST, ORIGIN = "150600", "610800"
TWO_YEARS = InfoSheet(months=24, components=(Component("unemployment_benefit", 1_200_000),
                                             Component("medical_subsidy", 300_000)))


def test_the_unemployment_benefit_starts_before_the_funds_arrive() -> None:
    world, case = accepted_case(TRANSFERS, "unemployment_transfer", (ORIGIN,), DEST)
    world.transfer_out(case, ORIGIN, TWO_YEARS, remit=False)
    assert world.registers[(DEST, ("e1" * 32), "unemployment")].status == "active"
    world.act(case, DEST, StartBenefit(actor=staff(DEST), monthly_fen=180_000, period_months=12))
    dest = world.summary(case, DEST)
    assert (dest.status, dest.amount_received) == ("awaiting_transfer", 0)
    world.funds(case, DEST, ORIGIN, TWO_YEARS.amount_fen, "B-1")
    assert world.status(case, DEST) == "completed"


def test_no_benefit_before_the_relationship_is_taken_over_and_none_twice() -> None:
    world, case = accepted_case(TRANSFERS, "unemployment_transfer", (ORIGIN,), DEST)
    side = world.sides[(case, DEST)]
    start = StartBenefit(actor=staff(DEST), monthly_fen=180_000, period_months=12)
    with pytest.raises(DomainError, match="taken over"):
        side.decider.decide(side.state, start, world.now)
    world.transfer_out(case, ORIGIN, TWO_YEARS, remit=False)
    with pytest.raises(DomainError) as caught:
        side.decider.decide(side.state, StartBenefit(actor=staff(DEST), monthly_fen=1,
                                                      period_months=25), world.now)
    assert caught.value.code == "invalid_period"
    world.act(case, DEST, start)
    with pytest.raises(DomainError) as caught:
        side.decider.decide(side.state, start, world.now)
    assert caught.value.code == "benefit_already_started"


def test_under_one_year_of_contributions_only_the_relationship_moves() -> None:
    with pytest.raises(DomainError) as caught:
        unemployment.validate_sheet(InfoSheet(months=11, components=(
            Component("unemployment_benefit", 1),)))
    assert caught.value.code == "no_money_under_one_year"
    world, case = accepted_case(TRANSFERS, "unemployment_transfer", (ORIGIN,), DEST)
    world.transfer_out(case, ORIGIN, InfoSheet(months=11, components=()))
    dest = world.summary(case, DEST)
    assert (dest.status, dest.amount_credited, dest.months_credited) == ("completed", 0, 11)
    assert world.summary(case, ORIGIN).terminal


def test_the_unemployment_remittance_is_due_one_calendar_month_after_the_transfer_out() -> None:
    world, case = accepted_case(TRANSFERS, "unemployment_transfer", (ORIGIN,), DEST)
    world.transfer_out(case, ORIGIN, TWO_YEARS, remit=False)
    book = world.sides[(case, ORIGIN)].state.book
    assert set(book) == {"funds_remittance"}
    # issued on Monday 2025-03-03 (Shanghai): the month ends with 2025-04-03
    assert book["funds_remittance"].due_at == dt.datetime(2025, 4, 3, 16, tzinfo=dt.UTC)


def test_the_medical_relationship_moves_in_on_the_sheet_within_its_transfer_in_step() -> None:
    world, case = accepted_case(TRANSFERS, "medical_transfer", (ORIGIN,), DEST)
    world.act(case, ORIGIN, ApproveTransferOut(actor=staff(ORIGIN), suspended_on=world.now.date()))
    world.act(case, ORIGIN, IssueInfoSheet(actor=staff(ORIGIN), sheet=InfoSheet(
        months=36, components=(Component("personal_account", 250_000),))))
    types = [e.TYPE for e in world.sides[(case, DEST)].events]
    assert types.index("InfoSheetReceived") < types.index("RelationshipTakenOver")
    steps = [(e.TYPE, getattr(e, "step", "")) for e in world.sides[(case, DEST)].events]
    assert ("DeadlineSet", "transfer_in") in steps
    taken = next(e for e in world.sides[(case, DEST)].events if e.TYPE == "RelationshipTakenOver")
    assert met_of(taken) == ("transfer_in",)  # the take-over meets its step
    assert world.status(case, DEST) == "awaiting_transfer"  # the money is its own sub-state


def test_each_scheme_refuses_components_that_are_not_its_own() -> None:
    alien = InfoSheet(months=24, components=(Component("pooled", 1),))
    for module in (unemployment, medical, housing_fund):
        with pytest.raises(DomainError):
            module.validate_sheet(alien)


def test_register_effects_follow_the_events_that_start_and_end_relationships() -> None:
    world, case = accepted_case(TRANSFERS, "pension_transfer", (ORIGIN,), DEST)
    world.transfer_out(case, ORIGIN, pension.sample_sheet(random.Random(2)))
    effects = [fx for e in world.sides[(case, ORIGIN)].events for fx in pension.register_effects(e)]
    assert effects == [RegisterEffect("begin_move_out", ("e1" * 32), "pension", case),
                       RegisterEffect("end", ("e1" * 32), "pension", case)]


def test_every_shared_transfer_event_survives_the_wire_format() -> None:
    world, case = accepted_case(TRANSFERS, "pension_transfer", (ORIGIN,), DEST)
    world.transfer_out(case, ORIGIN, pension.sample_sheet(random.Random(2)))
    world.bank_deliver(0, "split")
    world.bank_deliver(0, "none")
    world.run_policies()
    world.deliver_all()
    everything = [e for side in world.sides.values() for e in side.events]
    assert {e.TYPE for e in everything if e.to_region} >= {
        "ContactLetterIssued", "TransferOutHeld", "InfoSheetIssued", "TransferConcluded"}
    for event in everything:
        assert event_from_payload(event.TYPE, to_payload(event)) == event
    assert all(type(e).WIRE for e in everything if e.to_region)
    assert transfer.TERMINAL_PAIRS == pension.ALLOWED_TERMINAL_PAIRS


def test_every_scheme_exposes_the_protocol_interface_and_is_registered() -> None:
    deciders: list[Decider[Any]] = [m.decider(RULES) for m in (pension, unemployment, medical)]
    deciders.append(housing_fund.decider(RULES))
    assert [d.process for d in deciders] == [
        "pension_transfer", "unemployment_transfer", "medical_transfer", "housing_fund_transfer"]
    for module in (pension, unemployment, medical, housing_fund):
        registered = PROTOCOLS[module.PROCESS]
        assert registered.module == module.__name__
        assert registered.allowed_terminal_pairs == transfer.TERMINAL_PAIRS
