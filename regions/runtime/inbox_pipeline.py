"""The node's inbox loop, pipelined: the next batch is fetched while this one commits (issue 17).

Why: in lock-step (fetch, commit on the database thread, ack, fetch again) the broker's round
trip and the commit took turns — while the database thread committed, nothing was fetched, and
while the next pull went to JetStream and back, the database thread had nothing of the inbox to
do. A delivery published during a commit waited for that commit, the ack and a whole pull
before its own transaction began (the bench's hop stamps, `simulations/bench/hops.py`).

Here one batch is being decided (`NodeDriver.handle`: the inbox core's transaction, then the
acks) while pulls go on, gathering what arrives into the next batch; that batch is handed to the
database thread the moment the last one returned. At a low rate it is one or a few deliveries,
taken at once; under load it grows towards `fetch_batch` with the length of the commit it waited
for, so the batches (and the commits) stay as large as the load needs.

What does not change (at-least-once, `regions.core.inbox`):
- a delivery is acked only after the commit that applied it — `handle` acks what its own batch
  committed, and batches are decided one after the other, in the order they were fetched;
- when a batch fails (the store gone), nothing fetched after it is handed on or acked: the loop
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
gives back is `Pipeline` (sans-IO): `run_inbox` steps it with asyncio tasks, the simulator
(`simulations/flows.py`) with commits that take seeded time while its pulls go on — the same
rule, two drivers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

from regions.core.ports import Broker, BrokerError, Delivery

log = logging.getLogger("tongban.node")

#: After a pull that returned nothing (the in-memory broker answers "nothing" at once), the pause
#: before the next: the loop must never spin and starve the other components (s).
IDLE_PAUSE = 0.01
D = TypeVar("D")


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


async def run_inbox(fetch: Callable[[int], Awaitable[list[Delivery]]],
                    handle: Callable[[list[Delivery]], Awaitable[None]],
                    stopped: asyncio.Event, batch: int,
                    release: Callable[[list[Delivery]], Awaitable[None]]) -> None:
    """Fetch (`fetch(n)`: at most n deliveries) and decide (`handle`) overlapped, until `stopped`
    and everything fetched is decided. Raises what `fetch` or `handle` raised, after the batch
    being decided has finished (its acks sent) and what was fetched and not decided — a failed
    batch included — was given to `release`, in the order it was fetched."""
    pipe: Pipeline[Delivery] = Pipeline(batch)
    deciding: asyncio.Task[None] | None = None  # deciding `pipe.deciding`
    pulling: asyncio.Task[list[Delivery]] | None = None

    async def pull(n: int) -> list[Delivery]:
        got = await fetch(n)
        if not got:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopped.wait(), IDLE_PAUSE)
        return got

    try:
        while True:
            if (next_batch := pipe.to_decide()) is not None:
                deciding = asyncio.ensure_future(handle(next_batch))
            if pulling is None and pipe.room() > 0 and not stopped.is_set():
                pulling = asyncio.ensure_future(pull(pipe.room()))
            waiting = [task for task in (deciding, pulling) if task is not None]
            if not waiting:
                return  # stopped, and everything fetched was decided
            await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
            if deciding is not None and deciding.done():
                done, deciding = deciding, None
                if done.cancelled() or done.exception() is not None:
                    pipe.failed()  # a failed batch: given back with the rest
                else:
                    pipe.decided()
                done.result()  # a failed batch: what was fetched after it is not handed on
            if pulling is not None and pulling.done():
                done_pull, pulling = pulling, None
                pipe.fetched(done_pull.result())
    finally:
        failed, pulled = await _finish(deciding, pipe.deciding or [], pulling)
        left = [*failed, *pipe.ahead, *pulled]  # in the order they were fetched
        if left:
            log.info("inbox: %d fetched deliveries given back, to be redelivered", len(left))
            await release(left)


async def _finish(deciding: asyncio.Task[None] | None, in_hand: list[Delivery],
                  pulling: asyncio.Task[list[Delivery]] | None
                  ) -> tuple[list[Delivery], list[Delivery]]:
    """Leaving on an error: the batch being decided finishes (acks only what it committed); a
    pull in flight finishes too — cancelled, what it had taken would wait out `ack_wait` all the
    same, but unseen. Returns what of them is not decided: the batch if it failed, and what the
    pull took."""
    tasks: list[asyncio.Task[Any]] = [t for t in (deciding, pulling) if t is not None]
    if tasks:
        await asyncio.wait(tasks)
    failed: list[Delivery] = []
    pulled: list[Delivery] = []
    for task in tasks:
        if task.cancelled() or task.exception() is not None:
            if not task.cancelled():
                log.warning("inbox: %r after the loop ended", task.exception())
            if task is deciding:
                failed = in_hand
        elif task is pulling:
            pulled = task.result()
    return failed, pulled


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
