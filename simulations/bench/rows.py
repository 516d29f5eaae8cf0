"""CPU of one event-store row, the library's generic path against `regions.core.rows`, in one
process.

Why beside `simulations.bench.levers`: the same way of measuring (old and new alternately on the
same data, medians of CPU µs per item), for the three steps every stored row takes: its domain
event built (`_create`/`trigger_event` against `rows.create`/`rows.trigger`), mapped to a stored
event (the library's `Mapper` against `RowMapper`, on every event a seeded run stored) and
wrapped into the save's recordings (the library's `EventStore.put` against `RowEventStore.put`,
over a recorder that only numbers the rows, so the database is not measured).

    python -m simulations.bench.rows [--rounds 15] [--cases 40]
"""

from __future__ import annotations

import argparse
import datetime as dt
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from eventsourcing.persistence import EventStore as LibraryEventStore
from eventsourcing.persistence import Mapper, StoredEvent

from regions.core import rows
from regions.core.rows import RowEventStore, RowMapper
from regions.core.store import CommandRecord, EventStore, InLink, OutLink, Stream
from simulations.bench.alternate import alternate
from simulations.runner import run

AT = dt.datetime(2026, 12, 6, 16, 0, tzinfo=dt.UTC)
PAYLOAD = {"at": "2026-12-06T16:00:00+00:00", "actor": {"kind": "officer", "id": "窗口-1"},
           "waiting": {"unit": "working_days", "count": 15}, "amount": "1234.56"}


class _Numbering:
    """A recorder that gives each row the next notification id and stores nothing."""

    def __init__(self) -> None:
        self.last = 0

    def insert_events(self, stored: Sequence[StoredEvent], **_: Any) -> list[int]:
        first = self.last + 1
        self.last += len(stored)
        return list(range(first, self.last + 1))


def events_of_a_run(cases: int, seed: int = 11) -> list[Any]:
    """Every domain event a seeded run's nodes handed to their mappers (also the rows' tests'
    data: one definition of "the events of a run")."""
    seen: list[Any] = []
    original = RowMapper.to_stored_event

    def spy(self: RowMapper, domain_event: Any) -> StoredEvent:
        seen.append(domain_event)
        return original(self, domain_event)

    RowMapper.to_stored_event = spy  # type: ignore[method-assign]
    try:
        run(seed, cases)
    finally:
        RowMapper.to_stored_event = original  # type: ignore[method-assign]
    return seen


def _build_library(n: int) -> None:
    for i in range(n):
        side = Stream._create(Stream.Opened, id=uuid.UUID(int=i), timestamp=AT, kind="side",
                              key={}, type="Opened", schema_version=1, payload=PAYLOAD)
        for _ in range(3):
            side.trigger_event(Stream.Recorded, timestamp=AT, type="Noted", schema_version=1,
                               payload=PAYLOAD)
        CommandRecord._create(CommandRecord.Done, id=uuid.UUID(int=i), timestamp=AT,
                              principal="p", command_id="c", request_hash="h", outcome=PAYLOAD)
        link = InLink._create(InLink.Started, id=uuid.UUID(int=i), timestamp=AT, origin="a",
                              destination="b")
        link.trigger_event(InLink.Recorded, timestamp=AT, link_seq=1, ref="r", type="T")
        out = OutLink._create(OutLink.Started, id=uuid.UUID(int=i), timestamp=AT, origin="a",
                              destination="b")
        out.trigger_event(OutLink.Sent, timestamp=AT, message=PAYLOAD)


def _build_rows(n: int) -> None:
    for i in range(n):
        side = rows.create(Stream, Stream.Opened, uuid.UUID(int=i), AT, kind="side", key={},
                           type="Opened", schema_version=1, payload=PAYLOAD)
        for _ in range(3):
            rows.trigger(side, Stream.Recorded, AT, type="Noted", schema_version=1,
                         payload=PAYLOAD)
        rows.create(CommandRecord, CommandRecord.Done, uuid.UUID(int=i), AT, principal="p",
                    command_id="c", request_hash="h", outcome=PAYLOAD)
        link = rows.create(InLink, InLink.Started, uuid.UUID(int=i), AT, origin="a",
                           destination="b")
        rows.trigger(link, InLink.Recorded, AT, link_seq=1, ref="r", type="T")
        out = rows.create(OutLink, OutLink.Started, uuid.UUID(int=i), AT, origin="a",
                          destination="b")
        rows.trigger(out, OutLink.Sent, AT, message=PAYLOAD)


def measure(rounds: int = 15, cases: int = 40) -> dict[str, tuple[float, float]]:
    events = events_of_a_run(cases)
    app = EventStore()
    library: Mapper[Any] = Mapper(app.mapper.transcoder)
    ours = app.mapper
    assert isinstance(ours, RowMapper)
    old_put = LibraryEventStore(library, _Numbering())  # type: ignore[arg-type]
    new_put = RowEventStore(ours, _Numbering())  # type: ignore[arg-type]
    built = 200
    pairs: dict[str, tuple[Callable[[], Any], Callable[[], Any], int]] = {
        "domain event built (open, record, command, links), per event": (
            lambda: _build_library(built), lambda: _build_rows(built), built * 9),
        "mapped to a stored event, per event of the run": (
            lambda: [library.to_stored_event(e) for e in events],
            lambda: [ours.to_stored_event(e) for e in events], len(events)),
        "mapped and wrapped (EventStore.put, no database), per event of the run": (
            lambda: old_put.put(events), lambda: new_put.put(events), len(events)),
    }
    return {name: alternate(old, new, items, rounds)
            for name, (old, new, items) in pairs.items()}


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--cases", type=int, default=40)
    args = parser.parse_args(argv)
    for name, (old, new) in measure(args.rounds, args.cases).items():
        print(f"{name}: {old:.2f} -> {new:.2f} µs (x{old / new:.2f})")


if __name__ == "__main__":
    main()
