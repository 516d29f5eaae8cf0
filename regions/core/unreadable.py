"""Stored records that cannot be decoded are set aside, never fatal.

Why: one record the event store cannot turn back into an event (written by a faulty or older
version, a value shaped like the transcoder's envelope, bytes damaged on disk) used to stop
every reader of the log for good — the relay, the back-end feed, the views, and the timer's
rebuild at start-up, so the node could not even restart (issue 11, "never brick"). A reader
now decodes through `decode`: a record that fails is noted here (one log line naming its
stream, version and log position, a count for /metrics and /readyz) and the reader goes on
with the rest. Nothing is deleted or rewritten: the record stays in the store for an operator
to inspect and repair, and a case whose own stream holds it still refuses to load (its state
would be wrong without it) — that case alone stops, not the region.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import Any
from uuid import UUID

from regions.core.recent_log import recent_log_of

log = logging.getLogger("tongban.store")

#: How many distinct unreadable records are remembered for the report (the count goes on).
REMEMBERED = 1000


class Unreadable:
    """The unreadable records this process met: a count and the most recent ones."""

    def __init__(self) -> None:
        self.count = 0
        self.records: OrderedDict[tuple[str, int], dict[str, Any]] = OrderedDict()

    def note(self, stream: UUID | str, version: int, position: int | None,
             error: BaseException | str) -> None:
        key = (str(stream), int(version))
        if key in self.records:
            return  # read again (a restart of a reader, a re-send): reported once
        self.count += 1
        self.records[key] = {"stream": key[0], "version": key[1], "position": position,
                             "error": repr(error)[:300] if isinstance(error, BaseException)
                             else str(error)[:300]}
        if len(self.records) > REMEMBERED:
            self.records.popitem(last=False)
        log.error("unreadable stored record set aside: stream %s version %s position %s: %s",
                  key[0], key[1], position, self.records.get(key, {}).get("error"))

    def report(self) -> dict[str, Any]:
        return {"count": self.count, "recent": list(self.records.values())[-20:]}


def unreadable_of(app: Any) -> Unreadable:
    """The application's register of unreadable records (made on first use)."""
    found = getattr(app, "unreadable", None)
    if not isinstance(found, Unreadable):
        found = Unreadable()
        app.unreadable = found
    return found


def decode(app: Any, record: Any) -> Any | None:
    """The domain event of a stored record (a notification or stored event), or None when it
    cannot be decoded — then noted in `unreadable_of(app)` and the caller skips it."""
    saved = recent_log_of(app)
    if saved is not None:  # a record this process just committed: the event it saved
        event = saved.event(record)
        if event is not None:
            return event
    try:
        return app.mapper.to_domain_event(record)
    except Exception as exc:  # any failure of one record: set it aside, never stop the reader
        unreadable_of(app).note(record.originator_id, record.originator_version,
                                getattr(record, "id", None), exc)
        return None
