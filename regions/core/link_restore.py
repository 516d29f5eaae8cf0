"""A region's store restored from a backup while its peers kept theirs: its links must never
number a message again with a `link_seq` a peer already recorded (sans-IO).

What goes wrong without this: the backup holds each `OutLink` as of the backup, so the restored
node would number its next messages from there — numbers its peers recorded for the messages
sent after the backup, now lost from the store. A peer's inbox takes `link_seq <= recorded` for
a redelivery and drops it, so the new cases would never reach it, silently.

The procedure (`tongban links restored`, before the restored node first starts; why this design
and not a link epoch: docs/operations.md, "Restoring a region from a backup"): each peer's
operator reads how far its region recorded this region's link (`recorded_positions`, `tongban
links received`), and `renumber` steps each `OutLink` over the numbers between the backup's last
one and the peer's with one `OutLink.Lost` each, in one transaction per link. The node then
numbers on after them: to the peer, the next message is simply the next one on the link (no
wire change, nothing for an older peer to learn). The relay reads the `Lost` records to move its
high-water marks (`Relay.read`); a re-send that asks for one cannot be answered and says so.
What the peer recorded in the stepped-over range is what the restored node no longer has: the
peer's operator lists it (`received_after`) for the reconciliation of those cases.

A restore the operator did not declare is still not silent: a peer that receives a duplicate by
`link_seq` whose event is not the one it recorded at that number (`reused`) quarantines it with
the reason, logs it and counts it (`Inbox.stats["reused"]`), instead of dropping it.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from regions.core.inbox_quarantine import park
from regions.core.inbox_state import InboxResult, Incoming
from regions.core.messages import LinkMessage
from regions.core.sides import resume
from regions.core.store import EventStore, InLink, OutLink
from regions.core.unit_of_work import UnitOfWork

if TYPE_CHECKING:
    from regions.core.inbox import Inbox

log = logging.getLogger("tongban.inbox")


@dataclass(frozen=True)
class Renumbered:
    """One link of a restored store: the backup's last `link_seq` to `destination` and the
    peer's recorded one; the link numbers on after the higher."""

    destination: str
    held: int
    recorded: int

    @property
    def lost(self) -> range:
        """The numbers stepped over: sent after the backup, recorded by the peer, gone here."""
        return range(self.held + 1, self.recorded + 1)


@dataclass(frozen=True)
class Received:
    """One message a region recorded on a link (its `InLink`): what it had, by number."""

    link_seq: int
    ref: str  # the event's id (`<originator id>:<version>`), or a skipped position's reference
    type: str
    at: dt.datetime


def held(app: EventStore, region: str, destination: str) -> int:
    """The last `link_seq` this store holds on the link `region` -> `destination` (0: none)."""
    newest = app.recorder.select_events(OutLink.id_for(region, destination), desc=True, limit=1)
    return newest[0].originator_version - 1 if newest else 0


#: The most numbers `renumber` steps over on one link unless told more: far more than a day's
#: messages of a region, far fewer than a figure mistyped with a digit or three too many, which
#: would write one event a number in one transaction and leave the link ahead of its peer.
MOST_LOST = 100_000


def renumber(app: EventStore, region: str, recorded: Mapping[str, int],
             now: dt.datetime, most_lost: int = MOST_LOST) -> list[Renumbered]:
    """Step each link of `region` over the numbers its peer recorded beyond this store's last
    (`recorded`: destination -> the peer's recorded `link_seq`), one transaction per link. Run
    again with the same positions it changes nothing (the link already holds them). A position
    more than `most_lost` past the store's last number is refused, before any link changes."""
    for destination, top in recorded.items():  # all checked before any link changes
        if top < 0:
            raise ValueError(f"{destination}: a recorded position is never negative ({top})")
        if destination == region:
            raise ValueError(f"{destination} is the region itself, not a peer")
        have = held(app, region, destination)
        if top - have > most_lost:
            raise ValueError(
                f"{destination}={top}: {top - have:,} numbers past this store's last ({have}) "
                f"would be stepped over, more than {most_lost:,}; check the figure `tongban "
                f"links received` printed at {destination}, or give --most-lost if the backup "
                f"really is that far behind")
    restore = now.isoformat()
    done = []
    for destination, top in sorted(recorded.items()):
        link_id = OutLink.id_for(region, destination)
        have = held(app, region, destination)
        if top > have:
            link = (OutLink.start(region, destination, now) if have == 0 and not
                    app.recorder.select_events(link_id, limit=1) else
                    resume(OutLink, link_id, have + 1, now, origin=region,
                           destination=destination))
            for _ in range(top - have):
                link.lose(restore, now)
            app.save(link)
        done.append(Renumbered(destination, have, max(top, have)))
    return done


