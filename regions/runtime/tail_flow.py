"""A tailer whose sink may have several batches awaiting their acks at once (issue 17, PIPE).

Why: `NodeDriver.tail_once` hands a batch to the sink and waits for all its acks before the next
batch goes out (it reads that batch meanwhile). For the outbox relay those acks are JetStream's,
one fsync'd store per message (`sync_interval: always`): 20–60 ms a batch at a paced 100 cases/s
on the bench, and an event committed while they came back waited for all of them before its own
publish — the relay's share of the cross-region latency's tail (`simulations/bench/hops.py`:
`read->publish`, and `committed->read` behind it).

Here up to `window` batches are with the sink at once: a batch is read and handed on as soon as
it is committed, while the acks of those before it still come back. What does not change:
- batches are handed to the sink in log order, and each sink call sends its messages before it
  first waits for an ack (a publish only waits when the client's buffer is full), so a
  destination gets them in order (`tests/integration/test_tail_flow_sends_first.py`: three
  batches handed on while nats-server is frozen all reach the connection whole, in link order;
  it fails with publishes in lock-step or one recipient's acks awaited before the next's
  messages); if one ever overtook another, the receiver holds it until the gap closes (the link
  protocol's `HOLD_WINDOW`) — a delay, never a loss or a repeat applied twice;
- the cursor moves only over batches whose sink returned, in order (`land`): a batch whose sink
  failed stops the flow; what was handed on after it is waited for and read again from the
  position later (its receivers drop the repeats, as after a crash: `CURSOR_SAVE_INTERVAL`);
- a stop lands what is in flight before the driver saves the cursor.
Only for sinks whose receivers tolerate that: the relay (link sequence). The back-end feed is
not windowed — its consumers take a lower version than the last one as a repeat.
`Tail` (what every tailer of the driver is) lives here with its window; the driver re-exports it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from regions.core.tailer import Batch, Tailer
from regions.runtime import crashpoints
from regions.runtime.db_thread import NORMAL

if TYPE_CHECKING:
    from regions.runtime.driver import NodeDriver

#: How many batches the relay may have awaiting acks at once.
RELAY_WINDOW = 4
#: How long a quiet tail sleeps before it looks again without a wake-up (s), as `_tail_loop`.
QUIET = 0.25


@dataclass
class Tail:
    """A tailer of the region's log (`regions.core.tailer`), the sink its batches go to, the
    counter that counts them, and the crash points around the sink (the fault tests' windows)."""

    name: str
    tailer: Tailer[Any]
    sink: Callable[[list[Any]], Awaitable[None]]
    counter: str
    before_sink: str = ""
    after_sink: str = ""
    #: How long its store work may wait behind later work (regions.runtime.db_thread).
    slack: float = NORMAL
    #: Read the next batch while the sink still awaits the last one's acks (`tail_once`).
    read_ahead: bool = False
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    #: The next batch, being read while the sink works (`read_ahead`).
    ahead: asyncio.Future[Any] | None = None
    #: More than 1: that many batches with the sink at once (`regions.runtime.tail_flow`).
    window: int = 1


async def flow(driver: NodeDriver, tail: Tail, window: int) -> None:
    """Run `tail` until the driver stops, up to `window` batches with the sink at once."""
    tailer = tail.tailer
    flying: deque[tuple[Batch[Any], asyncio.Future[None]]] = deque()
    # the last position handed to the sink, landed or not; at a start, a read of the cursor
    # from the store: on the database thread, like all store work
    handed: int = await driver.db(lambda: tailer.position, slack=tail.slack)
    try:
        while not driver.stopped.is_set():
            while flying and flying[0][1].done():
                await land(driver, tail, *flying.popleft())
            if len(flying) >= window:
                await asyncio.wait([flying[0][1]])
                continue
            tail.wake.clear()
            batch = await driver.db(tailer.step, driver.now(), handed, slack=tail.slack)
            if batch is None:
                if not flying and tailer.save_due(driver.now()):
                    await driver.db(tailer.flush, driver.now(), slack=tail.slack)
                await _until_woken(tail, flying[0][1] if flying else None)
                continue
            batch = tailer.still_to_hand_on(batch)
            if tail.before_sink:
                crashpoints.reached(tail.before_sink)
            flying.append((batch, asyncio.ensure_future(tail.sink(batch.items))))
            handed = batch.position
        while flying:  # stopping: what was handed on lands before the cursor is saved
            await land(driver, tail, *flying.popleft())
    finally:
        if flying:  # a sink failed: the rest is read again from the position
            await asyncio.wait([sink for _, sink in flying])
            for _, sink in flying:
                if not sink.cancelled():
                    sink.exception()  # seen: the first failure is what the guard reports


async def land(driver: NodeDriver, tail: Tail, batch: Batch[Any],
               sink: asyncio.Future[None]) -> None:
    """The sink took `batch` (or raises what it failed with): move the position over it."""
    await sink
    await passed_on(driver, tail, batch)


async def passed_on(driver: NodeDriver, tail: Tail, batch: Batch[Any]) -> None:
    """`batch`'s sink returned: move the position over it (`flow` and `NodeDriver.tail_once`)."""
    if tail.after_sink:
        crashpoints.reached(tail.after_sink)
    tailer = tail.tailer
    if tailer.deferred is None:
        await driver.db(tailer.advance, batch, driver.now(), slack=tail.slack)
    else:
        tailer.passed(batch, driver.now())
        if tailer.save_due(driver.now()):
            await driver.db(tailer.flush, driver.now(), slack=tail.slack)
    driver.counters[tail.counter] += len(batch.items)


async def _until_woken(tail: Tail, sink: asyncio.Future[None] | None) -> None:
    """Nothing new to read: wait for a commit's wake-up, the oldest sink's acks, or `QUIET`."""
    woken: asyncio.Future[Any] = asyncio.ensure_future(tail.wake.wait())
    waits = [woken] if sink is None else [woken, sink]
    try:
        await asyncio.wait(waits, timeout=QUIET, return_when=asyncio.FIRST_COMPLETED)
    finally:
        woken.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await woken
