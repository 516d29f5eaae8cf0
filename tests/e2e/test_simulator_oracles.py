"""The simulator's independent oracles (simulations/oracles.py) fail on broken variants a
developer could plausibly write, and stay silent on the real code."""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from functools import partial
from types import MappingProxyType

import pytest

from domain import calendar as cal
from domain import statutes
from domain.protocols import PROTOCOLS, pension, unemployment
from domain.protocols.transfer import DestinationState, TransferDecider
from regions.core.messages import LinkMessage
from regions.core.relay import Relay
from simulations.runner import run
from tests.fixtures import broken_protocols

REGIONS = ("150900", "140200", "130700")


def rules(violations: list[str]) -> set[str]:
    return {v.split("]")[0].lstrip("[") for v in violations}


def with_statute(monkeypatch: pytest.MonkeyPatch, key: tuple[str, str], amount: int,
                 unit: statutes.Unit) -> None:
    table = dict(statutes.STATUTORY)
    table[key] = replace(table[key], limit=statutes.Limit(amount, unit))
    monkeypatch.setattr(statutes, "STATUTORY", MappingProxyType(table))


def test_working_days_reckoned_as_calendar_days_are_caught(monkeypatch) -> None:
    monkeypatch.setattr(cal.WorkingCalendar, "add_working_days",
                        lambda self, start, n: self.add_calendar_days(start, n))
    assert "deadline_reckoning" in rules(run(1, 40, REGIONS, (),
                                             mix={"pension_transfer": 1}).violations)


def test_a_deadline_one_working_day_early_is_caught(monkeypatch) -> None:
    real = cal.WorkingCalendar.add_working_days
    monkeypatch.setattr(cal.WorkingCalendar, "add_working_days",
                        lambda self, start, n: real(self, start, max(0, n - 1)))
    assert "deadline_reckoning" in rules(run(1, 40, REGIONS, (),
                                             mix={"pension_transfer": 1}).violations)


def test_a_statutory_limit_in_the_wrong_unit_is_caught(monkeypatch) -> None:
    with_statute(monkeypatch, ("pension_transfer", "transfer_out"), 15, "calendar_days")
    assert "deadline_statute" in rules(run(1, 40, REGIONS, (),
                                           mix={"pension_transfer": 1}).violations)


def test_a_41_day_permit_is_caught(monkeypatch) -> None:
    with_statute(monkeypatch, ("household_move", "permit_validity"), 41, "calendar_days")
    assert "permit_40_days" in rules(run(1, 40, REGIONS, (),
                                         mix={"household_move": 1}).violations)


def test_a_broken_two_phase_gets_honest_messages_rejected() -> None:
    broken = {**PROTOCOLS, **broken_protocols.origin_proceeds_without_all_hold()}
    found = rules(run(1, 120, REGIONS, (), protocols=broken,
                      mix={"pension_transfer": 1}).violations)
    assert "counterpart_rejected" in found


def test_the_real_code_passes_every_oracle() -> None:
    for process in ("pension_transfer", "household_move"):
        assert run(2, 60, REGIONS, (), mix={process: 1}).violations == []


def test_a_pooled_part_truncated_instead_of_rounded_half_up_is_caught(monkeypatch) -> None:
    from domain.protocols import pension_amounts

    monkeypatch.setattr(pension_amounts, "round_fen_times",  # truncates toward zero
                        lambda fen, rate: int(Decimal(fen) * rate))
    assert "pooled_reference" in rules(run(1, 40, REGIONS, (),
                                           mix={"pension_transfer": 1}).violations)


@dataclass
class TakesOverOnFunds(TransferDecider):
    """The bug: the relationship (and so the benefit) waits for the money."""

    def _takeover_due(self, s: DestinationState) -> bool:
        return super()._takeover_due(s) and all(t.funds_in for t in s.tracks.values())


def test_a_take_over_that_waits_for_the_funds_is_caught() -> None:
    broken = {**PROTOCOLS, unemployment.PROCESS: replace(
        PROTOCOLS[unemployment.PROCESS], decider=partial(TakesOverOnFunds, unemployment.SPEC))}
    found = rules(run(1, 60, REGIONS, (), protocols=broken,
                      mix={"unemployment_transfer": 1}).violations)
    assert "takeover_timing" in found


def test_a_relay_that_skips_a_message_is_caught_by_the_needless_resend(monkeypatch) -> None:
    real = Relay.read
    skipped: list[int] = []

    def read(self, notifications, now):  # type: ignore[no-untyped-def]
        items = real(self, notifications, now)
        if not skipped and len(items) > 2 and isinstance(items[0], LinkMessage):
            skipped.append(1)
            return items[1:]  # the bug: one message read past, never published
        return items

    monkeypatch.setattr(Relay, "read", read)
    assert "needless_resend" in rules(run(1, 40, REGIONS, ()).violations)


def test_the_deadline_oracle_agrees_with_the_calendar_across_an_unknown_new_year() -> None:
    """Official data decides 2026's last days only if 2027 is known (its 元旦 window may take
    them): the oracle reckoned 30 working days from 2026-11-21 with 30–31 December as working
    days and called the real due date wrong (a drawn stateful run, seed 0)."""
    from simulations import oracles
    start = cal.start_of_day(cal.dt.date(2026, 11, 21))
    real = cal.WorkingCalendar().add_working_days(start, 30)
    assert oracles.expected_due(start, 30, "working", rest_rule=False) == real.due_at


