"""`settling.settle`: a command, then the side's policies until quiet — the pure loop of the node."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, replace

import pytest

from domain.calendar import WorkingCalendar
from domain.kernel import (
    Actor,
    Command,
    DomainError,
    Event,
    IllegalCommand,
    SideSummary,
    domain_event,
    fold,
)
from domain.limits import Rules
from domain.protocols import household as hh
from domain.protocols.application_events import Approve
from domain.protocols.details import HouseholdDetails
from domain.protocols.intake import AcceptIntake, Submit
from domain.settling import MAX_POLICY_ROUNDS, settle
from domain.values import CaseNumber, MaterialRef, RegionCode

NOW = dt.datetime(2025, 3, 3, 1, 0, tzinfo=dt.UTC)
SYSTEM = Actor.system("test")


@domain_event
class Counted(Event):
    """Test-only: the counter moved to `value`."""

    TYPE = "test.settle.Counted"
    value: int


@dataclass(frozen=True, kw_only=True)
class Count(Command):
    pass


@dataclass(frozen=True, kw_only=True)
class Refuse(Command):
    pass


@dataclass(frozen=True)
class Counter:
    value: int = 0


@dataclass(frozen=True)
class CountTo:
    """A side whose policy counts up to `target`, offering `per_round` commands each round."""

    target: int
    per_round: int = 1
    process = "test_counter"

    def decide(self, state: Counter | None, command: Command, now: dt.datetime) -> list[Event]:
        if isinstance(command, Refuse):
            raise IllegalCommand("refused", code="refused")
        value = (state.value if state else 0) + 1
        return [Counted(at=now, actor=command.actor, value=value)]

    def evolve(self, state: Counter | None, event: Event) -> Counter:
        assert isinstance(event, Counted)
        return replace(state or Counter(), value=event.value)

    def policy(self, state: Counter, now: dt.datetime) -> list[Command]:
        return [Count(actor=SYSTEM)] * self.per_round if state.value < self.target else []

    def timers(self, state: Counter, now: dt.datetime) -> list[Command]:
        return []

    def next_timer(self, state: Counter) -> dt.datetime | None:
        return None

    def status(self, state: Counter) -> str:
        return str(state.value)

    def is_terminal(self, state: Counter) -> bool:
        return False

    def summary(self, state: Counter) -> SideSummary:
        return SideSummary("case", self.process, "single", "110000", self.status(state), False)


def values(events: list[Event]) -> list[int]:
    return [e.value for e in events if isinstance(e, Counted)]


def test_settle_returns_the_commands_events_then_each_policy_commands_and_the_folded_state() -> None:
    events, state = settle(CountTo(4), Counter(), Count(actor=SYSTEM), NOW)
    assert values(events) == [1, 2, 3, 4]
    assert state == Counter(4)


def test_policies_act_one_command_at_a_time_on_the_state_the_previous_one_left() -> None:
    """Three commands offered per round would overshoot if all were decided on one state."""
    events, state = settle(CountTo(4, per_round=3), Counter(), Count(actor=SYSTEM), NOW)
    assert values(events) == [1, 2, 3, 4]
    assert state == Counter(4)


def test_settle_leaves_the_given_state_untouched() -> None:
    before = Counter(1)
    settle(CountTo(3), before, Count(actor=SYSTEM), NOW)
    assert before == Counter(1)


def test_a_refused_command_raises_its_domain_error_unchanged() -> None:
    with pytest.raises(DomainError) as info:
        settle(CountTo(3), Counter(), Refuse(actor=SYSTEM), NOW)
    assert info.value.code == "refused"


def test_policies_that_never_go_quiet_are_refused_as_a_policy_loop() -> None:
    settle(CountTo(MAX_POLICY_ROUNDS), Counter(), Count(actor=SYSTEM), NOW)  # just settles
    with pytest.raises(DomainError) as info:
        settle(CountTo(MAX_POLICY_ROUNDS + 1), Counter(), Count(actor=SYSTEM), NOW)
    assert info.value.code == "policy_loop"


def test_a_real_protocol_sends_the_move_out_request_in_the_same_settlement_as_the_permit() -> None:
    """Household: approving issues the permit, and the destination's policy sends it at once."""
    decider = hh.decider(Rules(WorkingCalendar()))
    staff = Actor("staff", "police-d-1", "150900", "户籍民警", "W1")
    number = CaseNumber.new(RegionCode("150900"), NOW.date(), uuid.UUID(int=0xC0FFEE))
    submit = Submit(actor=staff, case_number=str(number), item_id="b2-3", process=hh.PROCESS,
                    mode="joint", person_key="a1" * 32, applicant_masked="1409**********123X",
                    channel="window", details=HouseholdDetails("140200"),
                    materials=(MaterialRef("d", "d" * 64, "application/pdf", 9, "工作调动证明",
                                           "工作调动证明"),))
    _, state = settle(decider, None, submit, NOW)
    _, state = settle(decider, state, AcceptIntake(actor=staff), NOW)
    events, state = settle(decider, state, Approve(actor=staff), NOW)
    types = [e.TYPE for e in events]
    assert types.index("MovePermitIssued") < types.index("MoveOutRequested")
    assert state is not None and decider.status(state) == "awaiting_origin"


@dataclass(frozen=True)
class FoldingCountTo(CountTo):
    """`CountTo` with `decide_folded`, as the transfer's decider has it (issue 17)."""

    def decide_folded(self, state: Counter | None, command: Command,
                      now: dt.datetime) -> tuple[list[Event], Counter | None]:
        events = self.decide(state, command, now)
        return events, fold(self, events, state)


class Exploding:
    """A decider wrapped as tests/hostile wraps one: its own `decide`, the rest forwarded."""

    def __init__(self, inner: CountTo) -> None:
        self.inner = inner

    def decide(self, state: Counter | None, command: Command, now: dt.datetime) -> list[Event]:
        raise IllegalCommand("the wrapper's decide", code="exploded")

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


@dataclass(frozen=True)
class ExplodingCountTo(FoldingCountTo):
    """A subclass with a `decide` of its own (a variant, a mutant) and the inherited
    `decide_folded`."""

    def decide(self, state: Counter | None, command: Command, now: dt.datetime) -> list[Event]:
        raise IllegalCommand("the subclass's decide", code="exploded")


def test_a_wrapper_or_subclass_with_its_own_decide_is_settled_by_that_decide() -> None:
    events, state = settle(FoldingCountTo(3), Counter(), Count(actor=SYSTEM), NOW)
    assert values(events) == [1, 2, 3] and state == Counter(3)
    for decider in (Exploding(FoldingCountTo(3)), ExplodingCountTo(3)):
        with pytest.raises(DomainError) as info:
            settle(decider, Counter(), Count(actor=SYSTEM), NOW)
        assert info.value.code == "exploded"


def test_a_policys_actor_is_one_instance_per_policy_and_region_and_equals_a_new_one() -> None:
    """`Actor.system` keeps one frozen instance per (policy, region) (issue 17): what it gives
    equals the actor built afresh, and a subclass still gets its own class."""
    first = Actor.system("transfer_policy", "110000")
    assert first is Actor.system("transfer_policy", "110000")
    assert first == Actor("system", "transfer_policy", "110000")
    assert Actor.system("transfer_policy") == Actor("system", "transfer_policy", "")
    assert Actor.system("transfer_policy", "120000").region == "120000"

    @dataclass(frozen=True)
    class Special(Actor):
        pass

    assert type(Special.system("transfer_policy", "110000")) is Special
