"""The durable deadline timer core (sans-IO).

Durable because nothing about it lives only in memory: deadlines are events in the sides'
streams (`DeadlineSet`), so after a restart the index is rebuilt from the store, and a timer
command that fires twice is harmless (`deadlines.decide_timer` ignores stale ones). `step(now)`
asks each due side's protocol what its timers want at `now` (DeadlineMissed, Escalated, lapses)
and runs those commands through the node like any other writer.
"""

from __future__ import annotations

import datetime as dt
import heapq
from typing import Any

from eventsourcing.utils import get_topic

from domain.kernel import Event
from regions.core.node import RegionNode
from regions.core.outcome import Outcome
from regions.core.sides import SideView
from regions.core.store import Stream
from regions.core.unreadable import decode, unreadable_of

OPENED_TOPIC = get_topic(Stream.Opened)


class DeadlineTimer:
    def __init__(self, node: RegionNode) -> None:
        self.node = node
        self._heap: list[tuple[dt.datetime, str]] = []
        self._next: dict[str, dt.datetime] = {}
        node.listeners.append(self._on_change)
        self.stats = {"fired": 0}

    def _on_change(self, view: SideView, events: list[Event]) -> None:
        self._schedule(view)

    def _schedule(self, view: SideView) -> None:
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
        """After a restart: find every side in the store and schedule its next timer."""
        self._heap.clear()
        self._next.clear()
        start = 0
        while True:
            batch = self.node.app.recorder.select_notifications(
                start=start, limit=1000, topics=[OPENED_TOPIC], inclusive_of_start=False)
            if not batch:
                return
            for notification in batch:
                opened: Any = decode(self.node.app, notification)
                if opened is None or opened.kind != "side":
                    continue
                try:
                    view = self.node.side(opened.key["case_id"])
                except Exception as exc:  # a later record of this case is unreadable
                    unreadable_of(self.node.app).note(
                        notification.originator_id, 0, notification.id,
                        f"case {opened.key.get('case_number')} cannot be loaded: {exc!r}")
                    continue
                if view is not None:
                    self._schedule(view)
            start = batch[-1].id

    def next_due(self) -> dt.datetime | None:
        while self._heap and self._next.get(self._heap[0][1]) != self._heap[0][0]:
            heapq.heappop(self._heap)
        return self._heap[0][0] if self._heap else None

    def step(self, now: dt.datetime) -> list[Outcome]:
        outcomes = []
        while (due := self.next_due()) is not None and due <= now:
            _, case_id = heapq.heappop(self._heap)
            self._next.pop(case_id, None)
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
