"""Operating a region's quarantine: list, show, replay and discard parked messages.

The inbox parks what it cannot take (`regions.core.inbox`: bytes that do not decode, an unknown or
lying sender, an event the domain or the store refuses) as `Quarantined` records and steps its
link over them, so one bad message never blocks a link. Operators then decide:

- **replay** runs the message through the inbox rules again — typically after an upgrade that
  knows a newer schema or a new event type. If the link stepped over its position, the message
  is applied without touching the link (`RegionNode.receive(record_link=False)`); if the link has
  not reached it yet and it is next, it is applied as the inbox would; if the link already applied
  that position for real, nothing happens ("already_applied"). The effects and the record's
  `Replayed` event are saved in *one* transaction, so a replay cannot apply twice: a second replay
  of the same record is refused, and two at once conflict in the store.
- **discard** marks the record with who decided and why. Nothing is deleted: the record, its
  bytes and its history stay (nothing recorded is lost).

Why replay requires the node to be stopped: the running node keeps each link's position, its
deadlines and its case views in memory. A replay that records a link position or opens a deadline
behind its back would leave it with a stale position (it would retry that message forever) and a
timer that never fires. So the caller holds the region's worker lock (`regions.adapters.worker_lock`)
while replaying, exactly as an active node does; a running node holds it, and replay refuses.
List, show and discard only read or append to the record itself, which the node never writes
again after parking it, so they are safe while the node runs.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.utils import get_topic

from domain.kernel import DomainError
from regions.core import membership
from regions.core.errors import DecodeError, StoreRefused
from regions.core.inbox import LINK_RECORD_FORM, LINK_RECORD_HEADER
from regions.core.messages import LinkMessage, WireItem
from regions.core.node import CONFLICTS
from regions.core.store import EventStore, InLink, Quarantined
from regions.runtime.bootstrap import Region
from regions.wire import link, subjects

PARKED_TOPIC = get_topic(Quarantined.Parked)
#: Outcomes after which a record is settled and may not be replayed or discarded again.
SETTLED = ("replayed:applied", "replayed:already_applied", "replayed:no_effect", "discarded")


class QuarantineError(DomainError):
    """An operator's request that cannot be done (unknown id, settled record, node running)."""

    code = "quarantine"


@dataclass(frozen=True)
class Entry:
    """One quarantined message as an operator sees it."""

    id: UUID
    parked_at: dt.datetime
    origin: str
    subject: str
    reason: str
    state: str
    headers: dict[str, str]
    data: bytes
    history: tuple[tuple[dt.datetime, str], ...]

    @property
    def settled(self) -> bool:
        return self.state in SETTLED

    def summary(self) -> dict[str, Any]:
        return {"id": str(self.id), "parked_at": self.parked_at.isoformat(),
                "origin": self.origin, "subject": self.subject, "reason": self.reason,
                "state": self.state}

    def detail(self) -> dict[str, Any]:
        return {**self.summary(), "headers": self.headers, "size": len(self.data),
                "data_base64": base64.b64encode(self.data).decode(),
                "data_text": printable(self.data),
                "history": [{"at": at.isoformat(), "what": what} for at, what in self.history]}


@dataclass(frozen=True)
class Replay:
    entry: Entry
    outcome: str  # applied | already_applied | no_effect | failed
    detail: str


# --------------------------------------------------------------------------- reading


def ids(app: EventStore) -> Iterator[UUID]:
    """Every quarantined message's id, oldest first (paged through the notification log)."""
    start: int | None = None
    while True:
        page = app.recorder.select_notifications(start=start, limit=500, topics=[PARKED_TOPIC],
                                                 inclusive_of_start=start is None)
        for notification in page:
            yield UUID(str(notification.originator_id))
        if len(page) < 500:
            return
        start = page[-1].id


def entries(app: EventStore) -> list[Entry]:
    return [get(app, qid) for qid in ids(app)]


def find(app: EventStore, ref: str) -> Entry:
    """An entry by its full id or a unique prefix of it (as `list` prints it)."""
    ref = ref.strip().lower()
    if not ref:
        raise QuarantineError("give a quarantine id (see `tongban quarantine list`)")
    matches = [qid for qid in ids(app) if str(qid).startswith(ref)]
    if not matches:
        raise QuarantineError(f"no quarantined message with id {ref!r}")
    if len(matches) > 1:
        raise QuarantineError(f"id prefix {ref!r} matches {len(matches)} messages; give more of it")
    return get(app, matches[0])


def get(app: EventStore, qid: UUID) -> Entry:
    try:
        record: Quarantined = app.repository.get(qid)
    except AggregateNotFoundError:
        raise QuarantineError(f"no quarantined message with id {qid}") from None
    events: list[Any] = list(app.events.get(qid))
    history = tuple((event.timestamp, _describe(event)) for event in events)
    return Entry(record.id, record.created_on, origin_of(record), record.subject, record.reason,
                 record.state, dict(record.headers), record.raw, history)


def _describe(event: Any) -> str:
    if isinstance(event, Quarantined.Parked):
        return f"parked: {event.reason}"
    if isinstance(event, Quarantined.Replayed):
        return f"replayed: {event.outcome}"
    if isinstance(event, Quarantined.Discarded):
        return f"discarded by {event.by}: {event.reason}"
    return type(event).__name__


def origin_of(record: Quarantined) -> str:
    """The sender as far as the record tells: the subject's origin token, or the decoded
    message's origin for a record the domain or the store refused ("" if unknown)."""
    if record.headers.get(LINK_RECORD_HEADER) == LINK_RECORD_FORM:
        try:
            return str(json.loads(record.raw)["message"]["origin"])
        except (ValueError, KeyError, TypeError):
            return ""
    try:
        return subjects.parse_event_subject(record.subject)[1]
    except ValueError:
        return ""


