"""The compiled dataclass converters (`domain.payloads._compile_object`) decode as the loop did.

Why: decoding is where a peer's event and a back-end's command are refused (issue 11, item 3);
compiling it for speed (issue 17) must not let in anything the loop refused, nor refuse anything
it let in, nor say a refusal differently (the code and field path reach back-ends and the
quarantine). `loop_object` is the loop as it was (kept in `simulations.bench.conversions`, which
times both). For data of every event and command class — encoded from instances holding values
of their hints and values that are not, then with a key dropped, added or replaced — both give
an equal value with the same representation, or the same refusal.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.encoding import to_payload
from domain.kernel import Actor, Command, Event, event_from_payload
from domain.payloads import PayloadError, _plain, from_payload
from simulations.bench.conversions import looped
from simulations.runner import run
from tests.property.test_payload_encoding import CLASSES, anything, instance_of

EVENT_CLASSES = [c for c in CLASSES if issubclass(c, Event | Command)]


def decoded(cls: type, data: Any) -> tuple[str, Any]:
    try:
        value = from_payload(cls, data, root="x")
    except PayloadError as exc:
        return "refused", (exc.code, exc.field, exc.reason)
    return "ok", (type(value), repr(value), value)


def check(cls: type, data: Any,
          reference: Callable[[], AbstractContextManager[None]] = looped) -> None:
    """`data` decodes as `cls` now as it did under `reference`: an equal value, the same
    representation and field order, or the same refusal."""
    new = decoded(cls, data)
    with reference():
        old = decoded(cls, data)
    assert new[0] == old[0], (new, old)
    if new[0] == "ok":
        assert new[1][:2] == old[1][:2]
        assert new[1][2] == old[1][2]
        assert list(vars(new[1][2])) == list(vars(old[1][2]))  # the fields in their order
    else:
        assert new[1] == old[1]


def _data(cls: type) -> st.SearchStrategy[Any]:
    """Encoded instances of `cls` (some not values of their hints), or nothing of the kind."""
    def encoded(value: Any) -> Any:
        try:
            return to_payload(value)
        except PayloadError:
            return {"at": "naive"}
    return st.one_of(instance_of(cls).map(encoded), anything)


@st.composite
def mutated(draw: st.DrawFn, cls: type) -> Any:
    data = draw(_data(cls))
    if isinstance(data, dict) and data:
        action = draw(st.sampled_from(["keep", "drop", "add", "replace"]))
        key = draw(st.sampled_from(sorted(data)))
        if action == "drop":
            data = {k: v for k, v in data.items() if k != key}
        elif action == "add":
            data = {**data, draw(st.text(max_size=6)): draw(anything)}
        elif action == "replace":
            data = {**data, key: draw(anything)}
    return data


def test_compiled_converters_fill_plain_classes() -> None:
    assert _plain(Actor)
    assert sum(map(_plain, EVENT_CLASSES)) > 100  # the events and commands, nearly all


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__qualname__)
@settings(max_examples=8, deadline=None)
@given(data=st.data())
def test_every_class_decodes_as_the_loop_decoded_it(cls: type, data: st.DataObject) -> None:
    check(cls, data.draw(mutated(cls)))


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(CLASSES).flatmap(lambda cls: st.tuples(st.just(cls), mutated(cls))))
def test_any_data_decodes_as_the_loop_decoded_it(drawn: tuple[type, Any]) -> None:
    check(*drawn)


def stored_payloads() -> list[tuple[str, Any, int]]:
    """(type, payload, schema version) of every stored event of a small faulted run."""
    result = run(seed=5, cases=30, faults=("drop", "duplicate", "delay"))
    stored = []
    for region in result.world.regions.values():
        app = region.region.node.app
        for notification in app.recorder.select_notifications(1, 1_000_000):
            event: Any = app.mapper.to_domain_event(notification)
            if hasattr(event, "payload") and hasattr(event, "schema_version"):
                stored.append((event.type, event.payload, event.schema_version))
    assert len(stored) > 300
    return stored


def test_every_event_of_a_simulated_run_decodes_as_before() -> None:
    for type_, payload, version in stored_payloads():
        new = event_from_payload(type_, payload, version)
        with looped():
            old = event_from_payload(type_, payload, version)
        assert type(new) is type(old) and repr(new) == repr(old) and new == old
        assert dataclasses.asdict(new) == dataclasses.asdict(old)
