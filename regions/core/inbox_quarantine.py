"""The inbox's quarantine: a message it will not apply, parked with its reason (sans-IO).

Split from `regions.core.inbox` by purpose (that module keeps batches, sequencing and applying).
What goes to quarantine, and why failing closed is right, is that module's docstring; here is
how: one `Quarantined` record per message, under an id derived from the message (its origin
identity when it decoded, else its subject and bytes), so a redelivery finds it already parked
— staged in the batch's unit of work or in the store — and parks nothing twice. A decoded
message the domain or the store refused is kept in its `link_record` form (it has no wire bytes
of its own then). A batched message's member is parked alone, as the single message it is (its
own bytes, `inbox_state.MEMBER_HEADER` saying its place); a batch that does not parse, whole.
The region's quarantine is bounded (`regions.core.quarantine_budget`): past
the bound a message is still acknowledged and counted, only not kept.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING, Any

from eventsourcing.application import AggregateNotFoundError

from regions.core.inbox_state import (
    LINK_RECORD_FORM,
    LINK_RECORD_HEADER,
    InboxResult,
    Incoming,
    link_record,
)
from regions.core.messages import LinkMessage
from regions.core.quarantine_budget import record_size
from regions.core.store import Quarantined, stable_id
from regions.core.unit_of_work import UnitOfWork

if TYPE_CHECKING:
    from regions.core.inbox import Inbox

log = logging.getLogger("tongban.inbox")


def park(inbox: Inbox, incoming: Incoming, reason: str, now: dt.datetime, result: InboxResult,
         uow: UnitOfWork | None, message: LinkMessage | None = None) -> None:
    """Park `incoming` (or the decoded `message`) with `reason`, within the budget, and
    acknowledge it (`Inbox._quarantine`)."""
    node = inbox.node
    key = message.event_id if message else f"{incoming.subject}:{incoming.data!r}"
    qid = stable_id("quarantine", node.region, key)
    data, headers = incoming.data, incoming.headers
    if message is not None and not data:
        data, headers = link_record(message), {**headers, LINK_RECORD_HEADER: LINK_RECORD_FORM}
    if not parked(inbox, qid, uow):
        budget = inbox.budget
        budget.load(node.app)
        if not budget.take(record_size(reason, incoming.subject, data, headers)):
            inbox.stats["quarantine_dropped"] += 1
            log.warning("quarantine full (%d records, %d bytes): not keeping %s (%s)",
                        budget.records, budget.size, incoming.subject[:200], reason[:200])
        else:
            record = Quarantined.park(qid, reason, incoming.subject, data, headers, now)
            if uow is not None:
                uow.add(record)
            else:
                node.app.save(record)
    result.ack.append(incoming.token)
    result.quarantined += 1


def parked(inbox: Inbox, qid: Any, uow: UnitOfWork | None) -> bool:
    """Whether quarantine record `qid` is staged in `uow` or already in the store."""
    if uow is not None and qid in uow.records:
        return True
    try:
        inbox.node.app.repository.get(qid)
    except AggregateNotFoundError:
        return False
    return True
