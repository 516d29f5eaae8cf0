"""The node's inbox loop, pipelined: the next batch is fetched while this one commits (issue 17).

Why: in lock-step (fetch, commit on the database thread, ack, fetch again) the broker's round
trip and the commit took turns — while the database thread committed, nothing was fetched, and
while the next pull went to JetStream and back, the database thread had nothing of the inbox to
do. A delivery published during a commit waited for that commit, the ack and a whole pull
before its own transaction began (the bench's hop stamps, `simulations/bench/hops.py`).

Here one batch is being decided (`NodeDriver.decide`: the inbox core's transaction, on the
database thread) while pulls go on, gathering what arrives into the next batch; a take for
that batch is queued on the database thread (URGENT) as soon as something was fetched, and
takes, when the thread starts it, everything fetched until then. At a low rate it is one or a
few deliveries, taken at once; under load it grows towards `fetch_batch` with the length of
the commit it waited for, so the batches (and the commits) stay as large as the load needs.
The batch's acks (`NodeDriver.settle`) go on the loop after its commit, while the next batch
is already deciding.

Why the take waits on the database thread rather than being handed on when the last batch's
acks returned (as until issue 17's fifteenth session): between the commit and the next hand-on
the thread had the loop's turn and a JetStream round trip to wait, and in that gap it started
whatever else was queued — in the bench's paced phases a command group (20–70 ms at load,
not pre-emptible), which the next inbox batch then waited for; in the slowest 1 % of events
that wait and the acks' were most of `fetched->deciding`, the longest hop (docs/performance.md,
P99 and PACED). What arrives during the acks now joins the batch after the one taken, so at
a given load the batches are a little smaller and more (P99's warning: on a saturated machine
that is less throughput): measured in PACED's pairs.

What does not change (at-least-once, `regions.core.inbox`):
- a delivery is acked only after the commit that applied it — `settle` acks what its own batch
  committed, and batches are decided one after the other, in the order they were fetched (the
  acks of two batches may overlap: each is the broker's on its own);
- when a batch fails (the store gone, or its acks), nothing fetched after it is taken or acked
  (a take already queued takes nothing: `Shared.broken`, set on the database thread): the loop
  ends (the driver's guard restarts it after its pause) and gives back (`release`: the driver
  naks them) the failed batch and everything fetched after it, in the order they were fetched,
  so they come again as soon as the loop restarts and in that order; the inbox recognises
  whatever of them had been applied (link sequence). Why not leave them to `ack_wait` (30 s as
  provisioned): the restarted loop would fetch the messages published meanwhile first, the
  inbox would hold them behind the gap the un-acked ones left (or past its hold window drop
  them and ask their origin again), and every link in the failed batch would wait the whole
  `ack_wait`. A nak counts as a delivery, as an expired `ack_wait` does (the inbox consumer is
  provisioned with no `max_deliver`); the guard's pause bounds how often a lasting outage
  retries;
- stopping fetches nothing new, lets the pull in flight finish and decides (and acks) everything
  fetched before it returns: what it took from the broker is applied or was never taken.
Which batch goes to the database thread next, how much a pull may take, and what a failed batch
gives back is `Pipeline` (sans-IO): `run_inbox` steps it with asyncio tasks and takes on the
database thread (`Shared`, under a lock), the simulator (`simulations/flows.py`) with commits
that take seeded time while its pulls go on — the same rule, two drivers. (The simulator's
acks come back at the commit, so a take there is at the last commit's end, as here; it has
no other work on its database thread for a take to go before.)
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import logging
import threading
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

from regions.core.ports import Broker, BrokerError, Delivery

log = logging.getLogger("tongban.node")

#: After a pull that returned nothing (the in-memory broker answers "nothing" at once), the pause
#: before the next: the loop must never spin and starve the other components (s).
IDLE_PAUSE = 0.01
D = TypeVar("D")
R = TypeVar("R")


class Pipeline(Generic[D]):
    """What was fetched and not yet handed on, and the batch being decided (sans-IO)."""

    def __init__(self, batch: int) -> None:
        self.batch = batch
        #: Fetched while a batch was being decided: the next batch, in fetch order.
        self.ahead: list[D] = []
        #: The batch with the database thread (None: none), acked only after its own commit.
        self.deciding: list[D] | None = None

    def room(self) -> int:
        """How many deliveries the next pull may take: fetched-ahead ones count."""
        return self.batch - len(self.ahead)

    def fetched(self, got: list[D]) -> None:
        self.ahead.extend(got)

    def to_decide(self) -> list[D] | None:
        """Everything fetched, as the next batch, once the last one was decided (None: a batch
        is being decided, or nothing waits): one commit at a time, in fetch order."""
        if self.deciding is None and self.ahead:
            self.deciding, self.ahead = self.ahead, []
            return self.deciding
        return None

    def decided(self) -> None:
        """The batch being decided committed (and its acks went): the next may go."""
        self.deciding = None

    def failed(self) -> None:
        """The batch being decided failed: it goes back in front of what was fetched after it,
        to be given back with it in fetch order."""
        self.ahead = [*(self.deciding or ()), *self.ahead]
        self.deciding = None


class Shared(Generic[D]):
    """`Pipeline` as the event loop and the database thread share it (under `lock`): the loop
    adds what its pulls fetched, the database thread takes the next batch when it starts the
    inbox's transaction — so what is fetched until that moment joins it.

    Whether a take is queued and has not started is not kept: it is whether something waits
    (`pipe.ahead`). A take is queued when a fetch gives what waits its first delivery
    (`fetched`), and a take, when it starts, takes everything that waits — takes run one at a
    time on the database thread, and each ends its batch (`decided`, or `failed` and `broken`)
    before the next starts, so none finds a batch still deciding. So while not `broken`,
    something waits exactly while a take for it is queued (tests/property/test_inbox_shared.py),
    and `run_inbox`, once no take is in flight and no pull, has nothing left to take."""

    def __init__(self, batch: int) -> None:
        self.pipe: Pipeline[Any] = Pipeline(batch)
        self.lock = threading.Lock()
        #: A batch failed (its transaction, on the database thread, or its acks, on the loop)
        #: or the loop left: nothing more is taken. Not the `Pipeline`'s: those two leave no
        #: trace in what it holds.
        self.broken = False
        #: Set by the loop while no pull may go (no room): a take calls it (thread-safe).
        self.on_room: Callable[[], None] | None = None

    def fetched(self, got: list[Any]) -> bool:
        """The loop: `got` joins what waits; True when a take must be queued for it (nothing
        waited: no take is queued)."""
        with self.lock:
            first = not self.pipe.ahead
            self.pipe.fetched(got)
            return first and bool(got) and not self.broken

    def room(self, wake: Callable[[], None]) -> int:
        """The loop: how many the next pull may take; 0: `wake` is called when a take made
        room."""
        with self.lock:
            room = self.pipe.room()
            self.on_room = wake if room <= 0 else None
            return room

    def decide(self, decide: Callable[[list[Any]], R]) -> tuple[list[Any], R] | None:
        """The database thread: take everything fetched so far and decide it (`decide`, the
        inbox's transaction). None: nothing to take (a failed batch before it)."""
        with self.lock:
            batch = None if self.broken else self.pipe.to_decide()
            wake, self.on_room = (self.on_room, None) if batch else (None, self.on_room)
        if wake is not None:
            wake()  # the loop may pull again: what was fetched is taken
        if batch is None:
            return None
        try:
            result = decide(batch)
        except BaseException:
            with self.lock:
                self.pipe.failed()  # given back, with what was fetched after it
                self.broken = True
            raise
        with self.lock:
            self.pipe.decided()  # committed: the next take may go while its acks come back
        return batch, result


async def run_inbox(fetch: Callable[[int], Awaitable[list[Delivery]]],
                    submit: Callable[[Callable[[], Any]], Awaitable[Any]],
                    decide: Callable[[list[Delivery]], R],
                    settle: Callable[[list[Delivery], R], Awaitable[None]],
                    stopped: asyncio.Event, batch: int,
                    release: Callable[[list[Delivery]], Awaitable[None]]) -> None:
    """Fetch (`fetch(n)`: at most n deliveries), decide (`decide(batch)`, run on the database
    thread through `submit`) and settle (`settle(batch, result)`: the acks, on the loop)
    overlapped, until `stopped` and everything fetched is decided and settled.

    A take is queued on the database thread as soon as something was fetched — while the last
    batch's transaction still runs — and takes, when it starts, everything fetched until then:
    the database thread goes from one inbox batch to the next without waiting for the last
    one's acks and the loop's turn (time in which it started a command group before, which the
    next batch then waited for). A batch is settled (acked) only after its own transaction.
    Raises what `fetch`, `decide` or `settle` raised, after the batches in flight have
    finished and what was fetched and not settled — a failed batch included — was given to
    `release`, in the order it was fetched."""
    shared: Shared[Delivery] = Shared(batch)
    flights: list[asyncio.Task[None]] = []  # queued takes, each then its batch's settling
    pulling: asyncio.Task[list[Delivery]] | None = None
    #: Decided, whose settling failed, by when their take was queued: given back.
    unsettled: list[tuple[int, list[Delivery]]] = []
    takes = itertools.count()

    async def pull(n: int) -> list[Delivery]:
        got = await fetch(n)
        if not got:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopped.wait(), IDLE_PAUSE)
        return got

    async def fly(n: int) -> None:
        decided = await submit(functools.partial(shared.decide, decide))
        if decided is None:
            return
        taken, result = decided
        try:
            await settle(taken, result)
        except BaseException:
            with shared.lock:
                shared.broken = True
            unsettled.append((n, taken))
            raise

    loop = asyncio.get_running_loop()
    room_made = asyncio.Event()

    def wake() -> None:  # on the database thread: a take made room for a pull
        loop.call_soon_threadsafe(room_made.set)

    roomy: asyncio.Task[bool] | None = None  # waiting for room_made
    try:
        while True:
            if pulling is None and not stopped.is_set():
                room_made.clear()
                if (room := shared.room(wake)) > 0:
                    pulling = asyncio.ensure_future(pull(room))
                elif roomy is None:
                    roomy = asyncio.ensure_future(room_made.wait())
            waiting: list[asyncio.Future[Any]] = [*flights]
            if pulling is not None:
                waiting.append(pulling)
            if not waiting:  # stopped (else a pull, or no room: a take), and nothing waits
                return  # (`Shared`); were anything left, `release` would give it back
            if roomy is not None and pulling is None and not stopped.is_set():
                waiting.append(roomy)  # (not counted above: no room is not work left)
            await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
            if roomy is not None and roomy.done():
                roomy = None
            for task in [t for t in flights if t.done()]:
                flights.remove(task)
                task.result()  # a failed batch: nothing fetched after it is handed on
            if pulling is not None and pulling.done():
                done_pull, pulling = pulling, None
                if shared.fetched(done_pull.result()):
                    flights.append(asyncio.ensure_future(fly(next(takes))))
    finally:
        if roomy is not None:
            roomy.cancel()
        with shared.lock:
            shared.broken = True  # leaving: a take not yet started takes nothing
            shared.on_room = None
        pulled = await _finish(flights, pulling)
        with shared.lock:
            ahead = list(shared.pipe.ahead)
        failed = [d for _, taken in sorted(unsettled, key=lambda u: u[0]) for d in taken]
        left = [*failed, *ahead, *pulled]  # in the order they were fetched
        if left:
            log.info("inbox: %d fetched deliveries given back, to be redelivered", len(left))
            await release(left)


