"""A link event of a kind kept (`regions.wire.link._KINDS`: its ends, process, type and schema
written once) is written or refused exactly as the long way (`envelope.encode_payload`) writes or
refuses it, whatever its own attributes and whatever kinds were kept before it.

Why beyond `tests/unit/test_wire_written_out.py`, which changes one attribute of a stored event
at a time: the kept texts are keyed by values an event holds (its ends, process, type, schema),
so a hostile or broken combination — a wrong end with a payload for it, a `bool` schema equal to
a kept number, a near-miss region code, a naive instant with a malformed trace context — must
not reach bytes the long way would not write, nor bytes different from its."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from regions.core.messages import LinkMessage
from regions.wire import link
from tests.unit.test_wire_written_out import (
    link_the_long_way,
    outcome,
    stored_link_messages_once,
)

regions = st.sampled_from(["150600", "610800", "140200", "150700", "15060", "１５０６００",
                           "150600\n", ""])
anything = st.one_of(st.text(max_size=6), st.integers(-1, 3), st.booleans(), st.none(),
                     st.just(2**64))
traces = st.one_of(st.just(""), st.just("00-" + "ab" * 16 + "-" + "cd" * 8 + "-01"), anything)
zones = st.sampled_from([dt.UTC, dt.timezone(dt.timedelta(hours=8)), None])


@st.composite
def link_events(draw: Any) -> tuple[LinkMessage, LinkMessage]:
    """A stored link event with up to two of its attributes anything (its ends, process,
    schema, numbers, texts, instant, trace context, payload's region), and a neighbour of its
    kind (its ends, process and schema, a payload for its destination) that may have been
    written before it. Few changed at once, so that most keep a kind that was written."""
    base = draw(st.sampled_from(stored_link_messages_once()))
    hostile: dict[str, Any] = {
        "origin": regions, "destination": regions,
        "process": st.one_of(st.sampled_from(["household_move", "Pension"]), anything),
        "schema_version": st.one_of(st.integers(0, 4), st.booleans()),
        "link_seq": st.one_of(st.integers(-1, 3), st.booleans(), st.just(2**70)),
        "originator_version": st.one_of(st.integers(0, 3), st.booleans()),
        "traceparent": traces, "at": zones.map(lambda zone: base.at.replace(tzinfo=zone)),
        "case_id": anything, "case_number": anything, "originator_id": anything,
        "payload": regions.map(lambda region: {**base.payload, "to_region": region}),
    }
    names = draw(st.sets(st.sampled_from(sorted(hostile)), max_size=2))
    item = replace(base, **{name: draw(hostile[name]) for name in sorted(names)})
    neighbour = replace(base, origin=item.origin, destination=item.destination,
                        process=item.process, schema_version=item.schema_version,
                        payload={**base.payload, "to_region": item.destination})
    return item, neighbour


@settings(max_examples=max(400, settings().max_examples))  # a few % reach each refusal
@given(link_events(), st.booleans())
def test_a_link_event_is_written_or_refused_as_the_long_way_whatever_was_kept(
        events: tuple[LinkMessage, LinkMessage], neighbour_first: bool) -> None:
    item, neighbour = events
    expected = outcome(link_the_long_way, item)
    if neighbour_first:
        outcome(link._envelope, neighbour)  # its kind kept, where the long way accepts it
    assert outcome(link._envelope, item) == expected
    assert outcome(link._envelope, item) == expected  # and again, its own kind kept if written
