"""What a node process is doing right now: the one object /readyz and /metrics read.

Why a separate object: the HTTP server must answer from start-up — also while the node waits as a
standby, before any region, driver or relay exists — and keep answering across a lost lock and
a takeover, when the driver is replaced. So the server reads this holder, which the process sets
(`activate`, `retire`) as the node's worker comes and goes; counters of a retired driver are kept
so the process's totals never go backwards.

Readings that touch the inbox's state (`lag`, held messages) run on the event loop while the
node's database thread may be changing that state; they copy it and retry if it changed under
them, never block the database thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from domain.deadlines import DeadlineMissed
from domain.kernel import Event
from domain.provisional import DEFAULT_HORIZON_DAYS, Coverage, official_coverage
from projections.views import CaseViews
from regions.adapters.stores.sql import datastore_of
from regions.adapters.worker_lock import PostgresWorkerLock, WorkerLock
from regions.core.commands import KINDS
from regions.core.config import RegionConfig
from regions.core.sides import SideView
from regions.core.tailer import Tailer
from regions.core.unreadable import unreadable_of
from regions.runtime.driver import NodeDriver

log = logging.getLogger("tongban.node")

#: Counters of the process, summed over the drivers it ran.
TOTALS = ("published", "consumed", "applied", "gaps", "quarantined", "deadline_misses",
          "dropped", "unreadable", "hold_dropped", "link_publish_failures", "quarantine_dropped",
          "document_requests_throttled", "reused_link_seq", "lost_asked")
#: A readiness probe of the store that takes longer than this fails (s).
PROBE_TIMEOUT = 2.0
T = TypeVar("T")


class Connected(Protocol):
    @property
    def is_connected(self) -> bool: ...


@dataclass(frozen=True)
class Readiness:
    """The verdict of /readyz: every check "ok" (the worker "active"), else what is not."""

    region: str
    checks: Mapping[str, str]
    inbox_lag: Mapping[str, int] = field(default_factory=dict)
    projections: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    #: Stored records set aside because they cannot be decoded (`regions.core.unreadable`).
    unreadable: Mapping[str, Any] = field(default_factory=dict)
    #: Whether official holiday data decides the coming days (`calendar_report`). Missing data is
    #: a warning, never a failed check: the node still reckons every deadline, on the
    #: conservative fallback (never earlier than the official schedule) and marked provisional,
    #: and taking every node out of service each December until the State Council's notice is
    #: installed would stop far more than it protects.
    calendar: Mapping[str, Any] = field(default_factory=dict)

    @property
    def warnings(self) -> list[str]:
        """What an operator should act on although the node is ready."""
        warning = self.calendar.get("warning", "")
        return [warning] if warning else []

    @property
    def not_ready(self) -> list[str]:
        return [name for name, state in self.checks.items() if state not in ("ok", "active")]

    @property
    def ready(self) -> bool:
        return not self.not_ready

    def body(self) -> dict[str, Any]:
        return {"ready": self.ready, "region": self.region, "checks": dict(self.checks),
                "not_ready": self.not_ready, "inbox_lag": dict(self.inbox_lag),
                "projections": {name: dict(v) for name, v in self.projections.items()},
                "unreadable": dict(self.unreadable) or {"count": 0, "recent": []},
                "warnings": self.warnings, "calendar": dict(self.calendar)}


def calendar_report(coverage: Coverage | None) -> dict[str, Any]:
    """/readyz's calendar section: the horizon, the days in it without official data, the first
    of them, and the warning to show (empty when the data is complete or the node is a standby)."""
    if coverage is None:
        return {}
    first = coverage.first_missing
    return {"horizon_days": (coverage.last - coverage.first).days + 1,
            "official_days_missing": len(coverage.missing),
            "first_missing": first.isoformat() if first else None, "warning": coverage.warning}


class NodeStatus:
    def __init__(self, config: RegionConfig, broker: Connected, lock: WorkerLock) -> None:
        self.config = config
        self.broker = broker
        self.lock = lock
        self.driver: NodeDriver | None = None
        #: The active worker's read models (`projections.views`), rebuilt at each activation.
        self.views: CaseViews | None = None
        #: The tailer that feeds `views` (its position and backlog are the views' lag).
        self.views_tailer: Tailer[Any] | None = None
        self.head = 0
        self.views_lag = 0
        self.lock_lost = False
        self._retired: Counter[str] = Counter()
        self._misses = 0

    # ----------------------------------------------------------------- the worker's life

    def activate(self, driver: NodeDriver) -> None:
        self.driver = driver
        self.lock_lost = False
        driver.region.node.listeners.append(self._count_misses)

    def retire(self, *, lock_lost: bool) -> None:
        """The driver stopped: keep its counts, forget the driver."""
        if self.driver is not None:
            self._retired.update(self._driver_counts(self.driver))
        self.driver = None
        self.lock_lost = lock_lost

    def _count_misses(self, view: SideView, events: list[Event]) -> None:
        self._misses += sum(isinstance(e, DeadlineMissed) for e in events)

    @property
    def worker(self) -> str:
        if self.driver is not None and self.lock.held:
            return "active"
        return "lock lost" if self.lock_lost else "standby"

    # ----------------------------------------------------------------- readings

    @property
    def links(self) -> list[str]:
        """The node's known links (its peers) and any other link its inbox has seen."""
        return sorted({*self.config.peers, *self.inbox_lag()} - {self.config.region})

    def inbox_lag(self) -> dict[str, int]:
        if self.driver is None:
            return {}
        inbox = self.driver.region.inbox
        return _copy(inbox.lag, {})

    def inbox_held(self) -> dict[str, int]:
        if self.driver is None:
            return {}
        inbox = self.driver.region.inbox
        return _copy(lambda: {o: len(lk.held) for o, lk in list(inbox.links.items())}, {})

    def totals(self) -> Counter[str]:
        counts = Counter(dict.fromkeys(TOTALS, 0))
        counts.update({f"command:{o}": 0 for o in KINDS})
        counts.update(self._retired)
        if self.driver is not None:
            counts.update(self._driver_counts(self.driver))
        counts["deadline_misses"] += self._misses
        # plain (non-JetStream) messages dropped on the pull inbox (a broker that has none: 0)
        counts["dropped"] = getattr(self.broker, "dropped_deliveries", 0)
        return counts

    def _driver_counts(self, driver: NodeDriver) -> Counter[str]:
        stats = driver.region.inbox.stats
        counts = Counter({"published": driver.counters["published"],
                          "consumed": driver.counters["consumed"],
                          "applied": stats["applied"], "gaps": stats["gaps"],
                          "quarantined": stats["quarantined"],
                          "hold_dropped": stats["dropped"],
                          "quarantine_dropped": stats["quarantine_dropped"],
                          "reused_link_seq": stats["reused"],
                          "lost_asked": driver.region.relay.stats["lost_asked"],
                          "link_publish_failures": driver.counters["link_publish_failures"],
                          "document_requests_throttled":
                              driver.counters["document_requests_throttled"],
                          "unreadable": unreadable_of(driver.region.node.app).count})
        counts.update({f"command:{o}": n for o, n in driver.commands.items()})
        return counts

    def calendar_coverage(self) -> Coverage | None:
        """Which of the next 60 days the active worker's calendar decides without official data
        (None for a standby, which reckons no deadlines): `domain.provisional.official_coverage`
        on the region's own calendar and clock."""
        if self.driver is None:
            return None
        region = self.driver.region
        return official_coverage(region.rules.calendar, region.clock(), DEFAULT_HORIZON_DAYS)

    def open_connections(self) -> int:
        """Database connections this process holds open: the node's pool and the lock's."""
        count = 0
        if self.driver is not None:
            datastore = datastore_of(self.driver.region.node.app)
            count += _pool_size(getattr(datastore, "pool", None))
        if isinstance(self.lock, PostgresWorkerLock) and self.lock.connected:
            count += 1
        return count

    # ----------------------------------------------------------------- readiness

    async def readiness(self) -> Readiness:
        checks = {"store": await self._store_check(),
                  "broker": "ok" if self.broker.is_connected else "disconnected",
                  "worker": self.worker}
        lag = self.inbox_lag()
        unreadable = (unreadable_of(self.driver.region.node.app).report()
                      if self.driver is not None else {})
        return Readiness(self.config.region, checks,
                         {link: lag.get(link, 0) for link in self.links}, self.projections(),
                         unreadable, calendar_report(self.calendar_coverage()))

    async def refresh_head(self) -> None:
        """Read the log's newest position and the views' backlog (on the node's database
        thread), for /readyz and /metrics."""
        driver, tailer = self.driver, self.views_tailer
        if driver is None or tailer is None:
            return
        recorder = driver.region.node.app.recorder
        with contextlib.suppress(Exception):
            head: int | None = await asyncio.wait_for(
                driver.db(recorder.max_notification_id), PROBE_TIMEOUT)
            self.head = head or 0
            self.views_lag = await asyncio.wait_for(driver.db(tailer.backlog), PROBE_TIMEOUT)

    def projections(self) -> dict[str, dict[str, int]]:
        """Each view's position in the log, the log's head (notification ids) and its lag: the
        events it has yet to apply (as of the last `refresh_head`)."""
        if self.views is None:
            return {}
        position = self.views_tailer.position if self.views_tailer is not None else 0
        return {"cases": {"position": position, "head": self.head, "lag": self.views_lag}}

    async def _store_check(self) -> str:
        driver = self.driver
        try:
            if driver is not None:  # the node's own pool, on its database thread
                recorder = driver.region.node.app.recorder
                await asyncio.wait_for(driver.db(recorder.max_notification_id), PROBE_TIMEOUT)
            else:
                await asyncio.wait_for(self.lock.probe(), PROBE_TIMEOUT)
        except TimeoutError:
            return f"no answer within {PROBE_TIMEOUT:g} s"
        except Exception as exc:
            return f"error: {exc!r}"[:300]
        return "ok"


def _pool_size(pool: Any) -> int:
    """Open connections of a pool: psycopg_pool (PostgreSQL) or eventsourcing's own (SQLite)."""
    if pool is None:
        return 0
    if hasattr(pool, "get_stats"):
        return int(pool.get_stats().get("pool_size", 0))
    return int(pool.num_in_use + pool.num_in_pool)


def _copy(read: Callable[[], T], default: T) -> T:
    """Read state another thread may be changing; retry if it changed during the read."""
    for _ in range(5):
        try:
            return read()
        except RuntimeError:  # "dictionary changed size during iteration"
            continue
    log.debug("state kept changing while being read; reporting %r", default)
    return default
