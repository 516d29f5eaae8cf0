"""Each invariant checker is silent on a correct history and names the rule on a broken one."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from domain import invariants as inv
from domain.deadlines import DeadlineMissed, DeadlineSet
from domain.kernel import Actor, Decider, EventRef, SideSummary
from domain.protocols import pension, transfer
from domain.protocols.transfer import ContributionYear, TransferMessageReceived
from domain.registers import (
    MoveOutBegun,
    RegisterEntry,
    RelationshipEnded,
    RelationshipOpened,
)
from tests.fixtures.transfers import TRANSFERS, TransferWorld, accepted_case
from tests.fixtures.world import RULES

DEST, ORIGIN = "150600", "610800"
SHEET = pension.transfer_amount(1_000_000, [ContributionYear(2023, 12, 500_000)])
AT = dt.datetime(2025, 3, 3, 1, tzinfo=dt.UTC)
SYSTEM = Actor.system("test")


def completed() -> tuple[TransferWorld, str]:
    world, case = accepted_case(TRANSFERS, "pension_transfer", (ORIGIN,), DEST)
    world.transfer_out(case, ORIGIN, SHEET)
    world.bank_deliver(0, "none")
    world.run_policies()
    world.deliver_all()
    return world, case


def rules(found: list[inv.Violation]) -> set[str]:
    return {v.rule for v in inv.violations_only(found)}


def test_a_completed_transfer_passes_every_checker() -> None:
    world, _ = completed()
    assert world.at_rest() == []


def test_conservation_flags_credit_beyond_what_arrived_or_was_sent() -> None:
    world, case = completed()
    dest = world.summary(case, DEST)
    origin = world.summary(case, ORIGIN)
    inflated = dataclasses.replace(dest, amount_credited=dest.amount_credited + 1)
    assert rules(inv.conservation([inflated, origin])) == {"conservation"}
    unsent = dataclasses.replace(origin, amount_sent=0)
    assert rules(inv.conservation([dest, unsent])) == {"conservation"}
    assert inv.conservation([dest, origin]) == []


def test_terminal_pairs_flag_a_disagreement_and_report_needs_attention() -> None:
    world, case = completed()
    dest = world.summary(case, DEST)
    refused = dataclasses.replace(world.summary(case, ORIGIN), status="refused")
    pairs = {"pension_transfer": transfer.TERMINAL_PAIRS}
    assert rules(inv.terminal_pairs([dest, refused], pairs)) == {"terminal_pairs"}
    stuck = dataclasses.replace(dest, terminal=False, status="needs_attention",
                                needs_attention=True)
    found = inv.terminal_pairs([stuck, refused], pairs)
    assert [v.severity for v in found] == ["attention"]


def test_liveness_flags_a_side_neither_ended_nor_needing_a_person() -> None:
    open_side = SideSummary(case_id="c", process="pension_transfer", role="origin",
                            region=ORIGIN, status="received", terminal=False)
    assert rules(inv.liveness([open_side])) == {"liveness"}
    assert inv.liveness([dataclasses.replace(open_side, needs_attention=True)]) == []


def test_single_active_relationship_counts_only_relationships_the_ledger_opened() -> None:
    active = RegisterEntry("p", "pension", "active", "c1", "open")
    adopted = RegisterEntry("p", "pension", "active", "c2", "cancel_move_out", adopted=True)
    assert inv.single_active_relationship({("A", "p", "pension"): active,
                                           ("B", "p", "pension"): adopted}) == []
    twice = {("A", "p", "pension"): active, ("B", "p", "pension"): active}
    assert rules(inv.single_active_relationship(twice)) == {"single_active_relationship"}


def test_relationship_order_flags_an_opening_before_the_old_place_ended() -> None:
    def ev(cls: Any) -> Any:
        return cls(at=AT, actor=SYSTEM, person_key="p", scheme="pension", case_id="c")

    early = [("A", ev(MoveOutBegun)), ("B", ev(RelationshipOpened)), ("A", ev(RelationshipEnded))]
    assert rules(inv.relationship_order(early)) == {"relationship_order"}
    in_order = [early[0], early[2], early[1]]
    assert inv.relationship_order(in_order) == []


def test_split_outcome_flags_one_origin_out_and_another_refused() -> None:
    world, case = completed()
    events = world.side_events()
    refusal = transfer.TransferOutRefused(at=AT, actor=SYSTEM, to_region=DEST, reason="x")
    events[(case, "640100")] = [refusal]
    found = inv.split_outcome(events, {"InfoSheetIssued"}, {"TransferOutRefused"})
    assert rules(found) == {"split_outcome"}


def test_no_step_twice_flags_a_counterpart_event_recorded_twice_and_a_message_sent_twice() -> None:
    world, case = completed()
    events = world.side_events()
    receipt = next(e for e in events[(case, DEST)] if isinstance(e, TransferMessageReceived))
    doubled = {(case, DEST): [*events[(case, DEST)], receipt]}
    assert rules(inv.no_step_twice(doubled)) == {"no_step_twice"}
    letter = next(e for e in events[(case, DEST)] if e.to_region)
    resent = {(case, DEST): [*events[(case, DEST)], letter]}
    assert rules(inv.no_step_twice(resent)) == {"no_step_twice"}
    assert inv.no_step_twice(events) == []


def test_legal_transitions_flag_a_skipped_step_and_anything_after_the_end() -> None:
    world, case = completed()
    decider: Decider[Any] = pension.decider(RULES)
    origin = world.sides[(case, ORIGIN)].events
    assert inv.legal_transitions(case, ORIGIN, decider, origin, transfer.TRANSITIONS) == []
    skipped = [e for e in origin if e.TYPE != "TransferOutHeld"]  # received → remitting
    assert rules(inv.legal_transitions(case, ORIGIN, decider, skipped,
                                       transfer.TRANSITIONS)) == {"legal_transitions"}
    late = TransferMessageReceived(at=AT, actor=SYSTEM, ref=EventRef("x", 1), from_region=DEST,
                                   event_type="ProceedInstructed")
    assert rules(inv.legal_transitions(case, ORIGIN, decider, [*origin, late],
                                       transfer.TRANSITIONS)) == {"legal_transitions"}


def test_deadlines_never_early_flags_a_deadline_missed_before_it_was_due() -> None:
    due = AT + dt.timedelta(days=21)
    deadline = DeadlineSet(at=AT, actor=SYSTEM, step="transfer_out", due_at=due,
                           escalate_at=due + dt.timedelta(days=3), basis="15 WD",
                           calendar_version="v")
    early = DeadlineMissed(at=due - dt.timedelta(seconds=1), actor=SYSTEM, step="transfer_out",
                           due_at=due)
    assert rules(inv.deadlines_never_early("c", ORIGIN, [deadline, early])) == {"deadlines"}
    on_time = dataclasses.replace(early, at=due)
    assert inv.deadlines_never_early("c", ORIGIN, [deadline, on_time]) == []
