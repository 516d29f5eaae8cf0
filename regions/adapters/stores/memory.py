"""The in-memory (POPO) event store: the simulator's, and the unit tests'."""

from __future__ import annotations

from typing import Any

from eventsourcing.persistence import ApplicationRecorder

from regions.adapters.stores.cipher import cipher_settings
from regions.core.store import EventStore

#: The env prefix eventsourcing looks up first for this application (`LEDGER_`).
PREFIX = EventStore.name.upper() + "_"


class MemoryStore:
    """One in-memory (POPO) store per region that survives the node's simulated restarts.

    `cipher_key` (see `regions.adapters.stores.cipher`) encrypts what it keeps, as a durable
    store does; a restart after changing it is a key rotation.
    """

    def __init__(self, *, cipher_key: str = "") -> None:
        self._recorders: dict[str, ApplicationRecorder] = {}
        self.cipher_key = cipher_key
        #: Side folds kept across the nodes' simulated restarts, per region, rules and
        #: protocols: a stream's version fixes its events (append-only, optimistic
        #: concurrency), so a fold of the same version by the same protocols is the same state.
        #: Why: a crash rebuilds the timer from every side the region ever had, and folding
        #: them all again made a long simulation quadratic (`tongban simulate`, issue 17). Each
        #: side version is still folded from its stored events once, the first time it is read;
        #: after that a read compares the fold's version with the stream's newest stored event
        #: (`Caches._kept_fold`) and decodes nothing.
        self.folds: dict[Any, Any] = {}

    def open(self, region: str) -> EventStore:
        recorder = self._recorders.get(region)
        env = {PREFIX + "PERSISTENCE_MODULE": "eventsourcing.popo",
               **cipher_settings(self.cipher_key, PREFIX)}
        app = EventStore(env=env, recorder=recorder)
        self._recorders[region] = app.recorder
        return app