def printable(data: bytes) -> str:
    """The bytes as text safe for a terminal: UTF-8 where it decodes, control and undecodable
    bytes escaped (`\\x1b`, `\\xff`), so a hostile payload cannot drive the operator's screen."""
    text = data.decode("utf-8", errors="backslashreplace")
    return "".join(c if c in "\n\t" or unicodedata.category(c)[0] != "C"
                   else f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}"
                   for c in text)


# --------------------------------------------------------------------------- deciding


def discard(app: EventStore, qid: UUID, *, by: str, reason: str, now: dt.datetime) -> Entry:
    """Mark a record discarded (kept, with who and why)."""
    if not by.strip() or not reason.strip():
        raise QuarantineError("discard needs the operator (--by) and a reason (--reason)")
    record = _open_record(app, qid)
    record.discarded(by.strip(), reason.strip(), now)
    try:
        app.save(record)
    except CONFLICTS:
        raise QuarantineError(f"{qid} changed while discarding it; look again") from None
    return get(app, qid)


def replay(region: Region, qid: UUID, now: dt.datetime) -> Replay:
    """Run a quarantined message through the inbox rules again (the node must be stopped: the
    caller holds the worker lock). A failure is recorded too, and the record stays open."""
    app = region.node.app
    record = _open_record(app, qid)
    try:
        item = _decode(record)
    except DecodeError as exc:
        return _settle(region, record, None, "failed", exc.reason, now)
    if not isinstance(item, LinkMessage):
        return _settle(region, record, None, "no_effect",
                       f"{type(item).__name__} is a control message; its sender repeats it", now)
    refusal = _refusal(region, record, item)
    if refusal:
        return _settle(region, record, None, "failed", refusal, now)
    position = region.node.inlink_position(item.origin)
    if item.link_seq > position + 1:
        return _settle(region, record, None, "failed",
                       f"link {item.origin}->{item.destination} is at #{position}; "
                       f"#{item.link_seq} is not next (the node takes it in order)", now)
    if item.link_seq <= position and not _skipped(app, item):
        return _settle(region, record, None, "already_applied",
                       f"link position #{item.link_seq} was applied by the inbox", now)
    return _settle(region, record, item, "applied", "", now)


def _open_record(app: EventStore, qid: UUID) -> Quarantined:
    try:
        record: Quarantined = app.repository.get(qid)
    except AggregateNotFoundError:
        raise QuarantineError(f"no quarantined message with id {qid}") from None
    if record.state in SETTLED:
        raise QuarantineError(f"{qid} is already settled ({record.state})")
    return record


def _decode(record: Quarantined) -> WireItem:
    if record.headers.get(LINK_RECORD_HEADER) == LINK_RECORD_FORM:
        try:
            kept = json.loads(record.raw)
            return LinkMessage.from_record(kept["message"], int(kept["link_seq"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise DecodeError(f"unreadable link record: {exc!r}") from exc
    return link.decode(record.raw, record.headers)


def _refusal(region: Region, record: Quarantined, item: LinkMessage) -> str:
    """Why the inbox would still refuse this message, or ""."""
    if item.origin not in region.inbox.known:
        return f"unknown sender region {item.origin} (is it in --peers?)"
    if item.destination != region.code:
        return f"addressed to {item.destination}, not {region.code}"
    if record.headers.get(LINK_RECORD_HEADER) != LINK_RECORD_FORM:  # bytes as they arrived
        try:
            subject_origin = subjects.parse_event_subject(record.subject)[1]
        except ValueError:
            return f"subject {record.subject[:200]!r} is not an event subject (fails closed)"
        if subject_origin != item.origin:
            return f"subject says origin {subject_origin}, envelope says {item.origin}"
    return membership.refusal(region.node, item, None)  # a replay is held to the inbox's rule


def _skipped(app: EventStore, item: LinkMessage) -> bool:
    """Whether the link stepped over `item`'s position rather than applying it."""
    link_id = InLink.id_for(item.origin, item.destination)
    for event in app.events.get(link_id, gt=item.link_seq, lte=item.link_seq + 1):
        return isinstance(event, InLink.Recorded) and event.type == "skipped"
    return False


def _settle(region: Region, record: Quarantined, message: LinkMessage | None, outcome: str,
            detail: str, now: dt.datetime) -> Replay:
    """Apply `message` (if any) and record the outcome in one transaction."""
    node = region.node
    uow = node.begin(now)
    try:
        if message is not None:
            skipped = message.link_seq <= node.inlink_position(message.origin)
            result = node.stage_receive(uow, message, record_link=not skipped)
            detail = f"events {', '.join(result.events) or '(none)'}"
        record.replayed(f"failed: {detail}" if outcome == "failed" else outcome, now)
        uow.add(record)
        node.commit(uow)
    except DomainError as exc:
        node.abort(uow)
        return _fail(region, record.id, f"{exc.code}: {exc}", now)
    except StoreRefused as exc:
        return _fail(region, record.id, f"store_refused: {exc}", now)
    except CONFLICTS:
        raise QuarantineError(f"{record.id} or its case changed while replaying; is a node "
                              "running for this region?") from None
    return Replay(get(node.app, record.id), outcome, detail)


def _fail(region: Region, qid: UUID, detail: str, now: dt.datetime) -> Replay:
    record = _open_record(region.node.app, qid)  # fresh: the failed unit's events are gone
    return _settle(region, record, None, "failed", detail, now)
