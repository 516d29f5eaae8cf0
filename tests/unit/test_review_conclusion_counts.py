"""A peer's conclusion counting the corrections it applied (TransferConcluded v2) with a
negative count (review of the correction race, 28b4b2c).

Why it matters: `corrections` is typed `int | None`, so the decoder (and asyncapi.yaml:
minimum -2^63) lets a hostile or broken destination say it applied -1 corrected sheets. The
origin compares `applied < s.corrections`, so a completed transfer with no correction at all is
turned into `CorrectionNotApplied` plus a person's attention ("-1 of 0 corrections applied"),
and the side stops being terminal until staff resolve a correction that never existed. Every
other count and amount on the wire is refused below zero at decoding (`Fen`, `Months`).
"""

from __future__ import annotations

import dataclasses

import pytest

from domain.kernel import Actor, DomainError, EventRef, Receive, event_from_payload, to_payload
from domain.protocols.transfer import CorrectInfoSheet, TransferConcluded
from domain.protocols.transfer_sheets import MAX_CORRECTIONS
from domain.settling import execute
from tests.fixtures.transfers import TRANSFERS, accepted_case, staff
from tests.unit.test_transfer_correction_races import BIGGER, DEST, ORIGIN, SHEET


def _concluded(at: object, corrections: int) -> dict[str, object]:
    """A destination's v2 conclusion, `corrections` as the peer wrote it."""
    event = TransferConcluded(at=at, actor=Actor.system("inbox", DEST),  # type: ignore[arg-type]
                              to_region=ORIGIN, outcome="completed", corrections=0)
    return {**to_payload(event), "corrections": corrections}


def test_a_negative_corrections_count_is_refused_at_decoding() -> None:
    world, _ = accepted_case(TRANSFERS, "pension_transfer", (ORIGIN,), DEST)
    with pytest.raises(DomainError):
        event_from_payload("TransferConcluded", _concluded(world.now, -1), 2)


@pytest.mark.parametrize("count", [-1, True, False, MAX_CORRECTIONS + 1, 2**62, 1.0, "1"])
def test_an_impossible_corrections_count_is_refused_at_decoding(count: object) -> None:
    world, _ = accepted_case(TRANSFERS, "pension_transfer", (ORIGIN,), DEST)
    with pytest.raises(DomainError):
        event_from_payload("TransferConcluded", _concluded(world.now, count), 2)  # type: ignore[arg-type]


@pytest.mark.parametrize("count", [0, 1, MAX_CORRECTIONS, None])
def test_a_possible_corrections_count_decodes(count: int | None) -> None:
    world, _ = accepted_case(TRANSFERS, "pension_transfer", (ORIGIN,), DEST)
    event = event_from_payload("TransferConcluded", _concluded(world.now, count), 2)  # type: ignore[arg-type]
    assert isinstance(event, TransferConcluded) and event.corrections == count


def test_a_count_above_the_corrections_sent_is_refused_by_the_origin() -> None:
    """Decodable but impossible: the destination cannot have applied more corrected sheets
    than this origin sent; the origin records the refusal, as for any impossible event."""
    world, case = accepted_case(TRANSFERS, "pension_transfer", (ORIGIN,), DEST)
    world.transfer_out(case, ORIGIN, SHEET)
    origin = world.sides[(case, ORIGIN)]
    event = event_from_payload("TransferConcluded", _concluded(world.now, 1), 2)
    state, events = execute(origin.decider, origin.state, Receive(
        actor=Actor.system("inbox", ORIGIN), event=event, from_region=DEST,
        ref=EventRef("dest-side", 99)), world.now)
    assert [e.TYPE for e in events] == ["CounterpartEventRejected", "NeedsAttentionRaised"]
    assert "conclusion_inconsistent" in events[0].reason  # type: ignore[attr-defined]
    assert origin.decider.summary(state).amount_sent == SHEET.amount_fen


def test_a_negative_count_does_not_make_an_uncorrected_origin_need_a_person() -> None:
    world, case = accepted_case(TRANSFERS, "pension_transfer", (ORIGIN,), DEST)
    world.transfer_out(case, ORIGIN, SHEET)
    origin = world.sides[(case, ORIGIN)]
    try:
        event = event_from_payload("TransferConcluded", _concluded(world.now, -1), 2)
    except DomainError:
        return  # refused at the door: nothing reaches the origin
    state, events = execute(origin.decider, origin.state, Receive(
        actor=Actor.system("inbox", ORIGIN), event=event, from_region=DEST,
        ref=EventRef("dest-side", 99)), world.now)
    assert "CorrectionNotApplied" not in [e.TYPE for e in events]
    assert origin.decider.summary(state).terminal


def test_an_origin_corrects_its_sheet_at_most_max_corrections_times() -> None:
    """The bound the wire's count relies on: an honest destination never counts more."""
    world, case = accepted_case(TRANSFERS, "pension_transfer", (ORIGIN,), DEST)
    world.transfer_out(case, ORIGIN, SHEET)
    origin = world.sides[(case, ORIGIN)]
    worn = dataclasses.replace(origin.state, corrections=MAX_CORRECTIONS)
    with pytest.raises(DomainError) as refused:
        origin.decider.decide(worn, CorrectInfoSheet(
            actor=staff(ORIGIN), sheet=BIGGER, reason="缴费基数更正"), world.now)
    assert refused.value.code == "too_many_corrections"
