"""How long and how much JetStream keeps: stream limits sized from the protocols' longest wait.

Design §5 says streams never discard unconsumed messages. A stream without limits keeps every
message for ever (acking does not delete: limits retention), which no operator can run for
years. The limits here keep that promise for every message a consumer could still need:

- **`max_age`: the longest a protocol waits for a counterpart's message, plus a margin.**
  A message sits unconsumed only while its destination is down or stuck. The longest any
  protocol waits for a counterpart before its own timer gives up on the step is the waiting
  limit `awaiting_counterpart`, 30 working days (`domain.limits.DEFAULT_WAITING_LIMITS`); every
  statutory limit and every other waiting limit is shorter (15 working days, 30 or 40 calendar
  days, one month). Thirty working days span at most **63 calendar days** — 2015–2026 on the
  official schedules (at most 57), later years on the conservative fallback, which widens every
  holiday break (`longest_wait_days` reckons it; a test keeps `MAX_AGE_DAYS` above it). A week
  more covers the gap bound, the escalation after a missed deadline (3 working days) and an
  outage noticed late: **70 days**.
- **What happens to a message older than that: it is re-sent, never lost.** Every event a
  region sends stays in the *origin's* event store for ever; the stream is only transport. A
  destination that comes back after more than 70 days finds the expired messages missing,
  sees the gap against the origin's high-water mark (re-announced on every heartbeat) and asks
  for a re-send (`ResendRequest`), which the origin's relay answers from its store. So the age
  limit moves a very late reader from the cheap path (the stream) to the slow path (re-send);
  it never loses a recorded fact. The trade-off: after 70 days the re-send needs the origin
  up, and a back-end absent that long misses feed events (the feed is derived from the store;
  it catches up from the case's state, not from the stream).
- **No byte limit per stream; the server's store is the bound, and a full store refuses.**
  JetStream *reserves* each stream's `max_bytes` against the server's `max_file_store` when the
  stream is created, so per-stream byte limits over ~1,000 streams (340 regions × 3) would have
  to be carved out of the disk up front (8 GiB each refused to provision on a test machine).
  Instead the total is bounded by the server's store, and when it is full JetStream refuses
  publishes ("insufficient resources") — with `discard: new` on every stream nothing
  unconsumed is ever pushed out: the relay keeps its cursor and retries, its metrics show it,
  and the operator adds disk. `--max-bytes` sets a per-stream limit for an operator who sizes
  the store for it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

#: Stream age limit in days (see the module docstring for the sizing).
MAX_AGE_DAYS: Final = 70


@dataclass(frozen=True)
class Retention:
    """A stream's limits: `max_age` in seconds, `max_bytes` (-1: none); discard is always new."""

    max_age: float
    max_bytes: int

    def __post_init__(self) -> None:
        if not self.max_age > 0:
            raise ValueError(f"max_age must be > 0 seconds, got {self.max_age!r}")
        if not (self.max_bytes == -1 or self.max_bytes >= 1024 * 1024):
            raise ValueError(f"max_bytes must be -1 or at least 1 MiB, got {self.max_bytes!r}")


#: Every stream: event streams (`TB_EVT_`, `TB_OUT_`), feeds (`TB_FEED_`) and dead letters
#: (`TB_DLQ_`, copies for operators: the node's quarantine keeps its own record).
STREAMS: Final = Retention(max_age=MAX_AGE_DAYS * 86400.0, max_bytes=-1)
DEAD_LETTERS: Final = STREAMS


def longest_wait_days(years: Iterable[int]) -> int:
    """The most calendar days any protocol's limit spans from a start in `years`: every
    statutory limit and every default waiting limit, reckoned on the working-day calendar
    (official schedules, then the conservative fallback)."""
    from domain.calendar import WorkingCalendar, start_of_day
    from domain.limits import DEFAULT_WAITING_FALLBACK, DEFAULT_WAITING_LIMITS, STATUTORY

    calendar = WorkingCalendar()
    reckon = {"working_days": calendar.add_working_days,
              "calendar_days": calendar.add_calendar_days,
              "calendar_months": calendar.add_calendar_months}
    limits = {*DEFAULT_WAITING_LIMITS.values(), DEFAULT_WAITING_FALLBACK,
              *(statute.limit for statute in STATUTORY.values())}
    longest = 0
    for year in years:
        day = dt.date(year, 1, 1)
        while day.year == year:
            start = start_of_day(day)
            for limit in limits:
                due = reckon[limit.unit](start, limit.amount).due_at
                longest = max(longest, (due - start).days)
            day += dt.timedelta(days=1)
    return longest
