"""Two nodes driven synchronously over one store: the micro-benches' pension transfer.

Why one driver: `nodepath` and `inbox` both run the bench's pension transfer between two nodes
— the destination's window submits in groups, each side's back-end reacts to what its node
committed (`simulations.bench.autopilot`, group commits through `run_batch`), each relay batch
goes to the receiver — and differ only in how a relay batch's link messages reach the
receiving node (its unit of work, or bytes through `Inbox.handle`) and what they time. So the
drive is here once; the bench gives `drive` its receiving step.

Harness, like the benches themselves: a bench takes this file from beside its own
(`runpy.run_path`), not from the tree's package, so that an older source tree — which may have
no such module — is driven by it too (`simulations.bench.old_code`). Its project imports are
made when it runs, from whichever tree is active then.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from regions.core.messages import LinkMessage

REGION, PEER = "150600", "610800"
#: Cases submitted at a time; each node runs up to four groups' commands in one batch.
GROUP = 50


class TwoNodes:
    """`REGION` and `PEER` on `store`, each with its autopilot, at the fixed time `now`."""

    def __init__(self, store: Any, now: dt.datetime) -> None:
        from regions.core.config import RegionConfig
        from regions.runtime.bootstrap import build_region
        from simulations.bench.autopilot import Autopilot

        self.now = now
        self.regions: dict[str, Any] = {}
        self.pilots: dict[str, Any] = {}
        for code, peer in ((REGION, PEER), (PEER, REGION)):
            region = build_region(RegionConfig(region=code, peers=(peer,)), clock=lambda: now,
                                  ids=uuid.uuid4, broker=None, store=store)
            pilot = Autopilot(region, peer)
            region.node.listeners.append(pilot.on_commit)
            self.regions[code], self.pilots[code] = region, pilot
        #: Commands run, and the CPU (this thread's) their `run_batch` calls took.
        self.commands_run = 0
        self.command_seconds = 0.0

    def commands(self, code: str) -> bool:
        """One batch of `code`'s queued commands, every one accepted; False if none queued."""
        queue = self.pilots[code].queue
        if not queue:
            return False
        group = [queue.popleft() for _ in range(min(GROUP * 4, len(queue)))]
        started = time.thread_time()
        outcomes = self.regions[code].node.run_batch(group, self.now)
        self.command_seconds += time.thread_time() - started
        self.commands_run += len(group)
        refused = [o for o in outcomes if not o.ok]
        assert not refused, refused[:3]
        return True

    def relay(self, code: str, receive: Callable[[list[LinkMessage]], None]) -> bool:
        """`code`'s next relay batch, its link messages handed to `receive` (when it has
        any); False if the relay had nothing to send."""
        from regions.core.messages import LinkMessage

        relay = self.regions[code].relay
        batch = relay.step(self.now)
        if batch is None:
            return False
        relay.advance(batch, self.now)
        items = [m for m in batch.items if isinstance(m, LinkMessage)]
        if items:
            receive(items)
        return bool(batch.items)

    def drive(self, cases: int, receive: Callable[[list[LinkMessage]], None],
              after: Callable[[str], None] | None = None) -> None:
        """`cases` transfers, `GROUP` submitted at a time at `PEER`, each group run until both
        nodes are idle: commands, then the relay (`receive`), then `after`, node by node."""
        from simulations.bench.autopilot import submission

        uuids = (uuid.UUID(int=n + 1) for n in range(cases))
        for start in range(0, cases, GROUP):
            self.pilots[PEER].queue.extend(submission(PEER, REGION, n, self.now, next(uuids))
                                           for n in range(start, min(start + GROUP, cases)))
            busy = True
            while busy:
                busy = False
                for code in (PEER, REGION):
                    busy = self.commands(code) or busy
                    busy = self.relay(code, receive) or busy
                    if after is not None:
                        after(code)
