"""CPU of one event's conversions along its life, old against new in one process: the event
store's JSON, the payload (`to_payload`), and the wire's text of the payload on the feed and
on the link.

Why (issue 17, PAYLOAD): an event's payload is written in two forms — the store's (the
library's JSON: field order, compact, UTF-8) and the wire's (`json`'s sorted, spaced ASCII
text: the feed's and the link's `data`) — and a shared event's payload was written in each
form twice: the store's in its `Stream` row and again in its out-link's `Sent` row, the wire's
in its feed event and again in its link message (and again at every re-send). This bench
takes the events a seeded run's nodes stored, in the objects the nodes held (so a shared
event's `Stream` row, out-link row, feed item and link item hold one payload dict, as in the
node), counts the conversions of each form per event and times them, old and new alternately
(`simulations.bench.alternate`: medians of CPU µs).

    python -m simulations.bench.payload [--rounds 15] [--cases 40]

Figures (µs of CPU):
- store: the library's `Mapper.to_stored_event` against this tree's `RowMapper`, per row;
- store, an out-link row with and without its payload: what writing a shared payload's store
  text once (taking it from its side row's) could save at most — not done (see
  docs/performance.md, PAYLOAD);
- to_payload: per domain event of the run (decoded back from its payload);
- wire, old = every payload's text written at every use (`plain.dumps`), new =
  `plain.payload_text` (written once per payload object): a feed event (`feed._element`) per
  side event, the memo emptied first (what it costs where it cannot help); a shared event's
  link message (`link.encode`) after its feed event wrote the payload's text (what it saves;
  the memo's look-up before it measured beside and taken off); and both in turn as the node
  does them, per side event.
"""

from __future__ import annotations

import argparse
import collections
import statistics
from collections.abc import Callable
from typing import Any

from eventsourcing.persistence import Mapper

from domain.kernel import event_from_payload, to_payload
from regions.core import rows
from regions.core.messages import LinkMessage
from regions.core.side_events import SideEvent
from regions.core.store import EventStore, OutLink, Stream
from regions.wire import feed, link, plain
from simulations.bench.alternate import alternate, cpu_us
from simulations.bench.rows import events_of_a_run


def _old_text(payload: dict[str, Any]) -> str:
    return plain.dumps(payload, sort_keys=True)


_new_text = plain.payload_text


def _use(text: Callable[[dict[str, Any]], str]) -> None:
    """The wire's payload text as `text` writes it, for the feed and the link alike."""
    setattr(feed, "payload_text", text)  # noqa: B010  (a module's global, patched)
    setattr(plain, "payload_text", text)  # noqa: B010


def life(events: list[Any]) -> list[tuple[SideEvent, LinkMessage | None]]:
    """Each side event of `events` (the stored events, in order) as its feed item, with the
    link item of its out-link row when shared: the objects the node's feed and relay read."""
    keys: dict[Any, dict[str, Any] | None] = {}
    sent: dict[int, LinkMessage] = {}
    for event in events:
        if isinstance(event, OutLink.Sent):
            sent[id(event.message["payload"])] = LinkMessage.from_record(
                event.message, event.originator_version)
    items: list[tuple[SideEvent, LinkMessage | None]] = []
    for event in events:
        if isinstance(event, Stream.Opened):
            keys[event.originator_id] = event.key if event.kind == "side" else None
        if not isinstance(event, (Stream.Opened, Stream.Recorded)):
            continue
        key = keys.get(event.originator_id)
        if key is None:
            continue  # a register entry: not on the feed
        item = SideEvent(
            position=len(items) + 1, region=key["region"], case_id=key["case_id"],
            case_number=key["case_number"], process=key["process"],
            side_id=str(event.originator_id), version=event.originator_version,
            type=event.type, schema_version=event.schema_version, payload=event.payload,
            committed=event.timestamp)
        items.append((item, sent.get(id(event.payload))))
    return items


def _without_payload(event: Any) -> Any:
    """An out-link row's event with its message's payload replaced by 0 (same keys, order)."""
    state = event.__dict__.copy()
    state["message"] = {**event.message, "payload": 0}
    return rows.frozen(type(event), state)


def _wire(items: list[tuple[SideEvent, LinkMessage | None]]) -> None:
    element, encode = feed._element, link.encode
    for item, message in items:
        element(item)
        if message is not None:
            encode(message)


def _link(old: Callable[[], Any], new: Callable[[], Any], base: Callable[[], Any], items: int,
          rounds: int) -> tuple[float, float]:
    """`alternate` of the link messages, `base` (the memo's look-ups `new` makes before each
    message) measured beside and taken off `new` alone."""
    olds, news = [], []
    for _ in range(rounds):
        olds.append(cpu_us(old, items))
        news.append(cpu_us(new, items) - cpu_us(base, items))
    return statistics.median(olds), statistics.median(news)


