"""Per-person registers: which region holds a person's relationship in each scheme.

Why a register: "a person may not hold two active relationships for the same scheme" (reference
§1 invariant 2) and "注销 happens before 落户" are only checkable if every region records, in the
same transaction as the case step that starts or ends a relationship, what that step did to the
person's relationship. The register is keyed per (region, person_key, scheme); `person_key` is a
keyed hash of the ID number (`domain.values`), never the plaintext.

Status of one entry (absent = the register knows nothing of the person in that scheme):

| status       | effect          | event                  | next       | refused with        |
|--------------|-----------------|------------------------|------------|---------------------|
| absent/ended | open            | RelationshipOpened     | active     |                     |
| active       | open            | —                      | —          | already_active      |
| in_transit   | open            | —                      | —          | already_active      |
| absent       | begin_move_out  | MoveOutBegun (adopted) | in_transit |                     |
| active       | begin_move_out  | MoveOutBegun           | in_transit |                     |
| in_transit   | begin_move_out  | —                      | —          | already_in_transit  |
| ended        | begin_move_out  | —                      | —          | not_active          |
| in_transit   | cancel_move_out | MoveOutCancelled       | active     | other case: wrong_case |
| in_transit   | end             | RelationshipEnded      | ended      | other case: wrong_case |
| ended        | reinstate       | RelationshipReinstated | active     | other case: wrong_case |
| other        | cancel/end      | —                      | —          | not_in_transit      |
| other        | reinstate       | —                      | —          | not_ended           |

Rules worth knowing:
- A move-out from an *absent* entry adopts a relationship that predates the ledger (the region's
  back-end holds it; the register learns of it at its first move-out). Such an entry is marked
  `adopted`: several regions may legitimately hold pre-ledger relationships of one person (the
  reason a pension transfer can have several origins), so the single-active-relationship check
  (`domain.invariants`) counts only relationships the ledger itself opened.
- An exact repeat of the effect that produced the current state (same kind, same case) yields no
  event: a duplicate delivery can never apply an effect twice, and it is not an error either.
- Ending requires a preceding move-out (two steps: hold, then end) so that a multi-origin case
  can hold every origin before any of them ends; a one-shot move emits both effects in order.

The contract between protocols and the node (and the simulator): registers are not driven by a
generic rule. Each protocol module exposes `register_effects(event) -> list[RegisterEffect]`,
saying which register changes one of *its* events implies (e.g. the pension origin's hold implies
`begin_move_out`, its transfer-out implies `end`, the destination's completion implies `open`).
Events that imply effects carry `person_key`, `scheme` and `case_id` themselves, so the function
needs nothing but the event. The node applies the effects with `decide_register` to the register
aggregate of (its region, person_key, scheme) **in the same transaction** as the side's events; a
refusal (`DomainError`) aborts the whole transaction, so a case step never happens without its
register change. Protocols check register preconditions *before* emitting such an event (via a
staff/back-end command that can fail), so a refusal here means a real conflict, e.g. a second
move-out while one is pending (`already_in_transit`). The simulator and the property tests use
`apply_register_effects` on an in-memory mapping of entries the same way.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal, Protocol, TypeVar

from domain.kernel import Actor, DomainError, Event, IllegalCommand, InvalidValue, domain_event

Scheme = Literal["pension", "unemployment", "medical", "housing_fund", "hukou"]
SCHEMES: tuple[Scheme, ...] = ("pension", "unemployment", "medical", "housing_fund", "hukou")
RegisterStatus = Literal["active", "in_transit", "ended"]
EffectKind = Literal["open", "begin_move_out", "cancel_move_out", "end", "reinstate"]


# --------------------------------------------------------------------------- events


@dataclass(frozen=True, kw_only=True)
class RegisterEvent(Event):
    """A change of one register entry (local to the region; never sent to a counterpart)."""

    person_key: str
    scheme: str
    case_id: str


@domain_event
class RelationshipOpened(RegisterEvent):
    """落户 / 接续: the region now holds the person's relationship in the scheme."""


@domain_event
class MoveOutBegun(RegisterEvent):
    """The relationship is held for a transfer out; `adopted`: it predates the ledger."""

    adopted: bool = False


@domain_event
class MoveOutCancelled(RegisterEvent):
    """The hold is released: the relationship stays here (refusal elsewhere, withdrawal...)."""


@domain_event
class RelationshipEnded(RegisterEvent):
    """终止 / 注销: the region no longer holds the relationship."""


@domain_event
class RelationshipReinstated(RegisterEvent):
    """Compensation: an ended relationship is restored (e.g. the funds came back)."""


_R = TypeVar("_R", bound="RegisterEvent")

_RESULT: dict[type[RegisterEvent], RegisterStatus] = {
    RelationshipOpened: "active",
    MoveOutBegun: "in_transit",
    MoveOutCancelled: "active",
    RelationshipEnded: "ended",
    RelationshipReinstated: "active",
}
_KIND_OF: dict[type[RegisterEvent], EffectKind] = {
    RelationshipOpened: "open",
    MoveOutBegun: "begin_move_out",
    MoveOutCancelled: "cancel_move_out",
    RelationshipEnded: "end",
    RelationshipReinstated: "reinstate",
}


# --------------------------------------------------------------------------- state and effects


@dataclass(frozen=True)
class RegisterEffect:
    """What a protocol event implies for the register of the region that recorded the event."""

    kind: EffectKind
    person_key: str
    scheme: str
    case_id: str


