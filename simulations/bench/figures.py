"""The bench's arithmetic: percentiles, per-phase figures, ratios to the raw bounds.

Why nearest-rank percentiles: with a few hundred samples an interpolated p99 invents values
nobody measured; nearest rank always reports one that was (throughput.md used the same).
Times are seconds on `time.monotonic()`, which on Linux is one clock for every process.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")


def percentile(values: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile (`p` in 0..100) of `values`; None when there are none."""
    if not values:
        return None
    if not 0 <= p <= 100:
        raise ValueError(f"percentile must be within 0..100, got {p}")
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def milliseconds(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 2)


def ratio(figure: float | None, bound: float | None) -> float | None:
    if figure is None or not bound:
        return None
    return round(figure / bound, 4)


def propagation(sent: Mapping[str, float], received: Mapping[str, float]) -> list[float]:
    """Per message: commit at the destination minus commit at the origin (s)."""
    return [received[key] - at for key, at in sent.items() if key in received]


@dataclass
class ProcessFigures:
    """One node process over one phase (CPU and counters are deltas; RSS is at the end)."""

    cpu_seconds: float
    transactions: int
    event_rows: int
    published: int
    consumed: int
    rss_mb: float
    peak_rss_mb: float
    #: `published` broken down: shared events, high-water marks, re-send requests, the back-end
    #: feed's messages (the four add up to it); how many events were re-sent on a
    #: receiver's request, and how many the link messages carried (several a batch).
    link_messages: int = 0
    marks: int = 0
    resend_requests: int = 0
    resent: int = 0
    feed_messages: int = 0
    link_events: int = 0

    @classmethod
    def of(cls, report: Mapping[str, Any]) -> ProcessFigures:
        return cls(report["cpu_seconds"], report["transactions"], report["event_rows"],
                   report["published"], report["consumed"], report["rss_mb"],
                   report["peak_rss_mb"], report.get("link_messages", 0), report.get("marks", 0),
                   report.get("resend_requests", 0), report.get("resent", 0),
                   report.get("feed_messages", 0), report.get("link_events", 0))


@dataclass
class PhaseFigures:
    """What one phase of the two-node run showed."""

    name: str
    offered_rate: float | None  # arrivals per second, None for a closed-loop burst
    completed: int
    elapsed_s: float
    latencies_s: list[float]
    case_latencies_s: list[float]
    processes: dict[str, ProcessFigures] = field(default_factory=dict)
    servers: dict[str, dict[str, float]] = field(default_factory=dict)
    #: Propagation hop by hop (`simulations.bench.hops.table`).
    hops: dict[str, Any] = field(default_factory=dict)
    recorded: bool = True  # False: counted from the finished totals, no timings kept
    #: What the machine did meanwhile (`simulations.bench.contention.usage`), when sampled.
    machine: dict[str, float] = field(default_factory=dict)
    #: First completion to last (recorded phases): the span the completions came over.
    finish_span_s: float | None = None

    @property
    def event_rows(self) -> int:
        return sum(p.event_rows for p in self.processes.values())

    @property
    def cases_per_second(self) -> float:
        return self.completed / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def completion_rate(self) -> float | None:
        """Completions a second between the first and the last: the rate a paced phase's
        completions came at, without the first case's latency that `cases_per_second` (first
        arrival to last completion) counts — in a quick 2 s phase a 0.3 s case latency alone
        puts that figure at ~87 % of the offered rate, whatever the throughput."""
        if self.finish_span_s is None or self.finish_span_s <= 0 or self.completed < 2:
            return None
        return (self.completed - 1) / self.finish_span_s

    @property
    def sustained(self) -> bool:
        """Paced: completions kept up with arrivals (within 10 %)."""
        return self.offered_rate is None or self.cases_per_second >= 0.9 * self.offered_rate

    def per_case(self, attribute: str) -> float | None:
        total = sum(getattr(p, attribute) for p in self.processes.values())
        return total / self.completed if self.completed else None

    def rate(self, attribute: str) -> float | None:
        total = sum(getattr(p, attribute) for p in self.processes.values())
        return total / self.elapsed_s if self.elapsed_s > 0 else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "offered_cases_per_second": self.offered_rate,
            "completed": self.completed,
            "elapsed_s": round(self.elapsed_s, 3),
            "cases_per_second": round(self.cases_per_second, 1),
            "sustained": self.sustained,
            "completion_rate": _round(self.completion_rate, 1),
            "messages_measured": len(self.latencies_s),
            "latency_p50_ms": milliseconds(percentile(self.latencies_s, 50)),
            "latency_p99_ms": milliseconds(percentile(self.latencies_s, 99)),
            "case_p50_ms": milliseconds(percentile(self.case_latencies_s, 50)),
            "case_p99_ms": milliseconds(percentile(self.case_latencies_s, 99)),
            "transactions_per_case": _round(self.per_case("transactions"), 2),
            "messages_per_case": _round(self.per_case("published"), 2),
            "messages_per_case_by_kind": {
                kind: _round(self.per_case(kind), 2)
                for kind in ("link_messages", "marks", "resend_requests", "feed_messages")},
            "link_events_per_case": _round(self.per_case("link_events"), 2),
            "event_rows_per_case": _round(self.per_case("event_rows"), 2),
            "cpu_ms_per_case": _round(self.per_case("cpu_seconds"), 5, scale=1000),
            "processes": {name: vars(p) for name, p in self.processes.items()},
        }




