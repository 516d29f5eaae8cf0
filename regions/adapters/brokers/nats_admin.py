"""JetStream provisioning and admin views of the NATS adapter (`NatsBroker` inherits them).

Why apart from `nats`: the adapter's hot path (publish, fetch, settle) and its provisioning
are read for different reasons; together the module grew past 400 lines. Provisioning
(`ensure_*`) creates what is missing and updates only editable settings, never touching
messages or a consumer's position (the rules are in `regions.adapters.brokers.nats`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import nats.errors
import nats.js.errors
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext, api

from regions.adapters.brokers import retention as retention_
from regions.adapters.brokers.nats_pull import Settles
from regions.adapters.brokers.retention import Retention
from regions.core.ports import (
    BrokerError,
    ConsumerInfo,
    NoConsumer,
    NoStream,
    StreamInfo,
    check_provisioning,
)
from regions.wire import subjects

T = TypeVar("T")


@dataclass(frozen=True)
class StreamKind:
    """What tells a region's streams apart: name, subjects, whether a purge is denied, and the
    default retention. Why a table: the streams are provisioned alike otherwise."""

    name: Callable[[str], str]
    subjects: Callable[[str], list[str]]
    #: Purging is denied on every stream but the quarantine (`TB_DLQ_`).
    deny_purge: bool
    retention: Retention


EVENTS = StreamKind(subjects.event_stream_name, subjects.event_stream_subjects, True,
                    retention_.STREAMS)
DEAD_LETTERS = StreamKind(subjects.dead_letter_stream_name,
                          lambda dest: [subjects.dead_letter_subject(dest)], False,
                          retention_.DEAD_LETTERS)
FEED = StreamKind(subjects.feed_stream_name, subjects.feed_stream_subjects, True,
                  retention_.STREAMS)
#: Multi-site: the domain's copy of events to a region homed elsewhere (`TB_OUT_<dest>`).
OUTBOUND = StreamKind(subjects.outbound_stream_name, subjects.event_stream_subjects, True,
                      retention_.STREAMS)

_STREAM_NOT_FOUND = 10059
_CONSUMER_NOT_FOUND = 10014


class JetStreamAdmin:
    """Streams and consumers: `ensure_*`, `stream_info`, `consumer_info` (`BrokerAdmin`)."""

    _nc: NatsClient
    _js: JetStreamContext
    _timeout: float
    _settles: Settles
    _closed: bool

    # What provisioning sets on a stream (`ensure_*_stream`): the duplicate window (s), the
    # replicas (1) and the retention (None: the stream kind's). Keyword-only parameters, not
    # `**settings`: a misspelt name is a TypeError at the call, not a setting dropped.

    async def ensure_stream(
        self, dest: str, *, duplicate_window: float, replicas: int = 1,
        retention: Retention | None = None,
    ) -> StreamInfo:
        return await self._ensure_region_stream(
            EVENTS, dest, duplicate_window, replicas, retention)

    async def ensure_dead_letter_stream(
        self, dest: str, *, duplicate_window: float, replicas: int = 1,
        retention: Retention | None = None,
    ) -> StreamInfo:
        return await self._ensure_region_stream(
            DEAD_LETTERS, dest, duplicate_window, replicas, retention)

    async def ensure_feed_stream(
        self, region: str, *, duplicate_window: float, replicas: int = 1,
        retention: Retention | None = None,
    ) -> StreamInfo:
        """`TB_FEED_<region>`: the region's back-end feed; the same settings as an event stream."""
        return await self._ensure_region_stream(
            FEED, region, duplicate_window, replicas, retention)

    async def ensure_backend_consumer(
        self, region: str, backend: str, *, process: str | None = None, ack_wait: float,
        max_ack_pending: int,
    ) -> ConsumerInfo:
        """Back-end `backend`'s durable pull consumer on `TB_FEED_<region>`: explicit acks,
        from the feed's start, unlimited deliveries, filtered to one process if given. Only the
        admin creates it (the back-end may read, pull and ack it); an existing one keeps its
        position and filter (a different filter is refused: `BrokerError`)."""
        check_provisioning(ack_wait=ack_wait, max_ack_pending=max_ack_pending)
        return await self._ensure_durable(
            subjects.feed_stream_name(region), subjects.feed_consumer_name(backend),
            {"ack_wait": float(ack_wait), "max_deliver": -1, "max_ack_pending": max_ack_pending},
            subjects.feed_filter(region, process))

    async def ensure_consumer(
        self, dest: str, *, ack_wait: float, max_deliver: int = -1, max_ack_pending: int = 1000,
    ) -> ConsumerInfo:
        check_provisioning(
            ack_wait=ack_wait, max_deliver=max_deliver, max_ack_pending=max_ack_pending)
        return await self._ensure_durable(
            subjects.event_stream_name(dest), subjects.inbox_consumer_name(dest),
            {"ack_wait": float(ack_wait), "max_deliver": max_deliver,
             "max_ack_pending": max_ack_pending})

    async def ensure_outbound_stream(
        self, dest: str, *, duplicate_window: float, replicas: int = 1,
        retention: Retention | None = None,
    ) -> StreamInfo:
        """Multi-site: `TB_OUT_<dest>` holds `tb.v1.evt.<dest>.*` published on this domain for a
        region homed on another; the same settings as an event stream (nothing is discarded)."""
        return await self._ensure_region_stream(
            OUTBOUND, dest, duplicate_window, replicas, retention)

    async def ensure_sources(self, dest: str, domains: Sequence[str]) -> StreamInfo:
        """Multi-site: `TB_EVT_<dest>` also takes in `TB_OUT_<dest>` of each other JetStream
        domain (through `$JS.<domain>.API` over the leafnode). Sources are set, not added to:
        the list given is the whole list. The stream must exist (`ensure_stream` first)."""
        name = subjects.event_stream_name(dest)
        wanted_sources = [
            api.StreamSource(name=subjects.outbound_stream_name(dest),
                             external=api.ExternalStream(api=f"$JS.{domain}.API"))
            for domain in dict.fromkeys(domains)]
        current = await self._api(lambda: self._js.stream_info(name))
        have = {(s.name, s.external.api if s.external else None)
                for s in current.config.sources or ()}
        if have == {(s.name, s.external.api if s.external else None) for s in wanted_sources}:
            return _stream_info(current)
        wanted = current.config.evolve(sources=wanted_sources or None)
        return _stream_info(await self._api(lambda: self._js.update_stream(wanted)))

    async def stream_info(self, stream: str) -> StreamInfo:
        return _stream_info(await self._api(lambda: self._js.stream_info(stream)))

    async def consumer_info(self, stream: str, consumer: str) -> ConsumerInfo:
        """As the server counts, after it has applied every settle this client sent."""
        self._require_connected(BrokerError)
        await self._settles.confirmed(self._timeout)
        return _consumer_info(await self._api(lambda: self._js.consumer_info(stream, consumer)))

    # ----------------------------------------------------------------- internals

    def _require_connected(self, error: type[BrokerError]) -> None:
        if self._closed or self._nc.is_closed:
            raise BrokerError("connection closed")
        if not self._nc.is_connected:
            raise error("not connected to NATS (reconnecting)")

    async def _api(self, call: Callable[[], Awaitable[T]]) -> T:
        """A JetStream API request, its errors mapped onto the port's."""
        self._require_connected(BrokerError)
        try:
            return await call()
        except nats.js.errors.NotFoundError as exc:
            if exc.err_code == _STREAM_NOT_FOUND:
                raise NoStream(exc.description or "stream not found") from exc
            if exc.err_code == _CONSUMER_NOT_FOUND:
                raise NoConsumer(exc.description or "consumer not found") from exc
            raise BrokerError(f"JetStream: {exc.description} (err_code {exc.err_code})") from exc
        except nats.js.errors.APIError as exc:
            raise BrokerError(f"JetStream refused: {exc.description} "
                              f"(err_code {exc.err_code})") from exc
        except (nats.errors.Error, TimeoutError, OSError) as exc:
            raise BrokerError(f"JetStream request failed: {exc!r}") from exc

    async def _ensure_region_stream(
        self, kind: StreamKind, region: str, window: float, replicas: int,
        retention: Retention | None,
    ) -> StreamInfo:
        """`kind`'s stream of `region`, with its settings (checked as JetStream would refuse or
        silently replace them) and, unless given, the kind's retention."""
        check_provisioning(duplicate_window=window, replicas=replicas)
        return await self._ensure_stream(
            kind.name(region), kind.subjects(region), window, replicas,
            deny_purge=kind.deny_purge,
            retention=kind.retention if retention is None else retention)

    async def _ensure_durable(
        self, stream: str, name: str, editable: dict[str, Any], wanted_filter: str | None = None,
    ) -> ConsumerInfo:
        """The durable pull consumer `name` on `stream` (explicit acks, from the stream's
        start), its `editable` settings set; an existing one keeps its position, and its filter
        (when `wanted_filter` is given, another filter is refused: `BrokerError`)."""
        try:
            current = await self._api(lambda: self._js.consumer_info(stream, name))
        except NoConsumer:
            wanted = api.ConsumerConfig(
                name=name, durable_name=name, ack_policy=api.AckPolicy.EXPLICIT,
                deliver_policy=api.DeliverPolicy.ALL, replay_policy=api.ReplayPolicy.INSTANT,
                filter_subject=wanted_filter,
            ).evolve(**editable)
        else:
            if wanted_filter is not None and current.config.filter_subject != wanted_filter:
                raise BrokerError(
                    f"consumer {name} on {stream} filters {current.config.filter_subject!r}, "
                    f"not {wanted_filter!r}: give this back-end another name")
            wanted = current.config.evolve(**editable)
            if wanted == current.config:
                return _consumer_info(current)
        return _consumer_info(await self._api(lambda: self._js.add_consumer(stream, wanted)))

    async def _ensure_stream(
        self, name: str, patterns: list[str], window: float, replicas: int, *, deny_purge: bool,
        retention: Retention,
    ) -> StreamInfo:
        if window > retention.max_age:
            raise ValueError(f"duplicate_window {window} s exceeds the streams' max_age")
        managed: dict[str, Any] = {
            "subjects": patterns, "retention": api.RetentionPolicy.LIMITS,
            "storage": api.StorageType.FILE, "discard": api.DiscardPolicy.NEW,
            "max_msgs": -1, "max_bytes": retention.max_bytes, "max_age": retention.max_age,
            "max_msgs_per_subject": -1,
            "duplicate_window": float(window), "num_replicas": replicas,
            "allow_rollup_hdrs": False, "deny_purge": deny_purge,
        }
        try:
            current = await self._api(lambda: self._js.stream_info(name))
        except NoStream:
            config = api.StreamConfig(name=name).evolve(**managed)
            return _stream_info(await self._api(lambda: self._js.add_stream(config)))
        if current.config.persist_mode == api.PersistMode.ASYNC:
            raise BrokerError(f"stream {name} has persist_mode async, which acknowledges writes "
                              "before they are flushed; recreate it without")
        wanted = current.config.evolve(**managed)
        if current.config.deny_purge and not deny_purge:
            wanted = wanted.evolve(deny_purge=True)  # JetStream cannot lift it; keep it
        if wanted == current.config:
            return _stream_info(current)
        return _stream_info(await self._api(lambda: self._js.update_stream(wanted)))


def _stream_info(info: api.StreamInfo) -> StreamInfo:
    config, state = info.config, info.state
    return StreamInfo(
        name=config.name or "", subjects=tuple(config.subjects or ()),
        duplicate_window=float(config.duplicate_window or 0.0),
        replicas=config.num_replicas or 1, messages=state.messages,
        first_seq=state.first_seq, last_seq=state.last_seq,
    )


def _consumer_info(info: api.ConsumerInfo) -> ConsumerInfo:
    config = info.config
    return ConsumerInfo(
        name=info.name, stream=info.stream_name, ack_wait=float(config.ack_wait or 0.0),
        max_deliver=config.max_deliver if config.max_deliver is not None else -1,
        num_pending=info.num_pending or 0, num_ack_pending=info.num_ack_pending or 0,
        ack_floor=info.ack_floor.stream_seq if info.ack_floor else 0,
        filter_subject=config.filter_subject or "",
        max_ack_pending=config.max_ack_pending if config.max_ack_pending is not None else -1,
    )