class NamesRelationship(Protocol):
    """A protocol event that implies a register change names the person, scheme and case."""

    @property
    def person_key(self) -> str: ...
    @property
    def scheme(self) -> str: ...
    @property
    def case_id(self) -> str: ...


def effect_of(kind: EffectKind, event: NamesRelationship) -> list[RegisterEffect]:
    """The register change of `kind` that `event` implies (a protocol's `register_effects`)."""
    return [RegisterEffect(kind, event.person_key, event.scheme, event.case_id)]


@dataclass(frozen=True)
class RegisterEntry:
    """One (region, person_key, scheme) entry; `case_id` is the case that last changed it."""

    person_key: str
    scheme: str
    status: RegisterStatus
    case_id: str
    last_effect: EffectKind
    adopted: bool = False


RegisterKey = tuple[str, str, str]  # (region, person_key, scheme)


def decide_register(
    entry: RegisterEntry | None, effect: RegisterEffect, now: dt.datetime, actor: Actor,
) -> list[Event]:
    """The register event an effect produces on `entry`, [] for an exact repeat, or DomainError."""
    if not effect.person_key or not effect.case_id:
        raise InvalidValue("a register effect names the person key and the case")
    if effect.scheme not in SCHEMES:
        raise InvalidValue(f"unknown scheme {effect.scheme!r}", code="unknown_scheme")
    if entry is not None:
        if (entry.person_key, entry.scheme) != (effect.person_key, effect.scheme):
            raise InvalidValue("the effect is for another person or scheme than this entry")
        if entry.last_effect == effect.kind and entry.case_id == effect.case_id:
            return []
    status = entry.status if entry is not None else None
    def make(cls: type[_R]) -> _R:
        return cls(at=now, actor=actor, person_key=effect.person_key, scheme=effect.scheme,
                   case_id=effect.case_id)

    if effect.kind == "open":
        if status in ("active", "in_transit"):
            raise IllegalCommand(
                f"{effect.scheme} relationship already held here (case {_case(entry)})",
                code="already_active")
        return [make(RelationshipOpened)]
    if effect.kind == "begin_move_out":
        if status == "in_transit":
            raise IllegalCommand(
                f"a move-out of this {effect.scheme} relationship is pending (case {_case(entry)})",
                code="already_in_transit")
        if status == "ended":
            raise IllegalCommand(f"the {effect.scheme} relationship here has ended",
                                 code="not_active")
        return [MoveOutBegun(at=now, actor=actor, person_key=effect.person_key,
                             scheme=effect.scheme, case_id=effect.case_id, adopted=entry is None)]
    if effect.kind in ("cancel_move_out", "end"):
        if status != "in_transit":
            raise IllegalCommand(f"no move-out is pending (status {status or 'absent'})",
                                 code="not_in_transit")
        _same_case(entry, effect)
        return [make(MoveOutCancelled) if effect.kind == "cancel_move_out"
                else make(RelationshipEnded)]
    if effect.kind == "reinstate":
        if status != "ended":
            raise IllegalCommand(f"nothing to reinstate (status {status or 'absent'})",
                                 code="not_ended")
        _same_case(entry, effect)
        return [make(RelationshipReinstated)]
    raise InvalidValue(f"unknown register effect {effect.kind!r}")


def evolve_register(entry: RegisterEntry | None, event: Event) -> RegisterEntry | None:
    """Fold one register event (other events leave the entry unchanged)."""
    if not isinstance(event, RegisterEvent) or type(event) not in _RESULT:
        return entry
    adopted = entry.adopted if entry is not None else False
    if isinstance(event, MoveOutBegun) and event.adopted:
        adopted = True
    if isinstance(event, RelationshipOpened):
        adopted = False
    return RegisterEntry(event.person_key, event.scheme, _RESULT[type(event)], event.case_id,
                         _KIND_OF[type(event)], adopted)


def register_key(region: str, effect: RegisterEffect | RegisterEvent) -> RegisterKey:
    return (region, effect.person_key, effect.scheme)


def apply_register_effects(
    entries: Mapping[RegisterKey, RegisterEntry], region: str, effects: Iterable[RegisterEffect],
    now: dt.datetime, actor: Actor,
) -> tuple[dict[RegisterKey, RegisterEntry], list[Event]]:
    """Apply effects in order, all or nothing: the new entries and the events, or DomainError.

    The in-memory counterpart of the node's single transaction (simulator, property tests).
    """
    new = dict(entries)
    events: list[Event] = []
    for effect in effects:
        key = register_key(region, effect)
        produced = decide_register(new.get(key), effect, now, actor)
        for event in produced:
            entry = evolve_register(new.get(key), event)
            assert entry is not None
            new[key] = entry
        events.extend(produced)
    return new, events


def _case(entry: RegisterEntry | None) -> str:
    return entry.case_id if entry is not None else "?"


def _same_case(entry: RegisterEntry | None, effect: RegisterEffect) -> None:
    if entry is not None and entry.case_id != effect.case_id:
        raise IllegalCommand(
            f"the pending move-out belongs to case {entry.case_id}, not {effect.case_id}",
            code="wrong_case")


__all__ = [
    "SCHEMES", "DomainError", "EffectKind", "MoveOutBegun", "MoveOutCancelled", "RegisterEffect",
    "RegisterEntry", "RegisterEvent", "RegisterKey", "RegisterStatus", "RelationshipEnded",
    "RelationshipOpened", "RelationshipReinstated", "Scheme", "apply_register_effects",
    "decide_register", "effect_of", "evolve_register", "register_key",
]
