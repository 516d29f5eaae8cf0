"""Bounds on what a peer, or a flood of messages, can make a node keep (issue 11, finding 11),
and the counters that show an operator each bound at work on `/metrics`.

Each test floods one bound and asserts three things: memory or storage stays within the bound,
what is kept is what the bound promises (the oldest records, the first messages of a range), and
what was turned away is counted where an operator sees it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

from domain.kernel import Actor
from domain.protocols import spec_of
from domain.values import CaseNumber, RegionCode
from regions.adapters.brokers.memory import MemoryBroker
from regions.adapters.stores.memory import MemoryStore
from regions.adapters.worker_lock import ProcessLocalLock
from regions.core import inbox as inbox_module
from regions.core import relay as relay_module
from regions.core.config import RegionConfig
from regions.core.documents import DocRequest
from regions.core.inbox import Incoming
from regions.core.messages import HighWaterMark, LinkMessage
from regions.runtime import documents as documents_endpoint
from regions.runtime import quarantine
from regions.runtime.bootstrap import Region, build_region
from regions.runtime.documents import DocumentEndpoint
from regions.runtime.driver import NodeDriver
from regions.runtime.metrics import registry_for, render
from regions.runtime.status import NodeStatus
from regions.sdk.documents import fetch_material
from regions.wire import link, subjects
from regions.wire.documents import encode_request, inbox_prefix
from tests.unit import toy_protocol as toy
from tests.unit.test_materials_endpoint import (
    HANDLER,
    OWNER,
    SCAN,
    STRANGER,
    Loopback,
    Owner,
    proxy_case,
    wall,
)

HOME, TARGET = "150600", "610800"
T0 = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)
CLERK = Actor("staff", "s1", HOME, "clerk")


class Connected:
    is_connected = True


def make(code: str, peer: str, store: MemoryStore) -> Region:
    return build_region(RegionConfig(region=code, peers=(peer,), gap_bound_seconds=10),
                        clock=lambda: T0, ids=uuid.uuid4, broker=None, store=store,
                        protocols={"toy": spec_of("toy", toy)})


def pings(region: Region, count: int) -> list[LinkMessage]:
    for n in range(count):
        number = CaseNumber.new(RegionCode(region.code), T0.date(), uuid.uuid4())
        case_id = str(number.case_id)
        outcome = region.node.submit(case_id, str(number), "toy", toy.Ping(
            actor=CLERK, case_id=case_id, n=n, to=TARGET, home=region.code), T0)
        assert outcome.ok, outcome
    out: list[LinkMessage] = []
    while (batch := region.relay.step(T0)) is not None:
        region.relay.advance(batch, T0)
        out += [i for i in batch.items if isinstance(i, LinkMessage)]
    return out


def incoming(message: LinkMessage, token: object) -> Incoming:
    out = link.encode(message)
    return Incoming(out.subject, out.data, out.headers, token=token,
                    subject_origin=subjects.parse_event_subject(out.subject)[1])


def metrics_of(region: Region) -> str:
    driver = NodeDriver(region, None, fetch_timeout=0.05)  # type: ignore[arg-type]
    status = NodeStatus(region.config, Connected(), ProcessLocalLock())  # type: ignore[arg-type]

    async def scrape() -> str:
        await status.lock.acquire(asyncio.Event())
        status.activate(driver)
        return render(registry_for(status)).decode()

    try:
        return asyncio.run(scrape())
    finally:
        driver.close()


# --------------------------------------------------------------------------- the hold window


def test_messages_dropped_beyond_the_hold_window_are_counted_on_metrics(monkeypatch) -> None:
    monkeypatch.setattr(inbox_module, "HOLD_WINDOW", 3)
    store = MemoryStore()
    home, target = make(HOME, TARGET, store), make(TARGET, HOME, store)
    messages = pings(home, 8)
    # #1 is lost: #2..#4 are held (the window), #5..#8 acked and dropped, to be re-sent
    result = target.inbox.handle([incoming(m, m.link_seq) for m in messages[1:]], T0)
    assert sorted(result.ack) == list(range(2, 9))  # held or dropped: acked either way
    assert result.dropped == 4
    text = metrics_of(target)
    assert "tongban_inbox_hold_dropped_total 4.0" in text  # failed before: no such metric
    assert "tongban_inbox_held{link=\"150600\"} 3.0" in text
    # the origin re-sends: the link is whole, nothing was lost
    again = target.inbox.handle([incoming(m, m.link_seq) for m in messages], T0)
    assert target.node.inlink_position(HOME) == 8, again


# --------------------------------------------------------------------------- re-send ranges


def test_a_resend_request_for_any_range_reads_at_most_the_resend_limit(monkeypatch) -> None:
    """A receiver (or anyone publishing a ResendRequest on its behalf) asking for a billion
    messages gets the first `RESEND_LIMIT`, and asks again while its gap persists."""
    monkeypatch.setattr(relay_module, "RESEND_LIMIT", 3)
    store = MemoryStore()
    home = make(HOME, TARGET, store)
    sent = pings(home, 8)
    again = home.relay.resend(TARGET, 2, 10**9)
    assert [m.link_seq for m in again if isinstance(m, LinkMessage)] == [2, 3, 4]
    assert [m.event_id for m in again if isinstance(m, LinkMessage)] == \
        [m.event_id for m in sent[1:4]]
    home.relay.fell_behind(TARGET, 1)  # a link catching up from the store is bounded alike
    caught = home.relay.catch_up(TARGET, T0)
    assert [m.link_seq for m in caught if isinstance(m, LinkMessage)] == [1, 2, 3]


# --------------------------------------------------------------------------- quarantine


def bounded(code: str, peer: str, store: MemoryStore, *, records: int = 10_000,
            size: int = 1 << 26) -> Region:
    return build_region(RegionConfig(region=code, peers=(peer,), gap_bound_seconds=10,
                                     quarantine_max_records=records, quarantine_max_bytes=size),
                        clock=lambda: T0, ids=uuid.uuid4, broker=None, store=store,
                        protocols={"toy": spec_of("toy", toy)})


def junk(n: int, size: int = 100) -> Incoming:
    """A message that does not decode, from a genuine peer's subject (quarantined)."""
    data = (f"junk {n} ".encode() + b"x" * size)[:size]
    return Incoming(subjects.event_subject(TARGET, HOME), data, {}, token=f"junk{n}",
                    subject_origin=HOME)


