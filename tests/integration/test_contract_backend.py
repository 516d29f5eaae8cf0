"""The contract is sufficient: a back-end built from `asyncapi.yaml` alone carries a pension
transfer on both sides over a real nats-server (issue 18, "A contract test").

Two nodes (鄂尔多斯 150600 ← 榆林 610800, SQLite) run as the other integration tests run them;
the operator provisions a durable `contract` on each region's feed. Everything else is
`tests/integration/contract_backend.py`, which reads only the YAML: the destination's back-end
applies and accepts, the origin's approves, issues the sheet by the document's rule and remits,
the destination's records the bank's notice — and every request, reply, feed event and event
payload is checked against the document's schemas on the way.
"""

from __future__ import annotations

import ast
import asyncio
import json
import random
import sys
import uuid
from pathlib import Path
from typing import Any

import nats
import pytest

from regions.adapters.brokers.nats_server import NatsServer
from regions.adapters.brokers.provision import provision
from regions.adapters.stores.sql import SqliteStore
from simulations.workload import draw_applicant
from tests.integration import contract_backend as cb
from tests.integration import realworld as rw

pytestmark = pytest.mark.timeout(120)

DEST, ORIGIN = "150600", "610800"
ROOT = Path(__file__).resolve().parents[2]
APPLICANT_ID = "110101196504157795"
BACKEND_LIBRARIES = {"__future__", "nats", "yaml", "jsonschema"}


def test_the_contract_back_end_uses_only_the_yaml_and_public_libraries() -> None:
    tree = ast.parse((ROOT / "tests/integration/contract_backend.py").read_text())
    imported = {alias.name.split(".")[0] for node in ast.walk(tree)
                if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom) and node.module}
    assert imported - set(sys.stdlib_module_names) - BACKEND_LIBRARIES == set()


def test_a_back_end_built_from_the_contract_alone_carries_a_pension_transfer(
        tmp_path: Path, nats_server: NatsServer) -> None:
    async def main() -> None:
        store = SqliteStore(tmp_path / "stores")
        url = nats_server.url
        contract = cb.Contract(ROOT / "asyncapi.yaml")
        bank = cb.Bank()
        records: dict[str, tuple[int, list[tuple[int, int, int]]]] = {}
        try:
            async with rw.running_nodes(store, url, (DEST, ORIGIN)) as nodes:
                await provision([DEST, ORIGIN], url, backends=["contract"])
                backends = [cb.PensionBackend(contract, url, code, "contract", bank, records)
                            for code in (DEST, ORIGIN)]
                dest, origin = backends
                for backend in backends:
                    await backend.connect()
                try:
                    with pytest.raises(cb.CommandRefused) as bad_id:
                        await dest.apply(cb.new_case_number(DEST), "110101196504157790", [ORIGIN])
                    case_id = await dest.apply(cb.new_case_number(DEST), APPLICANT_ID, [ORIGIN])
                    records[case_id] = (1_234_567, [(2019, 12, 600_000), (2020, 7, 650_003)])
                    submitted = await dest.query(case_id)
                    await cb.run_until(backends,
                                       lambda: dest.statuses.get(case_id) == "completed")
                    await nodes.wait_status(DEST, case_id, "completed")
                    await nodes.wait_status(ORIGIN, case_id, "transferred_out")
                    await drain(backends)
                    final = {b.region: await b.query(case_id) for b in backends}
                    with pytest.raises(cb.CommandRefused) as closed:
                        await dest.command(case_id, "accept-again", {"type": "AcceptIntake"})
                    with pytest.raises(cb.CommandRefused) as unknown:
                        await origin.query(str(uuid.uuid4()))
                finally:
                    for backend in backends:
                        await backend.close()
        finally:
            store.close()
        assert (dest.statuses[case_id], origin.statuses[case_id]) == ("completed",
                                                                      "transferred_out")
        assert {kind for _, kind in dest.seen} >= {"ApplicationSubmitted", "InfoSheetReceived",
                                                   "TransferCompleted"}
        assert {kind for _, kind in origin.seen} >= {"ContactLetterReceived",
                                                     "ConclusionReceived"}
        the_case_query_answers_what_each_region_knows(case_id, submitted,
                                                      origin.snapshots[case_id], final)
        assert dest.gaps == [] and origin.gaps == []  # nothing lost, nothing taken for lost
        assert unknown.value.code == "unknown_case"
        assert (bad_id.value.code, bad_id.value.field) == ("invalid_person_id",
                                                           "command.applicant_id")
        assert (closed.value.code, closed.value.field) == ("case_closed", "command.type")
        for what in ("CommandError field", "CaseQuery", "CaseStateReply", "CommandRequest",
                     "CommandReply", "FeedEvent", "FeedEvent headers"):
            assert contract.checked.get(what, 0) > 0, contract.checked

    asyncio.run(main())


