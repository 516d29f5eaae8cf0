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
The window's rules — how many batches may be with the sink, and which one the cursor may move
over next — are `Window`, sans-IO: `flow` steps it with asyncio futures, and the simulator
(`simulations/world.py`) with its own sinks whose acks come back in seeded order, so the
simulator runs the same ordering, not a copy of it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from regions.core.tailer import Batch, Tailer
from regions.runtime import crashpoints
from regions.runtime.db_thread import NORMAL

if TYPE_CHECKING:
    from regions.runtime.driver import NodeDriver

#: How many batches the relay may have awaiting acks at once.
RELAY_WINDOW = 4
#: How long a quiet tail sleeps before it looks again without a wake-up (s), as `_tail_loop`.
QUIET = 0.25
#: What stands for a batch's sink call: an asyncio future in `flow`, the simulator's own record.
S = TypeVar("S")


class Window(Generic[S]):
    """The batches with a sink, in log order, and how far reading went (sans-IO).

    Why apart from `flow`: the ordering is the protocol (a batch is read and handed on while
    those before it await their acks; the position moves over them in order, each only once
    its sink returned), and the simulator must step this very rule with acks arriving in any
    order, or it cannot catch a break of it."""

    def __init__(self, size: int, handed: int) -> None:
        self.size = size
        #: The last position handed to the sink, landed or not: where the next read starts.
        self.handed = handed
        self.flying: deque[tuple[Batch[Any], S]] = deque()

    def full(self) -> bool:
        """`size` batches await their sinks: the next read waits for the oldest."""
        return len(self.flying) >= self.size

    def hand_on(self, batch: Batch[Any], sink: S) -> None:
        """`batch` went to the sink (`sink` stands for the call); the next read starts after it."""
        self.flying.append((batch, sink))
        self.handed = batch.position

    def oldest(self) -> S | None:
        """The sink call the position waits for next (None: nothing in flight)."""
        return self.flying[0][1] if self.flying else None

    def landing(self, done: Callable[[S], bool]) -> tuple[Batch[Any], S] | None:
        """The next batch the position may move over: the oldest in flight, once `done` says its
        sink call finished (succeeded or failed: the caller sees which); None while it has not."""
        if self.flying and done(self.flying[0][1]):
            return self.flying.popleft()
        return None


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
    # the starting position: at a start, a read of the cursor from the store, on the database
    # thread, like all store work
    flying: Window[asyncio.Future[None]] = Window(
        window, await driver.db(lambda: tailer.position, slack=tail.slack))
    try:
        while not driver.stopped.is_set():
            while (landed := flying.landing(_done)) is not None:
                await land(driver, tail, *landed)
            oldest = flying.oldest()
            if flying.full() and oldest is not None:
                await asyncio.wait([oldest])
                continue
            tail.wake.clear()
            batch = await driver.db(tailer.step, driver.now(), flying.handed, slack=tail.slack)
            if batch is None:
                if oldest is None and tailer.save_due(driver.now()):
                    await driver.db(tailer.flush, driver.now(), slack=tail.slack)
                await _until_woken(tail, oldest)
                continue
            batch = tailer.still_to_hand_on(batch)
            if tail.before_sink:
                crashpoints.reached(tail.before_sink)
            flying.hand_on(batch, asyncio.ensure_future(tail.sink(batch.items)))
        while (oldest := flying.oldest()) is not None:  # stopping: what was handed on lands
            await asyncio.wait([oldest])                 # before the cursor is saved
            landed = flying.landing(_done)
            assert landed is not None
            await land(driver, tail, *landed)
    finally:
        if flying.flying:  # a sink failed: the rest is read again from the position
            await asyncio.wait([sink for _, sink in flying.flying])
            for _, sink in flying.flying:
                if not sink.cancelled():
                    sink.exception()  # seen: the first failure is what the guard reports


def _done(sink: asyncio.Future[None]) -> bool:
    return sink.done()


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
