"""The in-memory (POPO) event store: the simulator's, and the unit tests'."""

from __future__ import annotations

from eventsourcing.persistence import ApplicationRecorder

from regions.core.store import EventStore


class MemoryStore:
    """One in-memory (POPO) store per region that survives the node's simulated restarts."""

    def __init__(self) -> None:
        self._recorders: dict[str, ApplicationRecorder] = {}

    def open(self, region: str) -> EventStore:
        recorder = self._recorders.get(region)
        app = EventStore(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, recorder=recorder)
        self._recorders[region] = app.recorder
        return app
