"""A joint case seen from both sides: each side's progress with its amounts, and whether the
sides agree (an allowed pair of outcomes, the same money on both sides), with the reason if not.

Why here and not only in the invariant checkers: staff at either node need to see the two sides
of a transfer side by side, and the simulator and the integration test check the same thing.
`agreement` judges the side views it is given. A node knows its own side and what its
counterpart told it; given every participating region's view (`complete=True`, as the
simulator and a federation-wide check have), a counterpart with no side counts as "absent",
as in the protocols' allowed terminal pairs. Otherwise it is shown as unknown and not judged.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence, Set
from dataclasses import dataclass

from domain.protocols import PROTOCOLS
from projections.cases import CaseView
from projections.milestones import DESTINATION, ORIGIN

ABSENT = "absent"


@dataclass(frozen=True)
class SideView:
    """One region's side of a joint case, as that region recorded it."""

    region: str
    role: str
    status: str
    status_text: str
    terminal: bool
    needs_attention: bool
    #: Each of the role's milestones in order, with when it was reached (None: not yet).
    milestones: tuple[tuple[str, dt.datetime | None], ...]
    amount_stated: int
    amount_sent: int
    amount_received: int
    amount_credited: int


@dataclass(frozen=True)
class Agreement:
    case_number: str
    process: str
    sides: tuple[SideView, ...]
    allowed_pairs: tuple[tuple[str, str], ...]  # (destination, origin) outcomes
    #: True both ended in an allowed pair with matching amounts; False a disagreement;
    #: None still running (or a counterpart unknown here), with nothing wrong so far.
    agreed: bool | None
    disagreements: tuple[str, ...]
    #: Sides staff must look at (needs_attention), which is not a disagreement by itself.
    attention: tuple[str, ...] = ()


def side_view(view: CaseView) -> SideView:
    order = ORIGIN if view.role == "origin" else DESTINATION if view.role == "destination" else ()
    reached = dict(view.milestones)
    return SideView(view.region, view.role, view.status, view.status_text, view.terminal,
                    view.needs_attention, tuple((m, reached.get(m)) for m in order),
                    view.amount_stated, view.amount_sent, view.amount_received,
                    view.amount_credited)


def _money(dest: CaseView, origins: Sequence[CaseView]) -> tuple[list[str], list[str]]:
    """The money both sides hold, judged once it is at rest (sheets and funds in flight are not
    a disagreement): what the origins stated against what a completed destination recorded,
    what they remitted against what the destination holds when every side has ended. The sheets
    are compared once every origin has ended too: a correction may cross the conclusion, and
    an origin the destination completed without its last correction needs a person
    (`CorrectionNotApplied`): staff decide the 补转, and the difference is that origin's
    attention (the second list), not a disagreement. Once they resolved it, the origin states
    the sheet the destination concluded on (the difference left to a new case,
    `CorrectionForNewCase`), so an ended origin is judged against that sheet like any other."""
    found: list[str] = []
    attention: list[str] = []
    stated = sum(o.amount_stated for o in origins)
    sent = sum(o.amount_sent for o in origins)
    if dest.status == "completed" and stated != dest.amount_stated:
        deciding = [o.region for o in origins if o.needs_attention and not o.terminal]
        text = (f"origins stated {stated} fen, destination {dest.region} recorded "
                f"{dest.amount_stated} fen (difference {dest.amount_stated - stated})")
        if all(o.terminal for o in origins):
            found.append(text)
        elif deciding:
            attention.append(f"{text}: destination completed on an earlier info sheet than "
                             f"origin {', '.join(deciding)}'s latest; staff decide the 补转")
    if dest.terminal and all(o.terminal for o in origins) and sent != dest.amount_received:
        found.append(f"origins remitted {sent} fen, destination {dest.region} received "
                     f"{dest.amount_received} fen (difference {dest.amount_received - sent})")
    return found, attention


def agreement(views: Sequence[CaseView], *, complete: bool = False,
              allowed: Set[tuple[str, str]] | None = None) -> Agreement:
    """Judge the sides of one case given as views (one per region); see the module docstring."""
    first = views[0]
    if allowed is None:
        spec = PROTOCOLS.get(first.process)
        allowed = spec.allowed_terminal_pairs if spec else frozenset()
    by_region = {v.region: v for v in views}
    dests = [v for v in views if v.role == "destination"]
    found: list[str] = []
    attention = [f"{v.role} {v.region} needs attention ({v.status})"
                 for v in views if v.needs_attention and not v.terminal]
    running = any(not v.terminal for v in views)
    for dest in dests:
        origins = [by_region[r] for r in dest.peers if r in by_region]
        missing = [r for r in dest.peers if r not in by_region]
        if missing and not complete:
            running = True  # the counterpart's outcome is not known at this node
        if not missing:  # the money of origins unknown here is not judged
            money, deciding = _money(dest, origins)
            found += money
            attention += deciding
        if not dest.terminal:
            continue
        for region in dest.peers:
            origin = by_region.get(region)
            if origin is None and not complete:
                continue
            if origin is not None and not origin.terminal:
                continue
            pair = (dest.status, origin.status if origin else ABSENT)
            if pair not in allowed:
                found.append(f"destination {dest.region} {pair[0]} with origin {region} "
                             f"{pair[1]}: not an allowed pair of outcomes")
    agreed = False if found else (None if running or not dests else True)
    return Agreement(first.case_number, first.process,
                     tuple(side_view(v) for v in sorted(views, key=lambda v: (v.role, v.region))),
                     tuple(sorted(allowed)), agreed, tuple(found), tuple(attention))
