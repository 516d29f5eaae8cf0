"""A stop that cancels the command endpoint's batch sender still answers every request it took
(`regions.runtime.commands`): what was only queued is answered `unavailable` (nothing was run:
retry with the same id), and the batch already handed to the database thread gets the answer it
committed — never a failure for a command that was decided and saved."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import threading
import uuid
from collections.abc import Sequence
from typing import Any

from regions.adapters.brokers.memory import MemoryBroker
from regions.adapters.stores.memory import MemoryStore
from regions.core.commands import ERRORS, CommandRequest, CommandResult
from regions.core.config import RegionConfig
from regions.runtime.bootstrap import build_region
from regions.runtime.commands import CommandEndpoint
from regions.runtime.driver import NodeDriver
from tests.property.test_command_batch import HERE, ORIGIN, T0, number, opening
from tests.unit.test_command_endpoint_batches import PRINCIPAL, request_bytes


def as_sent(n: int) -> bytes:
    return request_bytes(opening(n, n, f"k{n}"))


async def cancelled_sender(started: bool) -> tuple[list[dict[str, Any]], list[bool]]:
    """Three openings: the first on the database thread (`started`: deciding; else waiting
    behind other work), the other two queued; then the sender is cancelled."""
    region = build_region(RegionConfig(region=HERE, peers=(ORIGIN,)), clock=lambda: T0,
                          ids=uuid.uuid4, broker=None, store=MemoryStore())
    driver = NodeDriver(region, MemoryBroker(lambda: T0).connect())
    endpoint = CommandEndpoint(driver)
    held, running = threading.Event(), threading.Event()

    def hold(*args: Any) -> None:
        running.set()
        held.wait()
    handle_many = endpoint.service.handle_many

    def slow(requests: Sequence[CommandRequest], now: dt.datetime) -> list[CommandResult]:
        hold()
        return handle_many(requests, now)
    try:
        if started:
            endpoint.service.handle_many = slow  # type: ignore[method-assign]
            blocker = asyncio.ensure_future(asyncio.sleep(0))
        else:
            blocker = asyncio.ensure_future(driver.db(hold))
        first = asyncio.ensure_future(endpoint.handle(as_sent(1), PRINCIPAL))
        while not running.is_set():
            await asyncio.sleep(0.001)
        rest = [asyncio.ensure_future(endpoint.handle(as_sent(n), PRINCIPAL)) for n in (2, 3)]
        while len(endpoint._queued) < 2:
            await asyncio.sleep(0)
        assert endpoint._sender is not None
        endpoint._sender.cancel()  # the stop
        await asyncio.sleep(0.01)
        held.set()
        await blocker
        replies = [json.loads(r) for r in await asyncio.wait_for(
            asyncio.gather(first, *rest), 5)]
        stored = [await driver.db(region.node.side, str(number(n).case_id)) is not None
                  for n in (1, 2, 3)]
        return replies, stored
    finally:
        driver.close()


def test_a_cancelled_sender_answers_the_queued_unavailable_and_the_deciding_batch_its_outcome(
        ) -> None:
    replies, stored = asyncio.run(cancelled_sender(started=True))
    assert replies[0]["ok"] is True and stored[0]  # it ran and committed: its real answer
    assert [r["error"]["code"] for r in replies[1:]] == ["unavailable", "unavailable"]
    assert stored[1:] == [False, False]  # nothing of the queued ran
    assert ERRORS["unavailable"].kind == "error"


def test_a_batch_the_database_thread_had_not_started_is_not_run_and_answered_unavailable(
        ) -> None:
    replies, stored = asyncio.run(cancelled_sender(started=False))
    assert [r["error"]["code"] for r in replies] == ["unavailable"] * 3
    assert stored == [False] * 3


def test_a_batch_the_stopped_database_thread_never_ran_is_answered_unavailable() -> None:
    async def main() -> dict[str, Any]:
        region = build_region(RegionConfig(region=HERE, peers=(ORIGIN,)), clock=lambda: T0,
                              ids=uuid.uuid4, broker=None, store=MemoryStore())
        driver = NodeDriver(region, MemoryBroker(lambda: T0).connect())
        endpoint = CommandEndpoint(driver)
        driver.close()  # the database thread is gone before the request is taken
        reply: dict[str, Any] = json.loads(await asyncio.wait_for(
            endpoint.handle(as_sent(1), PRINCIPAL), 5))
        return reply

    reply = asyncio.run(main())
    assert reply["ok"] is False and reply["error"]["code"] == "unavailable", reply
