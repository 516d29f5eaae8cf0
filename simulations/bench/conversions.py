"""CPU of the write path's conversions, old against new, on the values of a seeded simulation.

Why beside `simulations.bench.levers`: the same way of measuring (old and new alternately in one
process, medians of CPU µs per item), for the conversions every event and command pays on its
way to the store: `to_payload` (the generic walk it was, kept here as `walk`, against the
compiled `domain.encoding.to_payload`), `request_hash` (json.dumps against one encoder) and
`stable_id` (a plain uuid5 against the memoised one); and the way back, `event_from_payload`
with each dataclass decoded by the loop it was (`loop_object`) against its compiled converter.

    python -m simulations.bench.conversions [--rounds 15] [--cases 120]
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import hashlib
import io
import json
import statistics
import time
from collections.abc import Callable, Iterator
from typing import Any
from uuid import UUID, uuid5

from domain import payloads
from domain.encoding import to_payload
from domain.kernel import event_from_payload
from domain.payloads import MAX_DEPTH, Converter, PayloadError, fields_of
from domain.sorted_text import sorted_text
from regions.core import idempotency, staging
from regions.core.idempotency import request_hash
from regions.core.store import NS, stable_id
from simulations.bench.alternate import alternate, cpu_us
from simulations.faults import ALL_FAULTS
from simulations.runner import run

_SCALARS = frozenset({str, int, float, bool, type(None)})
_field_names: dict[type, tuple[str, ...]] = {}


def walk(obj: Any) -> Any:
    """`to_payload` before it was compiled per class (main at 88f6cee), verbatim: the reference
    (`tests/property/test_payload_encoding.py`) and the "old" of the figures."""
    kind = type(obj)
    if kind in _SCALARS:
        return obj
    names = _field_names.get(kind)
    if names is None and dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        names = _field_names[kind] = tuple(f.name for f in dataclasses.fields(obj))
    if names is not None:
        return {name: walk(getattr(obj, name)) for name in names}
    if isinstance(obj, dt.datetime):
        if obj.tzinfo is None:
            raise PayloadError("naive datetime in an event; pass aware instants",
                               code="invalid_date")
        return obj.isoformat()
    if isinstance(obj, dt.date):
        return obj.isoformat()
    if isinstance(obj, (list, tuple)):
        return [walk(v) for v in obj]
    if isinstance(obj, dict):
        return {str(k): walk(v) for k, v in obj.items()}
    return obj


def loop_object(tp: type) -> Converter:
    """`domain.payloads._object` before it was compiled per class (main at 4f0ba3e), verbatim:
    the reference (`tests/property/test_payload_decoding.py`) and the "old" of the figures."""
    compiled: list[tuple[str, Converter, bool]] = []
    names: frozenset[str] = frozenset()

    def convert(data: Any, depth: int) -> Any:
        nonlocal names
        if not compiled:  # the fields, compiled at the first call (a type may nest itself)
            fields = fields_of(tp)
            names = frozenset(f.name for f in fields)
            compiled[:] = [(f.name, payloads.converter(f.hint), f.required) for f in fields]
        if type(data) is not dict:
            raise PayloadError(f"expected an object ({tp.__name__}), got {payloads._show(data)}")
        if depth >= MAX_DEPTH:
            raise PayloadError(f"nested deeper than {MAX_DEPTH} levels")
        if not names.issuperset(data):
            key = next(k for k in data if k not in names)
            raise PayloadError(f"{tp.__name__} has no field {str(key)[:64]!r}",
                               code="unknown_field").at(str(key)[:64])
        kwargs = {}
        for name, convert_field, required in compiled:
            if name not in data:
                if required:
                    raise PayloadError("is required", code="missing_field").at(name)
                continue
            try:
                kwargs[name] = convert_field(data[name], depth + 1)
            except PayloadError as exc:
                raise exc.at(name) from None
        try:
            return tp(**kwargs)
        except Exception as exc:  # the type's own rules (a material's sha256, a value object's)
            raise PayloadError(str(exc)) from None
    return convert


@contextlib.contextmanager
def looped() -> Iterator[None]:
    """Decoding as it was: every dataclass by `loop_object`, in converters of their own (the
    compiled ones are put back after)."""
    saved = payloads._converters, payloads._object
    payloads._converters, payloads._object = {}, loop_object
    try:
        yield
    finally:
        payloads._converters, payloads._object = saved


CASE = "8a544a35-eb98-5fd6-9090-34cb9b6e0d08"


def dumped_hash(case_id: str, command: Any) -> str:
    """`request_hash` before its encoder was built once (json.dumps builds one per call)."""
    body = json.dumps(to_payload(command), sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(f"{case_id}:{type(command).__name__}:{body}".encode()).hexdigest()


def plain_stable_id(*parts: str) -> UUID:
    """`stable_id` before it was memoised."""
    return uuid5(NS, "/".join(parts))


def captured(cases: int) -> tuple[list[Any], list[Any]]:
    """The events the nodes staged and the commands they hashed, in a seeded run."""
    events: list[Any] = []
    commands: list[Any] = []

    def event(obj: Any) -> Any:
        events.append(obj)
        return to_payload(obj)

    def command(obj: Any) -> str:
        commands.append(obj)
        return sorted_text(obj)

    staging.to_payload, idempotency.sorted_text = event, command  # the hash's one conversion
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            run(7, cases, faults=ALL_FAULTS)
    finally:
        staging.to_payload, idempotency.sorted_text = to_payload, sorted_text
    return events, commands


def _each(fn: Callable[[Any], Any], items: list[Any]) -> Callable[[], None]:
    def run_all() -> None:
        for item in items:
            fn(item)
    return run_all


def _ids(commands: list[str]) -> Callable[[Callable[..., UUID]], None]:
    """A command's pattern: its record id asked for three times, and the two link ids."""
    def ask(make: Callable[..., UUID]) -> None:
        for command_id in commands:
            for _ in range(3):
                make("command", "backend:bench", command_id)
            make("outlink", "110000", "310000")
            make("inlink", "310000", "110000")
    return ask


