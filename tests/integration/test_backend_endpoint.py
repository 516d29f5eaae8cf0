"""The command endpoint over real NATS and a real store: idempotent, and never fooled by bad input.

Each test runs a node of 鄂尔多斯 (150600) on SQLite with its endpoint (`realworld.running_nodes`)
and talks to it as a back-end would: through `RegionClient`, or with raw bytes on
`tb.v1.cmd.150600` where the request is deliberately broken.
"""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from collections.abc import Callable, Coroutine
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import nats
import pytest

from api.node import run_node
from domain.kernel import Actor
from domain.protocols import pension
from domain.protocols.intake import AcceptIntake, RejectIntake
from domain.protocols.transfer import application
from domain.values import CaseNumber
from regions.adapters.brokers.nats_server import NatsServer
from regions.core.config import RegionConfig
from regions.core.outcome import Outcome
from regions.sdk.client import CommandRejected, RegionClient, RegionUnavailable
from regions.wire import subjects
from regions.wire.commands import encode_command, encode_request
from simulations.workload import draw_applicant
from tests.integration import realworld as rw

pytestmark = pytest.mark.timeout(60)

HERE, ORIGIN, ELSEWHERE = "150600", "610800", "150200"
STAFF = Actor("staff", "0451", HERE, "社保经办", "W3")


def node_here(tmp_path: Path, url: str) -> AbstractAsyncContextManager[rw.Nodes]:
    return rw.sqlite_node(tmp_path, url, HERE, counterparts=(ORIGIN,))


def run(tmp_path: Path, url: str,
        scenario: Callable[[rw.Nodes, RegionClient], Coroutine[Any, Any, None]]) -> None:
    async def main() -> None:
        async with node_here(tmp_path, url) as nodes:
            await scenario(nodes, nodes[HERE].client)
    asyncio.run(main())


async def open_case(client: RegionClient, seed: int = 1) -> str:
    person = draw_applicant(random.Random(seed))
    number = rw.new_case_number(HERE)
    outcome = await client.submit(str(number), pension.PROCESS, application(
        pension.PROCESS, number, "", [ORIGIN], Actor("applicant", person.citizen.masked, HERE),
        item_id="b1-7"), command_id=f"submit-{number}", applicant_id=person.citizen.number)
    assert outcome.ok
    return outcome.case_id


# --------------------------------------------------------------------------- idempotency


def test_a_retried_command_gets_the_stored_outcome_and_acts_once(
    tmp_path: Path, nats_server: NatsServer,
) -> None:
    async def scenario(nodes: rw.Nodes, client: RegionClient) -> None:
        case_id = await open_case(client)
        first = await client.command(case_id, AcceptIntake(actor=STAFF), command_id="accept-1")
        after_first = await rw.version(nodes[HERE], case_id)
        again = await client.command(case_id, AcceptIntake(actor=STAFF), command_id="accept-1")
        assert first.ok and "IntakeAccepted" in first.events
        assert again == first
        assert await rw.version(nodes[HERE], case_id) == after_first
    run(tmp_path, nats_server.url, scenario)


def test_a_retried_submission_gets_the_stored_outcome_and_opens_the_case_once(
    tmp_path: Path, nats_server: NatsServer,
) -> None:
    async def scenario(nodes: rw.Nodes, client: RegionClient) -> None:
        person = draw_applicant(random.Random(7))
        number = rw.new_case_number(HERE)
        submit = application(pension.PROCESS, number, "", [ORIGIN],
                             Actor("applicant", person.citizen.masked, HERE), item_id="b1-7")
        outcomes = [await client.submit(str(number), pension.PROCESS, submit,
                                        command_id="intake-7",
                                        applicant_id=person.citizen.number)
                    for _ in range(2)]
        assert outcomes[0].ok and outcomes[1] == outcomes[0]
        assert await rw.version(nodes[HERE], str(number.case_id)) == len(outcomes[0].events)
    run(tmp_path, nats_server.url, scenario)


