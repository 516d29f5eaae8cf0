"""Who may touch a case here: the inbox's check of a counterpart event against its case.

Why a check of its own, before the side's protocol decides: a protocol answers an unexpected
event by recording its refusal (`CounterpartEventRejected`, `NeedsAttentionRaised`), which is
right between the case's parties — the link sequence stays whole and a person looks — but lets any
genuine peer put any case into `needs_attention`, or open a side under a number it never issued
(issue 11, finding 8). A message that fails here touches no case: the inbox quarantines it with
the reason and steps its link over it.

The rules, from what every node can compute alone:
- the case id is the id of its case number (`CaseNumber.case_id`, uuid5 over the number), so a
  message cannot name one case and reach another;
- a side is opened only by the region that issued the case number (the region that took the
  application: every other side of a case is opened by its counterpart there);
- an existing side hears only the case's parties: the region of the number and the side's
  counterparts (`SideSummary.peer_regions`), in the side's own process.
"""

from __future__ import annotations

import functools

from domain.kernel import DomainError
from domain.values import CaseNumber
from regions.core.messages import LinkMessage
from regions.core.node import RegionNode
from regions.core.unit_of_work import UnitOfWork


def refusal(node: RegionNode, message: LinkMessage, uow: UnitOfWork | None) -> str:
    """Why `message` may not touch its case at this node, or "" when it may. `uow` is the
    inbox's batch, whose staged sides count (a side the batch opened has its parties).

    The side's counterparts (its protocol's `summary`, a few µs) are asked only for a message
    from a region other than the number's, which is party to every side of its case anyway:
    at a pension transfer's origin every message comes from the number's region
    (docs/performance.md, CPUREAD)."""
    issuer, case_id, problem = _read(message.case_number)
    number = message.case_number
    if problem:
        return problem
    if case_id != message.case_id:
        return f"case id {message.case_id} is not the id of case {number}"
    view = node.stager.view(uow, message.case_id) if uow is not None else \
        node.side(message.case_id)
    if view is None:
        if message.origin != issuer:
            return (f"not party: region {message.origin} may not open a side of case {number} "
                    f"(only {issuer}, which issued its number, may)")
        return ""
    if view.process != message.process:
        return f"case {number} is a {view.process} case here, not {message.process}"
    if message.origin == issuer:
        return ""  # the number's region is party to every side of the case: no summary needed
    binding = node.protocols.get(view.process)
    peers = () if binding is None else binding.decider.summary(view.state).peer_regions
    if message.origin not in peers:
        return (f"not party: region {message.origin} is not party to case {number} "
                f"(parties here: {', '.join(sorted({issuer, *peers}))})")
    return ""


@functools.lru_cache(maxsize=4096)  # every message of a case names the same number
def _read(text: str) -> tuple[str, str, str]:
    """(issuing region, case id, "") of a case number as issued, or ("", "", the problem)."""
    try:
        number = CaseNumber.parse(text)
    except DomainError as exc:
        return "", "", f"case number: {exc}"
    if str(number) != text:
        return "", "", f"case number {text!r} is not written as issued ({number})"
    return str(number.region), str(number.case_id), ""
