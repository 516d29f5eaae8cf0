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
  ends (the driver's guard restarts it) and those deliveries come again after `ack_wait`, like the
  failed batch itself; the inbox recognises whatever of them had been applied (link sequence);
- stopping fetches nothing new, lets the pull in flight finish and decides (and acks) everything
  fetched before it returns: what it took from the broker is applied or was never taken.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from regions.core.ports import Delivery

log = logging.getLogger("tongban.node")

#: After a pull that returned nothing (the in-memory broker answers "nothing" at once), the pause
#: before the next: the loop must never spin and starve the other components (s).
IDLE_PAUSE = 0.01


async def run_inbox(fetch: Callable[[int], Awaitable[list[Delivery]]],
                    handle: Callable[[list[Delivery]], Awaitable[None]],
                    stopped: asyncio.Event, batch: int) -> None:
    """Fetch (`fetch(n)`: at most n deliveries) and decide (`handle`) overlapped, until `stopped`
    and everything fetched is decided. Raises what `fetch` or `handle` raised, after the batch
    being decided has finished (its acks sent)."""
    ahead: list[Delivery] = []
    deciding: asyncio.Task[None] | None = None
    pulling: asyncio.Task[list[Delivery]] | None = None

    async def pull(n: int) -> list[Delivery]:
        got = await fetch(n)
        if not got:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopped.wait(), IDLE_PAUSE)
        return got

    try:
        while True:
            if deciding is None and ahead:
                deciding = asyncio.ensure_future(handle(ahead))
                ahead = []
            if pulling is None and len(ahead) < batch and not stopped.is_set():
                pulling = asyncio.ensure_future(pull(batch - len(ahead)))
            waiting = [task for task in (deciding, pulling) if task is not None]
            if not waiting:
                return  # stopped, and everything fetched was decided
            await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
            if deciding is not None and deciding.done():
                done, deciding = deciding, None
                done.result()  # a failed batch: what was fetched after it is not handed on
            if pulling is not None and pulling.done():
                done_pull, pulling = pulling, None
                ahead.extend(done_pull.result())
    finally:
        await _finish(deciding, pulling, len(ahead))


async def _finish(deciding: asyncio.Task[None] | None,
                  pulling: asyncio.Task[list[Delivery]] | None, left: int) -> None:
    """Leaving on an error: the batch being decided finishes (acks only what it committed); a
    pull in flight finishes too — cancelled, what it had taken would wait out `ack_wait` all the
    same, but unseen. What was fetched and not decided is left un-acked, to come again."""
    tasks: list[asyncio.Task[Any]] = [t for t in (deciding, pulling) if t is not None]
    if tasks:
        await asyncio.wait(tasks)
    for task in tasks:
        if not task.cancelled() and task.exception() is not None:
            log.warning("inbox: %r after the loop ended", task.exception())
        elif task is pulling and task.result():
            left += len(task.result())
    if left:
        log.info("inbox: %d fetched deliveries left un-acked, to be redelivered", left)
