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

import pytest

from domain.kernel import (
    Actor,
    DomainError,
    EventRef,
    Receive,
    event_from_payload,
    execute,
    to_payload,
)
from domain.protocols.transfer import TransferConcluded
from tests.fixtures.transfers import TRANSFERS, accepted_case
from tests.unit.test_transfer_correction_races import DEST, ORIGIN, SHEET

pytestmark = pytest.mark.xfail(
    strict=True, reason="TransferConcluded.corrections accepts a negative count "
    "(domain/protocols/transfer_events.py: `int | None`, not a non-negative count)")


def _concluded(at: object, corrections: int) -> dict[str, object]:
    """A destination's v2 conclusion, `corrections` as the peer wrote it."""
    event = TransferConcluded(at=at, actor=Actor.system("inbox", DEST),  # type: ignore[arg-type]
                              to_region=ORIGIN, outcome="completed", corrections=0)
    return {**to_payload(event), "corrections": corrections}


def test_a_negative_corrections_count_is_refused_at_decoding() -> None:
    world, _ = accepted_case(TRANSFERS, "pension_transfer", (ORIGIN,), DEST)
    with pytest.raises(DomainError):
        event_from_payload("TransferConcluded", _concluded(world.now, -1), 2)


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
