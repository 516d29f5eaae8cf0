"""A feed event's element (`regions.wire.feed._element`) and a link event's envelope
(`regions.wire.envelope.encode_payload`) are written out rather than through a sorted attribute
dict and `envelope.write`: the same bytes, for every side event and shared event a simulated run
stores, for the contract-2 feed fixture, and for any strings and numbers the strict schema lets
through."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from domain.kernel import event_from_payload, event_type, to_payload
from projections.records import SideEvent
from regions.core.messages import LinkMessage
from regions.core.side_events import SideEventTailer
from regions.core.tailer import MemoryCursor
from regions.wire import feed, link
from regions.wire.attributes import (
    DATA_CONTENT_TYPE,
    SPECVERSION,
    TYPE_PREFIX,
    check_attributes,
    source_of,
)
from regions.wire.envelope import write
from simulations.runner import run
from tests.unit.test_link_codec_stored import stored_link_messages

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "wire"


def element_as_before(item: SideEvent) -> bytes:
    """What `_element` wrote before (feed.py at 6e56ef5): the attribute dict through `write`."""
    if item.schema_version == event_type(item.type).SCHEMA_VERSION:
        event_at = dt.datetime.fromisoformat(item.payload["at"])
        payload, schema = item.payload, item.schema_version
    else:
        event = event_from_payload(item.type, item.payload, item.schema_version)
        event_at, payload, schema = event.at, to_payload(event), type(event).SCHEMA_VERSION
    attributes: dict[str, Any] = {
        "specversion": SPECVERSION, "id": item.event_id, "source": source_of(item.region),
        "type": TYPE_PREFIX + item.type, "subject": item.case_number, "time": event_at,
        "datacontenttype": DATA_CONTENT_TYPE, "region": item.region, "caseid": item.case_id,
        "process": item.process, "originatorid": item.side_id,
        "originatorversion": item.version, "schemaversion": schema, "feedseq": item.position,
    }
    check_attributes(feed.FEED_ENVELOPE, attributes)
    return write(attributes, payload)


def stored_side_events() -> list[SideEvent]:
    result = run(5, 16)
    items: list[SideEvent] = []
    for sim in result.world.regions.values():
        app = sim.region.node.app
        tailer = SideEventTailer(sim.region.code, app, cursor=MemoryCursor())
        records = app.recorder.select_notifications(start=1, limit=100_000,
                                                    topics=list(tailer.topics))
        items.extend(tailer.read(records, dt.datetime.now(dt.UTC)))
    return items


def test_every_stored_side_event_is_written_as_before() -> None:
    items = stored_side_events()
    assert len({i.type for i in items}) >= 10
    for item in items:
        assert feed._element(item) == element_as_before(item)


def test_the_contract_2_fixture_events_are_written_as_they_were_sent() -> None:
    sent = json.loads((FIXTURES / "feed-per-side.v2.batch.json").read_bytes())
    for element, item in zip(sent, feed.decode((FIXTURES / "feed-per-side.v2.batch.json")
                                               .read_bytes()), strict=True):
        assert feed._element(item) == json.dumps(element).encode() == element_as_before(item)


names = st.text(min_size=1, max_size=20)  # quotes, backslashes, controls, CJK, surrogates


@given(names, names, names, st.integers(1, 10**15), st.integers(1, 10**6))
def test_any_strings_and_numbers_are_written_as_before(
        case_number: str, case_id: str, side_id: str, position: int, version: int) -> None:
    base = stored_side_events_once()
    item = SideEvent(position=position, region=base.region, case_id=case_id,
                     case_number=case_number, process=base.process, side_id=side_id,
                     version=version, type=base.type, schema_version=base.schema_version,
                     payload=base.payload)
    assert feed._element(item) == element_as_before(item)


_ONE: list[SideEvent] = []


def stored_side_events_once() -> SideEvent:
    if not _ONE:
        _ONE.append(stored_side_events()[0])
    return _ONE[0]


def link_as_before(item: LinkMessage) -> bytes:
    """What `encode_payload` wrote before (envelope.py at 6e56ef5): the attribute dict through
    `write`."""
    attributes: dict[str, Any] = {
        "specversion": SPECVERSION, "id": item.event_id, "source": source_of(item.origin),
        "type": TYPE_PREFIX + item.type, "subject": item.case_number, "time": item.at,
        "datacontenttype": DATA_CONTENT_TYPE, "linkseq": item.link_seq,
        "schemaversion": item.schema_version, "originatorid": item.originator_id,
        "originatorversion": item.originator_version, "origin": item.origin,
        "destination": item.destination, "process": item.process, "caseid": item.case_id,
    }
    if item.traceparent:
        attributes["traceparent"] = item.traceparent
    return write(attributes, item.payload)


def test_every_stored_link_message_is_written_as_before() -> None:
    items = stored_link_messages_once()
    assert len({i.type for i in items}) >= 5
    for item in items:
        assert link.encode(item).data == link_as_before(item)
        traced = replace(item, traceparent="00-" + "ab" * 16 + "-" + "cd" * 8 + "-01")
        assert link.encode(traced).data == link_as_before(traced)


@given(names, names, names, st.integers(1, 10**15), st.integers(1, 10**6))
def test_any_link_strings_and_numbers_are_written_as_before(
        case_number: str, case_id: str, originator_id: str, link_seq: int, version: int) -> None:
    base = stored_link_messages_once()[0]
    item = replace(base, case_number=case_number, case_id=case_id,
                   originator_id=originator_id, link_seq=link_seq, originator_version=version)
    assert link._envelope(item) == link_as_before(item)  # the msg id's grammar aside


_LINKS: list[LinkMessage] = []


def stored_link_messages_once() -> list[LinkMessage]:
    if not _LINKS:
        _LINKS.extend(stored_link_messages())
    return _LINKS


def outcome(write: Any, item: Any) -> tuple[str, str | bytes]:
    """What writing `item` gives: its bytes, or the error it raised (type and text)."""
    try:
        return "bytes", write(item)
    except Exception as exc:
        return type(exc).__name__, str(exc)


anything = st.one_of(st.text(max_size=8), st.text(st.characters(codec="utf-8"), max_size=4),
                     st.just("\ud800"), st.just(""), st.integers(-2, 3), st.booleans(), st.none(),
                     st.sampled_from(["150600", "610800", "050600", "pension_transfer",
                                      "Pension", "a b", "é", "2026-03-02T01:00:00+08:00",
                                      "2026-03-02T01:00:00", "2026-03-02T01:00:00.5Z",
                                      "2026-03-02T01:00:00.000000+00:00"]))
counts = st.one_of(st.integers(-1, 3), st.booleans(), st.just(2**64), st.text(max_size=2))


@given(anything, anything, anything, anything, anything, anything, counts, counts, counts)
def test_any_attributes_are_refused_or_written_as_before(
        region: Any, process: Any, case_id: Any, case_number: Any, side_id: Any, at: Any,
        position: Any, version: Any, schema: Any) -> None:
    """The attributes the feed's schema is skipped for (`regions.wire.plain.Accepted`) are
    only ones it accepts: whatever the values, the same bytes or the same refusal, asked
    twice (the second time with the values kept from the first)."""
    base = stored_side_events_once()
    payload = {**base.payload, "at": at} if isinstance(at, str) and at else base.payload
    item = SideEvent(position=position, region=region, case_id=case_id,
                     case_number=case_number, process=process, side_id=side_id,
                     version=version, type=base.type, schema_version=base.schema_version,
                     payload=payload)
    before = outcome(element_as_before, item)
    assert outcome(feed._element, item) == before
    assert outcome(feed._element, item) == before


def test_kept_values_are_written_as_before_with_other_attributes_refused() -> None:
    """A region, process, type and instant kept from an accepted event, with an attribute the
    schema refuses: refused as before (the instant known, the others validated)."""
    base = stored_side_events_once()
    assert outcome(feed._element, base)[0] == "bytes"
    for change in ({"case_id": ""}, {"version": 0}, {"side_id": "\ud800"}, {"position": True}):
        item = replace(base, **change)
        assert outcome(feed._element, item) == outcome(element_as_before, item)
        assert outcome(feed._element, item)[0] == "WireError"


def test_an_event_of_a_kept_kind_is_written_as_before_whatever_its_own_attributes() -> None:
    """The texts a kind of event shares (`feed._kind`, kept once an event of it was accepted)
    stand for nothing an event of that kind holds itself: its schema version as a bool equal to
    the kept number, or another region's source, are written or refused as before."""
    base = stored_side_events_once()
    assert outcome(feed._element, base)[0] == "bytes"  # its kind kept
    for change in ({"schema_version": True}, {"region": "610800"}, {"version": 2**64},
                   {"process": "Pension"}):
        item = replace(base, **change)
        assert outcome(feed._element, item) == outcome(element_as_before, item)