def test_quarantine_is_bounded_by_count_the_oldest_kept_and_drops_counted() -> None:
    store = MemoryStore()
    home, target = make(HOME, TARGET, store), bounded(TARGET, HOME, store, records=3)
    honest = pings(home, 2)
    batch = [junk(0), incoming(honest[0], "h1"), *(junk(n) for n in range(1, 6)),
             incoming(honest[1], "h2")]
    result = target.inbox.handle(batch, T0)
    assert result.applied == 2  # the honest messages went on
    assert sorted(map(str, result.ack)) == sorted(map(str, (i.token for i in batch)))  # all acked
    kept = quarantine.entries(target.node.app)
    assert [e.data[:6] for e in kept] == [b"junk 0", b"junk 1", b"junk 2"]  # the oldest kept
    assert target.inbox.stats["quarantine_dropped"] == 3
    assert "tongban_quarantine_dropped_total 3.0" in metrics_of(target)
    # a restarted node knows the quarantine is full: the bound holds across restarts
    target.restart()
    again = target.inbox.handle([junk(9)], T0)
    assert again.ack == ["junk9"] and len(quarantine.entries(target.node.app)) == 3
    assert target.inbox.stats["quarantine_dropped"] == 1


def test_quarantine_is_bounded_by_bytes() -> None:
    store = MemoryStore()
    target = bounded(TARGET, HOME, store, size=2_500)
    result = target.inbox.handle([junk(n, size=1_000) for n in range(4)], T0)
    assert len(result.ack) == 4
    assert len(quarantine.entries(target.node.app)) == 2  # 2 x ~1 kB fit in 2.5 kB, not 3
    assert target.inbox.stats["quarantine_dropped"] == 2


def test_a_failed_batch_does_not_spend_the_quarantine_budget_twice() -> None:
    store = MemoryStore()
    target = bounded(TARGET, HOME, store, records=2)
    original = target.node.commit
    calls = {"n": 0}

    def failing_once(uow: object) -> None:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("the batch's commit failed")
        original(uow)  # type: ignore[arg-type]

    target.node.commit = failing_once  # type: ignore[method-assign]
    result = target.inbox.handle([junk(0), junk(1)], T0)  # retried message by message
    assert len(result.ack) == 2 and len(quarantine.entries(target.node.app)) == 2
    assert target.inbox.stats["quarantine_dropped"] == 0


# --------------------------------------------------------------------------- document requests


def test_document_requests_are_bounded_per_requester_and_the_refusals_counted() -> None:
    """A refusal is never cached (the case may reach the requester later), so before the bound
    every refused request read the case on the node's one database thread: a region asking
    again and again stalled the inbox and the commands behind it."""
    owner = proxy_case()
    reads = {"n": 0}

    async def scenario() -> tuple[list[str], str, float]:
        driver = NodeDriver(owner.region, MemoryBroker(wall).connect())
        real_db = driver.db

        async def counted(fn: Callable[..., Any], *args: Any) -> Any:
            reads["n"] += 1
            return await real_db(fn, *args)

        driver.db = counted  # type: ignore[method-assign]
        try:
            endpoint = DocumentEndpoint(driver, owner.blobs, max_chunk=4096)
            started = time.monotonic()
            codes = []
            for n in range(300):  # a stranger asking about a case it is not party to
                raw = await endpoint.handle(encode_request(DocRequest(
                    STRANGER, owner.case_id, owner.ref.doc_id)), f"{inbox_prefix(STRANGER)}.x.{n}")
                assert raw is not None
                error = json.loads(raw)["error"]
                codes.append((error["code"], error["field"]))
            elapsed = time.monotonic() - started
            # the counterpart's own budget is untouched: it is served at once
            data = await fetch_material(Loopback(endpoint, inbox_prefix(HANDLER)), owner=OWNER,
                                        requester=HANDLER, case_id=owner.case_id, ref=owner.ref)
            assert data == SCAN
            return [c for c, _ in codes], scrape(owner, driver), elapsed
        finally:
            driver._db.shutdown(wait=True)

    codes, text, elapsed = asyncio.run(scenario())
    assert "too_many_requests" in codes  # failed before: 300 x forbidden, 300 database reads
    assert set(codes) == {"forbidden", "too_many_requests"}
    burst, rate = documents_endpoint.REQUEST_BURST, documents_endpoint.REQUESTS_PER_SECOND
    stranger_reads = codes.count("forbidden")
    assert stranger_reads <= burst + rate * elapsed + 1
    assert reads["n"] == stranger_reads + 1  # + the counterpart's one grant (chunks are cached)
    throttled = codes.count("too_many_requests")
    assert f"tongban_document_requests_throttled_total {throttled}.0" in text


