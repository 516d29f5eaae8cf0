"""The event store's rows (`regions.core.rows`) are the library's: every event a simulated run
stores is built with the attributes, in the order, its dataclass `__init__` gives, and stored
with the bytes the library's own `Mapper` writes — in clear and under the cipher."""

from __future__ import annotations

import base64
import datetime as dt
import uuid
from typing import Any

import pytest
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import (
    JSONTranscoder,
    Mapper,
    StoredEvent,
    TranscodingNotRegisteredError,
)

from regions.adapters.stores.memory import MemoryStore
from regions.core import rows
from regions.core.rows import RowMapper
from regions.core.store import CommandRecord, EventStore, InLink, OutLink, Stream
from simulations.bench.rows import events_of_a_run

AT = dt.datetime(2026, 12, 5, 10, 0, tzinfo=dt.UTC)
LATER = dt.datetime(2026, 12, 5, 10, 0, 1, 250, tzinfo=dt.timezone(dt.timedelta(hours=8)))


@pytest.fixture(scope="module")
def stored_by_a_run() -> list[Any]:
    """Every domain event a seeded run's nodes handed to their mappers."""
    return events_of_a_run(30)


def library_mapper() -> Mapper[Any]:
    app = Application[Any]()
    assert type(app.mapper) is Mapper
    return app.mapper


def test_every_event_of_a_run_is_stored_as_the_librarys_mapper_stores_it(
        stored_by_a_run: list[Any]) -> None:
    ours, library = EventStore().mapper, library_mapper()
    assert isinstance(ours, RowMapper)
    kinds = {type(event) for event in stored_by_a_run}
    assert {Stream.Opened, Stream.Recorded, OutLink.Started, OutLink.Sent, InLink.Started,
            InLink.Recorded, CommandRecord.Done} <= kinds
    for event in stored_by_a_run:
        mine, theirs = ours.to_stored_event(event), library.to_stored_event(event)
        assert mine == theirs
        assert type(mine.state) is bytes and type(mine) is StoredEvent
        assert vars(library.to_domain_event(mine)) == vars(event)


def test_every_event_of_a_run_has_what_its_dataclass_init_gives_in_that_order(
        stored_by_a_run: list[Any]) -> None:
    for event in stored_by_a_run:
        built = type(event)(**vars(event))
        assert list(vars(event).items()) == list(vars(built).items())
        assert event == built and repr(event) == repr(built)


def test_the_cipher_encrypts_the_librarys_bytes(stored_by_a_run: list[Any]) -> None:
    app = MemoryStore(cipher_key=base64.b64encode(bytes(32)).decode()).open("150600")
    assert isinstance(app.mapper, RowMapper) and app.mapper.cipher is not None
    library = library_mapper()
    for event in stored_by_a_run[:200]:
        mine = app.mapper.to_stored_event(event)
        assert app.mapper.cipher.decrypt(mine.state) == library.to_stored_event(event).state
        assert vars(app.mapper.to_domain_event(mine)) == vars(event)


def by_the_library() -> list[Any]:
    """The hot aggregates' events, built by the library's `_create` and `trigger_event`."""
    side = Stream._create(Stream.Opened, id=uuid.UUID(int=1), timestamp=AT, kind="side",
                          key={"case_id": "c"}, type="Opened", schema_version=1, payload={"a": 1})
    side.trigger_event(Stream.Recorded, timestamp=LATER, type="Noted", schema_version=2,
                       payload={"b": [1, "二"]})
    out = OutLink._create(OutLink.Started, id=OutLink.id_for("150600", "610800"), timestamp=AT,
                          origin="150600", destination="610800")
    out.trigger_event(OutLink.Sent, timestamp=AT, message={"m": 1})
    inl = InLink._create(InLink.Started, id=InLink.id_for("610800", "150600"), timestamp=AT,
                         origin="610800", destination="150600")
    inl.trigger_event(InLink.Recorded, timestamp=AT, link_seq=1, ref="r", type="T")
    done = CommandRecord._create(CommandRecord.Done, id=CommandRecord.id_for("p", "c1"),
                                 timestamp=AT, principal="p", command_id="c1", request_hash="h",
                                 outcome={"ok": True})
    return [side, out, inl, done]


def by_rows() -> list[Any]:
    side = Stream.open(uuid.UUID(int=1), "side", {"case_id": "c"}, "Opened", 1, {"a": 1}, AT)
    side.record("Noted", 2, {"b": [1, "二"]}, LATER)
    out = OutLink.start("150600", "610800", AT)
    out.send({"m": 1}, AT)
    inl = InLink.start("610800", "150600", AT)
    inl.record(1, "r", "T", AT)
    return [side, out, inl, CommandRecord.done("p", "c1", "h", {"ok": True}, AT)]


