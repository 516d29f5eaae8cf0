"""Prometheus metrics of one node process (`/metrics`), read from `NodeStatus` at scrape time.

Why a collector and not counters incremented in place: the numbers already exist (the driver's
counters, the inbox's stats and lag, the store's pool), and reading them when scraped keeps the
hot paths free of metric calls. Why a registry per node: the global registry is process-wide,
and tests run several nodes in one process. Every metric, with every label set known at start
(the node's peers as links, every command outcome), is exposed from the first scrape, as zero
until something happens, so dashboards and alerts see a series instead of "no data".
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from domain.provisional import DEFAULT_HORIZON_DAYS
from regions.core.commands import KINDS
from regions.runtime.status import NodeStatus
from regions.runtime.thread_cpu import by_role

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

#: Process totals: name (without `_total`), help, key in `NodeStatus.totals()`.
COUNTERS = (
    ("tongban_events_published", "Events the outbox relay published to the broker.", "published"),
    ("tongban_events_consumed", "Messages the inbox fetched from the broker.", "consumed"),
    ("tongban_events_applied", "Counterpart events the inbox recorded (exactly once).", "applied"),
    ("tongban_inbox_gaps", "Messages held because an earlier one on their link was missing.",
     "gaps"),
    ("tongban_quarantined", "Messages parked in quarantine (undecodable, unknown sender...).",
     "quarantined"),
    ("tongban_deadline_misses", "Statutory deadlines recorded as missed (DeadlineMissed).",
     "deadline_misses"),
    ("tongban_inbox_dropped", "Messages on the pull inbox that were not JetStream deliveries "
     "(or overflowed its bounded queue), dropped.", "dropped"),
    ("tongban_inbox_hold_dropped", "Messages past a link's gap beyond the inbox's hold window: "
     "acknowledged and dropped, the origin re-sends them (a rising count means a lossy link).",
     "hold_dropped"),
    ("tongban_quarantine_dropped", "Messages diverted to quarantine but not kept: it was full "
     "(quarantine_max_records / _bytes; the oldest are kept). Still acked, links go on.",
     "quarantine_dropped"),
    ("tongban_link_publish_failures", "Publishes to one destination that failed (no stream, "
     "timeouts): that link falls behind and is caught up, the others go on.",
     "link_publish_failures"),
    ("tongban_document_requests_throttled", "Document requests refused as too_many_requests: "
     "their region spent its budget of case reads (regions.runtime.documents).",
     "document_requests_throttled"),
    ("tongban_reused_link_seqs", "Messages quarantined because their link_seq was recorded "
     "for another event: the origin was restored from a backup without `tongban links "
     "restored` (docs/operations.md). Any is an alarm.", "reused_link_seq"),
    ("tongban_lost_link_seqs_asked", "Link messages a peer asked to have re-sent that this "
     "region lost in a restore from a backup (OutLink.Lost): they cannot be re-sent, and the "
     "peer's link stays behind that gap. The peer recorded less than `tongban links restored` "
     "was given for it (docs/operations.md). Any is an alarm.", "lost_asked"),
    ("tongban_unreadable_records", "Stored records that could not be decoded, set aside so the "
     "relay, feed, views and start-up go on (log lines name each one).", "unreadable"),
)


class NodeCollector(Collector):
    def __init__(self, status: NodeStatus) -> None:
        self.status = status

    def collect(self) -> Iterator[Metric]:
        status = self.status
        totals = status.totals()
        for name, doc, key in COUNTERS:
            family = CounterMetricFamily(name, doc)
            family.add_metric([], totals[key])
            yield family
        commands = CounterMetricFamily("tongban_commands", "Commands served, by outcome.",
                                       labels=["outcome"])
        for outcome in KINDS:
            commands.add_metric([outcome], totals[f"command:{outcome}"])
        yield commands
        links = status.links
        lag, held = status.inbox_lag(), status.inbox_held()
        lag_family = GaugeMetricFamily(
            "tongban_inbox_lag", "Messages announced or held on a link and not yet applied.",
            labels=["link"])
        held_family = GaugeMetricFamily(
            "tongban_inbox_held", "Messages held on a link, waiting for a missing one (a gap).",
            labels=["link"])
        for link in links:
            lag_family.add_metric([link], lag.get(link, 0))
            held_family.add_metric([link], held.get(link, 0))
        yield lag_family
        yield held_family
        views = GaugeMetricFamily(
            "tongban_projection_lag_events",
            "Log positions a read model is behind the newest committed one.", labels=["view"])
        for name, figures in (status.projections() or {"cases": {"lag": 0}}).items():
            views.add_metric([name], figures["lag"])
        yield views
        yield _gauge("tongban_db_connections_open",
                     "Database connections this process holds open (pool and worker lock).",
                     status.open_connections())
        yield _gauge("tongban_worker_active",
                     "1 when this process is its region's active worker, 0 as a standby.",
                     1 if status.worker == "active" else 0)
        yield _gauge("tongban_broker_connected", "1 while connected to the broker.",
                     1 if status.broker.is_connected else 0)
        threads = GaugeMetricFamily(
            "tongban_thread_cpu_seconds",
            "CPU seconds (user + system) of this process's threads by role: the event loop "
            "(broker), the database thread (every transaction, one at a time), the views' "
            "writer, the rest. The database thread's rising towards one second a second is "
            "the node at its limit. Threads that ended are not counted.", labels=["thread"])
        for role, seconds in by_role().items():
            threads.add_metric([role], seconds)
        yield threads
        coverage = status.calendar_coverage()
        yield _gauge("tongban_calendar_official_days_missing",
                     f"Days among the next {DEFAULT_HORIZON_DAYS} that no official holiday "
                     "schedule decides (the conservative fallback does, and deadlines over them "
                     "are provisional): above 0, install the year's schedule as a holiday file. "
                     "0 on a standby.", len(coverage.missing) if coverage else 0)


def _gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, value=value)


def registry_for(status: NodeStatus) -> CollectorRegistry:
    """A registry of this node's own (not the process-global one)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(NodeCollector(status))
    return registry


def render(registry: CollectorRegistry) -> bytes:
    return generate_latest(registry)
