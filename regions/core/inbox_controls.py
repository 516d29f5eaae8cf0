"""The inbox's batch of marks and re-send requests alone (sans-IO): handled without a unit of work.

Split from `regions.core.inbox` by purpose (that module keeps batches, sequencing and applying):
most batches a node fetches are a quiet link's heartbeats, and a mark only raises its link's
`announced` while a re-send request is handed back, so such a batch needs no transaction. What
it leaves — the result, the links — is what the general path leaves
(`tests/unit/test_batched_inbox.py`); anything that path would quarantine still goes there.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from regions.core.errors import DecodeError
from regions.core.inbox_state import InboxResult, Incoming
from regions.core.messages import HighWaterMark, ResendRequest, WireItem

if TYPE_CHECKING:
    from regions.core.inbox import Inbox


def controls(self: Inbox, batch: list[Incoming], decoded: list[WireItem | DecodeError],
             now: dt.datetime) -> InboxResult | None:
    """A batch of marks and re-send requests alone, each from a known peer to this region
    under its own subject (most batches: a quiet link's heartbeats), handled as `_handle`
    would handle it — each only raises a link's `announced` or is handed back — without
    the unit of work, the budget's copy and the commit it would not use; None for any
    other batch. Why: 8 of 10 batches of a simulation are these, at ~65 µs each through
    the general path, decoding included (docs/performance.md, NODECPU)."""
    region, known = self.node.region, self.known
    for incoming, item in zip(batch, decoded, strict=True):
        if type(item) is HighWaterMark:
            origin, destination = item.origin, item.destination
        elif type(item) is ResendRequest:
            origin, destination = item.destination, item.origin
        else:
            return None
        if origin not in known or destination != region or \
                incoming.subject_origin != origin:
            return None  # quarantined by the general path
    result = InboxResult()
    for incoming, item in zip(batch, decoded, strict=True):
        if type(item) is HighWaterMark:
            link = self.links.get(item.origin)
            if link is None or item.link_seq > link.announced:  # else it changes nothing
                link = self.link(item.origin)  # and a gap check may look again
                link.announced = max(link.announced, item.link_seq)
        else:
            assert isinstance(item, ResendRequest)
            result.resends_asked_of_us.append(item)
        if incoming.token is not None:
            result.ack.append(incoming.token)
    result.resend_requests.extend(self.check_gaps(now))
    return result
