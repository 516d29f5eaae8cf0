"""A region's eventsourcing application: the store its aggregates (`regions.core.store`) live in.

Why apart from `store`: the aggregates are what is persisted — their module and class names are
the topics every stored event carries (`store.FORMER_TOPICS`), so they stay where they are —
while the application is how they are saved: the mapper and event store that build rows with
less Python (`regions.core.rows`), the recorder a restarted simulated node reopens, and `save`
collecting aggregates without the library's Protocol checks. `store` re-exports both names.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.application import Application, ProcessingEvent
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import ApplicationRecorder, Mapper, Recording
from eventsourcing.persistence import EventStore as LibraryEventStore

from regions.core.recent_log import RecentLog
from regions.core.rows import RowEventStore, RowMapper


class EventStore(Application[UUID]):
    """One region's application. The persistence module and its settings come from `env`.

    `recorder` lets a restarted node reopen the *same* in-memory store (the simulator's crash
    and restart); real stores reopen from their database instead.
    """

    name = "Ledger"

    def __init__(self, env: dict[str, str] | None = None, *,
                 recorder: ApplicationRecorder | None = None) -> None:
        self._given_recorder = recorder
        super().__init__(env=env)
        #: What this process committed last, for the log's tailers (regions.core.recent_log).
        self.recent = RecentLog()

    def construct_mapper(self) -> Mapper[UUID]:
        """The library's mapper storing the same bytes for less (`regions.core.rows`)."""
        return self.factory.mapper(transcoder=self.construct_transcoder(), mapper_class=RowMapper)

    def construct_event_store(self) -> LibraryEventStore[UUID]:
        return RowEventStore(mapper=self.mapper, recorder=self.recorder)

    def construct_recorder(self) -> ApplicationRecorder:
        if self._given_recorder is not None:
            return self._given_recorder
        return super().construct_recorder()

    def save(self, *objs: Any, **kwargs: Any) -> list[Recording[UUID]]:
        """The library's `save`, step for step, collecting an aggregate's events without the
        library's two runtime-checkable Protocol `isinstance` tests per object (on Python 3.11
        each walks the protocol's attributes: ~30-90 µs an aggregate, a dozen aggregates a
        case); anything but an `Aggregate` is collected the library's way."""
        processing_event = AggregatesCollected()
        processing_event.collect_events(*objs, **kwargs)
        recordings = self._record(processing_event)
        self.recent.committed(recordings, processing_event.aggregates)
        self._take_snapshots(processing_event)
        self._notify(recordings)
        self.notify(processing_event.events)  # the library's deprecated hook, kept as it calls it
        return recordings


class AggregatesCollected(ProcessingEvent[UUID]):
    """`ProcessingEvent.collect_events` with an `Aggregate` recognised by its class."""

    def collect_events(self, *objs: Any, **kwargs: Any) -> None:
        for obj in objs:
            if isinstance(obj, Aggregate):
                self.events.extend(obj.collect_events())
                self.aggregates[obj.id] = obj
            else:
                super().collect_events(obj)
        self.saved_kwargs.update(kwargs)
