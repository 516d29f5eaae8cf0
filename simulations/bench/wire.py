"""CPU of the wire's hot paths — decoding link messages, encoding link and feed messages,
publishing them to NATS — in an old tree against this one, alternately in one sitting.

Why whole trees rather than old copies of a few functions: the levers measured here change
shared pieces (the envelope's attribute checks, the broker adapter), which a verbatim copy of
one function would not take along. The inputs are captured once (a seeded simulation's link
messages and the bytes that went over its links; the side events of a fault-free one), then
one round runs with the old tree's code and one with the new, `--rounds` times over, on the
same inputs (each tree's code in a namespace of its own: `simulations.bench.old_code`), and
the medians of CPU µs per item are printed, old -> new.

    python -m simulations.bench.wire --old /path/to/old/checkout|REV [--rounds 7] [--cases 120]
                                     [--nats]

`--nats` adds `NatsBroker.publish_many` against a private nats-server (the bench's, with
`sync_interval: always`): client-process CPU per message published and acknowledged, in
batches of 50 (a relay or feed batch's size at burst).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import io
import os
import pickle
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

#: What a round reports, in this order (µs of CPU per item).
FIGURES = ("link.decode event", "link.decode mark", "link.decode_all batched event",
           "link.encode event", "link.encode mark", "feed.encode_all per event",
           "publish_many per message")


def capture(cases: int, path: Path) -> None:
    """The inputs every round reads: link items encoded and bytes decoded in a seeded run with
    all faults (decodable event messages and marks only), and the feed's side events of a
    fault-free run, in its tailer's batches."""
    import simulations.runner as runner
    from regions.core.messages import HighWaterMark, LinkMessage
    from regions.core.side_events import SideEventTailer
    from regions.core.tailer import MemoryCursor
    from regions.wire import link
    from simulations import world
    from simulations.faults import ALL_FAULTS

    items: list[Any] = []
    received: list[bytes] = []
    encode, decode = link.encode, link.decode
    encode_many, decode_all = link.encode_many, link.decode_all

    def encoding(item: Any) -> Any:
        items.append(item)
        return encode(item)

    relayed = items

    def encoding_many(items: Sequence[Any], most: int = link.MAX_BATCH) -> list[link.Packet]:
        """The relay's events (its control items go through `encoding`)."""
        relayed.extend(i for i in items if isinstance(i, LinkMessage))
        return encode_many(items, most)

    def decoding(data: bytes, headers: Any = None) -> Any:
        received.append(data)
        return decode_all(data, headers)

    world.link.encode, world.link.encode_many = encoding, encoding_many
    world.link.decode_all = decoding
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            runner.run(7, cases, faults=ALL_FAULTS)
            quiet = runner.run(7, cases)
    finally:
        world.link.encode, world.link.encode_many = encode, encode_many
        world.link.decode_all = decode_all
    events: list[bytes] = []
    marks: list[bytes] = []
    singles: list[bytes] = []
    for data in received:  # a batch's members as the single messages they are
        try:
            singles += link.members(data) if data.lstrip()[:1] == b"[" else [data]
        except Exception:
            continue  # a fault's corrupt bytes: not the common path
    for data in singles:
        try:
            item = decode(data)
        except Exception:
            continue  # a fault's corrupt bytes: not the common path
        if isinstance(item, LinkMessage):
            events.append(data)
        elif isinstance(item, HighWaterMark):
            marks.append(data)
    feed: list[list[Any]] = []
    now = dt.datetime.now(dt.UTC)
    for code, sim in quiet.world.regions.items():
        tailer = SideEventTailer(code, sim.region.node.app, cursor=MemoryCursor())
        while (batch := tailer.step(now)) is not None:
            feed.append(batch.items)
            tailer.passed(batch, now)
    path.write_bytes(pickle.dumps({
        "events": events, "marks": marks,
        "link_events": [i for i in items if isinstance(i, LinkMessage)],
        "link_marks": [i for i in items if isinstance(i, HighWaterMark)],
        "feed": feed}))