async def _finish(flights: list[asyncio.Task[None]],
                  pulling: asyncio.Task[list[Delivery]] | None) -> list[Delivery]:
    """Leaving on an error: the batches in flight finish (each acks only what it committed);
    a pull in flight finishes too — cancelled, what it had taken would wait out `ack_wait`
    all the same, but unseen. Returns what the pull took."""
    tasks: list[asyncio.Task[Any]] = [*flights, *([pulling] if pulling is not None else [])]
    if tasks:
        await asyncio.wait(tasks)
    pulled: list[Delivery] = []
    for task in tasks:
        if task.cancelled() or task.exception() is not None:
            if not task.cancelled():
                log.warning("inbox: %r after the loop ended", task.exception())
        elif task is pulling:
            pulled = task.result()
    return pulled


async def give_back(broker: Broker, deliveries: list[Delivery]) -> None:
    """`release` for a node's broker: nak each of `deliveries` (no delay), in order — in one go
    where the broker can (`NatsBroker.nak_many`, one confirmation). A delivery already settled
    (a batch that failed after its acks) is left as it is, as the port says. A broker that
    cannot take the naks (the connection gone) leaves them to its `ack_wait`, as before."""
    nak_many = getattr(broker, "nak_many", None)
    try:
        if nak_many is not None:
            await nak_many(deliveries)
        else:
            for delivery in deliveries:
                await broker.nak(delivery)
    except (BrokerError, OSError) as exc:
        log.info("inbox: giving back %d deliveries failed (%r); they come again after ack_wait",
                 len(deliveries), exc)
