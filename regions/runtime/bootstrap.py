"""The composition root: every way of running a node (CLI, API, simulator, tests) builds it here.

`build_region(config, *, clock, ids, broker, store)` wires one region: its event store, its
decision core with the protocols and the region's deadline rules, and the sans-IO components —
inbox, outbox relay, deadline timer. The clock and id source are injected so the simulator can
drive virtual time and seeded ids; production passes the wall clock and uuid4.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID

import domain.registers as registers
from domain.calendar import WorkingCalendar, parse_holiday_file
from domain.kernel import Clock
from domain.limits import RegionLimits, Rules
from domain.protocols import PROTOCOLS, SERVICE_PROTOCOLS, ProtocolSpec
from regions.adapters.blobs.base import BlobStore, MemoryBlobStore
from regions.core.config import RegionConfig
from regions.core.inbox import Inbox
from regions.core.node import RegionNode
from regions.core.ports import Store
from regions.core.quarantine_budget import Parked, QuarantineBudget
from regions.core.relay import Relay
from regions.core.side_events import SideEventTailer
from regions.core.sides import ProtocolBinding
from regions.core.timer import DeadlineTimer, OpenedSides
from regions.wire import link


@dataclass
class Region:
    """One running region: its configuration, store, core components and injected edges."""

    config: RegionConfig
    clock: Clock
    ids: Callable[[], UUID]
    broker: Any
    store: Store
    rules: Rules
    node: RegionNode
    inbox: Inbox
    relay: Relay
    timer: DeadlineTimer
    specs: Mapping[str, ProtocolSpec] = field(default_factory=dict)
    #: The back-end feed: every side event, for the region's own back-ends.
    feed: SideEventTailer | None = None
    #: The region's document bytes (`regions.adapters.blobs`); memory unless the node sets it up.
    blobs: BlobStore = field(default_factory=MemoryBlobStore)

    @property
    def code(self) -> str:
        return self.config.region

    def restart(self) -> None:
        """Crash and restart from the store: all memory is lost, nothing committed is — but
        the timer's reading of the store's `Opened` records (`timer.OpenedSides`) and the
        quarantine budget's of its parked records (`quarantine_budget.Parked`), which resume
        where they stopped rather than reading every record the region ever wrote."""
        fresh = build_region(self.config, clock=self.clock, ids=self.ids, broker=self.broker,
                             store=self.store, rules=self.rules, protocols=self.specs,
                             opened=self.timer.opened, parked=self.inbox.budget.parked)
        self.node, self.inbox, self.relay, self.timer = (
            fresh.node, fresh.inbox, fresh.relay, fresh.timer)
        self.feed = fresh.feed


def default_rules(config: RegionConfig) -> Rules:
    """The statutory limits on the official calendar, extended by the operator's holiday files."""
    files = [parse_holiday_file(json.loads(Path(p).read_text(encoding="utf-8")), name=Path(p).name)
             for p in config.holiday_files]
    return Rules(WorkingCalendar.with_files(*files), RegionLimits(region=config.region))


def build_region(
    config: RegionConfig, *, clock: Clock, ids: Callable[[], UUID], broker: Any, store: Store,
    rules: Rules | None = None, protocols: Mapping[str, ProtocolSpec] | None = None,
    opened: OpenedSides | None = None, parked: Parked | None = None,
) -> Region:
    rules = rules or default_rules(config)
    specs = dict({**PROTOCOLS, **SERVICE_PROTOCOLS} if protocols is None else protocols)
    bindings = {p: ProtocolBinding(s.decider(rules), s.register_effects) for p, s in specs.items()}
    app = store.open(config.region)
    known = set(config.peers) - {config.region}
    node = RegionNode(config.region, app, bindings, registers, peers=known)
    folds = getattr(store, "folds", None)
    if folds is not None:  # an in-memory store lives across simulated restarts: see its folds
        protocols_key = tuple((name, id(spec)) for name, spec in sorted(specs.items()))
        node.caches.folds = folds.setdefault((config.region, id(rules), protocols_key), {})
    inbox = Inbox(node, link.decode_all, known,
                  gap_bound=dt.timedelta(seconds=config.gap_bound_seconds),
                  quarantine=QuarantineBudget(config.quarantine_max_records,
                                              config.quarantine_max_bytes,
                                              parked=parked or Parked()))
    relay = Relay(config.region, app, batch_size=config.relay_batch,
                  heartbeat=dt.timedelta(seconds=config.heartbeat_seconds))
    timer = DeadlineTimer(node, opened)
    timer.rebuild()
    timer.recheck_calendar(clock())  # the holiday files may have changed since the last start
    feed = SideEventTailer(config.region, app, batch_size=config.relay_batch)
    return Region(config, clock, ids, broker, store, rules, node, inbox, relay, timer, specs,
                  feed)
