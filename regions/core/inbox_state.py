"""The inbox's data (sans-IO): a delivery, a batch's result, and what it knows of each link.

`Incoming` is a delivery as the driver hands it over, `InboxResult` what `Inbox.handle` hands
back (what to acknowledge, what to ask for again), `link_record` a refused message's quarantined
form. A link is one origin's messages to this region, numbered by a contiguous `link_seq`. The inbox
(`regions.core.inbox`) applies them in that order; this module keeps, per link, how far it has
applied (`recorded`, read from the store when the link is first touched), how far the origin
says it has sent (`announced`: the highest mark or message seen), the messages that arrived
ahead of a gap (`held`), the positions parked in quarantine (`poisoned`) and when the link last
fell behind — and turns a link that stays behind into a `ResendRequest` (`gap_requests`).

Why a held message is acknowledged before it is applied (issue 11, finding 4): JetStream stops
delivering to a consumer once `max_ack_pending` deliveries are unacknowledged (1000 as
provisioned). Held unacknowledged, the messages behind one lost message filled that cap, and
the origin's re-send of the missing one was never delivered: every link into the region stopped
for good. Acknowledged, held messages never count against the cap, whatever its size. It is
safe because a link message the inbox acknowledged without applying is never lost for good: it
was published, so its origin's relay announces a high-water mark at least as high on its
heartbeats (one that moved at the next), for as long as it runs (after a restart, from its
store); the receiver, even one that crashed and forgot what it held, sees the link behind that
mark and asks for a re-send every `gap_bound` until the link is whole; and the origin re-sends
from its event store, which keeps every `OutLink` record — not from the stream, whose retention
may have ended — under fresh msg ids (`regions.wire.link.resent`): under the original ones
JetStream would discard the re-send of a message it already stored as a duplicate for its whole
dedup window (found on a real nats-server with 1200 messages behind one lost: the link stalled
at the hold window). The hold window (`inbox.HOLD_WINDOW`) only bounds memory and spares the
round trip when messages merely arrive out of order; dropping beyond it costs a re-send, never a
message. (Keeping held messages durably instead — staged in the store and acked — would cost a
write per held message and a second path to recover on restart, for nothing the origin's store
does not already guarantee.)
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from regions.core.errors import DecodeError
from regions.core.messages import LinkMessage, ResendRequest, WireItem

#: Header of a quarantined *decoded* message (one the domain or the store refused): its data is
#: `link_record()` JSON, not wire bytes, so an operator can replay it (`regions.runtime.quarantine`).
LINK_RECORD_HEADER = "Tongban-Quarantined-Form"
LINK_RECORD_FORM = "link-record"


def link_record(message: LinkMessage) -> bytes:
    """A decoded link message as kept in quarantine: ASCII JSON, readable back exactly."""
    return json.dumps({"link_seq": message.link_seq, "message": message.to_record()},
                      sort_keys=True, default=str).encode()


@dataclass(frozen=True)
class Incoming:
    """One delivery as the core sees it: bytes plus an opaque token the driver acks with."""

    subject: str
    data: bytes
    headers: dict[str, str]
    token: Any
    #: The origin token of the subject as the transport parsed it; "" (no event subject) fails
    #: closed: the message is quarantined, never let through unchecked.
    subject_origin: str = ""


@dataclass(frozen=True)
class Packed:
    """What a delivery that carries several link items decodes to (a batched message,
    `regions.wire.link.decode_all`): per member, in order, its own bytes — what quarantine keeps
    of it alone — and its item, or the `DecodeError` that refuses it alone."""

    members: tuple[tuple[bytes, WireItem | DecodeError], ...]


#: A header a batch's member carries into quarantine: its place in the batch ("<n>/<of>").
MEMBER_HEADER = "Tongban-Batch-Member"


def spread(batch: list[Incoming], decoded: list[WireItem | DecodeError | Packed]
           ) -> tuple[list[Incoming], list[WireItem | DecodeError]]:
    """Each member of a batched delivery as a delivery of its own, in order; the delivery's
    token goes with its last member only, so it is acknowledged once, when the inbox handled
    the whole of it: every member's path (applied, a duplicate, held, dropped, quarantined)
    hands its token back in the same `Inbox.handle` (an outage raises, and nothing is acked)."""
    incomings: list[Incoming] = []
    items: list[WireItem | DecodeError] = []
    for incoming, item in zip(batch, decoded, strict=True):
        if not isinstance(item, Packed):
            incomings.append(incoming)
            items.append(item)
            continue
        last = len(item.members) - 1
        headers = {k: v for k, v in incoming.headers.items() if k.lower() != "content-type"}
        for index, (raw, member) in enumerate(item.members):
            incomings.append(Incoming(
                incoming.subject, raw, {**headers, MEMBER_HEADER: f"{index + 1}/{last + 1}"},
                incoming.token if index == last else None, incoming.subject_origin))
            items.append(member)
    return incomings, items


@dataclass
class InboxResult:
    ack: list[Any] = field(default_factory=list)
    resend_requests: list[ResendRequest] = field(default_factory=list)
    resends_asked_of_us: list[ResendRequest] = field(default_factory=list)
    applied: int = 0
    duplicates: int = 0
    quarantined: int = 0
    rejected: int = 0
    gaps: int = 0
    dropped: int = 0  # beyond the hold window: acknowledged, to be re-sent by the origin


@dataclass
class Link:
    recorded: int = 0
    announced: int = 0
    #: Messages behind a gap, already acknowledged (see the module docstring).
    held: dict[int, LinkMessage] = field(default_factory=dict)
    dropped: int = 0  # the highest link_seq acknowledged and dropped beyond the hold window
    poisoned: dict[int, str] = field(default_factory=dict)  # link_seq -> ref of a parked message
    gap_since: dt.datetime | None = None
    gap_from: int = 0  # `recorded` when the link was last seen making progress while behind
    asked_at: dt.datetime | None = None

    def copy(self) -> Link:
        """A copy whose dicts are its own (a batch saves one per link it touches: kept cheap,
        no `dataclasses.replace` or `copy.copy`)."""
        return Link(self.recorded, self.announced, dict(self.held), self.dropped,
                    dict(self.poisoned), self.gap_since, self.gap_from, self.asked_at)


def gap_requests(links: dict[str, Link], region: str, gap_bound: dt.timedelta,
                 now: dt.datetime) -> list[ResendRequest]:
    """Resend requests for links that stayed behind without progress for the bound (asked
    again once per bound).

    A link that is behind its origin's mark but still advancing is only catching up on a
    backlog (under load it always is): asking for a re-send then would republish the whole
    in-flight window again and again, and the duplicates would slow the catching up — the
    bench measured ~10 extra messages per case from exactly that. So the clock restarts
    whenever `recorded` moves.
    """
    if not behind(links):
        return []  # every link whole and not waiting: what the loop below would find
    return behind_requests(links, region, gap_bound, now)


def behind(links: dict[str, Link]) -> bool:
    """Whether any link is behind or waiting; when none is, `gap_requests` finds nothing and
    changes nothing, at any instant."""
    for lk in links.values():  # a loop, not `any(...)`: ~60,000 calls per 300 cases
        if lk.gap_since is not None or lk.held or lk.announced > lk.recorded:
            break
    else:
        return False
    return True


def behind_requests(links: dict[str, Link], region: str, gap_bound: dt.timedelta,
                    now: dt.datetime) -> list[ResendRequest]:
    """`gap_requests` once `behind(links)` said some link is."""
    requests = []
    for origin in sorted(links):
        link = links[origin]
        top = max(link.announced, max(link.held)) if link.held else link.announced
        if top <= link.recorded:
            link.gap_since = None
            continue
        if link.gap_since is None or link.recorded > link.gap_from:
            link.gap_since, link.gap_from = now, link.recorded
        due = link.gap_since + gap_bound
        if now >= due and (link.asked_at is None or now >= link.asked_at + gap_bound):
            missing_to = (min(link.held) - 1 if link.held and link.dropped <= link.recorded
                          else top)
            requests.append(ResendRequest(origin=origin, destination=region,
                                          from_seq=link.recorded + 1, to_seq=missing_to,
                                          at=now))
            link.asked_at = now
    return requests


def lag(links: dict[str, Link]) -> dict[str, int]:
    """Per origin: announced or held messages not yet applied."""
    return {o: max([lk.announced, *lk.held]) - lk.recorded for o, lk in sorted(links.items())}
