"""Event-store choices for a node: in memory now; SQLite and PostgreSQL plug in here too."""

from __future__ import annotations

from typing import Protocol

from eventsourcing.persistence import ApplicationRecorder

from regions.ledger import RegionLedger


class Store(Protocol):
    """Opens a region's ledger; opening again after a crash sees everything committed before."""

    def open(self, region: str) -> RegionLedger: ...


class MemoryStore:
    """One in-memory (POPO) store per region that survives the node's simulated restarts."""

    def __init__(self) -> None:
        self._recorders: dict[str, ApplicationRecorder] = {}

    def open(self, region: str) -> RegionLedger:
        recorder = self._recorders.get(region)
        app = RegionLedger(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, recorder=recorder)
        self._recorders[region] = app.recorder
        return app
