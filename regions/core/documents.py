"""Who may fetch which document: a counterpart of a case whose recorded events name it.

The request (`DocRequest`) and the refusal (`DocError`, with its stable codes) are defined here;
`regions.wire.documents` maps them to JSON and back.

Why decide from the store: the owner's own side of the case is the record of who takes part
(its protocol's `peer_regions`, and every region its events were sent to) and of which
documents the case refers to. A region that is no party to the case, or asks about a case this
region does not hold, gets the same `forbidden` answer, so the reply leaks nothing about which
cases exist here; a party asking for a document the case does not name gets `not_found`.

What this does not do yet: authenticate the requester cryptographically (a later issue; the
envelope reserves `key_id`/`sig`). The request only *names* a region. What stops one region
from reading as another meanwhile is NATS: the endpoint replies only to a subject under
`_INBOX_<requester>.` (`regions.wire.documents.check_reply_subject`), and the operator gives
each region its own NATS user that may subscribe only to its own `_INBOX_<region>.>`
(reference/nats.md §6), so a region naming another gets no reply it can read.

Runs on the node's database thread (`driver.db`): it reads the side's stream.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final, Literal

from eventsourcing.application import AggregateNotFoundError

from domain.kernel import DomainError, from_payload
from domain.payloads import encodable
from domain.values import MaterialRef
from regions.core.node import RegionNode
from regions.core.sides import side_id
from regions.core.store import Stream

ErrorCode = Literal[
    "malformed_json", "invalid_request", "missing_field", "invalid_field", "unknown_field",
    "wrong_region", "foreign_reply_subject", "forbidden", "not_found", "blob_missing",
    "offset_out_of_range", "too_many_requests", "internal_error"]
ERROR_CODES: Final[tuple[str, ...]] = ErrorCode.__args__  # type: ignore[attr-defined]


class DocError(Exception):
    """A refusal with a stable `code` and, for bad requests, the `field` at fault."""

    def __init__(self, code: ErrorCode, message: str, field: str = "") -> None:
        super().__init__(encodable(message))  # it may echo the request, and is answered
        self.code: ErrorCode = code
        self.field = encodable(field)


#: How a `too_many_requests` refusal states its wait: in the message (the wire's error object
#: has no field for it), written by `throttled` and read back by `retry_after` (the SDK's).
_RETRY_IN = re.compile(r"retry in (\d+(?:\.\d+)?) s")


def throttled(requester: str, burst: int, rate: float, wait: float) -> DocError:
    """The refusal of a request past `requester`'s budget, stating the wait rounded *up* to a
    tenth of a second (a wait stated short would only be refused again)."""
    return DocError("too_many_requests", f"region {requester} made more than {burst} document "
                    f"requests at once or {rate:g} per second after; retry in "
                    f"{math.ceil(wait * 10) / 10:.1f} s", "requester")


def retry_after(error: DocError) -> float | None:
    """The seconds a `too_many_requests` refusal asks to wait; None for any other refusal."""
    found = _RETRY_IN.search(str(error)) if error.code == "too_many_requests" else None
    return float(found.group(1)) if found else None


@dataclass(frozen=True)
class DocRequest:
    """`requester` asks this region for bytes `offset…` of document `doc_id` of `case_id`."""

    requester: str
    case_id: str
    doc_id: str
    offset: int = 0


def authorise(node: RegionNode, request: DocRequest) -> MaterialRef:
    """The reference this region recorded for the document, if `request` may have it."""
    if request.requester == node.region:
        raise DocError("wrong_region", f"region {node.region} does not fetch from itself; read "
                       "the local blob store", "requester")
    forbidden = DocError("forbidden", f"region {request.requester} is not a counterpart of case "
                         f"{request.case_id} at region {node.region}", "case_id")
    try:
        stream: Stream = node.app.repository.get(side_id(request.case_id, node.region))
    except AggregateNotFoundError:
        raise forbidden from None
    if request.requester not in counterparts(node, request.case_id, stream):
        raise forbidden
    ref = recorded_ref(stream, request.doc_id)
    if ref is None:
        raise DocError("not_found", f"case {request.case_id} at region {node.region} refers to "
                       f"no document {request.doc_id!r}", "doc_id")
    return ref


def counterparts(node: RegionNode, case_id: str, stream: Stream) -> set[str]:
    """The regions taking part in this side's case, by its protocol and by its sent events."""
    regions = {str(p.get("to_region") or "") for _, _, p in stream.entries} - {""}
    view = node.side(case_id)
    if view is not None and view.state is not None:
        summary = node.protocols[view.process].decider.summary(view.state)
        regions.update(summary.peer_regions)
    regions.discard(node.region)
    return regions


def recorded_ref(stream: Stream, doc_id: str) -> MaterialRef | None:
    """The first `MaterialRef` with this `doc_id` anywhere in the side's event payloads."""
    for _, _, payload in stream.entries:
        for found in _material_dicts(payload):
            if found.get("doc_id") == doc_id:
                try:
                    ref: MaterialRef = from_payload(MaterialRef, found)
                    return ref
                except (DomainError, TypeError, KeyError, ValueError):
                    continue
    return None


def _material_dicts(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, dict):
        if "doc_id" in value and "sha256" in value:
            yield value
        for item in value.values():
            yield from _material_dicts(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _material_dicts(item)
