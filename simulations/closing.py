"""Origins that never answer, and the destination's staff who then escalate (督办) and close
the transfer; with the oracle that judges the close.

Why: a transfer rests in needs_attention once its own waiting limit runs out, and `options`
never draws what staff do then (escalating, closing with a reason: issue 13), so the simulator
never ran either — an earlier attempt drew 0 closes in 3 seeds (issue 16). Here, under the
`timing_edges` fault kind, a few single-origin transfers get an origin whose staff never decide
and an applicant who waits for it; the destination's limit raises needs_attention, its staff
escalate, then close, the close runs the withdrawal's handshake to the silent origin (which
releases the case on receipt, no person needed), and the case concludes "closed". The edges
are counted when the commands were accepted, and the CI batch requires them
(`simulations.edges.EDGES`). The oracle: a closed transfer is terminal on both sides and moved
no money and no sheet (a close is never over money: reference §1 invariant 1). And staff visiting
a transfer that needs a person after a sheet or money came, and is not already ending, try to
close it (`tempted_close`): the protocol must refuse, and the oracle reads the destination's own
log for a close ordered after a sheet or money came (the case may complete anyway). That state
is sought (`credit_off_the_sheet`): left to chance, seeds 1-3 x 120 never reached it once the
driver ran the relay's window (SIMWINDOW), and every temptation fell on a withdrawing case,
refused as already ending whatever the money check said.
Every draw comes from a stream of its own ("timing:attention"), so other draws stay put.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterable
from dataclasses import replace
from typing import TYPE_CHECKING

from domain import invariants as inv
from domain.kernel import Actor, Command, Event
from domain.protocols.casework_events import EscalateAttention
from domain.protocols.transfer_commands import CloseTransfer, RecordFundsReceived
from domain.protocols.transfer_states import DestinationState, OriginState
from simulations import checkers

if TYPE_CHECKING:
    from simulations.workload import Workload
    from simulations.world import World

#: Share of single-origin transfers whose origin never decides (its staff never act on it).
SILENT_ORIGIN = 0.05
#: The applicant of such a case waits (no withdrawal) until the destination's staff close it.
PATIENT_FOR_EVER = dt.timedelta(days=10_000)
#: Bank notices per run (people timed at the edges) that credit one fen more than the sheet
#: states, on a transfer whose destination takes nothing over on the sheet and is not ending:
#: the reconciliation then leaves it needing a person with the sheet and money in
#: (`credit_off_the_sheet`), where only the close's money check refuses the tempted close.
STEERED_CREDITS = 2
#: Their count's name in the workload's `steering` (the summary's "steering", beside "edges").
STEERED = "credit_off_for_tempted_close"
EDGES = ("silent_origin_escalated", "silent_origin_closed", "close_over_money_tried")
#: What moves money or a sheet: none of it may be on either side of a closed transfer.
MONEY_EVENTS = frozenset({"InfoSheetIssued", "FundsRemitted", "FundsReceived",
                          "InfoSheetReceived", "RelationshipTakenOver", "TransferCompleted"})
RULE = "closed_transfer"


def draws_silent(rng: random.Random, origins: int) -> bool:
    """One draw per transfer case, whatever the outcome (the stream stays aligned)."""
    return rng.random() < SILENT_ORIGIN and origins == 1


def origin_waits(state: object) -> bool:
    """A silent origin's staff do nothing while the decision is theirs to make."""
    return isinstance(state, OriginState) and state.phase == "received"


def staff_command(state: object, region: str, rng: random.Random) -> tuple[Command, str] | None:
    """(command, edge) for the destination's staff facing a silent origin: 督办 first, then,
    once escalated, close the case with the reason; None when nothing needs a person."""
    if not isinstance(state, DestinationState) or not state.needs_person:
        return None
    staff = _officer(region, rng)
    if not state.escalated:
        return (EscalateAttention(actor=staff, reason="转出地逾期未办理，提请督办"),
                "silent_origin_escalated")
    return CloseTransfer(actor=staff, reason="转出地经督办仍未答复，关闭本次转移"), \
        "silent_origin_closed"


def _officer(region: str, rng: random.Random) -> Actor:
    """One of the destination's transfer officers (a draw from `rng`)."""
    return Actor("staff", f"staff-{rng.randrange(1, 50):02d}", region, "transfer_officer")


