"""Edge-seeking workload: fault shapes biased toward the boundaries the protocols decide on,
and the record of which edges a run reached.

Why: uniform faults almost never land on a boundary (a 1–100 fen shortfall is one fen short
once in a hundred), so a reconciliation off by one fen ran unseen (issue 16). Each edge here is
drawn on purpose, counted in `reached`, and the CI batch asserts every one of them happened
(tests/e2e/test_seed_batch.py), so the workload cannot drift away from them.
"""

from __future__ import annotations

import random
from collections import Counter

from domain.kernel import Actor
from domain.protocols.casework_events import ResolveAttention
from domain.protocols.transfer_commands import CorrectInfoSheet
from domain.protocols.transfer_events import TransferSpec
from domain.protocols.transfer_states import OriginState
from simulations import closing, timing

#: What a bank credit notice does to the remitted amount, when the run's finance fault fires.
CREDIT_EDGES = ("one_fen_short", "one_fen_over", "split_exact", "short")
#: Edges every CI batch must reach (names in `reached`).
EDGES = (*(f"credit_{edge}" for edge in CREDIT_EDGES), "publish_failed_then_retried",
         *timing.EDGES, *closing.EDGES, "calendar_install_moved_later",
         "correction_crossed_money", "correction_left_for_new_case",
         # the driver's interleavings (simulations/flows.py): relay batches in flight together,
         # a later one's acks back first, an inbox pull while a commit is pending
         "relay_batches_in_flight", "relay_later_batch_acked_first", "inbox_fetched_ahead")
#: Chance that an origin's staff correct its info sheet within milliseconds of the bank's
#: notice reaching the destination (when people are timed at the edges): the correction and
#: the money cross, and the destination may complete on the sheet it had. `options` offers a
#: correction only before any money left, so without this the simulator never corrected a
#: sheet with a remittance in flight and never met that race (issue 17; the property suite did).
CORRECTION_CROSSING = 0.3
#: The correction is sent this many milliseconds either side of the notice: a clean link
#: carries it in about 3 ms, so it arrives just before or just after the money.
CROSSING_MS = 4.0
#: Chance that an origin's staff, visiting a side the destination completed without its last
#: correction (`CorrectionNotApplied`), decide the 补转 then (`ResolveAttention`: the side ends
#: on the destination's sheet, the difference left to a new case). The rest wait for a person
#: to the end of the run, so both the waiting side's attention and the resolved side's end are
#: judged by the checkers.
RESOLVE_FOR_NEW_CASE = 0.7


def credits(amount: int, rng: random.Random, reached: Counter[str]) -> list[int]:
    """The credits a destination's finance side sees for one remittance of `amount` fen."""
    if amount < 2:
        return [amount]
    # The least reached edge next, the boundaries first: a run sees few short credits (one or
    # two), and a random pick among four left a three-seed batch without a one-fen shortfall,
    # so a reconciliation tolerating it went unseen (issue 16's mutation score).
    fewest = min(reached[f"credit_{e}"] for e in CREDIT_EDGES)
    edge = next(e for e in CREDIT_EDGES if reached[f"credit_{e}"] == fewest)
    reached[f"credit_{edge}"] += 1
    if edge == "one_fen_short":
        return [amount - 1]
    if edge == "one_fen_over":
        return [amount + 1]
    if edge == "split_exact":
        first = rng.randint(1, amount - 1)
        return [first, amount - first]
    return [amount - rng.randint(1, min(100, amount - 1))]


def crossing_correction(spec: TransferSpec, state: object,
                        rng: random.Random) -> CorrectInfoSheet | None:
    """The corrected sheet an origin sends with its money in flight (another of its scheme's
    sample sheets, up or down), or None when this side has no sheet to correct any more."""
    if (not isinstance(state, OriginState) or state.sheet is None or state.concluded
            or state.phase not in ("remitting", "transferred_out")):
        return None
    sheet = spec.sheet_sampler(state.direction)(rng)
    if sheet == state.sheet or sheet.amount_fen == 0:
        return None
    staff = Actor("staff", "staff-51", state.region, "transfer_officer")
    return CorrectInfoSheet(actor=staff, sheet=sheet, reason="缴费基数更正（资金在途）")


def resolution_for_new_case(state: object, rng: random.Random) -> ResolveAttention | None:
    """Staff deciding the 补转 of an origin the destination completed on an earlier sheet (now
    and then: `RESOLVE_FOR_NEW_CASE`), or None. `options` never offers `ResolveAttention` (a
    world resuming every timed-out wait would not come to rest); this one ends the side."""
    if not isinstance(state, OriginState) or not state.correction_unapplied:
        return None
    if rng.random() >= RESOLVE_FOR_NEW_CASE:
        return None
    staff = Actor("staff", "staff-51", state.region, "transfer_officer")
    return ResolveAttention(actor=staff, note="已与转入地核对：按办结时的信息表结案，差额另案补转")
