"""CPU cost of each write-path lever, before and after, measured in one process.

Why beside `tongban bench`: on a shared 2-core machine the end-to-end figures of two runs minutes
apart differ by more than any one lever moves them. Here the old and the new code of each lever
run alternately on the same data (the records a seeded simulation stores), and what is printed
is CPU microseconds per item and their ratio, which the neighbours' load moves far less.

    python -m simulations.bench.levers [--rounds 5] [--cases 40]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import hashlib
import json
import json.encoder
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict
from typing import Any

from eventsourcing.application import ProcessingEvent
from eventsourcing.utils import get_topic

from domain.encoding import to_payload
from domain.kernel import EventRef, event_from_payload
from projections import cases as case_views
from projections.cases import CaseView, apply
from projections.records import SideEvent
from regions.core.idempotency import request_hash
from regions.core.messages import LinkMessage
from regions.core.side_events import SideEventTailer, SideReads
from regions.core.store import AggregatesCollected, EventStore, OutLink, Stream
from regions.core.tailer import MemoryCursor
from regions.runtime.views import deciders_of
from regions.wire import envelope, feed, link
from simulations.bench.alternate import alternate
from simulations.bench.conversions import captured
from simulations.runner import run


def _nothing() -> None:
    return None


def generic_link(item: LinkMessage) -> bytes:
    """What the relay wrote before the stored-payload lever: the payload decoded into its event,
    the event encoded (the "old way" here, and the reference tests/unit/test_link_codec_stored.py
    holds the relay's bytes to)."""
    event = event_from_payload(item.type, item.payload, item.schema_version)
    return envelope.encode(envelope.WireMessage(
        event=event, ref=EventRef(item.originator_id, item.originator_version),
        origin=item.origin, destination=item.destination, link_seq=item.link_seq,
        case_number=item.case_number, case_id=item.case_id, process=item.process,
        traceparent=item.traceparent))


def _feed_attributes(app: EventStore, code: str) -> list[tuple[dict[str, Any], Any]]:
    tailer = SideEventTailer(code, app, batch_size=100_000, cursor=MemoryCursor())
    batch = tailer.step(now=None)  # type: ignore[arg-type]
    out = []
    for item in batch.items if batch else []:
        message = feed.encode([item]).data
        attributes, payload = envelope.read(message[1:-1])
        out.append((attributes, payload))
    return out


def wake_ups(coalesced: bool, commits: int = 200, sides: int = 100, tails: int = 4) -> None:
    """A group commit of `sides` sides announcing itself to `tails` tailers on an event loop in
    another thread: one `call_soon_threadsafe` per side and tailer (before), or one wake-up in
    flight at a time (`NodeDriver.wake_tailers`, after)."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever)
    thread.start()

    async def make() -> list[asyncio.Event]:
        return [asyncio.Event() for _ in range(tails)]

    wakes = asyncio.run_coroutine_threadsafe(make(), loop).result()
    pending = [False]

    def wake_all() -> None:
        pending[0] = False
        for wake in wakes:
            wake.set()

    for _ in range(commits):
        for _ in range(sides):
            if not coalesced:
                for wake in wakes:
                    loop.call_soon_threadsafe(wake.set)
            elif not pending[0]:
                pending[0] = True
                loop.call_soon_threadsafe(wake_all)
        time.sleep(0.0005)  # the next batch's own work: the loop runs in between
    asyncio.run_coroutine_threadsafe(asyncio.sleep(0), loop).result()
    loop.call_soon_threadsafe(loop.stop)
    thread.join()
    loop.close()


def fold_views(records: Sequence[SideEvent], deciders: dict[str, Any]) -> None:
    """The case views' fold (`projections.cases.apply`) over `records`."""
    views: dict[str, CaseView] = {}
    for record in records:
        decider = deciders.get(record.process)
        if decider is not None:
            views[record.case_id] = apply(views.get(record.case_id), record, decider)


def _two_step_hash(case_id: str, command: Any) -> str:
    """`request_hash` as it was before `domain.sorted_text`: the payload, then its sorted JSON
    by the C encoder built once (the same text)."""
    body = "".join(_SORTED_C(to_payload(command), 0))
    return hashlib.sha256(f"{case_id}:{type(command).__name__}:{body}".encode()).hexdigest()


_SORTED_C: Any = json.encoder.c_make_encoder(  # type: ignore[attr-defined]
    None, str, json.encoder.encode_basestring, None, ": ", ", ", True, False, True)


def measure(rounds: int = 5, cases: int = 40) -> dict[str, Any]:
    world = run(11, cases).world
    commands = captured(cases)[1]
    case = "8a544a35-eb98-5fd6-9090-34cb9b6e0d08"
    assert all(_two_step_hash(case, c) == request_hash(case, c) for c in commands)
    code, sim = next(iter(world.regions.items()))
    app = sim.region.node.app
    sent: list[Any] = [region.region.node.app.mapper.to_domain_event(r)
            for region in world.regions.values()
            for r in region.region.node.app.recorder.select_notifications(
                start=1, limit=100_000, topics=[get_topic(OutLink.Sent)])]
    items = [LinkMessage.from_record(s.message, s.originator_version - 1) for s in sent]
    notifications = app.recorder.select_notifications(
        start=1, limit=100_000, topics=list(SideEventTailer.topics))
    feed_events = _feed_attributes(app, code)
    side_records = SideEventTailer(code, app, batch_size=100_000, cursor=MemoryCursor()).step(
        now=None)  # type: ignore[arg-type]
    stored = list(side_records.items) if side_records else []
    deciders = deciders_of(sim.region)

    def as_stored() -> list[SideEvent]:  # records as read from the store: payloads only
        return [SideEvent(**asdict(r)) for r in stored]

    saved_events = [event_from_payload(r.type, r.payload, r.schema_version) for r in stored]

    def as_handed() -> list[SideEvent]:  # records carrying the event the node saved
        return [r.with_event(e) for r, e in zip(as_stored(), saved_events, strict=True)]

    def handed_records() -> list[SideEvent]:  # built before: only the fold is compared
        return as_handed()

    def copying(replace: Callable[..., Any] | None, records: list[SideEvent]) -> None:
        copy = case_views._next
        if replace is not None:
            case_views._next = lambda view, changes: replace(view, **changes)
        try:
            fold_views(records, deciders)
        finally:
            case_views._next = copy

    def aggregates() -> list[Stream]:
        streams = []
        for n in range(len(items)):
            stream = Stream.open(uuid.UUID(int=n + 1), "side", {}, "X", 1, {"n": n}, items[n].at)
            stream.record("Y", 1, {"n": n}, items[n].at)
            streams.append(stream)
        return streams

    def two_tailers(shared: bool) -> None:
        first = SideEventTailer(code, app, cursor=MemoryCursor())
        second = SideEventTailer(code, app, cursor=MemoryCursor())
        if not shared:
            second._reads = SideReads()
        first._reads.items.clear()
        first.read(notifications, None)  # type: ignore[arg-type]
        second.read(notifications, None)  # type: ignore[arg-type]

    levers: dict[str, tuple[Callable[[], Any], Callable[[], Any], int, Callable[[], Any]]] = {
        "envelope_write (SDK -> json.dumps), per feed event": (
            lambda: [envelope.sdk_write(a, p) for a, p in feed_events],
            lambda: [envelope.write(a, p) for a, p in feed_events], len(feed_events), _nothing),
        "link envelope (decode+encode -> stored payload), per link message": (
            lambda: [generic_link(i) for i in items],
            lambda: [link.encode(i) for i in items], len(items), _nothing),
        "collect a saved aggregate's events (Protocol isinstance -> class), per aggregate": (
            lambda: ProcessingEvent[uuid.UUID]().collect_events(*aggregates()),
            lambda: AggregatesCollected().collect_events(*aggregates()), len(items),
            aggregates),  # building the aggregates is measured alone and taken off
        "two side-event tailers read the same records (each decodes -> shared), per record": (
            lambda: two_tailers(False), lambda: two_tailers(True), len(notifications), _nothing),
        "the views' fold (payload decoded -> the node's saved event handed on), per side event": (
            lambda: fold_views(as_stored(), deciders),
            lambda: fold_views(as_handed(), deciders), len(stored), as_stored),
        "the views' fold copies its view (dataclasses.replace -> a copy of its dict, "
        "cases._next), per side event": (
            lambda: copying(dataclasses.replace, handed_records()),
            lambda: copying(None, handed_records()), len(stored), handed_records),
        "request hash (the payload, then its sorted JSON -> sorted_text in one pass), per "
        "command": (
            lambda: [_two_step_hash(case, c) for c in commands],
            lambda: [request_hash(case, c) for c in commands], len(commands), _nothing),
        "a 100-side group commit wakes 4 tailers (per side -> once), per commit": (
            lambda: wake_ups(False), lambda: wake_ups(True), 200,
            lambda: time.sleep(0.0005 * 200)),
    }
    figures: dict[str, Any] = {}
    for name, (before, after, count, baseline) in levers.items():
        b, a = alternate(before, after, count, rounds, baseline)
        figures[name] = {"items": count, "before_us": round(b, 2), "after_us": round(a, 2),
                         "speedup": round(b / a, 2)}
    return figures


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--cases", type=int, default=40)
    args = parser.parse_args(argv)
    print(json.dumps(measure(args.rounds, args.cases), indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