def test_concurrent_duplicates_act_once_and_both_get_the_first_outcome(
    tmp_path: Path, nats_server: NatsServer,
) -> None:
    async def scenario(nodes: rw.Nodes, client: RegionClient) -> None:
        case_id = await open_case(client)
        before = await rw.version(nodes[HERE], case_id)
        async with RegionClient(nodes.url, HERE, "window") as other:  # the same back-end
            both = await asyncio.gather(*(
                c.command(case_id, AcceptIntake(actor=STAFF), command_id="accept-twice") for c in (client, other)))
        assert both[0] == both[1] and both[0].ok
        assert await rw.version(nodes[HERE], case_id) == before + len(both[0].events)
    run(tmp_path, nats_server.url, scenario)


def test_a_command_id_reused_with_a_different_body_is_refused_and_changes_nothing(
    tmp_path: Path, nats_server: NatsServer,
) -> None:
    async def scenario(nodes: rw.Nodes, client: RegionClient) -> None:
        case_id = await open_case(client)
        accepted = await client.command(case_id, AcceptIntake(actor=STAFF), command_id="k-1")
        before = await rw.version(nodes[HERE], case_id)
        with pytest.raises(CommandRejected) as refused:
            await client.command(case_id, RejectIntake(actor=STAFF, reason="不予受理"),
                                 command_id="k-1")
        assert (refused.value.code, refused.value.field) == ("idempotency_conflict", "command_id")
        assert await rw.version(nodes[HERE], case_id) == before
        assert accepted.ok
        # The key is the principal's: for another back-end the same id is a new command,
        # which the domain judges on its merits (the intake is already decided).
        async with RegionClient(nodes.url, HERE, "records") as other:
            with pytest.raises(CommandRejected) as judged:
                await other.command(case_id, RejectIntake(actor=STAFF, reason="不予受理"),
                                    command_id="k-1")
        assert judged.value.code == "intake_decided"
    run(tmp_path, nats_server.url, scenario)


def test_a_domain_refusal_names_its_code_is_stored_and_replayed_unchanged(
    tmp_path: Path, nats_server: NatsServer,
) -> None:
    async def scenario(nodes: rw.Nodes, client: RegionClient) -> None:
        case_id = await open_case(client)
        before = await rw.version(nodes[HERE], case_id)
        refusals = []
        for _ in range(2):
            with pytest.raises(CommandRejected) as refused:
                await client.command(case_id, RejectIntake(actor=STAFF, reason="   "),
                                     command_id="reject-blank")
            refusals.append(refused.value)
        assert [r.code for r in refusals] == ["reason_required"] * 2
        assert refusals[0].outcome == refusals[1].outcome
        assert refusals[0].outcome is not None and refusals[0].outcome.status == "submitted"
        assert await rw.version(nodes[HERE], case_id) == before
    run(tmp_path, nats_server.url, scenario)


# --------------------------------------------------------------------------- bad input


def _request(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"command_id": "bad-1", "case_id": "{case_id}",
                            "command": encode_command(AcceptIntake(actor=STAFF))}
    body.update(overrides)
    return body


def _with_command(**fields: Any) -> dict[str, Any]:
    return _request(command={**encode_command(AcceptIntake(actor=STAFF)), **fields})


NUMBER = CaseNumber.parse("150600-20260302-0000000001")


def _opening(item_id: str = "b1-7", applicant_id: str = "110101196504157795",
             process: str = pension.PROCESS, **fields: Any) -> dict[str, Any]:
    submit = application(pension.PROCESS, NUMBER, "", [ORIGIN], STAFF, item_id=item_id)
    return _request(case_id=None, case_number=str(NUMBER), process=process,
                    command={**encode_command(submit, applicant_id=applicant_id), **fields})


def _funds(**fields: Any) -> dict[str, Any]:
    return _request(command={"type": "RecordFundsReceived", "actor": STAFF_JSON,
                             "from_region": ORIGIN, "amount_fen": 100, "bank_ref": "B1",
                             "value_date": "2026-03-01", **fields})


STAFF_JSON = encode_command(AcceptIntake(actor=STAFF))["actor"]


