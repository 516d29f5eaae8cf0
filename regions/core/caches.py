"""What the node keeps in memory between decisions: side views, link versions, register entries.

Why the node does not reload a side's stream, a register entry or a link for every decision: a
link gets one event per message, so reloading it costs O(messages ever sent), and a side's
stream is already folded in the cached view. To append, the node only needs an aggregate *at
the right version* (`regions.core.sides.resume`), and optimistic concurrency still guards it: if
another writer moved the stream on, the save conflicts, the caches of that unit are dropped
(`dropped`) and the decision is made again on fresh state. Every read the node skips is a
database round trip on the node's one store thread.

The caches move only after a unit of work is committed (`committed`); a crash loses them all
(`clear`), never anything in the store.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from uuid import UUID

from domain.kernel import event_from_payload
from regions.core.sides import ProtocolBinding, RegisterModel, SideView, side_id
from regions.core.store import EventStore, Stream, load_stream, load_streams, stable_id
from regions.core.unit_of_work import UnitOfWork

#: Finished sides kept in memory (views and checks read a case again just after it ends).
FINISHED_CACHE_SIZE = 1024
#: Register entries kept in memory (a person's entry changes a few times within one case).
REGISTER_CACHE_SIZE = 4096


class Caches:
    """One node's memory of its store, read through on a miss."""

    def __init__(self, region: str, app: EventStore, protocols: Mapping[str, ProtocolBinding],
                 registers: RegisterModel, *, size: int) -> None:
        self.region = region
        self.app = app
        self.protocols = protocols
        self.registers = registers
        self.size = size
        self._sides: dict[UUID, SideView] = {}
        self._finished: dict[UUID, SideView] = {}
        self._versions: dict[UUID, int] = {}  # in- and out-link versions as last committed
        self._registers: dict[UUID, tuple[int, Any]] = {}  # register entry: version, state
        #: Sides a prefetch found absent, valid until the batch that prefetched ends (`forget
        #: absent`): without it, a new case's side would be read once more, alone.
        self._absent: set[UUID] = set()
        #: Register entries the store had none of when this node last looked (a prefetch, a
        #: read) and that it has not written since, oldest first: not asked for again until
        #: then. A person's entry is opened late in a case (the hold, the take-over), and each
        #: prefetch before that asked for it again: 20 of the 28 prefetch queries of a 200-case
        #: bench flow on PostgreSQL asked only for entries that did not exist
        #: (docs/performance.md, NODEPATH, ninth session). As wrong as a cached entry can be,
        #: and guarded the same way: opening an entry another writer opened meanwhile
        #: conflicts, and a conflict drops the belief (`dropped`).
        self._no_registers: dict[UUID, None] = {}
        #: Folds of stored streams that outlive this node (`MemoryStore.folds`): side id -> the
        #: view at the version it was folded at. None for a durable store: a real restart
        #: folds again.
        self.folds: dict[UUID, SideView] | None = None

    # ----------------------------------------------------------------- sides

    def side(self, case_id: str) -> SideView | None:
        """This region's side of the case as last committed (None if it has none)."""
        sid = side_id(case_id, self.region)
        view = self._sides.get(sid) or self._finished.get(sid)
        if view is not None or sid in self._absent:
            return view
        view = self._kept_fold(sid)
        if view is not None:
            self.remember(view)
            return view
        stream = load_stream(self.app, sid)
        if stream is None:
            return None
        view = self._view_from_stream(sid, stream)
        self.remember(view)
        return view

    def prefetch(self, case_ids: Iterable[str]) -> None:
        """Read the sides of `case_ids` not in memory in one go (a batch's sides: one round trip
        instead of one each); those the store does not have are remembered as absent until
        `forget_absent`. A side with a current kept fold is taken from it, as `side` does,
        rather than read and decoded whole (the simulator's inbox after each restart: 0.8 % of a
        2,000-case run read streams whose folds were kept; docs/performance.md, NODECPU)."""
        sids = {side_id(case_id, self.region) for case_id in case_ids}
        missing = {sid for sid in sids if sid not in self._sides and sid not in self._finished}
        if self.folds is not None:  # a kept fold at the stream's newest version: no stream read
            kept = {sid: view for sid in missing if (view := self._kept_fold(sid)) is not None}
            for view in kept.values():
                self.remember(view)
            missing -= kept.keys()
        bulk = getattr(self.app.recorder, "select_events_of", None) is not None
        rids = self._likely_registers(sids - missing) if bulk else set()
        if not missing and not rids:
            return
        found = load_streams(self.app, sorted(missing | rids))
        for sid in missing & found.keys():
            self.remember(self._view_from_stream(sid, found[sid]))
        for rid in rids & found.keys():
            self._keep_register(rid, found[rid].version, self.fold_register(found[rid]))
        for rid in rids - found.keys():
            self.no_register(rid)
        self._absent = missing - found.keys()

    def _likely_registers(self, sids: set[UUID]) -> set[UUID]:
        """The register entries of the persons of these (cached) sides not in memory: a side
        whose state names its `person_key` and `scheme` most likely changes that entry next
        (a transfer's hold, end or opening). Guessing wrong costs nothing but a row in the one
        query; guessing right saves a round trip of its own (bench: ~7 % of a node)."""
        found = set()
        for sid in sids:
            view = self._sides.get(sid)
            person_key = getattr(view.state, "person_key", None) if view else None
            scheme = getattr(view.state, "scheme", None) if view else None
            if isinstance(person_key, str) and isinstance(scheme, str):
                rid = stable_id("register", self.region, person_key, scheme)
                if rid not in self._registers and rid not in self._no_registers:
                    found.add(rid)
        return found

    def absent(self, id_: UUID) -> bool:
        """No such stream: a prefetch of this unit of work found none (a side), or the store
        had no such register entry when last looked and this node has not written it since."""
        return id_ in self._absent or id_ in self._no_registers

    def no_register(self, rid: UUID) -> None:
        """The store has no register entry `rid` (just looked): remember it until written."""
        if len(self._no_registers) >= REGISTER_CACHE_SIZE and rid not in self._no_registers:
            self._no_registers.pop(next(iter(self._no_registers)))
        self._no_registers[rid] = None

    def forget_absent(self) -> None:
        self._absent = set()

    def kept_side(self, sid: UUID | str) -> SideView | None:
        """The side `sid` from a kept fold at its stream's newest version, remembered like a
        read; None when there is none (a durable store keeps none: read it with `side`)."""
        if self.folds is None:
            return None
        view = self._kept_fold(sid if isinstance(sid, UUID) else UUID(sid))
        if view is not None:
            self.remember(view)
        return view

    def _kept_fold(self, sid: UUID) -> SideView | None:
        """A kept fold whose version is still the stream's newest, found without reading the
        stream: its newest stored event's version is all it takes (a crash's timer rebuild asks
        for every side the region ever had, and decoding each whole stream again grew with the
        run: docs/performance.md)."""
        kept = self.folds.get(sid) if self.folds is not None else None
        if kept is None:
            return None
        newest = self.app.recorder.select_events(sid, desc=True, limit=1)
        return kept if newest and newest[0].originator_version == kept.version else None

    def _view_from_stream(self, sid: UUID, stream: Stream) -> SideView:
        process = stream.key["process"]
        kept = self.folds.get(sid) if self.folds is not None else None
        if kept is not None and kept.version == stream.version:
            return kept  # the same stored events, folded by the same protocols before
        decider = self.protocols[process].decider
        state = None
        for type_, version, payload in stream.entries:
            state = decider.evolve(state, event_from_payload(type_, payload, version))
        view = SideView(sid, stream.key["case_id"], stream.key["case_number"], process,
                        stream.version, state)
        if self.folds is not None:
            self.folds[sid] = view
        return view

    def remember(self, view: SideView) -> None:
        """Cache a view. Finished sides go to a small cache of their own: they are rarely
        written again, and keeping them all would make memory grow with every case handled."""
        sid = view.side_id
        self._absent.discard(sid)
        finished = view.state is None or self.protocols[view.process].decider.is_terminal(
            view.state)
        cache, other, limit = ((self._finished, self._sides, FINISHED_CACHE_SIZE) if finished
                               else (self._sides, self._finished, self.size))
        other.pop(sid, None)
        if sid not in cache and len(cache) >= limit:
            cache.pop(next(iter(cache)))
        cache[sid] = view

    # ----------------------------------------------------------------- links and registers

    def link_version(self, link_id: UUID) -> int | None:
        """A link's version as last committed: cached, else its newest stored event."""
        version = self._versions.get(link_id)
        if version is None:
            newest = self.app.recorder.select_events(link_id, desc=True, limit=1)
            if not newest:
                return None
            version = self._versions[link_id] = newest[0].originator_version
        return version

    def register(self, rid: UUID) -> tuple[int, Any] | None:
        """A register entry's (version, state) as last committed, if cached."""
        return self._registers.get(rid)

    def fold_register(self, stream: Stream) -> Any:
        entry: Any = None
        for type_, version, payload in stream.entries:
            entry = self.registers.evolve_register(entry,
                                                   event_from_payload(type_, payload, version))
        return entry

    # ----------------------------------------------------------------- after a unit

    def committed(self, uow: UnitOfWork) -> None:
        """Move to what `uow` saved. A kept fold moves too: the view a commit leaves is the
        fold of the stored stream at the version saved, so a simulated restart reuses it instead
        of folding the whole stream again."""
        for _, view in uow.sides.values():
            self.remember(view)
            if self.folds is not None:
                self.folds[view.side_id] = view
        for link in (*uow.outlinks.values(), *uow.inlinks.values()):
            self._versions[link.id] = link.version
        for rid, stream in uow.registers.items():
            self._keep_register(rid, stream.version, uow.register_states[rid])

    def _keep_register(self, rid: UUID, version: int, state: Any) -> None:
        self._no_registers.pop(rid, None)
        if len(self._registers) >= REGISTER_CACHE_SIZE and rid not in self._registers:
            self._registers.pop(next(iter(self._registers)))
        self._registers[rid] = (version, state)

    def dropped(self, uow: UnitOfWork) -> None:
        """`uow` failed: forget everything it relied on, to be read again from the store."""
        self._absent = set()
        for sid in uow.sides:
            self._sides.pop(sid, None)
            self._finished.pop(sid, None)
        for link in (*uow.outlinks.values(), *uow.inlinks.values()):
            self._versions.pop(link.id, None)
        for rid in uow.registers:
            self._registers.pop(rid, None)
        for rid in uow.register_states:  # what it decided on, absent entries included
            self._no_registers.pop(rid, None)

    def clear(self) -> None:
        """What a crash loses: everything in memory; the store stays."""
        self._sides.clear()
        self._finished.clear()
        self._absent = set()
        self._versions.clear()
        self._registers.clear()
        self._no_registers.clear()