def scrape(owner: Owner, driver: NodeDriver) -> str:
    status = NodeStatus(owner.region.config, Connected(), ProcessLocalLock())  # type: ignore[arg-type]
    status.activate(driver)
    return render(registry_for(status)).decode()


# --------------------------------------------------------------------------- the relay's start-up

THIRD = "152900"


def sender(store: MemoryStore) -> Region:
    return build_region(RegionConfig(region=HOME, peers=(TARGET, THIRD), gap_bound_seconds=10),
                        clock=lambda: T0, ids=uuid.uuid4, broker=None, store=store,
                        protocols={"toy": spec_of("toy", toy)})


def send_one(region: Region, to: str) -> None:
    """One message to `to`, relayed as its own batch (one cursor save per batch, as in a quiet
    production node)."""
    number = CaseNumber.new(RegionCode(region.code), T0.date(), uuid.uuid4())
    case_id = str(number.case_id)
    assert region.node.submit(case_id, str(number), "toy", toy.Ping(
        actor=CLERK, case_id=case_id, n=0, to=to, home=region.code), T0).ok
    assert region.relay.pump(lambda items: None, T0) is not None


def rows_read(region: Region) -> dict[str, int]:
    """Counts the records the region's store hands out from now on (a spy on the real one)."""
    recorder = region.node.app.recorder
    counted = {"rows": 0}
    for name in ("select_notifications", "select_events"):
        real = getattr(recorder, name)

        def spy(*args: Any, _real: Callable[..., Any] = real, **kwargs: Any) -> Any:
            rows = _real(*args, **kwargs)
            counted["rows"] += len(rows)
            return rows

        setattr(recorder, name, spy)
    return counted


def test_the_relays_start_up_reads_a_bounded_number_of_records_whatever_the_history() -> None:
    """Before, a restarted relay read every `Sent` record up to its cursor to learn each link's
    high-water mark: one record per message ever sent, on every start."""
    reads = []
    for batches in (6, 60):
        home = sender(MemoryStore())
        for n in range(batches):
            send_one(home, TARGET if n % 3 else THIRD)
        home.restart()
        counted = rows_read(home)
        marks = home.relay.high_water_marks()
        assert marks == {THIRD: batches // 3, TARGET: batches - batches // 3}
        reads.append(counted["rows"])
    assert reads[0] == reads[1] <= 2, reads  # failed before: [7, 61]


def test_after_a_restart_the_heartbeat_announces_every_link_not_only_those_sent_on_since(
        ) -> None:
    """Before, a batch read before the first heartbeat left the relay knowing only that batch's
    links: the others were never announced again, so a receiver missing their last message
    never learnt of it."""
    home = sender(MemoryStore())
    send_one(home, TARGET)
    send_one(home, THIRD)
    home.restart()
    send_one(home, TARGET)  # the first batch after the restart touches one link
    beat = home.relay.heartbeat_every  # one beat on (the batch carries no mark of its own)
    marks = {m.destination: m.link_seq for m in home.relay.heartbeat(T0 + beat)
             if isinstance(m, HighWaterMark)}
    assert marks == {TARGET: 2, THIRD: 1}  # failed before: {TARGET: 2}


def test_a_cursor_saved_by_an_older_node_without_marks_is_read_the_old_way_once() -> None:
    home = sender(MemoryStore())
    for n in range(8):
        send_one(home, TARGET if n % 3 else THIRD)
    number = CaseNumber.new(RegionCode(HOME), T0.date(), uuid.uuid4())
    assert home.node.submit(str(number.case_id), str(number), "toy", toy.Ping(
        actor=CLERK, case_id=str(number.case_id), n=0, to=THIRD, home=HOME), T0).ok
    batch = home.relay.step(T0)
    assert batch is not None
    home.relay.record.save(batch.position, T0)  # as a node did before marks were kept
    home.restart()
    counted = rows_read(home)
    assert home.relay.high_water_marks() == {TARGET: 5, THIRD: 4}
    assert counted["rows"] >= 9  # the history, this once
    send_one(home, TARGET)  # the next batch saves the marks
    home.restart()
    counted = rows_read(home)
    assert home.relay.high_water_marks() == {TARGET: 6, THIRD: 4}
    assert counted["rows"] <= 2
