"""The event store's orjson transcoder writes and reads the library's JSON format, byte for byte:
rows written before it read the same, and rows it writes read with the library's transcoder."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.application import Application
from eventsourcing.persistence import JSONTranscoder
from eventsourcing.popo import POPOApplicationRecorder

from regions.core.store import EventStore, Stream
from regions.core.transcoder import OrjsonTranscoder
from simulations.runner import run

T0 = dt.datetime(2026, 3, 2, 1, 0, 0, 123456, tzinfo=dt.UTC)


def transcoders() -> tuple[JSONTranscoder, OrjsonTranscoder]:
    old, new = JSONTranscoder(), OrjsonTranscoder()
    for transcoder in (old, new):
        Application.register_transcodings(None, transcoder)  # type: ignore[arg-type]
    return old, new


def test_every_event_a_simulated_run_stores_is_the_librarys_bytes_both_ways() -> None:
    old, new = transcoders()
    world = run(5, 12).world
    checked = 0
    for region in world.regions.values():
        app = region.region.node.app
        assert isinstance(app.mapper.transcoder, OrjsonTranscoder)
        for row in app.recorder.select_notifications(start=1, limit=100_000):
            state = old.decode(row.state)  # written by the new code, read by the old
            assert new.decode(row.state) == state
            assert old.encode(state) == row.state == new.encode(state)
            checked += 1
    assert checked > 200


def test_a_stream_written_by_the_librarys_transcoder_reads_the_same_and_back() -> None:
    recorder = POPOApplicationRecorder()

    class Library(Application[UUID]):  # the library's transcoder, on the same store
        def construct_recorder(self) -> POPOApplicationRecorder:
            return recorder

    library = Library()
    stream = Stream.open(UUID(int=7), "side", {"case_id": "c-1", "case_number": "N-1"}, "Opened",
                         1, {"amount": 120, "names": ["Ada", "李"], "note": 'a "_type_'}, T0)
    stream.record("Settled", 2, {"ok": True, "left": None}, T0 + dt.timedelta(seconds=1))
    library.save(stream)
    assert not isinstance(library.mapper.transcoder, OrjsonTranscoder)

    ours = EventStore(recorder=recorder)
    read: Stream = ours.repository.get(UUID(int=7))
    assert read.entries == stream.entries and read.version == 2
    read.record("Closed", 1, {"by": "officer"}, T0 + dt.timedelta(seconds=2))
    ours.save(read)
    assert library.repository.get(UUID(int=7)).entries == read.entries
    stored = [e.state for e in recorder.select_events(UUID(int=7))]
    old, _ = transcoders()
    assert [old.encode(old.decode(s)) for s in stored] == stored


EDGES: list[Any] = [
    {"timestamp": T0, "nested": {"at": T0, "amount": Decimal("1.10")}},  # an envelope deeper down
    {"timestamp": T0, "id": UUID(int=3)},  # a UUID attribute: the library's way
    {"big": 2**70, "timestamp": T0},  # over 64 bits: orjson refuses, the library writes it
    {"keys": {1: "one", None: "n"}},  # keys that are not strings
    {"text": 'ends with "_type_', "other": "\u2028 é \U0001f600"},
    {"nan": float("nan"), "inf": float("inf")},
    {"only": "plain"},
    [T0, {"_type_": "nope"}],
    T0,
]


@pytest.mark.parametrize("state", EDGES, ids=range(len(EDGES)))
def test_edge_cases_encode_and_decode_as_the_library_does(state: Any) -> None:
    old, new = transcoders()
    data = old.encode(state)
    assert new.encode(state) == data
    assert repr(new.decode(data)) == repr(old.decode(data))  # repr: NaN != NaN


@pytest.mark.parametrize("data", [b"\xff\xfe", b'{"a":', b'{"_type_":"unknown","_data_":1}'])
def test_unreadable_bytes_fail_as_with_the_library(data: bytes) -> None:
    old, new = transcoders()
    with pytest.raises(Exception) as expected:
        old.decode(data)
    with pytest.raises(type(expected.value)):
        new.decode(data)


def test_json_text_with_an_envelope_inside_a_string_is_not_mistaken_for_one() -> None:
    old, new = transcoders()
    data = json.dumps({"timestamp": {"_type_": "datetime_iso", "_data_": T0.isoformat()},
                       "s": 'x "_type_'}, separators=(",", ":")).encode()
    assert new.decode(data) == old.decode(data) == {"timestamp": T0, "s": 'x "_type_'}
