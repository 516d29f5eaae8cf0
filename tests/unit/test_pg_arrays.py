"""The event store's insert builds its binary arrays itself: the bytes psycopg's own dumpers
build for the same lists (issue 17, `regions.adapters.stores.pg_recorder`).

Why: `binary_arrays` replaces psycopg's per-element adaptation of the four columns; the server
reads what it is given with `array_recv`, so any byte of difference would be a refused insert or,
worse, a different row. Compared here against psycopg's `ListBinaryDumper` with the element
dumpers the columns' types have (`Int8` for the versions, so both sides send `int8[]`).
"""

from __future__ import annotations

import struct
import uuid
from typing import Any

import pytest
from eventsourcing.persistence import StoredEvent
from psycopg.adapt import PyFormat, Transformer
from psycopg.types.numeric import Int8

from regions.adapters.stores.pg_recorder import binary_arrays, uuid_array


def _psycopg_binary(values: list[Any]) -> bytes:
    tx = Transformer()
    dumper = tx.get_dumper(values, PyFormat.BINARY)
    dumped = dumper.upgrade(values, PyFormat.BINARY).dump(values)
    assert dumped is not None
    return bytes(dumped)


ROWS = [StoredEvent(uuid.UUID(int=i * 7919), version, topic, state)
        for i, (version, topic, state) in enumerate([
            (1, "regions.core.store:Stream.Opened", b'{"kind":"side"}'),
            (2, "regions.core.store:Stream.Recorded", b""),
            (2**63 - 1, "模块:事件.Évent", bytes(range(256))),
            (3, "regions.core.store:Stream.Opened", b"\x00" * 70_000),
        ])]


def test_the_four_columns_are_the_bytes_psycopg_dumps_for_their_lists() -> None:
    topics: dict[str, bytes] = {}
    for _ in range(2):  # the second time from the topics kept
        ids, versions, names, states = binary_arrays(ROWS, topics)
        assert ids.data == _psycopg_binary([r.originator_id for r in ROWS])
        assert versions.data == _psycopg_binary([Int8(r.originator_version) for r in ROWS])
        assert names.data == _psycopg_binary([r.topic for r in ROWS])
        assert states.data == _psycopg_binary([r.state for r in ROWS])
    assert len(topics) == 3


def test_the_batch_reads_ids_are_the_bytes_psycopg_dumps() -> None:
    ids = [r.originator_id for r in ROWS]
    assert uuid_array(ids).data == _psycopg_binary(ids)


@pytest.mark.parametrize(("row", "error"), [
    (StoredEvent("not a uuid", 1, "t", b""), AttributeError),  # type: ignore[arg-type]
    (StoredEvent(uuid.uuid4(), 2**63, "t", b""), struct.error),
    (StoredEvent(uuid.uuid4(), 1, "\udc80", b""), UnicodeEncodeError),
])
def test_what_the_arrays_cannot_hold_raises_what_the_recorder_hands_back_to_psycopg(
        row: StoredEvent, error: type[Exception]) -> None:
    with pytest.raises(error):
        binary_arrays([row], {})
