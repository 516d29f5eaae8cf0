"""Running a decider to a settled decision: a command decided and folded, the side's policies
let act until quiet, a refused counterpart event recorded rather than dropped.

Why apart from the kernel (`domain.kernel`: the vocabulary — events, commands, actors, errors,
the `Decider` interface, `fold`): this is the one loop every caller runs a decider through —
the node's staging and timer, the contract's state tables, the tests — and the hottest domain
code of a node (issue 17: `settle` was a tenth of a bench node's busy samples), with its
shortcut for deciders that fold while deciding (`decide_folded`).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from typing import TypeVar

from domain.kernel import (
    Actor,
    Command,
    CounterpartEventRejected,
    Decider,
    DomainError,
    Event,
    NeedsAttentionRaised,
    Receive,
    clip,
    fold,
)

S = TypeVar("S")


def receive(decider: Decider[S], state: S | None, command: Receive, now: dt.datetime) -> list[Event]:
    """Decide on a counterpart event; an illegal one is recorded as rejected, never dropped."""
    try:
        return decider.decide(state, command, now)
    except DomainError as exc:
        actor = Actor.system("inbox")
        return [
            CounterpartEventRejected(
                at=now, actor=actor, ref=command.ref, event_type=command.event.TYPE,
                from_region=command.from_region, reason=clip(f"{exc.code}: {exc}"),
            ),
            NeedsAttentionRaised(at=now, actor=actor,
                                 reason=clip(f"rejected {command.event.TYPE}: {exc}")),
        ]


def execute(
    decider: Decider[S], state: S | None, command: Command, now: dt.datetime,
) -> tuple[S | None, list[Event]]:
    """Decide and fold: the new state and the events; raises `DomainError` unchanged."""
    events = receive(decider, state, command, now) if isinstance(command, Receive) else decider.decide(
        state, command, now)
    return fold(decider, events, state), events


#: How many policy commands one command may set off before its policies count as looping.
MAX_POLICY_ROUNDS = 32


def settle(
    decider: Decider[S], state: S | None, command: Command, now: dt.datetime,
) -> tuple[list[Event], S | None]:
    """Decide `command`, then let the side's policies act until they are quiet (pure).

    Returns every event — the command's, then those of each policy command it set off — and
    the state they lead to. Policies run one command at a time, each deciding on the state the
    previous one left, so a policy never acts twice on a stale state. Raises `DomainError`
    unchanged (recording a refused counterpart event is the caller's part, see `receive`), and
    `DomainError(code="policy_loop")` when the policies still issue commands after
    `MAX_POLICY_ROUNDS` rounds. A command that leaves no side (`state` still None) sets off no
    policy.
    """
    if _folds_its_decide(type(decider)):
        folded: DecideFolded[S] = decider.decide_folded  # type: ignore[attr-defined]
        return _settle_folded(decider, folded, state, command, now)
    pending = list(decider.decide(state, command, now))
    events: list[Event] = []
    for _ in range(MAX_POLICY_ROUNDS):
        for event in pending:
            state = decider.evolve(state, event)
        events.extend(pending)
        pending = []
        for policy_command in decider.policy(state, now) if state is not None else ():
            pending.extend(decider.decide(state, policy_command, now))
            break  # one policy command at a time: the next one sees the new state
        if not pending:
            return events, state
    raise DomainError("policies did not settle", code="policy_loop")


#: `decide` that also returns the state its events lead to — `fold(state, events)`, which a
#: decider that folds its events while deciding (the transfer's bookkeeping) has at hand.
DecideFolded = Callable[[S | None, Command, dt.datetime], tuple[list[Event], S | None]]


@functools.cache
def _folds_its_decide(cls: type) -> bool:
    """`decide_folded` stands for `decide` only on a class whose `decide` is the one defined
    beside it: not a wrapper with its own `decide` forwarding the rest (`__getattr__`), nor a
    subclass with a `decide` of its own — settled by their `decide`, as before."""
    owner = next((c for c in cls.__mro__ if "decide_folded" in c.__dict__), None)
    return owner is not None and getattr(cls, "decide", None) is owner.__dict__.get("decide")


def _settle_folded(decider: Decider[S], decide: DecideFolded[S], state: S | None,
                   command: Command, now: dt.datetime) -> tuple[list[Event], S | None]:
    """`settle` for a decider with `decide_folded`: the same events and state, without
    folding each event a second time (issue 17: the transfer's `decide` and `evolve` were a
    sixth of a node's CPU, the second fold a third of that)."""
    pending, after = decide(state, command, now)
    events: list[Event] = []
    for _ in range(MAX_POLICY_ROUNDS):
        if pending:
            state = after
        events.extend(pending)
        pending = []
        for policy_command in decider.policy(state, now) if state is not None else ():
            pending, after = decide(state, policy_command, now)
            break  # one policy command at a time: the next one sees the new state
        if not pending:
            return events, state
    raise DomainError("policies did not settle", code="policy_loop")
