"""The milestones of each side of a joint transfer, by role: what staff on either side check off.

Why a table of event types: a milestone is a fact one side recorded (the origin issued its
information sheet, the destination's finance recorded the funds), so it is read from the side's
own events, never inferred from a status that a later step overwrites.
"""

from __future__ import annotations

from typing import TypeVar

T = TypeVar("T")

#: (role, event type) -> milestone; the order of each role's list is the order shown.
ORIGIN = ("requested", "held", "decided", "sheet_issued", "funds_remitted", "concluded")
DESTINATION = ("asked", "sheets_arrived", "funds_arrived", "reconciled", "completed")

MILESTONES: dict[tuple[str, str], str] = {
    ("origin", "ContactLetterReceived"): "requested",
    ("origin", "TransferOutHeld"): "held",
    ("origin", "TransferOutRefused"): "decided",
    ("origin", "InfoSheetIssued"): "sheet_issued",
    ("origin", "FundsRemitted"): "funds_remitted",
    ("origin", "ConclusionReceived"): "concluded",
    ("destination", "ContactLetterIssued"): "asked",
    ("destination", "InfoSheetReceived"): "sheets_arrived",
    ("destination", "FundsReceived"): "funds_arrived",
    ("destination", "Reconciled"): "reconciled",
    ("destination", "TransferCompleted"): "completed",
}
#: A milestone that implies an earlier one: an origin that issued its sheet decided to transfer;
#: a completion reconciled (its last match rides on `TransferCompleted` since issue 17's rows).
IMPLIES = {"sheet_issued": "decided", "completed": "reconciled"}


def reached(milestones: tuple[tuple[str, T], ...], milestone: str, at: T,
            ) -> tuple[tuple[str, T], ...]:
    """`milestones` with `milestone` (and what it implies) reached at `at`, first time only."""
    out = milestones
    for name in (IMPLIES.get(milestone), milestone):
        if name and name not in dict(out):
            out = (*out, (name, at))
    return out