def _cpu_us(fn: Callable[[Any], Any], items: Sequence[Any], count: int | None = None) -> float:
    started = time.process_time()
    for item in items:
        fn(item)
    return (time.process_time() - started) / (count or len(items)) * 1e6


def one_round(inputs: Path, nats_url: str | None, round_: int) -> dict[str, float]:
    """One measurement of every figure with the active tree's code."""
    import simulations.runner  # noqa: F401  (registers the event types)
    from regions.wire import feed, link

    data = pickle.loads(inputs.read_bytes())
    events = data["events"]  # the same events as batches of 64 (per event: a batch's member)
    batches = [b"[" + b",".join(events[i:i + 64]) + b"]" for i in range(0, len(events), 64)]
    figures: dict[str, float] = {}
    for _ in range(2):  # the first pass warms caches (the envelope's memo, the converters)
        figures = {
            "link.decode event": _cpu_us(link.decode, data["events"]),
            "link.decode mark": _cpu_us(link.decode, data["marks"]),
            "link.decode_all batched event": _cpu_us(link.decode_all, batches, len(events)),
            "link.encode event": _cpu_us(link.encode, data["link_events"]),
            "link.encode mark": _cpu_us(link.encode, data["link_marks"]),
            "feed.encode_all per event": _cpu_us(
                feed.encode_all, data["feed"], sum(len(b) for b in data["feed"])),
        }
    if nats_url:
        import asyncio
        figures["publish_many per message"] = asyncio.run(
            _publish(nats_url, [link.encode(i) for i in data["link_events"]], round_))
    return figures


async def _publish(url: str, outs: list[Any], round_: int, batch: int = 50) -> float:
    from regions.adapters.brokers.nats import NatsBroker
    from regions.core.ports import MSG_ID_HEADER, Outgoing

    broker = await NatsBroker.connect(url, name="wire-bench")
    try:
        for dest in sorted({o.subject.split(".")[3] for o in outs}):
            await broker.ensure_stream(dest, duplicate_window=120.0)
        # unique ids per round and process: JetStream stores each, as in production
        tag = f"{round_}.{os.getpid()}"
        fresh = [Outgoing(o.subject, o.data, {**o.headers,
                                             MSG_ID_HEADER: f"{o.headers[MSG_ID_HEADER]}.{tag}"})
                 for o in outs]
        groups = [fresh[i:i + batch] for i in range(0, len(fresh), batch)]
        await broker.publish_many(groups[0])  # connection and reply inbox set up
        started = time.process_time()
        for group in groups[1:]:
            await broker.publish_many(group)
        return (time.process_time() - started) / (len(fresh) - len(groups[0])) * 1e6
    finally:
        await broker.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--old", help="the old tree: its root or a git revision")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--cases", type=int, default=120)
    parser.add_argument("--nats", action="store_true")
    args = parser.parse_args(argv)
    if not args.old:
        parser.error("--old is required")
    from simulations.bench import old_code  # here: this file also runs against older trees

    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        trees = {"old": old_code.Tree(stack.enter_context(old_code.checkout(args.old))),
                 "new": old_code.Tree(old_code.ROOT)}
        bench = {name: tree.load(__file__) for name, tree in trees.items()}
        inputs = Path(tmp) / "inputs.pickle"
        capture(args.cases, inputs)
        url = None
        if args.nats:
            from regions.adapters.brokers.nats_server import NatsServer
            url = stack.enter_context(NatsServer(name="wire-bench")).url
        results: dict[str, dict[str, list[float]]] = {"old": {}, "new": {}}
        for round_ in range(args.rounds):
            for turn, (label, tree) in enumerate(trees.items()):
                with tree.active():  # its own message ids: JetStream stores each, none a duplicate
                    figures = bench[label].one_round(inputs, url, round_ * len(trees) + turn)
                for name, value in figures.items():
                    results[label].setdefault(name, []).append(value)
    for name in FIGURES:
        if name in results["new"] and name in results["old"]:
            o, n = (statistics.median(results[k][name]) for k in ("old", "new"))
            print(f"{name}: {o:.2f} -> {n:.2f} us (x{o / n:.2f}), medians of {args.rounds}")


if __name__ == "__main__":
    main()
