"""好差评 on a transfer (issue 13): the applicant rates each region that handled the case, once,
through the destination they dealt with; a poor rating opens a follow-up at the rated region."""

from __future__ import annotations

import datetime as dt

from domain.kernel import Actor
from domain.protocols import pension
from domain.protocols.casework_events import CloseFollowUp, Rate
from domain.protocols.transfer import ContributionYear
from tests.fixtures.transfers import TRANSFERS, TransferWorld, accepted_case, completed_case, staff

DEST, ORIGIN = "150600", "610800"
SHEET = pension.transfer_amount(1_000_000, [ContributionYear(2023, 12, 500_000)])
APPLICANT = Actor("applicant", "1201**********029X", DEST)


def completed() -> tuple[TransferWorld, str]:
    return completed_case(DEST, ORIGIN, SHEET)


def types(world: TransferWorld, case: str, region: str) -> list[str]:
    return [e.TYPE for e in world.sides[(case, region)].events]


def test_the_applicant_rates_the_destination_once_and_a_poor_rating_opens_a_follow_up() -> None:
    world, case = completed()
    events = world.act(case, DEST, Rate(actor=APPLICANT, score=2, comment="等太久"))
    assert [e.TYPE for e in events] == ["RatingGiven", "FollowUpOpened"]
    opened = events[1]
    assert opened.due_at is not None and opened.due_at > world.clock(DEST)  # type: ignore[attr-defined]
    side = world.sides[(case, DEST)]
    assert world.execute(side, Rate(actor=APPLICANT, score=5)) is None
    assert world.last_refusal.startswith("already_rated")
    world.act(case, DEST, CloseFollowUp(actor=staff(DEST), note="回访申请人，已整改"))
    assert types(world, case, DEST)[-1] == "FollowUpClosed"
    assert world.status(case, DEST) == "completed"  # an annotation moves nothing


def test_a_rating_of_the_origin_travels_to_it_and_opens_its_follow_up() -> None:
    world, case = completed()
    world.act(case, DEST, Rate(actor=APPLICANT, score=1, rated_region=ORIGIN))
    assert "RatingGiven" in types(world, case, DEST)
    assert types(world, case, ORIGIN)[-2:] == ["RatingReceived", "FollowUpOpened"]
    assert world.sides[(case, ORIGIN)].state.ratings.follow_up == "open"
    world.act(case, ORIGIN, CloseFollowUp(actor=staff(ORIGIN), note="已电话回访"))
    assert types(world, case, ORIGIN)[-1] == "FollowUpClosed"
    assert world.safety() == []


def test_an_unfinished_case_or_a_stranger_region_cannot_be_rated() -> None:
    world, case = accepted_case(TRANSFERS, "pension_transfer", (ORIGIN,), DEST)
    side = world.sides[(case, DEST)]
    assert world.execute(side, Rate(actor=APPLICANT, score=4)) is None
    assert world.last_refusal.startswith("not_completed")
    world, case = completed()
    side = world.sides[(case, DEST)]
    assert world.execute(side, Rate(actor=APPLICANT, score=4, rated_region="110000")) is None
    assert world.last_refusal.startswith("unknown_rated_region")
    origin = world.sides[(case, ORIGIN)]
    assert world.execute(origin, Rate(actor=APPLICANT, score=4)) is None
    assert world.last_refusal.startswith("rate_elsewhere")


def test_an_open_follow_up_past_its_due_date_is_flagged_overdue_once() -> None:
    world, case = completed()
    world.act(case, DEST, Rate(actor=APPLICANT, score=1))
    decider, state = world.sides[(case, DEST)].decider, world.sides[(case, DEST)].state
    due = state.ratings.follow_up_due
    assert decider.next_timer(state) == due
    later = due + dt.timedelta(hours=1)
    commands = decider.timers(state, later)
    events = decider.decide(state, commands[0], later)
    assert [e.TYPE for e in events] == ["FollowUpOverdue"]
    for e in events:
        state = decider.evolve(state, e)
    assert decider.timers(state, later) == [] and decider.next_timer(state) is None
