"""A region's event store: eventsourcing aggregates that hold decider events, nothing more.

Why these aggregates:
- `Stream` wraps one decider stream (one side of a case, or one register entry). Its events carry
  the domain event's type, schema version and payload; the decider folds them. Aggregate id =
  `side_id` (uuid5 of case id and region), so regions never write each other's streams.
- `OutLink` (one per destination) gets one `Sent` per shared event: its *version is the link
  sequence*, so contiguity and uniqueness come from the store's optimistic concurrency, and a
  re-send reads the same numbers back from the store. A store restored from a backup steps over
  the numbers its peers recorded after the backup with one `Lost` each (`link_restore`).
- `InLink` (one per origin) gets one `Recorded` per counterpart event applied: version = the
  origin's link sequence. Recording n+1 in the same transaction as the case's events is what makes
  the effect exactly-once: a duplicate conflicts or is seen as already recorded.
- `CommandRecord` keeps `(principal, command_id) -> (request hash, outcome)` in the same
  transaction as the command's events; `Quarantined` keeps undecodable or unknown-sender messages
  with their reason; `CursorRecord` remembers how far a tailer (the relay, the feed) has read.
Every event gets its timestamp from the injected clock (`now`), never from the library default.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate
from eventsourcing.utils import register_topic

from domain.payloads import encodable
from domain.uuids import uuid5 as fast_uuid5
from regions.core import rows
from regions.core.event_store import AggregatesCollected as AggregatesCollected  # re-exported
from regions.core.event_store import EventStore as EventStore  # re-exported
from regions.core.stream_reads import load_stream as load_stream  # re-exported
from regions.core.stream_reads import load_streams as load_streams  # re-exported

NS = uuid5(NAMESPACE_URL, "https://tongban.example/ns")


@functools.lru_cache(maxsize=4096)
def stable_id(*parts: str) -> UUID:
    """uuid5 of the parts. Memoised (as `sides.side_id` is): a command's record id is asked for
    when it is claimed, recorded and replayed, a link's and a register entry's at every step,
    and a uuid5 costs a SHA-1 and a `UUID` built from it (~2.5 µs)."""
    return fast_uuid5(NS, "/".join(parts))


class Stream(Aggregate):
    """One decider stream: a case side (`kind="side"`) or a register entry (`kind="register"`)."""

    class Opened(Aggregate.Created):
        kind: str
        key: dict[str, Any]
        type: str
        schema_version: int
        payload: dict[str, Any]

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Stream)
            aggregate.entries = [(self.type, self.schema_version, self.payload)]

    class Recorded(Aggregate.Event):
        type: str
        schema_version: int
        payload: dict[str, Any]

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Stream)
            aggregate.entries.append((self.type, self.schema_version, self.payload))

    def __init__(self, kind: str, key: dict[str, Any], type: str, schema_version: int,
                 payload: dict[str, Any]) -> None:
        self.kind = kind
        self.key = key
        self.entries: list[tuple[str, int, dict[str, Any]]] = []

    @classmethod
    def open(cls, id_: UUID, kind: str, key: dict[str, Any], type_: str, schema_version: int,
             payload: dict[str, Any], now: dt.datetime, *, decoded: Any = None) -> Stream:
        stream: Stream = rows.create(cls, cls.Opened, id_, now, kind=kind, key=key, type=type_,
                                     schema_version=schema_version, payload=payload)
        stream.remember(decoded)
        return stream

    def record(self, type_: str, schema_version: int, payload: dict[str, Any],
               now: dt.datetime, *, decoded: Any = None) -> None:
        rows.trigger(self, self.Recorded, now, type=type_, schema_version=schema_version,
                     payload=payload)
        self.remember(decoded)

    def remember(self, decoded: Any) -> None:
        """Keep `decoded`, the domain event the latest entry's payload was written from, until
        the stream is saved (`EventStore.save` hands it to `RecentLog`, whose readers then need
        not decode the payload again). Not an event attribute: the mapper stores those."""
        if decoded is not None:
            self.__dict__.setdefault("decoded", {})[self.version] = decoded


class OutLink(Aggregate):
    """The outbound sequence of one link (this region -> `destination`); version = link_seq."""

    class Started(Aggregate.Created):
        origin: str
        destination: str

    class Sent(Aggregate.Event):
        message: dict[str, Any]

    class Lost(Aggregate.Event):
        """A link_seq the peer recorded that this store no longer holds: sent after the backup
        it was restored from (`regions.core.link_restore`). Numbering on after it, never again
        through it, is what keeps a peer from dropping new messages as duplicates."""
        destination: str  # what the relay moves the mark of (a `Sent` says it in its message)
        restore: str  # which restore: its instant, as the operator's report names it

    def __init__(self, origin: str, destination: str) -> None:
        self.origin = origin
        self.destination = destination

    @staticmethod
    def id_for(origin: str, destination: str) -> UUID:
        return stable_id("outlink", origin, destination)

    @classmethod
    def start(cls, origin: str, destination: str, now: dt.datetime) -> OutLink:
        return rows.create(cls, cls.Started, cls.id_for(origin, destination), now,
                           origin=origin, destination=destination)

    @property
    def last_seq(self) -> int:
        return self.version - 1  # version 1 is the Started event

    def send(self, message: dict[str, Any], now: dt.datetime) -> int:
        rows.trigger(self, self.Sent, now, message=message)
        return self.last_seq

    def lose(self, restore: str, now: dt.datetime) -> int:
        """Step over the next link_seq: lost with the store (see `Lost`)."""
        self.trigger_event(self.Lost, timestamp=now, destination=self.destination,
                           restore=restore)
        return self.last_seq


class InLink(Aggregate):
    """The inbound sequence of one link (`origin` -> this region); version - 1 = last link_seq."""

    class Started(Aggregate.Created):
        origin: str
        destination: str

    class Recorded(Aggregate.Event):
        link_seq: int
        ref: str
        type: str

    def __init__(self, origin: str, destination: str) -> None:
        self.origin = origin
        self.destination = destination

    @staticmethod
    def id_for(origin: str, destination: str) -> UUID:
        return stable_id("inlink", origin, destination)

    @classmethod
    def start(cls, origin: str, destination: str, now: dt.datetime) -> InLink:
        return rows.create(cls, cls.Started, cls.id_for(origin, destination), now,
                           origin=origin, destination=destination)

    @property
    def last_seq(self) -> int:
        return self.version - 1

    def record(self, link_seq: int, ref: str, type_: str, now: dt.datetime) -> None:
        if link_seq != self.last_seq + 1:
            raise ValueError(f"link {self.origin}->{self.destination}: expected "
                             f"{self.last_seq + 1}, got {link_seq}")
        rows.trigger(self, self.Recorded, now, link_seq=link_seq, ref=ref, type=type_)


class CommandRecord(Aggregate):
    """An idempotent command's stored outcome, saved with the command's events."""

    class Done(Aggregate.Created):
        principal: str
        command_id: str
        request_hash: str
        outcome: dict[str, Any]

    def __init__(self, principal: str, command_id: str, request_hash: str,
                 outcome: dict[str, Any]) -> None:
        self.principal = principal
        self.command_id = command_id
        self.request_hash = request_hash
        self.outcome = outcome

    @staticmethod
    def id_for(principal: str, command_id: str) -> UUID:
        return stable_id("command", principal, command_id)

    @classmethod
    def done(cls, principal: str, command_id: str, request_hash: str, outcome: dict[str, Any],
             now: dt.datetime) -> CommandRecord:
        return rows.create(cls, cls.Done, cls.id_for(principal, command_id), now,
                           principal=principal, command_id=command_id, request_hash=request_hash,
                           outcome=outcome)


class Quarantined(Aggregate):
    """A message that did not decode, authenticate or come from a known region."""

    class Parked(Aggregate.Created):
        reason: str
        subject: str
        data: str  # latin-1 text of the raw bytes, so nothing is lost
        headers: dict[str, str]

    class Replayed(Aggregate.Event):
        outcome: str

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Quarantined)
            aggregate.state = f"replayed:{self.outcome}"

    class Discarded(Aggregate.Event):
        by: str
        reason: str

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Quarantined)
            aggregate.state = "discarded"

    def __init__(self, reason: str, subject: str, data: str, headers: dict[str, str]) -> None:
        self.reason = reason
        self.subject = subject
        self.data = data
        self.headers = headers
        self.state = "parked"

    @classmethod
    def park(cls, id_: UUID, reason: str, subject: str, data: bytes, headers: dict[str, str],
             now: dt.datetime) -> Quarantined:
        # The texts may echo a hostile sender's (an exception's, a header's): escaped, so that
        # the store can encode them and the inbox is never wedged on its own quarantine.
        return cls._create(cls.Parked, id=id_, timestamp=now, reason=encodable(reason),
                           subject=encodable(subject), data=data.decode("latin-1"),
                           headers={encodable(k): encodable(v) for k, v in headers.items()})

    @property
    def raw(self) -> bytes:
        return self.data.encode("latin-1")

    def replayed(self, outcome: str, now: dt.datetime) -> None:
        self.trigger_event(self.Replayed, timestamp=now, outcome=outcome)

    def discarded(self, by: str, reason: str, now: dt.datetime) -> None:
        self.trigger_event(self.Discarded, timestamp=now, by=encodable(by),
                           reason=encodable(reason))


class CursorRecord(Aggregate):
    """How far one tailer of this region has read its notification log (a notification id).

    One per tailer: the id is `stable_id(name, region)`, so the relay's ("relay") and the
    feed's ("feed") are the records their earlier classes (`RelayCursor`, `FeedCursor`) wrote.
    A tailer that must know more than its position at start-up saves it with the position
    (`Marked`: the relay's high-water mark per link), so that a start reads one event, not the
    history up to the position.
    """

    class Started(Aggregate.Created):
        region: str

    class Advanced(Aggregate.Event):
        position: int

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, CursorRecord)
            aggregate.position = self.position
            aggregate.marks = None

    class Marked(Aggregate.Event):
        position: int
        #: A mark per key as of `position` (the relay: destination -> last link_seq).
        marks: dict[str, int]

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, CursorRecord)
            aggregate.position = self.position
            aggregate.marks = dict(self.marks)

    def __init__(self, region: str) -> None:
        self.region = region
        self.position = 0
        self.marks: dict[str, int] | None = {}

    @staticmethod
    def id_for(name: str, region: str) -> UUID:
        return stable_id(name, region)

    @classmethod
    def start(cls, id_: UUID, region: str, now: dt.datetime) -> CursorRecord:
        return cls._create(cls.Started, id=id_, timestamp=now, region=region)

    def advance(self, position: int, now: dt.datetime,
                marks: Mapping[str, int] | None = None) -> None:
        if marks is None:
            self.trigger_event(self.Advanced, timestamp=now, position=position)
        else:
            self.trigger_event(self.Marked, timestamp=now, position=position, marks=dict(marks))


#: The names the persisted classes had before `regions/` was layered. Stores written then name
#: them by these topics (eventsourcing keeps `module:QualName` with every event, and the
#: aggregate's class in its first event), so each old topic, and the topic of each event class
#: nested in it, resolves to the class that holds it now. Never remove a line: a store keeps its
#: records for good.
FORMER_TOPICS: dict[str, type[Aggregate]] = {
    "regions.ledger:Stream": Stream,
    "regions.ledger:OutLink": OutLink,
    "regions.ledger:InLink": InLink,
    "regions.ledger:CommandRecord": CommandRecord,
    "regions.ledger:Quarantined": Quarantined,
    "regions.ledger:RelayCursor": CursorRecord,
    "regions.feed:FeedCursor": CursorRecord,
}


def _register_former_topics() -> None:
    for topic, cls in FORMER_TOPICS.items():
        register_topic(topic, cls)
        for name, value in vars(cls).items():
            if isinstance(value, type) and issubclass(value, Aggregate.Event) and (
                    value.__qualname__ == f"{cls.__qualname__}.{name}"):
                register_topic(f"{topic}.{name}", value)


_register_former_topics()