def test_the_hot_aggregates_are_built_as_the_library_builds_them() -> None:
    for mine, theirs in zip(by_rows(), by_the_library(), strict=True):
        mine_events, their_events = mine.collect_events(), theirs.collect_events()
        assert vars(mine) == vars(theirs) and type(mine) is type(theirs)
        assert [list(vars(e).items()) for e in mine_events] == [
            list(vars(e).items()) for e in their_events]


def test_a_save_records_and_returns_what_the_library_does() -> None:
    ours, library = EventStore(), Application[Any]()
    mine, theirs = ours.save(*by_rows()), library.save(*by_the_library())
    assert [(r.notification, vars(r.domain_event)) for r in mine] == [
        (r.notification, vars(r.domain_event)) for r in theirs]
    assert [n.state for n in ours.recorder.select_notifications(start=1, limit=99)] == [
        n.state for n in library.recorder.select_notifications(start=1, limit=99)]
    assert ours.save() == library.save() == []


def test_timestamps_the_library_cannot_store_fail_as_in_the_library() -> None:
    class Instant(dt.datetime):
        pass

    ours, library = EventStore().mapper, library_mapper()
    odd = Instant(2026, 12, 5, tzinfo=dt.UTC)
    side = Stream.open(uuid.UUID(int=1), "side", {}, "Opened", 1, {}, odd)
    event = side.collect_events()[0]
    for mapper in (ours, library):
        with pytest.raises(TranscodingNotRegisteredError):
            mapper.to_stored_event(event)
    nested = Stream.open(uuid.UUID(int=1), "side", {}, "Opened", 1, {"at": AT, "id": AT}, LATER)
    event = nested.collect_events()[0]
    assert ours.to_stored_event(event) == library.to_stored_event(event)


def test_another_transcoder_goes_the_librarys_way() -> None:
    class Other(JSONTranscoder):
        pass

    transcoder = Other()
    EventStore().register_transcodings(transcoder)
    mapper = RowMapper(transcoder)
    event = by_rows()[0].collect_events()[0]
    assert mapper.to_stored_event(event) == library_mapper().to_stored_event(event)


def test_an_event_built_out_of_its_field_order_is_refused() -> None:
    class Probe(Stream):
        class Noted(Stream.Event):
            a: int
            b: int

    probe = Probe.open(uuid.UUID(int=3), "side", {}, "Opened", 1, {}, AT)
    rows.trigger(probe, Probe.Noted, AT, a=1, b=2)
    with pytest.raises(TypeError, match="fields"):  # a second call site, in another order
        rows.trigger(probe, Probe.Noted, AT, b=1, a=2)
    assert [list(vars(e)) for e in probe.collect_events()][-1][-2:] == ["a", "b"]
    with pytest.raises(TypeError, match="non-UUID"):
        rows.create(Stream, Stream.Opened, "not-a-uuid", AT, kind="side", key={}, type="T",  # type: ignore[arg-type]
                    schema_version=1, payload={})


class _Defaulted(Aggregate):
    """An aggregate whose `__init__` takes more than its created event's fields."""

    class Made(Aggregate.Created):
        a: int

    def __init__(self, a: int, b: int = 2) -> None:
        self.a, self.b = a, b


class _Counted(Aggregate):
    """An aggregate whose version setter does more than the library's."""

    class Made(Aggregate.Created):
        a: int

    class Noted(Aggregate.Event):
        n: int

    def __init__(self, a: int) -> None:
        self.a = a
        self.sets = 0

    @property
    def version(self) -> int:
        return self._version

    @version.setter
    def version(self, version: int) -> None:
        self.sets += 1
        self._version = version


def test_a_class_that_is_not_plainly_the_librarys_is_built_the_librarys_way() -> None:
    """`rows.create`/`rows.trigger` skip the library's reflection only where it would find what
    they assume; any other class goes through the library's `mutate` and comes out the same."""
    mine = rows.create(_Defaulted, _Defaulted.Made, uuid.UUID(int=5), AT, a=1)
    theirs = _Defaulted._create(_Defaulted.Made, id=uuid.UUID(int=5), timestamp=AT, a=1)
    assert vars(mine) | {"_pending_events": None} == vars(theirs) | {"_pending_events": None}
    assert mine.b == 2
    counted = rows.create(_Counted, _Counted.Made, uuid.UUID(int=6), AT, a=1)
    rows.trigger(counted, _Counted.Noted, LATER, n=1)
    assert counted.sets == 1 and counted.version == 2 and counted.modified_on == LATER
