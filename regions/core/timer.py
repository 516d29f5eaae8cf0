"""The durable deadline timer core (sans-IO).

Durable because nothing about it lives only in memory: deadlines are events in the sides'
streams (`DeadlineSet`), so after a restart the index is rebuilt from the store, and a timer
command that fires twice is harmless (`deadlines.decide_timer` ignores stale ones). `step(now)`
asks each due side's protocol what its timers want at `now` (DeadlineMissed, Escalated, lapses)
and runs those commands through the node like any other writer.

`recheck_calendar(now)` runs at every start (`runtime.bootstrap.build_region`): it sends each side
with a running timer `RecheckDeadlines`, so the dates reckoned on the calendar fallback — its
deadlines, a transfer's waiting timer, an open 差评 follow-up — are reckoned again on the calendar
the node started with (`deadlines.recheck`: later only; `DeadlineRecomputed`,
`WaitingTimerRecomputed`, `FollowUpRecomputed`). A side unchanged since the last start's recheck
on the same store and rules, which decided nothing, is not settled again — only its policies
are asked (`DeadlineTimer._still_quiet`).
Why at start-up and not on a file watch: the holiday files are part of the node's configuration
(`TONGBAN_HOLIDAY_FILES`), read once into the deciders' rules, so installing a year's schedule
is a configuration change and a restart — the one moment the calendar changes. The recheck is
idempotent: a start on an unchanged calendar records nothing.
"""

from __future__ import annotations

import datetime as dt
import heapq
import logging
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from eventsourcing.persistence import ApplicationRecorder, Notification
from eventsourcing.utils import get_topic

from domain.deadlines import DeadlineRecomputed, recheck_commands
from domain.kernel import DomainError, Event
from domain.protocols.casework_events import FollowUpRecomputed
from domain.protocols.transfer_waiting import WaitingTimerRecomputed
from domain.settling import settle
from regions.core.node import RegionNode
from regions.core.outcome import Outcome
from regions.core.sides import SideView
from regions.core.store import Stream
from regions.core.unreadable import decode, unreadable_of

OPENED_TOPIC = get_topic(Stream.Opened)
RECORDED_TOPIC = get_topic(Stream.Recorded)
log = logging.getLogger(__name__)


RECOMPUTED = (DeadlineRecomputed, WaitingTimerRecomputed, FollowUpRecomputed)
#: `Opened` records read from the store per query.
PAGE = 1000

