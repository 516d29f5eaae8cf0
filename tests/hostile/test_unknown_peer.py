"""One unknown peer never stops a region's outbox (issue 11, finding 5).

A region code that can exist but is not one of the node's peers (110100, never provisioned) used
to pass intake; its link message then failed to publish with `NoStream`, the relay's cursor never
moved, and every link out of the region stopped. Two defences, each tested here:

- **before commit**: a command naming a counterpart region outside the node's peers is refused
  with `not_a_peer` and the field at fault, and nothing is recorded;
- **link isolation**: a destination whose publish fails (a peer configured but not provisioned,
  a stream gone, timeouts) is stepped over by the relay — the other links' messages go out in the
  same batch — and retried later, so it too gets every message once it is reachable again.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import uuid

import pytest

from domain.kernel import Actor
from domain.protocols import spec_of
from domain.values import CaseNumber, RegionCode
from regions.adapters.brokers.memory import MemoryBroker
from regions.adapters.stores.memory import MemoryStore
from regions.core.commands import CommandService
from regions.core.config import RegionConfig
from regions.core.inbox_state import Packed
from regions.core.messages import LinkMessage
from regions.runtime.bootstrap import Region, build_region
from regions.runtime.driver import NodeDriver
from regions.wire import link, subjects
from regions.wire.commands import decode_request
from tests.unit import toy_protocol as toy

HERE, PEER, UNPROVISIONED, STRANGER = "150600", "610800", "140200", "110100"
T0 = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)
CLERK = Actor("staff", "s1", HERE, "clerk")
APPLICANT_ID = "110101196504157795"


# --------------------------------------------------------------------------- before commit


def service() -> CommandService:
    config = RegionConfig(region=HERE, peers=(PEER,), development=True)
    region = build_region(config, clock=lambda: T0, ids=uuid.uuid4, broker=None,
                          store=MemoryStore())
    return CommandService(region.node)


def submit(svc: CommandService, process: str, item: str, mode: str,
           details: dict[str, object]) -> object:
    number = str(CaseNumber.new(RegionCode(HERE), T0.date(), uuid.uuid4()))
    body = {"command_id": str(uuid.uuid4()), "case_id": None, "case_number": number,
            "process": process,
            "command": {"type": "Submit", "actor": dataclasses.asdict(CLERK),
                        "case_number": number, "item_id": item, "process": process,
                        "mode": mode, "applicant_id": APPLICANT_ID, "channel": "window",
                        "details": details}}
    return svc.handle(decode_request(json.dumps(body).encode(), "backend:window"), T0)


@pytest.mark.parametrize(("process", "item", "mode", "details", "field"), [
    ("pension_transfer", "b1-7", "joint", {"origins": [STRANGER]}, "command.details.origins[0]"),
    ("pension_transfer", "b1-7", "joint", {"origins": [PEER, STRANGER]},
     "command.details.origins[1]"),
])
def test_a_counterpart_outside_the_peers_is_refused_before_commit(
        process: str, item: str, mode: str, details: dict[str, object], field: str) -> None:
    svc = service()
    before = svc.node.app.recorder.max_notification_id() or 0
    result = submit(svc, process, item, mode, details)
    assert not result.ok  # type: ignore[attr-defined]
    error = result.error  # type: ignore[attr-defined]
    assert (error.code, error.field) == ("not_a_peer", field), error
    assert STRANGER in error.message
    assert (svc.node.app.recorder.max_notification_id() or 0) == before  # nothing recorded


def test_a_counterpart_among_the_peers_is_still_taken() -> None:
    svc = service()
    result = submit(svc, "pension_transfer", "b1-7", "joint", {"origins": [PEER]})
    assert result.ok, result  # type: ignore[attr-defined]


# --------------------------------------------------------------------------- link isolation


def region_with_links(broker: MemoryBroker) -> Region:
    """150600 with two peers; only 610800's stream exists (140200 is not provisioned yet)."""
    config = RegionConfig(region=HERE, peers=(PEER, UNPROVISIONED), gap_bound_seconds=10)
    return build_region(config, clock=lambda: T0, ids=uuid.uuid4, broker=broker,
                        store=MemoryStore(), protocols={"toy": spec_of("toy", toy)})


def ping(region: Region, to: str, n: int) -> None:
    number = CaseNumber.new(RegionCode(HERE), T0.date(), uuid.uuid4())
    case_id = str(number.case_id)
    outcome = region.node.submit(case_id, str(number), "toy", toy.Ping(
        actor=CLERK, case_id=case_id, n=n, to=to, home=HERE), T0)
    assert outcome.ok, outcome


def link_messages(broker: MemoryBroker, dest: str) -> list[LinkMessage]:
    stream = broker._open().stream(subjects.event_stream_name(dest))
    found = [link.decode_all(m.data, dict(m.headers)) for _, m in sorted(stream.messages.items())]
    decoded = [i for f in found  # a batch of events: its members
               for i in ([m for _, m in f.members] if isinstance(f, Packed) else [f])]
    return [item for item in decoded if isinstance(item, LinkMessage)]


def test_a_destination_that_cannot_be_published_to_never_stops_the_other_links() -> None:
    broker = MemoryBroker(lambda: T0)
    broker.ensure_stream_now(PEER, duplicate_window=120)
    region = region_with_links(broker)
    driver = NodeDriver(region, broker.connect(), fetch_timeout=0.05)
    relay_tail = driver.tails[0]
    ping(region, UNPROVISIONED, 1)  # first in the log: its publish fails with NoStream
    ping(region, PEER, 2)
    ping(region, UNPROVISIONED, 3)
    ping(region, PEER, 4)

    async def go() -> None:
        await driver.tail_once(relay_tail)  # failed before: NoStream escaped, nothing moved on
        # the reachable link got its messages in the same batch, and the relay read on
        assert [m.link_seq for m in link_messages(broker, PEER)] == [1, 2]
        assert await driver.tail_once(relay_tail) is False  # the cursor moved past the batch
        assert driver.region.relay.behind() == {UNPROVISIONED: 1}
        # the operator provisions the missing stream: the stepped-over link is retried
        broker.ensure_stream_now(UNPROVISIONED, duplicate_window=120)
        await driver.retry_links()
        assert [m.link_seq for m in link_messages(broker, UNPROVISIONED)] == [1, 2]
        assert driver.region.relay.behind() == {}
        ping(region, PEER, 5)
        ping(region, UNPROVISIONED, 6)
        await driver.tail_once(relay_tail)
        assert [m.link_seq for m in link_messages(broker, PEER)] == [1, 2, 3]
        assert [m.link_seq for m in link_messages(broker, UNPROVISIONED)] == [1, 2, 3]

    try:
        asyncio.run(go())
    finally:
        driver.close()


def test_a_link_still_failing_is_retried_without_holding_up_the_others() -> None:
    broker = MemoryBroker(lambda: T0)
    broker.ensure_stream_now(PEER, duplicate_window=120)
    region = region_with_links(broker)
    driver = NodeDriver(region, broker.connect(), fetch_timeout=0.05)
    relay_tail = driver.tails[0]

    async def go() -> None:
        for n in range(3):
            ping(region, UNPROVISIONED, n)
            ping(region, PEER, n)
            await driver.tail_once(relay_tail)
            await driver.retry_links()  # still no stream: stays behind, raises nothing
        assert [m.link_seq for m in link_messages(broker, PEER)] == [1, 2, 3]
        assert driver.region.relay.behind() == {UNPROVISIONED: 1}
        assert driver.counters["link_publish_failures"] >= 3

    try:
        asyncio.run(go())
    finally:
        driver.close()