def median_round(rounds: Sequence[T], key: Callable[[T], float]) -> T:
    """The round whose figure is the median (the upper middle one of an even count): one real
    round, so all its figures belong together."""
    if not rounds:
        raise ValueError("no rounds")
    return sorted(rounds, key=key)[len(rounds) // 2]


def _round(value: float | None, digits: int, *, scale: float = 1.0) -> float | None:
    return None if value is None else round(value * scale, digits)


def ratios(burst: PhaseFigures, bounds: Mapping[str, float]) -> dict[str, float | None]:
    """Each end-to-end figure of the burst divided by the raw bound it rests on."""
    return {
        "cases_per_second/pg_commits_per_second": ratio(
            burst.cases_per_second, bounds.get("pg_commits_per_second")),
        "transactions_per_second/pg_commits_per_second": ratio(
            burst.rate("transactions"), bounds.get("pg_commits_per_second")),
        "event_rows_per_second/es_batched_events_per_second": ratio(
            burst.event_rows / burst.elapsed_s if burst.elapsed_s > 0 else None,
            bounds.get("es_batched_events_per_second")),
        "published_per_second/js_publish_per_second": ratio(
            burst.rate("published"), bounds.get("js_publish_per_second")),
        "consumed_per_second/js_fetch_ack_per_second": ratio(
            burst.rate("consumed"), bounds.get("js_fetch_ack_per_second")),
    }


def pairs(bursts: list[PhaseFigures], bare_rounds: list[dict[str, Any]]
          ) -> list[dict[str, Any]]:
    """Each burst round beside the two bare pipeline rounds around it (`bare_rounds` has one
    more than `bursts`): both rates and their ratio, the CPU each took per case (its two
    processes; the servers), and the cores the machine's other processes kept busy meanwhile —
    on a saturated machine a round's rate is about the cores left to it divided by its CPU per
    case, so `cpu_ratio` is the ratio with the contention taken out."""
    if len(bare_rounds) != len(bursts) + 1:
        raise ValueError(f"{len(bursts)} bursts need {len(bursts) + 1} bare rounds around "
                         f"them, got {len(bare_rounds)}")
    pairs = []
    for index, product in enumerate(bursts):
        around = around_figures(bare_rounds[index], bare_rounds[index + 1])
        pair: dict[str, Any] = {"ratio": ratio(product.cases_per_second,
                                               around["cases_per_second"])}
        for side, figures in (("product", {"cases_per_second": round(
                product.cases_per_second, 1), **product.machine}), ("bare", around)):
            pair[side] = {key: figures.get(key) for key in _PAIRED}
        pair["cpu_ratio"] = ratio(_cpu_ms(pair["bare"]), _cpu_ms(pair["product"]))
        pairs.append(pair)
    return pairs


_PAIRED = ("cases_per_second", "cpu_ms_per_case", "servers_cpu_ms_per_case", "other_cores_busy")


def around_figures(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """Two bare rounds as one: their cases over their time, the other figures' mean."""
    elapsed = before["elapsed_s"] + after["elapsed_s"]
    joined: dict[str, Any] = {"cases_per_second": round(
        (before["cases"] + after["cases"]) / elapsed, 1) if elapsed > 0 else None}
    for key in _PAIRED[1:]:
        if before.get(key) is not None and after.get(key) is not None:
            joined[key] = round((before[key] + after[key]) / 2, 2)
    return joined


def _cpu_ms(side: dict[str, Any]) -> float | None:
    """CPU ms a case took: its processes' and the servers'."""
    if side["cpu_ms_per_case"] is None or side["servers_cpu_ms_per_case"] is None:
        return None
    return float(side["cpu_ms_per_case"] + side["servers_cpu_ms_per_case"])


def median(values: list[float | None]) -> float | None:
    """The median of the known values (rounded like `ratio`), None if none is known."""
    known = [v for v in values if v is not None]
    return round(statistics.median(known), 4) if known else None


def spread(values: list[float | None]) -> list[float]:
    """[lowest, highest] of the known values."""
    known = [v for v in values if v is not None]
    return [min(known), max(known)] if known else []