@dataclass(frozen=True)
class Schedule:
    """The next timer of every side as a rebuild left it: for the next rebuild on the same store.

    Valid for the log up to `position` and for the sides' folds `folds` (`MemoryStore.folds`'
    entry for one region, rules and protocols: the same deciders). Why: a rebuild asked every
    side the region ever had for its next timer, at each of a simulation's ~500 restarts, and
    most of them had not changed since the last (4 % of a 2,000-case run, growing with it). The
    next rebuild takes these and asks again only the sides with a record after `position`, the
    new ones, and those that could not be loaded (`failed`, tried again at every start). Sound
    because a side's next timer is a function of its state alone (`next_timer(state)`), a state
    of its stream's records, and the log is read on from `position` for every change, whoever
    made it. Only where folds outlive a node (the memory store): a durable store's process
    starts with nothing in memory and rebuilds from the whole log.
    """

    position: int
    folds: object
    due: dict[str, dt.datetime]
    failed: frozenset[str]
    #: The deciders' rules the schedule was made under (held, so that no other object takes
    #: their ids): `quiet` stands only for the same ones.
    rules: tuple[object, ...] = ()
    #: case id -> the side's process and state, for the sides whose calendar recheck at the start that made
    #: this schedule decided nothing (`DeadlineTimer.recheck_calendar`; filled after the
    #: rebuild, by the recheck).
    quiet: dict[str, tuple[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class OpenedSide:
    """One side's `Opened` record, read: its stream, log position and case."""

    stream: UUID | str
    position: int
    case_id: str
    case_number: str | None


class OpenedSides:
    """The sides a timer found in its store's `Opened` records, and how far it read the log.

    The timer's own state, handed on to the timer of the next start on the same store
    (`bootstrap.Region.restart`): each rebuild reads only the records written since the last
    (`read`). Why: the simulator restarts its regions hundreds of times, and reading every
    record a region ever wrote at each restart made a long run quadratic (483 crashes at 2,000
    cases: docs/performance.md). A durable store's process starts with none and reads its log
    once. Reading on from a position is sound because every store here commits its
    notifications in id order (SQLite's single writer, Postgres' table lock: the relay relies on
    the same). A side is kept as its case, not its record (whose first payload may be large); a
    record that could not be decoded stays a record, read again at each rebuild (its store may
    be repaired, and each start's register of unreadable records names it)."""

    def __init__(self) -> None:
        self.position = 0
        self.entries: list[OpenedSide | Notification] = []
        #: What the last rebuild scheduled, when its store keeps folds (`Schedule`).
        self.schedule: Schedule | None = None

    def read(self, recorder: ApplicationRecorder) -> list[OpenedSide | Notification]:
        """The entries so far, with the `Opened` records written since the last read."""
        top = recorder.max_notification_id() or 0
        if top < self.position:  # a log shorter than what was read is not that log: start over
            self.position, self.entries, self.schedule = 0, [], None
        while self.position < top:
            batch = recorder.select_notifications(
                start=self.position, limit=PAGE, stop=top, topics=[OPENED_TOPIC],
                inclusive_of_start=False)
            self.entries += batch
            self.position = batch[-1].id if len(batch) == PAGE else top
        return self.entries


@dataclass(frozen=True)
class Recomputed:
    """One date the calendar recheck recorded again, for the start-up log and tests."""

    case_id: str
    event: DeadlineRecomputed | WaitingTimerRecomputed | FollowUpRecomputed

    @property
    def step(self) -> str:
        """What the date is of: a deadline's step, a waiting state, or the follow-up."""
        e = self.event
        if isinstance(e, DeadlineRecomputed):
            return e.step
        return f"waiting {e.waiting_state}" if isinstance(e, WaitingTimerRecomputed) else "follow_up"

    @property
    def kept_earlier_official(self) -> bool:
        """The official schedule gives an earlier date, which is never applied."""
        return self.event.official_due_at < self.event.due_at


class DeadlineTimer:
    def __init__(self, node: RegionNode, opened: OpenedSides | None = None) -> None:
        self.node = node
        #: The sides found in the store so far: a restart on the same store hands them on.
        self.opened = OpenedSides() if opened is None else opened
        self._heap: list[tuple[dt.datetime, str]] = []
        self._next: dict[str, dt.datetime] = {}
        node.listeners.append(self._on_change)
        self.stats = {"fired": 0, "recomputed": 0, "stalled": 0}
        self._recomputed: list[Recomputed] = []
        #: case id -> (process, state): sides whose last start's recheck decided nothing and
        #: whose stream has no record since (`rebuild` carries them from the saved `Schedule`).
        self._quiet: dict[str, tuple[str, Any]] = {}
        #: What the last `recheck_calendar` recorded (the start-up's, for the log and tests).
        self.rechecked: list[Recomputed] = []
        #: case id -> the due instant at which its own timer commands were refused or moved
        #: nothing: parked (not fired again) until the case changes. A protocol that refuses
        #: what its timer asks is inconsistent; spinning on it would hang the node.
        self.stalled: dict[str, dt.datetime] = {}

    def _on_change(self, view: SideView, events: list[Event]) -> None:
        self._recomputed += [Recomputed(view.case_id, e) for e in events
                             if isinstance(e, RECOMPUTED)]
        self._schedule(view)

    def _schedule(self, view: SideView) -> None:
        self.stalled.pop(view.case_id, None)
        decider = self.node.protocols[view.process].decider
        due = None if view.state is None else decider.next_timer(view.state)
        if due is None:
            self._next.pop(view.case_id, None)
            return
        if self._next.get(view.case_id) == due:
            return
        self._next[view.case_id] = due
        heapq.heappush(self._heap, (due, view.case_id))
        if len(self._heap) > 2 * len(self._next) + 1024:  # drop superseded entries: no leak
            self._heap = [(d, c) for d, c in self._heap if self._next.get(c) == d]
            heapq.heapify(self._heap)

    def rebuild(self) -> None:
        """After a restart: find every side in the store and schedule its next timer (only the
        sides changed since the last rebuild on the same store, if it left a `Schedule`)."""
        self._heap.clear()
        self._next.clear()
        self._quiet = {}
        recorder = self.node.app.recorder
        saved, self.opened.schedule = self.opened.schedule, None
        known = len(self.opened.entries)
        read = self.opened.read(recorder)
        folds = self.node.caches.folds
        again: set[Any] | None = None  # the streams to ask; None: every one
        failed: set[str] = set()
        rules = self._rules()
        quiet: dict[str, tuple[str, Any]] = {}
        if saved is not None and folds is not None and saved.folds is folds \
                and saved.position <= self.opened.position and known <= len(read):
            if len(rules) == len(saved.rules) and all(
                    a is b for a, b in zip(rules, saved.rules, strict=True)):
                quiet = saved.quiet
            again = self._written_since(saved.position)
            for case_id, due in saved.due.items():
                self._next[case_id] = due
                self._heap.append((due, case_id))
            heapq.heapify(self._heap)
            failed = set(saved.failed)
        entries: list[OpenedSide | Notification] = []
        for index, entry in enumerate(read):
            stream = entry.stream if isinstance(entry, OpenedSide) else entry.originator_id
            if again is not None and index < known and isinstance(entry, OpenedSide) \
                    and stream not in again and entry.case_id not in failed:
                entries.append(entry)  # unchanged since the saved schedule: it stands
                carried = quiet.get(entry.case_id)
                if carried is not None:
                    self._quiet[entry.case_id] = carried
                continue
            if isinstance(entry, OpenedSide):
                failed.discard(entry.case_id)
            kept = self.node.caches.kept_side(stream)
            if kept is not None:  # an in-memory store's fold, current: nothing to decode
                self._schedule(kept)
                entries.append(entry if isinstance(entry, OpenedSide) else OpenedSide(
                    stream, entry.id, kept.case_id, kept.case_number))
                continue
            side = entry if isinstance(entry, OpenedSide) else self._decode(entry)
            if side is None:  # the record opened a register entry, not a side
                continue
            entries.append(side)
            if isinstance(side, OpenedSide) and not self._load(side):
                failed.add(side.case_id)
                self._next.pop(side.case_id, None)  # as if never scheduled: it cannot be read
        self.opened.entries = entries
        if folds is not None:
            self.opened.schedule = Schedule(self.opened.position, folds, dict(self._next),
                                            frozenset(failed), rules)

    def _rules(self) -> tuple[object, ...]:
        """The rules each protocol's decider decides with (None for one without)."""
        return tuple(getattr(b.decider, "rules", None) for _, b in
                     sorted(self.node.protocols.items()))

    def _written_since(self, position: int) -> set[Any]:
        """The streams with a side record (`Opened`, `Recorded`) after `position`, up to what
        `OpenedSides.read` read."""
        streams: set[Any] = set()
        top = self.opened.position
        while position < top:
            batch = self.node.app.recorder.select_notifications(
                start=position, limit=PAGE, stop=top, topics=[OPENED_TOPIC, RECORDED_TOPIC],
                inclusive_of_start=False)
            streams.update(n.originator_id for n in batch)
            position = batch[-1].id if len(batch) == PAGE else top
        return streams

    def _decode(self, record: Notification) -> OpenedSide | Notification | None:
        """A new `Opened` record read as a side; None if it opened none; the record itself if
        it cannot be decoded (noted as unreadable)."""
        opened: Any = decode(self.node.app, record)
        if opened is None:
            return record
        if opened.kind != "side":
            return None
        return OpenedSide(record.originator_id, record.id, opened.key["case_id"],
                          opened.key.get("case_number"))

    def _load(self, side: OpenedSide) -> bool:
        """Schedule `side` as its stream stands now; False if it cannot be loaded."""
        try:
            view = self.node.side(side.case_id)
        except Exception as exc:  # a later record of this case is unreadable
            unreadable_of(self.node.app).note(
                side.stream, 0, side.position,
                f"case {side.case_number} cannot be loaded: {exc!r}")
            return False
        if view is not None:
            self._schedule(view)
        return True

    def next_due(self) -> dt.datetime | None:
        while self._heap and self._next.get(self._heap[0][1]) != self._heap[0][0]:
            heapq.heappop(self._heap)
        return self._heap[0][0] if self._heap else None

    def step(self, now: dt.datetime) -> list[Outcome]:
        outcomes = []
        fired_at: dict[str, dt.datetime] = {}
        while (due := self.next_due()) is not None and due <= now:
            _, case_id = heapq.heappop(self._heap)
            self._next.pop(case_id, None)
            if fired_at.get(case_id) == due:  # its timers ran and left it due at the same instant
                self.stalled[case_id] = due
                self.stats["stalled"] += 1
                log.warning("timer: case %s still due at %s after its timer commands ran "
                            "(refused or without effect); parked until the case changes",
                            case_id, due.isoformat())
                continue
            fired_at[case_id] = due
            view = self.node.side(case_id)
            if view is None:
                continue
            decider = self.node.protocols[view.process].decider
            for command in decider.timers(view.state, now):
                outcomes.append(self.node.command(case_id, command, now))
                self.stats["fired"] += 1
            view = self.node.side(case_id)
            if view is not None:
                self._schedule(view)
        return outcomes

    def _decides_nothing(self, case_id: str, command: Any, now: dt.datetime
                         ) -> tuple[str, Any] | None:
        """The side's process and state if its protocol records nothing for `command` (settled as the node
        would: the command, then its policies), so running it through the node would save
        nothing; else None. A start on an unchanged calendar finds nothing to recheck for any
        side, and each of them through the node (a unit of work, a save with no events) was
        5 % of a 2,000-case simulation, at each of its ~500 restarts. A refusal goes to the
        node, which reports it."""
        view = self.node.side(case_id)
        if view is None or view.state is None:
            return None
        try:
            events, _ = settle(self.node.protocols[view.process].decider, view.state, command,
                               now)
        except DomainError:
            return None
        return None if events else (view.process, view.state)

    def _still_quiet(self, case_id: str, now: dt.datetime) -> bool:
        """A side the last start's recheck found quiet, unchanged since, still decides nothing.

        Why: every start settled the recheck against every side with a running timer, and
        those grow with a run (~200 a region at 2,000 simulated cases, ~500 restarts: the
        restart's share of the run grew with its size). What a recheck decides is a function
        of the side's state and the calendar alone — `deadlines.recheck` of its recorded
        dates under the rules; `now` only stamps the events (tests/unit/test_recheck_quiet.py
        holds every protocol to that) — so the same state under the same rules decides
        nothing again. What can differ is its policies, which settle runs after the command
        and which may read the clock (the household's permit): they are asked again, and a
        side whose policies now ask anything goes the whole way (`_decides_nothing`)."""
        quiet = self._quiet.get(case_id)
        if quiet is None:
            return False
        process, state = quiet
        return not self.node.protocols[process].decider.policy(state, now)

    def recheck_calendar(self, now: dt.datetime) -> list[Recomputed]:
        """Reckon every running provisional deadline again on the node's calendar (see above).

        Logs each deadline that moved later, and each whose official date is earlier than the
        recorded one (kept: a recorded deadline never moves earlier).
        """
        self._recomputed = []
        schedule = self.opened.schedule
        quiet: dict[str, tuple[str, Any]] = {}
        commands = recheck_commands(self.node.region)
        for case_id in sorted(self._next):
            if len(commands) == 1 and self._still_quiet(case_id, now):
                quiet[case_id] = self._quiet[case_id]
                continue
            kept = None
            for command in commands:
                kept = self._decides_nothing(case_id, command, now)
                if kept is not None:
                    continue
                outcome = self.node.command(case_id, command, now)
                if not outcome.ok:
                    log.warning("calendar recheck of case %s refused: %s %s", case_id,
                                outcome.error_code, outcome.error)
            if kept is not None and len(commands) == 1:
                quiet[case_id] = kept
        self._quiet = {}
        if schedule is not None and schedule is self.opened.schedule:
            schedule.quiet.update(quiet)  # for the next start's recheck (see `_still_quiet`)
        found, self._recomputed = self._recomputed, []
        for r in found:
            e = r.event
            if r.kept_earlier_official:
                log.warning("case %s %s: the official calendar gives %s, earlier than the "
                            "recorded %s, which stands", r.case_id, r.step,
                            e.official_due_at.isoformat(), e.due_at.isoformat())
            elif e.due_at > e.previous_due_at:
                log.warning("case %s %s: deadline moved later from %s to %s (%s)", r.case_id,
                            r.step, e.previous_due_at.isoformat(), e.due_at.isoformat(),
                            e.calendar_version)
        self.stats["recomputed"] += len(found)
        self.rechecked = found
        return found