def test_a_permit_honoured_hours_past_its_expiry_is_caught(monkeypatch) -> None:
    """The mutant that escaped the simulator: applicants used to withdraw before any origin
    held a 准迁证 to its expiry. Timed at the permit, the applicant now waits for the origin's
    answer, and the origin's own timer refusal (which the broken decider refuses) is judged."""
    import datetime as dt

    from domain.protocols.household_states import Origin
    monkeypatch.setattr(Origin, "permit_valid", lambda self, now: (
        self.permit_expires_at is not None
        and now < self.permit_expires_at + dt.timedelta(hours=8)))
    found = rules(run(1, 40, REGIONS, ("timing_edges",), mix={"household_move": 1}).violations)
    assert {"permit_expiry", "timer_refused"} <= found


def test_origins_holding_permits_to_their_expiry_pass_every_oracle() -> None:
    result = run(1, 40, REGIONS, ("timing_edges",), mix={"household_move": 1})
    assert result.world.edges["origin_held_permit_to_expiry"] > 0
    assert result.violations == []


def test_a_settlement_that_opens_no_register_leaves_a_person_nowhere(monkeypatch) -> None:
    """The bug: 落户 (HouseholdSettled) no longer opens the destination's register, so after the
    origin's 注销 and the 回执 the person has no 户口 anywhere. Only the quiescent residence
    check can see it: the per-step check looks for two homes, not none."""
    from domain.protocols import household
    from domain.protocols.household_events import HouseholdSettled
    from simulations import oracles

    monkeypatch.delitem(household._EFFECTS, HouseholdSettled)
    result = run(1, 40, REGIONS, (), mix={"household_move": 1})
    found = oracles.residence_at_quiescence(result.world, result.workload)
    assert found and all(v.rule == "single_residence" for v in found)
    assert "registered nowhere" in found[0].detail
    assert "single_residence" in rules(result.violations)


@dataclass
class CompletesWithoutConcluding(TransferDecider):
    """The bug: the destination completes without the conclusion each origin waits for. Made in
    `_complete`, which every completion goes through (a `CompleteTransfer`'s, and since issue
    17's rows a last match's `Reconcile`, which completes in the same decision)."""

    @staticmethod
    def _complete(s, actor, now, reconciled=None):  # type: ignore[no-untyped-def]
        events = TransferDecider._complete(s, actor, now, reconciled)
        return [e for e in events if type(e).__name__ != "TransferConcluded"]


def test_a_completion_the_origin_never_hears_of_is_caught() -> None:
    """The accepting side ends completed while its origin still waits to hear how the case
    ended: the terminal-pair check skips a counterpart that is not terminal, so only
    `terminal_against_waiting` can name it."""
    from simulations import oracles

    broken = {**PROTOCOLS, pension.PROCESS: replace(
        PROTOCOLS[pension.PROCESS], decider=partial(CompletesWithoutConcluding, pension.SPEC))}
    result = run(1, 40, REGIONS, (), protocols=broken, mix={"pension_transfer": 1})
    found = oracles.terminal_against_waiting(result.world, result.workload)
    assert found and all(v.rule == "terminal_pairs" for v in found)
    assert "completed while origin" in found[0].detail
    assert "terminal_pairs" in rules(result.violations)


def test_the_final_checks_are_silent_on_the_real_code() -> None:
    from simulations import oracles

    for process in ("household_move", "pension_transfer"):
        result = run(1, 40, REGIONS, (), mix={process: 1})
        assert oracles.residence_at_quiescence(result.world, result.workload) == []
        assert oracles.terminal_against_waiting(result.world, result.workload) == []


def test_a_relay_that_moves_its_read_position_before_the_publish_succeeded_is_caught(
        monkeypatch) -> None:
    """The bug (issue 16, "a failure path never runs"): the relay's read position moves when it
    reads a batch, not when the broker took it, so a failed publish is never retried — the
    batch is skipped, and receivers only get it by asking for a re-send, which hid it. The
    `publish_fails` fault (the node keeps running) reaches the retry path; the oracle holds the
    relay to handing every link message on in order, whatever re-sends repaired."""
    from regions.core.tailer import Tailer

    real = Tailer.step

    def step(self, now, after=None):  # type: ignore[no-untyped-def]
        batch = real(self, now, after)
        if batch is not None and isinstance(self, Relay):
            self._position = batch.position  # the bug: before the sink took the batch
        return batch

    monkeypatch.setattr(Tailer, "step", step)
    result = run(3, 40, REGIONS, ("publish_fails",))
    assert result.world.edges["publish_failed_then_retried"] > 0
    assert "relay_skipped" in rules(result.violations)


def test_a_relay_retrying_a_failed_publish_passes_every_oracle() -> None:
    result = run(3, 40, REGIONS, ("publish_fails",))
    assert result.world.edges["publish_failed_then_retried"] > 0
    assert result.violations == []