BAD_REQUESTS: list[tuple[str, bytes | dict[str, Any], str, str]] = [
    ("not JSON", b'{"command_id": "x",', "malformed_json", ""),
    ("not an object", b'["AcceptIntake"]', "invalid_request", ""),
    ("no command id", {k: v for k, v in _request().items() if k != "command_id"},
     "missing_field", "command_id"),
    ("a principal in the body", _request(principal="staff:0451"), "unknown_field",
     "principal"),
    ("case id not a UUID", _request(case_id="C-42"), "invalid_field", "case_id"),
    ("unknown command type", _request(command={"type": "Launch", "actor": {}}),
     "unknown_command_type", "command.type"),
    ("missing command field", _request(command={"type": "RejectIntake",
                                                "actor": encode_command(
                                                    AcceptIntake(actor=STAFF))["actor"]}),
     "missing_field", "command.reason"),
    ("actor of no known kind", _with_command(actor={"kind": "robot", "id": "r2d2"}),
     "invalid_field", "command.actor.kind"),
    ("unknown command field", _with_command(urgent=True), "unknown_field", "command.urgent"),
    ("new case of another region",
     _request(case_id=None, case_number=str(rw.new_case_number(ELSEWHERE)),
              process=pension.PROCESS), "wrong_region", "case_number"),
    ("unknown case", _request(case_id=str(uuid.UUID(int=42))), "unknown_case", "case_id"),
    ("actor of another region", _with_command(actor={"kind": "staff", "id": "1",
                                                     "region": ELSEWHERE}),
     "wrong_region", "command.actor.region"),
    ("actor of no region", _with_command(actor={"kind": "staff", "id": "1", "region": "999999"}),
     "invalid_region", "command.actor.region"),
    ("a transcoder envelope", _with_command(actor={"kind": "staff", "id": "1", "region": HERE,
                                                   "role": {"_type_": "datetime_iso",
                                                            "_data_": "garbage"}}),
     "invalid_field", "command.actor.role"),
    ("an unknown item", _opening(item_id="b9-99"), "unknown_item", "command.item_id"),
    ("a citizen id with a bad check digit", _opening(applicant_id="110101196504157790"),
     "invalid_person_id", "command.applicant_id"),
    # Issue 18's list of input the node took, each as a back-end sends it over the endpoint.
    ("a citizen id of month 13", _opening(applicant_id="110101196513157797"),
     "invalid_person_id", "command.applicant_id"),
    ("an empty citizen id", _opening(applicant_id=""), "invalid_person_id",
     "command.applicant_id"),
    ("a household item as a pension transfer", _opening(item_id="b2-3"),
     "item_process_mismatch", "command.item_id"),
    ("online for a joint-only item", _opening(mode="online"), "invalid_mode", "command.mode"),
    ("a new case's actor of no region", _opening(actor={**STAFF_JSON, "region": "999999"}),
     "invalid_region", "command.actor.region"),
    ("a value date in 2099", _funds(value_date="2099-01-01"), "invalid_date",
     "command.value_date"),
    ("10^20 fen", _funds(amount_fen=10**20), "invalid_amount", "command.amount_fen"),
    ("a process name other than the case's", _opening(process="pension"), "invalid_field",
     "process"),
]

#: What a refusal's message must say, the right way round (issue 18: "'pension_transfer' differs
#: from the request's 'pension'").
MESSAGES = {"a process name other than the case's":
            "the request's 'pension' differs from the case's 'pension_transfer'"}


def test_bad_requests_get_structured_errors_naming_the_field_and_change_nothing(
    tmp_path: Path, nats_server: NatsServer,
) -> None:
    async def scenario(nodes: rw.Nodes, client: RegionClient) -> None:
        case_id = await open_case(client)
        before = await rw.version(nodes[HERE], case_id)
        wrong: list[str] = []
        for name, request, code, field in BAD_REQUESTS:
            data = request if isinstance(request, bytes) else json.dumps(request).replace(
                "{case_id}", case_id).encode()
            reply = json.loads(await client.request(data))
            got = (reply.get("ok"), reply.get("error", {}).get("code"),
                   reply.get("error", {}).get("field"))
            if got != (False, code, field):
                wrong.append(f"{name}: expected {code}/{field!r}, got {reply}")
            elif name in MESSAGES and MESSAGES[name] not in reply["error"]["message"]:
                wrong.append(f"{name}: the message does not say {MESSAGES[name]!r}: {reply}")
        assert wrong == []
        assert await rw.version(nodes[HERE], case_id) == before
        # ...and the endpoint still serves good requests after all that.
        accepted = await client.command(case_id, AcceptIntake(actor=STAFF),
                                        command_id="after-bad")
        assert accepted.ok
    run(tmp_path, nats_server.url, scenario)


# --------------------------------------------------------------------------- the node process


