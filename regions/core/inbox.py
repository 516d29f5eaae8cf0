"""The inbox core: counterpart messages in, exactly-once effects out (sans-IO).

Exactly-once is keyed on origin identity, never on broker sequence numbers: each link
(origin -> this region) has a contiguous `link_seq`. For each message:
- `link_seq <= recorded`: already applied — acknowledge, do nothing (a duplicate, a redelivery
  after a crash, a republish after the dedup window);
- `link_seq == recorded + 1`: apply it (the node records the in-link position in the same
  transaction as the effects), then apply any held successors;
- `link_seq > recorded + 1`: count a gap; hold it in memory if it is within `HOLD_WINDOW` of
  `recorded`, else drop it — and acknowledge it either way. A gap that persists past
  `gap_bound` — including one only visible through the origin's announced high-water mark,
  i.e. a lost *last* message — produces a `ResendRequest` to the origin, which re-sends from its
  own store (up to the highest sequence seen when something was dropped, so one round trip
  brings the whole link back).
What each link's state holds, why a held message is acknowledged before it is applied and
how a gap becomes a re-send request: `regions.core.inbox_state`.
Fail closed (issue 11): a message goes to quarantine with its reason — acknowledged, so it is
not redelivered forever, and touching no case — when it does not decode (bounded nesting
included), when its subject does not parse or names another origin than its envelope, when its
origin is not a peer or it is addressed to another region, when its sender is not party to its
case (`membership`), and when anything else goes wrong for it alone: every exception but a lost
store is caught per message, and the rest of the batch goes on. A quarantined message that still
said where it sat on its link steps the link over it, so the link is never blocked. An authentic
event the domain refuses, from a party to its case, is recorded by the node as
`CounterpartEventRejected`.

One transaction per fetched batch (design §5, reference/throughput.md §3): every message of the
batch that is next on its link, the held successors it releases, the quarantine records and the
link positions stepped over are staged into one unit of work and committed once; the driver acks
only what `handle` returns, i.e. after that commit. If the commit fails — a version conflict with
another writer, a value the store refuses, the database gone — the in-memory link state is put
back as it was and the batch runs again message by message, each in its own transaction, so only
a message that fails on its own is diverted (to quarantine when the store refuses its data) and
an outage still fails the batch without acking anything it did not commit.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Collection
from typing import Any

from eventsourcing.persistence import (
    ConnectionNotFromPoolError,
    ConnectionPoolClosedError,
    PersistenceError,
)

from domain.kernel import DomainError
from regions.core import membership
from regions.core.errors import DecodeError, PersistentConflict, StoreRefused
from regions.core.inbox_controls import controls
from regions.core.inbox_quarantine import park
from regions.core.inbox_state import (  # re-exported: importers name them from here
    LINK_RECORD_FORM,
    LINK_RECORD_HEADER,
    InboxResult,
    Incoming,
    Link,
    Packed,
    behind,
    behind_requests,
    lag,
    link_record,
    spread,
)
from regions.core.link_restore import reused_number
from regions.core.messages import HighWaterMark, LinkMessage, ResendRequest, WireItem
from regions.core.node import RegionNode
from regions.core.quarantine_budget import QuarantineBudget
from regions.core.unit_of_work import UnitOfWork

log = logging.getLogger("tongban.inbox")

#: How many messages past a link's gap are held (in memory, acknowledged) to
#: be applied once the gap closes; further ones are acknowledged and dropped, and re-sent.
HOLD_WINDOW = 256

#: The link state's old name (tests import it from here).
_Link = Link

__all__ = ["HOLD_WINDOW", "LINK_RECORD_FORM", "LINK_RECORD_HEADER", "Inbox", "InboxResult",
           "Incoming", "Link", "link_record"]

#: What a link's state only ever takes a maximum from (see `Inbox.handle`).
CONTROL = (HighWaterMark, ResendRequest)

#: What a lost or refusing store raises: never the message's fault, so never a reason to divert
#: it (the batch fails, nothing is acked, the broker redelivers once the store is back).
STORE_FAILURES = (PersistenceError, ConnectionPoolClosedError, ConnectionNotFromPoolError,
                  PersistentConflict, OSError, MemoryError)


class Inbox:
    def __init__(self, node: RegionNode,
                 decode: Callable[[bytes, dict[str, str]], WireItem | Packed],
                 known_regions: Collection[str], *, gap_bound: dt.timedelta,
                 quarantine: QuarantineBudget | None = None) -> None:
        self.node = node
        self.decode = decode
        self.known = set(known_regions)
        self.gap_bound = gap_bound
        self.links: dict[str, Link] = {}
        #: True once a gap check found every link whole, until a link is next touched (`link`):
        #: the checks between find the same nothing (`check_gaps`).
        self._whole = False
        #: While a batch runs in one transaction: each link as it was before the batch first
        #: touched it (None: the batch made it), to put back if the commit fails (`handle`).
        self._before: dict[str, Link | None] | None = None
        #: How much quarantine may still take (`regions.core.quarantine_budget`).
        self.budget = quarantine or QuarantineBudget()
        self.stats = {"applied": 0, "duplicates": 0, "quarantined": 0, "gaps": 0, "rejected": 0,
                      "dropped": 0, "resend_requests": 0, "quarantine_dropped": 0, "reused": 0}

    def link(self, origin: str) -> Link:
        """The state of the link from `origin`; during a batch, saved before it first changes."""
        link = self.links.get(origin)
        before = self._before
        self._whole = False
        if link is None:
            link = self.links[origin] = Link(recorded=self.node.inlink_position(origin))
            if before is not None and origin not in before:
                before[origin] = None
        elif before is not None and origin not in before:
            before[origin] = link.copy()
        return link

    def forget(self) -> None:
        """A crash: held messages and positions in memory are gone (the store is not)."""
        self.links.clear()
        self._whole = False

    def handle(self, batch: list[Incoming], now: dt.datetime) -> InboxResult:
        """Apply a fetched batch in one transaction (message by message if that fails); a
        delivery of several link items (`Packed`) as its items, in order (`spread`)."""
        found = [self._decoded(incoming) for incoming in batch]
        if any(type(item) is Packed for item in found):
            batch, decoded = spread(batch, found)
        else:
            decoded = found  # type: ignore[assignment]  # no Packed among them
        controls = self._controls(batch, decoded, now)
        if controls is not None:
            return controls
        # Marks and re-send requests only raise `announced` (a maximum: handling them again
        # gives the same links), so a batch of nothing else needs nothing to put back. Else
        # each link is saved as the batch first touches it (`link`): a copy of every link per
        # batch cost 3 % of a long simulation, and a batch touches one or two.
        if any(not isinstance(item, CONTROL) for item in decoded):
            self._before = {}
        try:
            return self._handle(batch, decoded, now)
        finally:
            self._before = None

    def _handle(self, batch: list[Incoming], decoded: list[WireItem | DecodeError],
                now: dt.datetime) -> InboxResult:
        budget = self.budget.copy()
        result = InboxResult()
        uow = self.node.begin(now)
        try:
            # the batch's sides in one read (a new case's side is absent: not read again alone);
            # a batch of marks alone (most of a quiet link's traffic) has none to read
            case_ids = [item.case_id for item in decoded if isinstance(item, LinkMessage)]
            if case_ids:
                self.node.prefetch(case_ids)
            for incoming, item in zip(batch, decoded, strict=True):
                self._handle_one(incoming, now, result, uow, item)
            if uow.effects or uow.aggregates():
                self.node.commit(uow)
        except Exception as exc:
            self.node.abort(uow)
            log.info("inbox batch of %d failed (%r); retrying message by message",
                     len(batch), exc)
            self._put_back()
            self.budget = budget
            result = InboxResult()
            for incoming, item in zip(batch, decoded, strict=True):
                self._handle_one(incoming, now, result, None, item)
        self._count(result)
        result.ack = [token for token in result.ack if token is not None]  # held: acked before
        result.resend_requests.extend(self.check_gaps(now))
        return result

    def _put_back(self) -> None:
        """The links as they were before the batch (a failed commit), then no more saving."""
        before, self._before = self._before, None
        self._whole = False
        for origin, link in (before or {}).items():
            if link is None:
                del self.links[origin]
            else:
                self.links[origin] = link

    def _count(self, result: InboxResult) -> None:
        stats = self.stats
        stats["applied"] += result.applied
        stats["duplicates"] += result.duplicates
        stats["quarantined"] += result.quarantined
        stats["gaps"] += result.gaps
        stats["rejected"] += result.rejected
        stats["dropped"] += result.dropped

    def _decoded(self, incoming: Incoming) -> WireItem | DecodeError | Packed:
        try:
            return self.decode(incoming.data, incoming.headers)
        except DecodeError as exc:
            return exc
        except Exception as exc:  # a codec bug or an input no codec foresaw: this message only
            return DecodeError(f"undecodable: {type(exc).__name__}: {exc}"[:500])

    def _handle_one(self, incoming: Incoming, now: dt.datetime, result: InboxResult,
                    uow: UnitOfWork | None, item: WireItem | DecodeError) -> None:
        if isinstance(item, DecodeError):
            exc = item
            self._quarantine(incoming, exc.reason, now, result, uow)
            if exc.position is not None:
                origin, destination, seq = exc.position
                # the position is the envelope's claim: it steps only the link it came on
                if origin in self.known and destination == self.node.region \
                        and incoming.subject_origin == origin:
                    link = self.link(origin)
                    if seq > link.recorded:
                        link.poisoned[seq] = f"quarantined:{origin}:{seq}"
                        link.announced = max(link.announced, seq)
                        self._drain(link, now, result, uow)
            return
        origin = item.origin if not isinstance(item, ResendRequest) else item.destination
        destination = item.destination if not isinstance(item, ResendRequest) else item.origin
        if origin not in self.known:
            self._quarantine(incoming, f"unknown sender region {origin}", now, result, uow)
            return
        if destination != self.node.region:
            self._quarantine(incoming, f"addressed to {destination}, not {self.node.region}",
                             now, result, uow)
            return
        if incoming.subject_origin != origin:  # fails closed: no parsed subject, no message
            reason = (f"subject says origin {incoming.subject_origin}, envelope says {origin}"
                      if incoming.subject_origin else
                      f"subject {incoming.subject[:200]!r} is not an event subject naming "
                      f"origin {origin}")
            self._quarantine(incoming, reason, now, result, uow)
            return
        if isinstance(item, HighWaterMark):
            link = self.link(origin)
            link.announced = max(link.announced, item.link_seq)
            result.ack.append(incoming.token)
            return
        if isinstance(item, ResendRequest):
            result.resends_asked_of_us.append(item)
            result.ack.append(incoming.token)
            return
        self._sequence(item, incoming.token, now, result, uow)

    def _sequence(self, message: LinkMessage, token: Any, now: dt.datetime,
                  result: InboxResult, uow: UnitOfWork | None) -> None:
        link = self.link(message.origin)
        link.announced = max(link.announced, message.link_seq)
        if message.link_seq <= link.recorded:
            if reused_number(self, message, token, now, result, uow):
                return  # not a repeat: quarantined, never dropped silently (link_restore)
            result.duplicates += 1
            result.ack.append(token)
            return
        if message.link_seq > link.recorded + 1:
            if message.link_seq not in link.held:
                result.gaps += 1
                if message.link_seq <= link.recorded + 1 + HOLD_WINDOW:
                    link.held[message.link_seq] = message
                else:
                    link.dropped = max(link.dropped, message.link_seq)
                    result.dropped += 1
            result.ack.append(token)  # never held unacknowledged: see the module docstring
            if link.gap_since is None:
                link.gap_since = now
            return
        self._apply(link, message, token, now, result, uow)
        self._drain(link, now, result, uow)

    def _drain(self, link: Link, now: dt.datetime, result: InboxResult,
               uow: UnitOfWork | None) -> None:
        """Apply held successors and step over parked (quarantined) positions, in order."""
        while True:
            nxt = link.recorded + 1
            if nxt in link.poisoned:
                origin = next(o for o, lk in self.links.items() if lk is link)
                self._skip(origin, nxt, link.poisoned.pop(nxt), now, uow)
                link.recorded = nxt
            elif nxt in link.held:
                self._apply(link, link.held.pop(nxt), None, now, result, uow)  # acked when held
            else:
                break
        if link.recorded >= link.announced and not link.held:
            link.gap_since = None
            link.asked_at = None

    def _apply(self, link: Link, message: LinkMessage, token: Any, now: dt.datetime,
               result: InboxResult, uow: UnitOfWork | None) -> None:
        stranger = membership.refusal(self.node, message, uow)
        if stranger:
            self._divert(link, message, token, stranger, now, result, uow)
            return
        try:
            outcome = (self.node.receive(message, now) if uow is None else
                       self.node.stage_receive(uow, message))
        except DomainError as exc:
            # Authentic but undecodable by our domain (unknown type, newer schema, unknown
            # process): it cannot be applied, so it must not block the link forever either.
            self._divert(link, message, token, f"{exc.code}: {exc}", now, result, uow)
            return
        except StoreRefused as exc:
            if uow is not None:
                raise  # the batch is retried message by message, where this is diverted
            # This message alone: the store will never take it, however often it comes.
            self._divert(link, message, token, f"store_refused: {exc}", now, result, None)
            return
        except STORE_FAILURES:
            raise  # not this message's fault: the batch fails and is redelivered
        except Exception as exc:
            if uow is not None:
                raise  # the batch is retried message by message, where this is diverted
            log.warning("inbox: %s on link %s->%s #%d (event %s); quarantined",
                        type(exc).__name__, message.origin, message.destination,
                        message.link_seq, message.event_id, exc_info=True)
            self._divert(link, message, token, f"internal_error: {type(exc).__name__}: {exc}"
                         [:500], now, result, None)
            return
        link.recorded = message.link_seq
        result.ack.append(token)
        result.applied += 1
        if "CounterpartEventRejected" in outcome.events:
            result.rejected += 1

    def _divert(self, link: Link, message: LinkMessage, token: Any, reason: str,
                now: dt.datetime, result: InboxResult, uow: UnitOfWork | None) -> None:
        """Quarantine a message that cannot be applied and step the link over it."""
        self._quarantine(Incoming("", b"", {}, token), f"{reason} (link {message.origin}->"
                         f"{message.destination} #{message.link_seq}, event {message.event_id})",
                         now, result, uow, message=message)
        self._skip(message.origin, message.link_seq, message.event_id, now, uow)
        link.recorded = message.link_seq

    def _skip(self, origin: str, link_seq: int, ref: str, now: dt.datetime,
              uow: UnitOfWork | None) -> None:
        if uow is None:
            self.node.skip_link_seq(origin, link_seq, ref, now)
        else:
            self.node.stage_skip(uow, origin, link_seq, ref)

    def check_gaps(self, now: dt.datetime) -> list[ResendRequest]:
        """Re-send requests for links that stayed behind without progress for the bound
        (`inbox_state.gap_requests`). Most checks find every link whole (the driver's each
        heartbeat, the end of each batch; the simulator's ~200 a case): once one has, the
        next ones answer at once until a link is touched — every change to a link's state
        goes through `link` — instead of looking at every link again."""
        if self._whole:
            return []
        if not behind(self.links):
            self._whole = True
            return []
        requests = behind_requests(self.links, self.node.region, self.gap_bound, now)
        if requests:
            self.stats["resend_requests"] += len(requests)
        return requests

    def lag(self) -> dict[str, int]:
        """Per origin: announced or held messages not yet applied."""
        return lag(self.links)

    #: Park a message with its reason and acknowledge it (`regions.core.inbox_quarantine`).
    _quarantine = park
    #: A batch of marks and re-send requests alone, without a unit of work
    #: (`regions.core.inbox_controls`; None: the general path).
    _controls = controls
