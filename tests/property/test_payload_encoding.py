"""The compiled encoder (`domain.encoding.to_payload`) gives the generic walk's data, exactly.

Why: the stored JSON of an event must stay byte for byte what it was (the event store is the
record; the links and the feed send the stored payload as it is). `walk` is the encoder as it
was before it was compiled per class (kept in `simulations.bench.conversions`, which times
both); for any value of every event and command class — and of the dataclasses they nest — the
new data has the same types, values and key order, and both refuse a naive instant. Fields are
also given values their hints do not allow (the encoder never looked at hints, and must not
start to).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import types
import typing
from typing import Any, Literal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.encoding import to_payload
from domain.kernel import Command, Event, event_types
from domain.payloads import PayloadError
from simulations.bench.conversions import walk
from simulations.runner import run


def same(a: Any, b: Any) -> bool:
    """Equal with the same types and the same key order all the way down."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b) or (a != a and b != b)  # NaN is itself here


def _subclasses(cls: type) -> list[type]:
    found = []
    for sub in cls.__subclasses__():
        found += [sub, *_subclasses(sub)]
    return found


def _dataclasses() -> list[type]:
    """Every event and command class, and every dataclass their fields' hints name."""
    todo = [*event_types().values(), *_subclasses(Command), *_subclasses(Event)]
    seen: dict[type, None] = {}
    while todo:
        cls = todo.pop()
        if cls in seen or not dataclasses.is_dataclass(cls):
            continue
        seen[cls] = None
        for hint in typing.get_type_hints(cls).values():
            todo += [t for t in _named(hint) if isinstance(t, type)]
    return sorted(seen, key=lambda c: f"{c.__module__}.{c.__qualname__}")


def _named(hint: Any) -> list[Any]:
    args = typing.get_args(hint)
    return [hint, *(t for arg in args for t in _named(arg))] if args else [hint]


CLASSES = _dataclasses()


class Text(str):
    """A `str` subclass (as a value object could be): not a scalar by exact type."""


UTC8 = dt.timezone(dt.timedelta(hours=8))
SHARED = [dt.datetime(2026, 3, 2, 9, 0, tzinfo=UTC8), dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)]
instants = st.one_of(
    st.datetimes(timezones=st.sampled_from([dt.UTC, UTC8])),
    st.sampled_from(SHARED),  # the same objects again and again: the last-instant memo
    st.datetimes(),  # naive: refused by both
)
leaves = st.one_of(st.text(max_size=8), st.integers(), st.booleans(), st.none(),
                   st.floats(), instants, st.dates(), st.text(max_size=4).map(Text))
anything = st.recursive(leaves, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.lists(inner, max_size=3).map(tuple),
    st.dictionaries(st.text(max_size=4), inner, max_size=3)), max_leaves=6)


def of_hint(hint: Any) -> st.SearchStrategy[Any]:
    """Values of `hint` (constraints ignored: the encoder does not check them), now and then
    anything at all."""
    return st.one_of(_typed(hint), anything) if hint is not Any else anything


def _typed(hint: Any) -> st.SearchStrategy[Any]:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is typing.Annotated:
        return _typed(args[0])
    if origin in (typing.Union, types.UnionType):
        return st.one_of([_typed(a) for a in args])
    if origin is Literal:
        return st.sampled_from(args)
    if origin in (tuple, list):
        items = st.lists(_typed(args[0]) if args else anything, max_size=3)
        if origin is tuple and args and args[-1] is not Ellipsis:
            return st.tuples(*(_typed(a) for a in args))
        return items.map(tuple) if origin is tuple else items
    if origin is dict:
        return st.dictionaries(st.text(max_size=4), st.text(max_size=4), max_size=3)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return st.deferred(lambda: instance_of(hint))
    simple: dict[Any, st.SearchStrategy[Any]] = {
        str: st.text(max_size=12), int: st.integers(), bool: st.booleans(),
        float: st.floats(), type(None): st.none(), dt.datetime: instants, dt.date: st.dates()}
    return simple.get(hint, anything)


def instance_of(cls: type) -> st.SearchStrategy[Any]:
    """An instance of the dataclass `cls` holding drawn field values, built without running its
    constructor (whose checks are the domain's business, not the encoder's)."""
    hints = typing.get_type_hints(cls, include_extras=True)
    names = [f.name for f in dataclasses.fields(cls)]

    def build(values: list[Any]) -> Any:
        obj: Any = object.__new__(cls)
        for name, value in zip(names, values, strict=True):
            object.__setattr__(obj, name, value)
        return obj
    return st.tuples(*(of_hint(hints.get(name, Any)) for name in names)).map(
        lambda values: build(list(values)))


def _encoded(encode: Any, value: Any) -> tuple[str, Any]:
    try:
        return "ok", encode(value)
    except PayloadError as exc:
        return "refused", (exc.code, exc.reason)


def check(value: Any) -> None:
    new, old = _encoded(to_payload, value), _encoded(walk, value)
    assert new[0] == old[0]
    assert same(new[1], old[1]), (new, old)
    if new[0] == "ok":
        as_stored = {"ensure_ascii": False, "separators": (",", ":")}
        assert json.dumps(new[1], **as_stored) == json.dumps(old[1], **as_stored)  # type: ignore[arg-type]


def test_there_are_classes_to_test() -> None:
    assert len(CLASSES) > 100  # every event and command type, and their nested values


@settings(max_examples=100)
@given(st.sampled_from(CLASSES).flatmap(instance_of))
def test_the_compiled_encoder_gives_the_walks_data(value: Any) -> None:
    check(value)


@given(anything)
def test_any_value_encodes_as_the_walk_encodes_it(value: Any) -> None:
    check(value)


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__qualname__)
@settings(max_examples=2)
@given(data=st.data())
def test_every_class_encodes_as_the_walk_encodes_it(cls: type, data: st.DataObject) -> None:
    check(data.draw(instance_of(cls)))


def test_every_event_of_a_simulated_run_encodes_as_before() -> None:
    result = run(seed=5, cases=30, faults=("drop", "duplicate", "delay"))
    events = [event for region in result.world.regions.values()
              for event in _events_of(region.region.node.app)]
    assert len(events) > 300
    for event in events:
        check(event)


def _events_of(app: Any) -> list[Any]:
    from domain.kernel import event_from_payload
    from regions.core.store import Stream
    found = []
    for notification in app.recorder.select_notifications(1, 1_000_000):
        stored = app.mapper.to_domain_event(notification)
        if isinstance(stored, (Stream.Opened, Stream.Recorded)):
            found.append(event_from_payload(stored.type, stored.payload, stored.schema_version))
    return found
