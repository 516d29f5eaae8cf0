"""What people plausibly do next in a transfer includes the issue 15 paths (item 5's corrections,
item 8's 好差评): the simulator and the property suites draw only what `options` offers, so a
path it never offers is never exercised outside its unit tests."""

from __future__ import annotations

import random

from domain.kernel import Actor, Command
from domain.protocols import pension
from domain.protocols.casework_events import CloseFollowUp, Rate
from domain.protocols.transfer import (
    ApproveTransferOut,
    ContributionYear,
    CorrectInfoSheet,
    IssueInfoSheet,
)
from tests.fixtures.transfers import TRANSFERS, TransferWorld, accepted_case, staff

DEST, ORIGIN = "150600", "610800"
APPLICANT = Actor("applicant", "1201**********029X", DEST)
SHEET = pension.transfer_amount(1_000_000, [ContributionYear(2023, 12, 500_000)])


def offered(world: TransferWorld, case: str, region: str, seeds: int = 40) -> list[Command]:
    side = world.sides[(case, region)]
    return [c for seed in range(seeds)
            for c in side.protocol.options(side.state, world.clock(region), random.Random(seed))]


def test_a_finished_transfer_offers_a_rating_of_each_region_that_handled_it() -> None:
    world, case = accepted_case(TRANSFERS, "pension_transfer", (ORIGIN,), DEST)
    world.transfer_out(case, ORIGIN, SHEET)
    world.funds(case, DEST, ORIGIN, SHEET.amount_fen, "B-1")
    assert world.status(case, DEST) == "completed"
    rates = [c for c in offered(world, case, DEST) if isinstance(c, Rate)]
    assert {c.rated_region for c in rates} == {DEST, ORIGIN}
    assert all(world.execute(world.sides[(case, DEST)], c) is not None for c in rates[:1])


def test_an_open_follow_up_is_offered_for_closing_at_the_rated_region() -> None:
    world, case = accepted_case(TRANSFERS, "pension_transfer", (ORIGIN,), DEST)
    world.transfer_out(case, ORIGIN, SHEET)
    world.funds(case, DEST, ORIGIN, SHEET.amount_fen, "B-1")
    world.act(case, DEST, Rate(actor=APPLICANT, score=1, rated_region=ORIGIN))
    assert world.sides[(case, ORIGIN)].state.ratings.follow_up == "open"
    assert any(isinstance(c, CloseFollowUp) for c in offered(world, case, ORIGIN))
    assert not any(isinstance(c, Rate) for c in offered(world, case, ORIGIN))  # rated via DEST


def test_an_origin_that_has_not_remitted_yet_may_correct_its_sheet() -> None:
    world, case = accepted_case(TRANSFERS, "pension_transfer", (ORIGIN,), DEST)
    world.act(case, ORIGIN, ApproveTransferOut(actor=staff(ORIGIN)))
    world.act(case, ORIGIN, IssueInfoSheet(actor=staff(ORIGIN), sheet=SHEET))
    assert world.status(case, ORIGIN) == "remitting"
    corrections = [c for c in offered(world, case, ORIGIN) if isinstance(c, CorrectInfoSheet)]
    assert corrections and all(c.sheet != SHEET and c.reason.strip() for c in corrections)
    side = world.sides[(case, ORIGIN)]
    assert world.execute(side, corrections[0]) is not None


def test_no_correction_is_offered_once_the_money_is_on_its_way() -> None:
    """Drawn only before the remittance: a correction after it may cross the destination's
    conclusion, and a late correction is rejected like any late counterpart event."""
    world, case = accepted_case(TRANSFERS, "pension_transfer", (ORIGIN,), DEST)
    world.transfer_out(case, ORIGIN, SHEET)
    assert world.status(case, ORIGIN) == "transferred_out"
    assert not any(isinstance(c, CorrectInfoSheet) for c in offered(world, case, ORIGIN))
