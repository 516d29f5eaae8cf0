"""The command endpoint batches what arrives while the database thread is busy, and only that
(`regions.runtime.commands`, group commit): a lone request goes at once, alone; the requests
that came in meanwhile go together, in arrival order, each answered as one at a time would be;
a bad request among them is answered on its own; a case query sees the commands before it."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import threading
import uuid
from typing import Any

from domain.protocols.intake import AcceptIntake
from regions.adapters.brokers.memory import MemoryBroker
from regions.adapters.stores.memory import MemoryStore
from regions.core.commands import CommandRequest, CommandResult, CommandService
from regions.core.config import RegionConfig
from regions.runtime.bootstrap import build_region
from regions.runtime.commands import CommandEndpoint
from regions.runtime.driver import NodeDriver
from regions.wire.commands import encode_request
from tests.property.test_command_batch import HERE, ORIGIN, STAFF, T0, number, opening

PRINCIPAL = "backend:window"


def request_bytes(request: CommandRequest) -> bytes:
    return encode_request(request.command, command_id=request.command_id,
                          case_id=request.case_id, case_number=request.case_number,
                          process=request.process, applicant_id=request.applicant_id)


async def scenario(batch_sizes: list[int], sent: list[bytes]) -> tuple[list[dict[str, Any]],
                                                                        dict[str, Any]]:
    region = build_region(RegionConfig(region=HERE, peers=(ORIGIN,)), clock=lambda: T0,
                          ids=uuid.uuid4, broker=None, store=MemoryStore())
    driver = NodeDriver(region, MemoryBroker(lambda: T0).connect())
    endpoint = CommandEndpoint(driver)
    handle_many = endpoint.service.handle_many

    def counted(requests: list[CommandRequest], now: dt.datetime) -> list[CommandResult]:
        batch_sizes.append(len(requests))
        return handle_many(requests, now)
    endpoint.service.handle_many = counted  # type: ignore[method-assign]
    try:
        held = threading.Event()
        blocker = asyncio.ensure_future(driver.db(held.wait))
        first = asyncio.ensure_future(endpoint.handle(sent[0], PRINCIPAL))
        await asyncio.sleep(0)  # the first is on its way to the (held) database thread
        rest = [asyncio.ensure_future(endpoint.handle(data, PRINCIPAL)) for data in sent[1:]]
        query = asyncio.ensure_future(endpoint.handle(json.dumps(
            {"query": "case", "case_id": str(number(2).case_id)}).encode(), PRINCIPAL))
        while len(endpoint._queued) < len(sent) - 1 - 1:  # all but the first and the bad one
            await asyncio.sleep(0)
        held.set()
        await blocker
        replies = [json.loads(r) for r in await asyncio.gather(first, *rest)]
        return replies, json.loads(await query)
    finally:
        driver.close()


def test_requests_arriving_while_a_batch_runs_go_together_and_answer_as_one_at_a_time() -> None:
    items = [opening(1, 1, "k1"), opening(2, 2, "k2"), opening(1, 1, "k1"),
             CommandRequest("a1", PRINCIPAL, AcceptIntake(actor=STAFF),
                            case_id=str(number(1).case_id)),
             opening(2, 3, "k2")]  # the id of another opening, for another case: a conflict
    items = [CommandRequest(r.command_id, PRINCIPAL, r.command, r.case_id, r.case_number,
                            r.process, r.applicant_id) for r in items]
    sent = [request_bytes(r) for r in items]
    sent.insert(2, b'{"command_id": "x",')  # hostile, in the middle
    sizes: list[int] = []
    replies, state = asyncio.run(scenario(sizes, sent))
    assert sizes == [1, len(items) - 1]

    alone = build_region(RegionConfig(region=HERE, peers=(ORIGIN,)), clock=lambda: T0,
                         ids=uuid.uuid4, broker=None, store=MemoryStore())
    singly = CommandService.for_config(alone.node, alone.config)
    expected = [singly.handle(r, T0) for r in items]
    codes = [(r["ok"], r.get("error", {}).get("code")) for r in replies]
    assert codes == [(e.ok, e.error.code if e.error else None) for e in expected[:2]] + [
        (False, "malformed_json")] + [(e.ok, e.error.code if e.error else None)
                                      for e in expected[2:]]
    assert [c for _, c in codes] == [None, None, "malformed_json", None, None,
                                     "idempotency_conflict"]
    assert replies[3] == replies[0]  # the retry: the first outcome
    # The query came after the second batch's opening of case 2, and waited for it.
    assert state["ok"] is True, state