def counts(items: list[tuple[SideEvent, LinkMessage | None]]) -> dict[str, int]:
    """How often each form of a payload is written, old and new, over `items`."""
    written: collections.Counter[str] = collections.Counter()
    dumps = plain.dumps

    def counting(value: dict[str, Any], *, sort_keys: bool) -> str:
        written["sorted" if sort_keys else "unsorted"] += 1
        return dumps(value, sort_keys=sort_keys)

    sorted_ = plain._SORTED

    def counting_sorted(value: dict[str, Any], level: int) -> Any:
        written["sorted"] += 1
        return sorted_(value, level)

    setattr(plain, "dumps", counting)  # noqa: B010
    setattr(plain, "_SORTED", counting_sorted)  # noqa: B010
    resent = [message for _, message in items[-100:] if message is not None]
    found: dict[str, int] = {}
    try:
        for name, text in (("old", _old_text), ("new", _new_text)):
            plain._PAYLOAD_TEXTS.clear()
            _use(text)
            _wire(items)
            for message in resent:  # a re-send of the last ones, while the memo holds them
                link.encode(message)
            found[name] = written["sorted"]
            written.clear()
    finally:
        setattr(plain, "dumps", dumps)  # noqa: B010
        setattr(plain, "_SORTED", sorted_)  # noqa: B010
        _use(_new_text)
    shared = sum(1 for _, message in items if message is not None)
    return {"side events": len(items), "shared": shared, "re-sent": len(resent),
            "wire texts written, old": found["old"], "wire texts written, new": found["new"]}


def measure(rounds: int = 15, cases: int = 40) -> tuple[dict[str, int],
                                                      dict[str, tuple[float, float]]]:
    events = events_of_a_run(cases)
    items = life(events)
    ours = EventStore().mapper
    library: Mapper[Any] = Mapper(ours.transcoder)
    domain = [event_from_payload(e.type, e.payload, e.schema_version)
              for e in events if isinstance(e, (Stream.Opened, Stream.Recorded))]
    figures: dict[str, tuple[float, float]] = {}
    figures["store: a row's JSON (the library's Mapper -> RowMapper), per row"] = alternate(
        lambda: [library.to_stored_event(e) for e in events],
        lambda: [ours.to_stored_event(e) for e in events], len(events), rounds)
    figures["to_payload, per domain event (unchanged)"] = alternate(
        lambda: [to_payload(e) for e in domain], lambda: [to_payload(e) for e in domain],
        len(domain), rounds)

    sent = [e for e in events if isinstance(e, OutLink.Sent)]
    bare = [_without_payload(e) for e in sent]
    figures["store: an out-link row with its payload -> without it (the most reusing the "
            "side row's text could save), per row"] = alternate(
        lambda: [ours.to_stored_event(e) for e in sent],
        lambda: [ours.to_stored_event(e) for e in bare], len(sent), rounds)

    side = [item for item, _ in items]
    shared = [(item, message) for item, message in items if message is not None]

    def feed_old() -> None:
        _use(_old_text)
        for item in side:
            feed._element(item)

    def feed_new() -> None:  # every payload new to the memo: its cost without its gain
        plain._PAYLOAD_TEXTS.clear()
        _use(_new_text)
        for item in side:
            feed._element(item)

    def link_old() -> None:
        _use(_old_text)
        for _, message in shared:
            link.encode(message)

    def link_new() -> None:  # each payload's text written by its feed event just before
        _use(_new_text)
        for item, message in shared:
            plain.payload_text(item.payload)
            link.encode(message)

    def link_base() -> None:  # what link_new does besides the link message: taken off
        for item, _ in shared:
            plain.payload_text(item.payload)

    def both_old() -> None:
        _use(_old_text)
        _wire(items)

    def both_new() -> None:
        plain._PAYLOAD_TEXTS.clear()
        _use(_new_text)
        _wire(items)

    try:
        figures["wire: a feed event, per side event"] = alternate(
            feed_old, feed_new, len(side), rounds)
        figures["wire: a shared event's link message, after its feed event, per message"] = (
            _link(link_old, link_new, link_base, len(shared), rounds))
        figures["wire: feed and link in turn, per side event"] = alternate(
            both_old, both_new, len(items), rounds)
    finally:
        _use(_new_text)
    counted = counts(items)
    counted["payloads in the store's rows: stream rows"] = sum(
        1 for e in events if isinstance(e, (Stream.Opened, Stream.Recorded)))
    counted["payloads in the store's rows: again in out-link rows"] = len(sent)
    return counted, figures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--cases", type=int, default=40)
    args = parser.parse_args(argv)
    counted, figures = measure(args.rounds, args.cases)
    for name, value in counted.items():
        print(f"{name}: {value}")
    for name, (old, new) in figures.items():
        print(f"{name}: {old:.2f} -> {new:.2f} us (x{old / new:.2f})")


if __name__ == "__main__":
    main()
