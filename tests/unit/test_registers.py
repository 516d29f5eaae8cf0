"""Per-person registers: one relationship per (region, person, scheme), moved out in two steps."""

from __future__ import annotations

import datetime as dt

import pytest

from domain.kernel import Actor, DomainError, event_from_payload, to_payload
from domain.registers import (
    MoveOutBegun,
    RegisterEffect,
    RegisterEntry,
    RelationshipOpened,
    apply_register_effects,
    decide_register,
    evolve_register,
)

NOW = dt.datetime(2025, 3, 3, 1, tzinfo=dt.UTC)
ACTOR = Actor.system("register", "610800")


def effect(kind: str, case: str = "case-1", scheme: str = "pension") -> RegisterEffect:
    return RegisterEffect(kind, "person-key", scheme, case)  # type: ignore[arg-type]


def after(*effects: RegisterEffect) -> RegisterEntry | None:
    entry = None
    for fx in effects:
        for event in decide_register(entry, fx, NOW, ACTOR):
            entry = evolve_register(entry, event)
    return entry


def refused(entry: RegisterEntry | None, fx: RegisterEffect) -> str:
    with pytest.raises(DomainError) as caught:
        decide_register(entry, fx, NOW, ACTOR)
    return caught.value.code


def test_opening_a_relationship_makes_it_active_for_that_case() -> None:
    entry = after(effect("open"))
    assert entry is not None
    assert (entry.status, entry.case_id, entry.adopted) == ("active", "case-1", False)


def test_a_second_move_out_while_one_is_pending_is_refused_as_already_in_transit() -> None:
    pending = after(effect("open", "case-0"), effect("begin_move_out", "case-1"))
    assert refused(pending, effect("begin_move_out", "case-2")) == "already_in_transit"


def test_opening_where_a_relationship_is_held_is_refused_as_already_active() -> None:
    assert refused(after(effect("open", "case-0")), effect("open", "case-2")) == "already_active"
    pending = after(effect("begin_move_out", "case-1"))
    assert refused(pending, effect("open", "case-2")) == "already_active"


def test_a_move_out_of_a_relationship_the_ledger_never_saw_adopts_it() -> None:
    entry = after(effect("begin_move_out"))
    assert entry is not None
    assert (entry.status, entry.adopted) == ("in_transit", True)


def test_ending_needs_a_pending_move_out_of_the_same_case() -> None:
    assert refused(after(effect("open", "case-0")), effect("end")) == "not_in_transit"
    pending = after(effect("begin_move_out", "case-1"))
    assert refused(pending, effect("end", "case-2")) == "wrong_case"
    ended = after(effect("begin_move_out"), effect("end"))
    assert ended is not None and ended.status == "ended"


def test_a_released_hold_makes_the_relationship_active_again() -> None:
    entry = after(effect("begin_move_out"), effect("cancel_move_out"))
    assert entry is not None and entry.status == "active"
    assert refused(entry, effect("cancel_move_out", "case-2")) == "not_in_transit"


def test_an_ended_relationship_cannot_move_out_again_but_its_case_can_reinstate_it() -> None:
    ended = after(effect("begin_move_out"), effect("end"))
    assert refused(ended, effect("begin_move_out", "case-2")) == "not_active"
    assert refused(ended, effect("reinstate", "case-2")) == "wrong_case"
    reinstated = after(effect("begin_move_out"), effect("end"), effect("reinstate"))
    assert reinstated is not None and reinstated.status == "active"
    assert refused(after(effect("open")), effect("reinstate")) == "not_ended"


def test_an_exact_repeat_of_an_effect_yields_no_event() -> None:
    entry = after(effect("begin_move_out"))
    assert decide_register(entry, effect("begin_move_out"), NOW, ACTOR) == []


def test_malformed_effects_are_refused() -> None:
    assert refused(None, effect("open", scheme="lottery")) == "unknown_scheme"
    assert refused(None, RegisterEffect("open", "", "pension", "case-1")) == "invalid_value"
    assert refused(None, RegisterEffect("open", "person-key", "pension", "")) == "invalid_value"


def test_applying_effects_is_all_or_nothing() -> None:
    entries, events = apply_register_effects({}, "610800", [effect("begin_move_out")], NOW, ACTOR)
    assert [type(e) for e in events] == [MoveOutBegun]
    with pytest.raises(DomainError):
        apply_register_effects(entries, "610800",
                               [effect("end"), effect("begin_move_out", "case-2")], NOW, ACTOR)
    assert entries[("610800", "person-key", "pension")].status == "in_transit"


def test_register_events_survive_the_wire_format() -> None:
    event = RelationshipOpened(at=NOW, actor=ACTOR, person_key="p", scheme="hukou", case_id="c")
    assert event_from_payload(event.TYPE, to_payload(event)) == event