def the_case_query_answers_what_each_region_knows(
        case_id: str, submitted: dict[str, Any], received: dict[str, Any],
        final: dict[str, dict[str, Any]]) -> None:
    """Finding 7: a back-end asks a region for a case — its side, the counterparts as known
    there, the pending deadlines."""
    assert (submitted["case_id"], submitted["region"], submitted["role"]) == (
        case_id, DEST, "destination")
    assert submitted["status"] == "submitted" and not submitted["terminal"]
    assert [c["region"] for c in submitted["counterparts"]] == [ORIGIN]
    assert submitted["counterparts"][0]["last_received"] == ""
    assert (received["status"], received["role"]) == ("received", "origin")
    assert [(c["region"], c["last_received"]) for c in received["counterparts"]] == [
        (DEST, "ContactLetterReceived")]
    assert [d["step"] for d in received["deadlines"]] == ["transfer_out"]
    dest, origin = final[DEST], final[ORIGIN]
    assert (dest["status"], dest["terminal"], dest["deadlines"]) == ("completed", True, [])
    assert (origin["status"], origin["role"]) == ("transferred_out", "origin")
    assert dest["counterparts"][0]["region"] == ORIGIN
    assert dest["counterparts"][0]["last_received"] and dest["counterparts"][0]["version"] > 0
    assert origin["counterparts"][0]["region"] == DEST
    assert dest["amount_received_fen"] == dest["amount_stated_fen"] > 0
    assert dest["version"] > submitted["version"] >= 1


async def drain(backends: list[cb.PensionBackend], idle_rounds: int = 4) -> None:
    """Handle (and so check) what is left on both feeds."""
    idle = 0
    while idle < idle_rounds:
        handled = sum([await b.poll() for b in backends])
        idle = 0 if handled else idle + 1
        await asyncio.sleep(0.05)


def test_a_back_end_finds_a_lost_feed_message_by_what_the_contract_states(
        tmp_path: Path, nats_server: NatsServer) -> None:
    """Finding 10: `feedseq` has gaps, so the document states how a back-end detects a lost feed
    message instead — a gap in `originatorversion` per `originatorid`, and for a side's last (or
    only) message the case query's `version` above the last one handled. The broker loses two
    stored feed messages (deleted from the stream, as a server crash without a flush loses
    them): the first of a case whose side goes on, and the only one of another case. The
    back-end built from the YAML alone names exactly the versions each carried, and the case
    query lets it take up the case whose only message it never saw."""
    url = nats_server.url
    other_applicant = draw_applicant(random.Random(5)).citizen.number

    async def main() -> tuple[dict[str, list[int]], dict[str, list[int]], str]:
        store = SqliteStore(tmp_path / "stores")
        contract = cb.Contract(ROOT / "asyncapi.yaml")
        nc = await nats.connect(url)
        js, stream = nc.jetstream(), contract.feed_stream(DEST)
        try:
            async with rw.running_nodes(store, url, (DEST,), counterparts=(ORIGIN,)):
                await provision([DEST, ORIGIN], url, backends=["contract"])
                dest = cb.PensionBackend(contract, url, DEST, "contract", cb.Bank(), {})
                await dest.connect()
                try:
                    going_on = await dest.apply(cb.new_case_number(DEST), APPLICANT_ID, [ORIGIN])
                    first = await all_on_feed(js, stream, dest, going_on)
                    await dest.command(going_on, "accept", {"type": "AcceptIntake"})
                    alone = await dest.apply(cb.new_case_number(DEST), other_applicant,
                                             [ORIGIN])
                    await all_on_feed(js, stream, dest, going_on)
                    only = await all_on_feed(js, stream, dest, alone)
                    lost = {going_on: first[0], alone: only[0]}
                    for seq, _ in lost.values():
                        await js.delete_msg(stream, seq)
                    await drain([dest])
                    found = {case: sorted({v for side, gap in dest.gaps for v in gap
                                           if side == dest.sides.get((case, DEST))}
                                          | set(await dest.unseen(case)))
                             for case in lost}
                    taken_up = await dest.command(alone, "accept", {"type": "AcceptIntake"})
                finally:
                    await dest.close()
        finally:
            await nc.close()
            store.close()
        return ({case: list(versions) for case, (_, versions) in lost.items()}, found,
                str(taken_up["status"]))

    lost, found, taken_up = asyncio.run(main())
    assert all(lost.values()) and found == lost
    assert taken_up == "awaiting_transfer"


async def all_on_feed(js: Any, stream: str, backend: cb.PensionBackend, case_id: str,
                      timeout: float = 15.0) -> list[tuple[int, range]]:
    """The feed stream's messages of the back-end's side of `case_id` (stream seq, the versions
    carried), once they carry every version the region has committed (so none is still on its
    way when the test takes one away)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        found = await on_feed(js, stream, case_id, 0)
        committed = (await backend.query(case_id))["version"]
        if found and found[-1][1][-1] == committed:
            return found
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"the feed never held version {committed} of {case_id}: {found}")
        await asyncio.sleep(0.1)


async def on_feed(js: Any, stream: str, case_id: str, count: int,
                  timeout: float = 15.0) -> list[tuple[int, range]]:
    """The feed stream's messages of `case_id` (stream seq, the versions carried), once it holds
    `count` of them."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        found: list[tuple[int, range]] = []
        state = (await js.stream_info(stream)).state
        for seq in range(state.first_seq, state.last_seq + 1):
            try:
                events = json.loads((await js.get_msg(stream, seq)).data)
            except nats.js.errors.NotFoundError:
                continue
            versions = [e["originatorversion"] for e in events if e["caseid"] == case_id]
            if versions:  # a message holds one commit's events, of any number of cases
                found.append((seq, range(versions[0], versions[-1] + 1)))
        if len(found) >= count:
            return found
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"the feed never held {count} messages of {case_id}: {found}")
        await asyncio.sleep(0.1)