def compare(label: str, old: Callable[[Any], Any], new: Callable[[Any], Any], items: list[Any],
            rounds: int) -> None:
    o, n = alternate(_each(old, items), _each(new, items), len(items), rounds)
    print(f"{label}: {o:.2f} -> {n:.2f} us (x{o / n:.2f}), {len(items)} items, "
          f"medians of {rounds}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--cases", type=int, default=120)
    args = parser.parse_args(argv)
    events, commands = captured(args.cases)
    for value in events + commands:
        assert walk(value) == to_payload(value)
    compare("to_payload per event", walk, to_payload, events, args.rounds)
    compare("to_payload per command", walk, to_payload, commands, args.rounds)
    compare("request_hash per command", lambda c: dumped_hash(CASE, c),
            lambda c: request_hash(CASE, c), commands, args.rounds)
    stored = [(e.TYPE, to_payload(e), e.SCHEMA_VERSION) for e in events]
    olds, news = [], []
    for _ in range(args.rounds):
        with looped():
            olds.append(cpu_us(_each(lambda s: event_from_payload(*s), stored), len(stored)))
        news.append(cpu_us(_each(lambda s: event_from_payload(*s), stored), len(stored)))
    o, n = statistics.median(olds), statistics.median(news)
    print(f"event_from_payload per event: {o:.2f} -> {n:.2f} us (x{o / n:.2f}), {len(stored)} "
          f"events, medians of {args.rounds}")
    ids = [f"cmd-{n}" for n in range(3000)]
    olds, news = [], []
    for round_ in range(args.rounds):
        fresh = [f"{i}-{round_}" for i in ids]  # new ids each round: the memo starts cold
        ask = _ids(fresh)
        started = time.process_time()
        ask(plain_stable_id)
        olds.append((time.process_time() - started) / (5 * len(ids)) * 1e6)
        started = time.process_time()
        ask(stable_id)
        news.append((time.process_time() - started) / (5 * len(ids)) * 1e6)
    o, n = statistics.median(olds), statistics.median(news)
    print(f"stable_id per call: {o:.2f} -> {n:.2f} us (x{o / n:.2f}), {5 * len(ids)} calls, "
          f"medians of {args.rounds}")


if __name__ == "__main__":
    main()