def recorded_positions(app: EventStore, region: str, origins: list[str]) -> dict[str, int]:
    """How far `region` recorded each origin's link (its `InLink`): what a peer's operator
    hands to the restored region's `renumber`."""
    positions = {}
    for origin in origins:
        newest = app.recorder.select_events(InLink.id_for(origin, region), desc=True, limit=1)
        positions[origin] = newest[0].originator_version - 1 if newest else 0
    return positions


#: The most records `received_after` reads at once (a page; `ReceivedPage.next_after` goes on).
RECEIVED_LIMIT = 100_000


@dataclass(frozen=True)
class ReceivedPage:
    """A page of `received_after`: its entries and, when the limit cut it, the `after` that
    reads the next page (None: nothing more was recorded)."""

    entries: list[Received]
    next_after: int | None

    def __iter__(self) -> Iterator[Received]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)


def received_after(app: EventStore, region: str, origin: str, after: int,
                   limit: int = RECEIVED_LIMIT) -> ReceivedPage:
    """What `region` recorded on the link from `origin` after `link_seq` `after`, up to `limit`
    records: after a restore of `origin` from a backup that ended at `after`, the events it no
    longer has and this region applied — the operator's reconciliation list. Why a page and
    what it says: a cut list taken for the whole one would leave cases unreconciled, so one
    record more is read, and a cut page names where the next one starts."""
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    found = []
    stored = app.recorder.select_events(InLink.id_for(origin, region), gt=after + 1,
                                        limit=limit + 1)
    for record in stored[:limit]:
        event = app.mapper.to_domain_event(record)
        if isinstance(event, InLink.Recorded):
            found.append(Received(event.link_seq, event.ref, event.type, event.timestamp))
    cut = len(stored) > limit
    return ReceivedPage(found, stored[limit - 1].originator_version - 1 if cut else None)


def reused(app: EventStore, region: str, origin: str, link_seq: int, event_id: str,
           type_: str = "") -> str | None:
    """Why a duplicate by `link_seq` is not one — the origin numbered another event with a
    number this region recorded (restored from a backup without `renumber`): another event id,
    or the same id (a case the backup held, at the version its lost event had) of another type
    — or None. Read only for duplicates (rare: a redelivery, a republish after a crash), from
    the store. A position stepped over (quarantined, diverted: type "skipped") is not judged."""
    for stored in app.recorder.select_events(InLink.id_for(origin, region), gt=link_seq,
                                             lte=link_seq + 1):
        event = app.mapper.to_domain_event(stored)
        if not isinstance(event, InLink.Recorded) or event.ref.startswith("quarantined:") or \
                event.type == "skipped" or (event.ref == event_id and
                                            (not type_ or event.type == type_)):
            return None
        return (f"reused_link_seq: link {origin}->{region} #{link_seq} carries event "
                f"{event_id} ({type_ or '?'}), but #{link_seq} recorded {event.ref} "
                f"({event.type}): was {origin} restored from a backup without `tongban links "
                f"restored`?")
    return None


def reused_number(inbox: Inbox, message: LinkMessage, token: Any, now: dt.datetime,
                  result: InboxResult, uow: UnitOfWork | None) -> bool:
    """Whether a duplicate by `link_seq` reuses the number for another event (`reused`): if so
    it is quarantined with the reason, logged and counted (`stats["reused"]`), not dropped."""
    node = inbox.node
    reason = reused(node.app, node.region, message.origin, message.link_seq, message.event_id,
                    message.type)
    if reason is None:
        return False
    log.error("inbox: %s", reason)
    inbox.stats["reused"] += 1
    park(inbox, Incoming("", b"", {}, token), reason, now, result, uow, message=message)
    return True