def test_a_node_process_serves_its_command_endpoint(tmp_path: Path,
                                                    nats_server: NatsServer) -> None:
    """`run_node` (what `tongban node` runs) registers the endpoint as a driver service."""
    region = "150700"  # 呼伦贝尔: a region no other test of this module provisions

    async def main() -> Outcome:
        from regions.adapters.brokers.provision import provision

        await provision([region, ORIGIN], nats_server.url)
        config = RegionConfig(region=region, peers=(ORIGIN,), store="sqlite",
                              sqlite_dir=tmp_path / "node", broker="nats",
                              nats_url=nats_server.url, development=True)
        started: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        task = asyncio.create_task(run_node(
            config, ready=lambda r, driver: started.set_result(driver)))
        driver = await asyncio.wait_for(started, 10)
        try:
            async with RegionClient(nats_server.url, region, "window", timeout=1.0) as client:
                person = draw_applicant(random.Random(3))
                number = rw.new_case_number(region)
                submit = application(pension.PROCESS, number, "", [ORIGIN],
                                     Actor("applicant", person.citizen.masked, region),
                                     item_id="b1-7")
                for _ in range(50):  # the service subscribes just after the node starts
                    try:
                        return await client.submit(str(number), pension.PROCESS, submit,
                                                   command_id="first",
                                                   applicant_id=person.citizen.number)
                    except RegionUnavailable:
                        await asyncio.sleep(0.1)
                raise AssertionError("the node never served tb.v1.cmd." + region)
        finally:
            driver.stop()
            await asyncio.wait_for(task, 10)

    outcome = asyncio.run(main())
    assert outcome.ok and outcome.status == "submitted"


def test_a_client_without_a_serving_endpoint_gets_region_unavailable(
    nats_server: NatsServer,
) -> None:
    async def main() -> None:
        async with RegionClient(nats_server.url, "659000", "window", timeout=1.0) as client:
            with pytest.raises(RegionUnavailable):
                await client.request(encode_request(
                    AcceptIntake(actor=STAFF), command_id="x", case_id=str(uuid.UUID(int=1))))
    asyncio.run(main())


# --------------------------------------------------------------------------- identity


@pytest.mark.parametrize("reply", [
    f"tb.v1.evt.{ORIGIN}.{HERE}",  # a stream subject: the answer would be stored as an event
    f"$JS.ACK.TB_EVT_{HERE}.inbox_{HERE}.1.1.1.1.0",  # an ack subject of the node's own inbox
    "_INBOX.shared.1",  # the shared namespace any old client listens on
    f"_INBOX_{HERE}_records.x.1",  # another back-end's inbox
    f"_INBOX_{HERE}.x.1",  # the node's own inbox
], ids=["event subject", "ack subject", "shared inbox", "another back-end", "the node"])
def test_the_node_neither_executes_nor_answers_a_command_asking_for_its_answer_elsewhere(
    tmp_path: Path, nats_server: NatsServer, reply: str,
) -> None:
    """Only back-end `window` may publish on `tb.v1.cmd.150600.window`, but it chooses the reply
    subject, and the node may answer any request it received (`allow_responses`)."""
    async def scenario(nodes: rw.Nodes, client: RegionClient) -> None:
        case_id = await open_case(client)
        before = await rw.version(nodes[HERE], case_id)
        nc = await nats.connect(nats_server.url)
        try:
            js = nc.jetstream()
            stored = (await js.stream_info(f"TB_EVT_{ORIGIN}")).state.messages
            seen: list[bytes] = []

            async def spy(msg: Any) -> None:
                seen.append(msg.data)
            await nc.subscribe(reply, cb=spy)
            request = encode_request(AcceptIntake(actor=STAFF), command_id="elsewhere",
                                     case_id=case_id)
            await nc.publish(subjects.command_subject(HERE, "window"), request, reply=reply)
            await nc.flush()
            # Its own request right after: once answered, the first was handled (in order).
            with pytest.raises(CommandRejected):
                await client.command(case_id, RejectIntake(actor=STAFF, reason="  "),
                                     command_id="probe-after")
            assert seen == []
            assert (await js.stream_info(f"TB_EVT_{ORIGIN}")).state.messages == stored
        finally:
            await nc.close()
        assert await rw.version(nodes[HERE], case_id) == before
    run(tmp_path, nats_server.url, scenario)
