"""The command endpoint's group commit over real NATS and a real store (issue 17).

Many back-ends' requests arrive at one node at once; the endpoint takes them concurrently and
decides those that arrived together in one transaction (`regions.runtime.commands`). Every
request still gets its own right answer — openings, retries of the same command id (one effect,
the same outcome), a reused id with another body, bad input — and past the endpoint's bound a
request is answered `overloaded` at once, without being run, and may be sent again.
"""

from __future__ import annotations

import asyncio
import json
import random
import threading
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import pytest

from domain.kernel import Actor
from domain.protocols import pension
from domain.protocols.intake import AcceptIntake, RejectIntake
from domain.protocols.transfer import application
from regions.adapters.brokers.nats_server import NatsServer
from regions.core.outcome import Outcome
from regions.runtime import commands as endpoint_module
from regions.sdk.client import CommandRejected, RegionClient
from regions.wire.commands import encode_request
from simulations.workload import draw_applicant
from tests.integration import realworld as rw

pytestmark = pytest.mark.timeout(90)

HERE, ORIGIN, ELSEWHERE = "150600", "610800", "150200"
STAFF = Actor("staff", "0451", HERE, "社保经办", "W3")


def node_here(tmp_path: Path, url: str) -> AbstractAsyncContextManager[rw.Nodes]:
    return rw.sqlite_node(tmp_path, url, HERE, counterparts=(ORIGIN,))


def opening(seed: int, region: str = HERE) -> bytes:
    person = draw_applicant(random.Random(seed))
    number = rw.new_case_number(region)
    command = application(pension.PROCESS, number, "", [ORIGIN],
                          Actor("applicant", person.citizen.masked, region), item_id="b1-7")
    return encode_request(command, command_id=f"open-{seed}", case_number=str(number),
                          process=pension.PROCESS, applicant_id=person.citizen.number)


async def ask(client: RegionClient, data: bytes) -> dict[str, Any]:
    reply: dict[str, Any] = json.loads(await client.request(data))
    return reply


def test_many_concurrent_requests_each_get_their_own_right_answer(
    tmp_path: Path, nats_server: NatsServer,
) -> None:
    async def main() -> None:
        async with node_here(tmp_path, nats_server.url) as nodes:
            clients = [nodes.client_for(HERE), nodes.client_for(HERE, "records")]
            second = nodes.new_client(HERE, "window")  # the same back-end, another connection
            async with second:
                clients.append(second)
                await clients[1].connect()
                seeds = range(1, 31)
                openings = {seed: opening(seed) for seed in seeds}
                # Each opening twice at once, from two connections of the back-end, among bad
                # requests and one for another region.
                sent = [ask(clients[0], openings[s]) for s in seeds] + \
                    [ask(clients[2], openings[s]) for s in seeds] + \
                    [ask(clients[1], b'{"command_id": "x",')] * 3 + \
                    [ask(clients[1], opening(99, region=ELSEWHERE))]
                order = list(range(len(sent)))
                random.Random(5).shuffle(order)
                replies = dict(zip(order, await asyncio.gather(*(sent[i] for i in order)),
                                   strict=True))
                first, again = ([replies[i] for i in range(k * 30, k * 30 + 30)] for k in (0, 1))
                assert all(r["ok"] for r in first), [r for r in first if not r["ok"]]
                assert again == first  # a retry: the stored outcome, acted on once
                assert [replies[60 + i]["error"]["code"] for i in range(4)] == [
                    "malformed_json"] * 3 + ["wrong_region"]
                cases = [r["outcome"]["case_id"] for r in first]
                assert len(set(cases)) == 30
                opened = [await rw.version(nodes[HERE], case) for case in cases]

                # Then a command for every case at once, and for five of them another body
                # under the same command id: one of the two is decided, the other a conflict.
                client = clients[0]
                accepts = [client.command(case, AcceptIntake(actor=STAFF),
                                          command_id=f"decide-{case}") for case in cases]
                rivals = [client.command(case, RejectIntake(actor=STAFF, reason="材料不全"),
                                         command_id=f"decide-{case}") for case in cases[:5]]
                results = await asyncio.gather(*accepts, *rivals, return_exceptions=True)
                for case, accepted, rival in zip(cases[:5], results[:5], results[30:],
                                                 strict=True):
                    outcomes = [r for r in (accepted, rival) if isinstance(r, Outcome)]
                    refused = [r for r in (accepted, rival) if isinstance(r, CommandRejected)]
                    assert len(outcomes) == 1 and outcomes[0].ok, (case, accepted, rival)
                    assert [(r.code, r.field) for r in refused] == [
                        ("idempotency_conflict", "command_id")]
                assert all(isinstance(r, Outcome) and r.ok for r in results[5:30])
                after = [await rw.version(nodes[HERE], case) for case in cases]
                assert all(a > o for a, o in zip(after, opened, strict=True))
    asyncio.run(main())


def test_past_its_bound_the_endpoint_answers_overloaded_without_running_the_command(
    tmp_path: Path, nats_server: NatsServer, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(endpoint_module, "MAX_WAITING", 4)

    async def main() -> None:
        async with node_here(tmp_path, nats_server.url) as nodes:
            client = nodes.client_for(HERE)
            held = threading.Event()
            blocker = asyncio.ensure_future(nodes[HERE].driver.db(held.wait))
            try:
                requests = {seed: opening(seed) for seed in range(1, 11)}
                tasks = {asyncio.ensure_future(ask(client, data)): seed
                         for seed, data in requests.items()}
                pending = set(tasks)
                while len(pending) > 4:  # the database thread is held: only refusals come back
                    _, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            finally:
                held.set()
                await blocker
            await asyncio.gather(*pending)
            replies = {tasks[task]: task.result() for task in tasks}
            overloaded = [s for s, r in replies.items() if not r["ok"]]
            assert len(overloaded) == 6
            assert {replies[s]["error"]["code"] for s in overloaded} == {"overloaded"}
            assert all(replies[s]["ok"] for s in replies if s not in overloaded)
            for seed in overloaded:  # nothing was run: the same request is decided now
                assert (await ask(client, requests[seed]))["ok"], seed
            assert nodes[HERE].driver.commands["error"] == 6
    asyncio.run(main())