def tempted_close(state: object, region: str, rng: random.Random) -> Command | None:
    """A close the destination's staff try on a transfer needing a person although a sheet or
    money came (a difference nobody settles, say), or None. Only where the refusal rests on
    that alone: a case already ending (withdrawing, refusing) or taken over is refused on
    those grounds first, so a close tried there says nothing of the money check."""
    if not isinstance(state, DestinationState) or not state.needs_person or state.taken_over \
            or state.phase in ("withdrawing", "refusing") \
            or not any(t.sheet is not None or t.funds for t in state.tracks.values()):
        return None
    staff = _officer(region, rng)
    return CloseTransfer(actor=staff, reason="差额久未处理，拟关闭本次转移")


def credit_off_the_sheet(world: World, code: str, case_id: str, notice: RecordFundsReceived,
                         steered: dict[str, int]) -> RecordFundsReceived:
    """The bank's notice as the destination `code`'s finance side records it: one fen over the
    sheet for the first `STEERED_CREDITS` whole credits of a run that reach a transfer awaiting
    its money with the origin's sheet in and nothing from it yet, whose destination takes
    nothing over on the sheet (`relationship_on_sheet`: the pension items) — it then needs a
    person, sheet and money in, not ending, and the staff's visit is tempted (`tempted_close`);
    the excess goes back (`ReturnExcess`) or an operator reverses it. Otherwise the notice as
    sent. Each one is counted in `steered` (the workload's `steering`, under `STEERED`), not
    among the edges the run reached: it is the workload aiming at an edge, not one reached."""
    if steered.get(STEERED, 0) >= STEERED_CREDITS:
        return notice
    node = world.regions[code].region.node
    view = node.side(case_id)
    state = view.state if view is not None else None
    spec = getattr(node.protocols[view.process].decider, "spec", None) if view else None
    if not isinstance(state, DestinationState) or state.phase != "awaiting_transfer" \
            or state.reversal or getattr(spec, "relationship_on_sheet", True):
        return notice
    track = state.tracks.get(notice.from_region)
    if track is None or track.sheet is None or track.funds \
            or notice.amount_fen != track.sheet.amount_fen or notice.amount_fen < 1:
        return notice
    steered[STEERED] = steered.get(STEERED, 0) + 1
    return replace(notice, amount_fen=notice.amount_fen + 1)


def closed_transfers(world: World, workload: Workload) -> list[inv.Violation]:
    """At the end, a transfer its destination closed is terminal on every side, and nothing
    moved: no sheet, no money, no relationship, on either side."""
    found = []
    for case_id in workload.cases_started:
        first = workload.first_region.get(case_id)
        found += _closes_over_money(case_id, first, world.checks.events_of(case_id).items())
        sides = checkers.summaries(world, case_id)
        if not any(s.region == first and s.status == "closed" for s in sides):
            continue
        for side in sides:
            if not side.terminal:
                found.append(inv.Violation(case_id, RULE, f"closed at {first}, but "
                                           f"{side.role} {side.region} is still {side.status}"))
        for (_, region), events in sorted(world.checks.events_of(case_id).items()):
            moved = sorted({e.TYPE for e in events} & MONEY_EVENTS)
            if moved:
                found.append(inv.Violation(case_id, RULE, f"closed at {first}, but {region} "
                                           f"recorded {', '.join(moved)}"))
    return found


def _closes_over_money(case_id: str, first: str | None,
                       logs: Iterable[tuple[tuple[str, str], list[Event]]]) -> list[inv.Violation]:
    """Staff's close at the destination ordered after a sheet or money came there: the case
    may still complete (the origin answers "already transferred"), so only the order of the
    destination's own log shows it."""
    found = []
    for (_, region), events in logs:
        if region != first:
            continue
        came = ""
        for event in events:
            if event.TYPE in ("InfoSheetReceived", "FundsReceived"):
                came = came or event.TYPE
            elif came and (event.TYPE == "TransferCloseOrdered" or (event.TYPE ==
                           "TransferCaseClosed" and getattr(event, "outcome", "") == "closed")):
                found.append(inv.Violation(case_id, RULE, f"staff closed it at {region} after "
                                           f"{came}: a close is never over money"))
    return found


checkers.FINAL_CHECKS.append(closed_transfers)