def link_the_long_way(item: LinkMessage) -> bytes:
    """`link._envelope(item)` with no kind kept (`link._KINDS` empty: `encode_payload` for
    every event, or the upcast), the kinds put back afterwards."""
    kept = dict(link._KINDS)
    link._KINDS.clear()
    try:
        return link._envelope(item)
    finally:
        link._KINDS.clear()
        link._KINDS.update(kept)


def test_a_link_event_of_a_kept_kind_is_written_or_refused_as_before() -> None:
    """The texts a kind of link event shares (`link._keep_kind`, kept once one was written)
    stand for nothing an event of that kind holds itself: another link's ends or process, a
    `bool` schema version or link sequence, a payload for another region, a malformed trace
    context or a naive instant are written or refused as the long way writes or refuses them."""
    items = stored_link_messages_once()
    firsts = [items[0], next(i for i in items if i.schema_version == 1)]  # True == 1 too
    for base in firsts:
        assert outcome(link._envelope, base) == ("bytes", link_the_long_way(base))  # kept
        assert (base.origin, base.destination, base.process, base.type,
                base.schema_version) in link._KINDS
        naive = base.at.replace(tzinfo=None)
        for change in ({"schema_version": True}, {"origin": base.destination},
                       {"destination": "150700"}, {"process": "Pension"}, {"link_seq": True},
                       {"originator_version": 0}, {"at": naive},
                       {"payload": {**base.payload, "to_region": "150700"}},
                       {"traceparent": "00-bad"}, {"traceparent": "00-" + "ab" * 16 + "-"
                                                   + "cd" * 8 + "-01"},
                       {"case_number": "号"}):
            item = replace(base, **change)
            assert outcome(link._envelope, item) == outcome(link_the_long_way, item), change
