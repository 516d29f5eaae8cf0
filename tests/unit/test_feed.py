"""The back-end feed: the relay core, its CloudEvents form, its subjects, and the example
pension back-ends deciding a whole transfer on two in-memory regions (no network)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import random
import uuid

import pytest

from domain.calendar import china_date
from domain.kernel import Actor, Command
from domain.protocols import pension
from domain.protocols.intake import AcceptIntake
from domain.protocols.transfer import application
from domain.protocols.transfer_commands import ApproveTransferOut
from domain.values import CaseNumber, RegionCode
from projections.records import SideEvent
from regions.adapters.stores.memory import MemoryStore
from regions.core.config import RegionConfig
from regions.core.inbox import Incoming
from regions.core.outcome import Outcome
from regions.core.side_events import SideEventTailer
from regions.core.sides import BatchedCommand, side_id
from regions.core.store import Stream
from regions.runtime.bootstrap import Region, build_region
from regions.sdk.client import CommandRejected
from regions.sdk.examples.pension import PensionBackend, example_records
from regions.wire import feed as feed_codec
from regions.wire import link, subjects
from regions.wire.errors import WireError, WireReason
from simulations.workload import draw_applicant

DEST, ORIGIN = "150600", "610800"
T0 = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)


def make(code: str, peer: str, store: MemoryStore) -> Region:
    return build_region(RegionConfig(region=code, peers=(peer,), gap_bound_seconds=10),
                        clock=lambda: T0, ids=uuid.uuid4, broker=None, store=store)


@pytest.fixture
def world() -> tuple[Region, Region]:
    store = MemoryStore()
    return make(DEST, ORIGIN, store), make(ORIGIN, DEST, store)


def submit(dest: Region, seed: int = 1) -> str:
    person = draw_applicant(random.Random(seed))
    number = CaseNumber.new(RegionCode(DEST), china_date(T0), uuid.UUID(int=seed))
    applicant = Actor("applicant", person.citizen.masked, DEST)
    outcome = dest.node.submit(str(number.case_id), str(number), pension.PROCESS, application(
        pension.PROCESS, number, person.person_key, [ORIGIN], applicant), T0)
    assert outcome.ok, outcome
    return str(number.case_id)


def stored(region: Region, case_id: str) -> list[tuple[str, int]]:
    stream: Stream = region.node.app.repository.get(side_id(case_id, region.code))
    return [(t, n) for n, (t, _, _) in enumerate(stream.entries, start=1)]


def drain_feed(region: Region) -> list[SideEvent]:
    items: list[SideEvent] = []
    assert region.feed is not None
    while (batch := region.feed.step(T0)) is not None:
        region.feed.advance(batch, T0)
        items.extend(batch.items)
    return items


def carry_links(sender: Region, receiver: Region) -> int:
    """Everything `sender`'s outbox relay has, through the wire codec into `receiver`'s inbox."""
    batch = sender.relay.step(T0)
    if batch is None:
        return 0
    sender.relay.advance(batch, T0)
    incoming = []
    for item in batch.items:
        out = link.encode(item)
        incoming.append(Incoming(out.subject, out.data, out.headers, token=item,
                                 subject_origin=out.subject.split(".")[-1]))
    return receiver.inbox.handle(incoming, T0).applied


# --------------------------------------------------------------------------- the relay core


def test_the_feed_carries_every_side_event_in_commit_order_and_no_register_entries(
        world: tuple[Region, Region]) -> None:
    dest, origin = world
    case_id = submit(dest)
    staff = Actor("staff", "0451", DEST, "社保经办")
    assert dest.node.command(case_id, AcceptIntake(actor=staff), T0).ok
    carry_links(dest, origin)
    officer = Actor("staff", "0733", ORIGIN, "社保经办")
    assert origin.node.command(case_id, ApproveTransferOut(actor=officer), T0).ok
    held = origin.node.side(case_id)
    assert held is not None
    assert origin.node.register_entry(held.state.person_key, pension.SCHEME) is not None
    for region in (dest, origin):
        items = drain_feed(region)
        assert [(i.type, i.version) for i in items] == stored(region, case_id)
        assert {(i.case_id, i.process, i.region) for i in items} == {
            (case_id, pension.PROCESS, region.code)}
        assert [i.position for i in items] == sorted({i.position for i in items})


def test_a_crash_before_the_cursor_moved_republishes_the_same_identities_and_after_it_nothing(
        world: tuple[Region, Region]) -> None:
    dest, _ = world
    assert dest.feed is not None
    submit(dest, seed=1)
    first = dest.feed.step(T0)
    assert first is not None
    dest.feed.forget()  # crashed between publish and cursor
    again = dest.feed.step(T0)
    assert again is not None and [i.event_id for i in again.items] == [
        i.event_id for i in first.items]
    assert [o.headers["Nats-Msg-Id"] for o in feed_codec.encode_all(again.items)] == [
        o.headers["Nats-Msg-Id"] for o in feed_codec.encode_all(first.items)
    ]  # JetStream drops the repeats
    dest.feed.advance(again, T0)
    dest.restart()  # crashed after the cursor moved
    submit(dest, seed=2)
    assert dest.feed is not None
    later = dest.feed.step(T0)
    assert later is not None and not {i.event_id for i in later.items} & {
        i.event_id for i in first.items}
    assert min(i.position for i in later.items) > first.position


# --------------------------------------------------------------------------- the wire form


def test_a_feed_message_round_trips_with_every_attribute_and_the_current_payload(
        world: tuple[Region, Region]) -> None:
    dest, _ = world
    case_id = submit(dest)
    item = drain_feed(dest)[0]
    out = feed_codec.encode([item])
    assert out.subject == f"tb.v1.feed.{DEST}.pension_transfer.events"
    [body] = json.loads(out.data)
    assert body["id"] == f"{side_id(case_id, DEST)}:1" and body["feedseq"] == item.position
    assert body["source"] == f"/tongban/regions/{DEST}" and body["caseid"] == case_id
    assert out.headers["Nats-Msg-Id"] == feed_codec.batch_id(body["id"], out.data)
    [event] = feed_codec.decode(out.data)
    assert (event.case_id, event.region, event.version, event.position, event.type) == (
        case_id, DEST, 1, item.position, "ApplicationSubmitted")
    assert event.event().at == T0
    assert event.payload == item.payload


def submit_together(dest: Region, seeds: range, now: dt.datetime) -> list[str]:
    """Applications for several cases decided in one commit (a group commit of commands)."""
    requests = []
    for seed in seeds:
        person = draw_applicant(random.Random(seed))
        number = CaseNumber.new(RegionCode(DEST), china_date(T0), uuid.UUID(int=seed))
        applicant = Actor("applicant", person.citizen.masked, DEST)
        requests.append(BatchedCommand(str(number.case_id), application(
            pension.PROCESS, number, person.person_key, [ORIGIN], applicant),
            case_number=str(number), process=pension.PROCESS))
    assert all(o.ok for o in dest.node.run_batch(requests, now))
    return [r.case_id for r in requests]


def test_a_commit_of_many_cases_is_one_feed_message_and_the_next_commit_another(
        world: tuple[Region, Region]) -> None:
    dest, _ = world
    together = submit_together(dest, range(1, 9), T0)
    staff = Actor("staff", "0451", DEST, "社保经办")
    later = T0 + dt.timedelta(seconds=1)
    assert dest.node.command(together[0], AcceptIntake(actor=staff), later).ok
    items = drain_feed(dest)
    sent = feed_codec.encode_all(items)
    received = [feed_codec.decode(out.data) for out in sent]
    assert [e for message in received for e in message] == items
    assert len(sent) == 2  # eight sides in the first commit, one in the second
    assert [{e.case_id for e in message} for message in received] == [set(together),
                                                                      {together[0]}]
    for out, message in zip(sent, received, strict=True):
        assert out.subject == f"tb.v1.feed.{DEST}.{pension.PROCESS}.events"
        assert out.headers["Nats-Msg-Id"] == feed_codec.batch_id(message[0].event_id, out.data)
    assert received[0][-1].position < received[1][0].position


@pytest.mark.parametrize(("change", "reason"), [
    (lambda b: b.pop("feedseq"), WireReason.MISSING_ATTRIBUTE),
    (lambda b: b.update(id="someone-else:1"), WireReason.INCONSISTENT_ENVELOPE),
    (lambda b: b.update(source="/tongban/regions/610800"), WireReason.INCONSISTENT_ENVELOPE),
    (lambda b: b.update(region="999999"), WireReason.BAD_REGION_CODE),
    (lambda b: b.update(region="15060"), WireReason.BAD_ATTRIBUTE),
    (lambda b: b.update(data=[1, 2]), WireReason.PAYLOAD_MISMATCH),
])
def test_a_malformed_feed_message_is_refused_with_its_reason(
        world: tuple[Region, Region], change, reason: WireReason) -> None:
    dest, _ = world
    submit(dest)
    [body] = json.loads(feed_codec.encode([drain_feed(dest)[0]]).data)
    change(body)
    with pytest.raises(WireError) as refused:
        feed_codec.decode(json.dumps([body]))
    assert refused.value.reason == reason
    with pytest.raises(WireError) as not_json:
        feed_codec.decode(b"{not json")
    assert not_json.value.reason == WireReason.NOT_JSON


def test_feed_subjects_follow_the_grammar_and_refuse_what_it_does_not_produce() -> None:
    subject = subjects.feed_subject(DEST, "pension_transfer", "InfoSheetReceived")
    parsed = subjects.parse_subject(subject)
    assert (parsed.kind, parsed.region, parsed.process, parsed.type) == (
        "feed", DEST, "pension_transfer", "InfoSheetReceived")
    assert subjects.subject_matches(subjects.feed_filter(DEST, "pension_transfer"), subject)
    assert subjects.subject_matches(subjects.feed_stream_subjects(DEST)[0], subject)
    assert not subjects.subject_matches(subjects.feed_filter(ORIGIN), subject)
    for bad in (("15060", "pension_transfer", "X"), (DEST, "Pension.transfer", "X"),
                (DEST, "pension_transfer", "Info*")):
        with pytest.raises(ValueError):
            subjects.feed_subject(*bad)
    with pytest.raises(ValueError):
        subjects.parse_subject(f"tb.v1.feed.{DEST}.pension_transfer")
    with pytest.raises(ValueError):
        subjects.feed_consumer_name("pension.backend")


# --------------------------------------------------------------------------- the back-ends


class NodeCommands:
    """A region's command endpoint without the network: the node decides, refusals raise as
    `RegionClient` raises them."""

    def __init__(self, region: Region) -> None:
        self.region = region

    async def command(self, case_id: str, command: Command, *, command_id: str) -> Outcome:
        outcome = self.region.node.command(case_id, command, T0, command_id=command_id,
                                           principal="backend:pension")
        if not outcome.ok:
            raise CommandRejected(outcome.error_code, outcome.error, "", outcome)
        return outcome


def run_backends(dest: Region, origin: Region, *, rounds: int = 20) -> list[PensionBackend]:
    backends = {r.code: PensionBackend(r.code, NodeCommands(r)) for r in (dest, origin)}

    async def loop() -> None:
        for _ in range(rounds):
            moved = carry_links(dest, origin) + carry_links(origin, dest)
            for region in (dest, origin):
                for out in feed_codec.encode_all(drain_feed(region)):
                    for event in feed_codec.decode(out.data):
                        moved += 1
                        await backends[region.code].handle(event)
            if not moved:
                return
        raise AssertionError("the back-ends never came to rest")

    asyncio.run(loop())
    return list(backends.values())


def test_the_example_back_ends_alone_complete_a_transfer_and_agree_on_the_money(
        world: tuple[Region, Region]) -> None:
    dest, origin = world
    case_id = submit(dest)
    run_backends(dest, origin)
    d, o = dest.node.side(case_id), origin.node.side(case_id)
    assert d is not None and o is not None
    assert (dest.node.protocols[pension.PROCESS].decider.status(d.state),
        origin.node.protocols[pension.PROCESS].decider.status(o.state)) == (
        "completed", "transferred_out")
    sheet = example_records(case_id, ORIGIN)
    assert d.state.credited_fen == sheet.amount_fen


def test_a_back_end_that_sees_the_feed_again_acts_nowhere_twice(
        world: tuple[Region, Region]) -> None:
    dest, origin = world
    case_id = submit(dest)
    run_backends(dest, origin)
    before = (stored(dest, case_id), stored(origin, case_id))
    # A new consumer reads both feeds from the start: the same command ids, stored outcomes.
    backends = {r.code: PensionBackend(r.code, NodeCommands(r)) for r in (dest, origin)}

    async def replay() -> None:
        for region in (dest, origin):
            for out in feed_codec.encode_all(_all_items(region)):
                for event in feed_codec.decode(out.data):
                    await backends[region.code].handle(event)

    asyncio.run(replay())
    assert (stored(dest, case_id), stored(origin, case_id)) == before
    assert all(b.stats["refused"] == 0 and b.stats["sent"] > 0 for b in backends.values())


def _all_items(region: Region) -> list[SideEvent]:
    """The region's whole feed from its first event (a fresh tailer over the same store)."""
    tailer = SideEventTailer(region.code, region.node.app)
    tailer.seek(0)
    items: list[SideEvent] = []
    while (batch := tailer.step(T0)) is not None:
        items.extend(batch.items)
        tailer.seek(batch.position)
    return items
