"""The simulator's inboxes decode each distinct byte string once (simulations.repeats): a repeat
of the same bytes is the item the real codec gave them, and a refusal is never remembered."""

from __future__ import annotations

import datetime as dt

import pytest

from regions.core.errors import DecodeError
from regions.core.messages import HighWaterMark
from regions.wire import link
from simulations.faults import ALL_FAULTS
from simulations.repeats import RepeatDecodes
from simulations.runner import run

AT = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)


def mark_bytes(seq: int) -> bytes:
    return link.encode(HighWaterMark("150600", "610800", seq, AT)).data


def test_a_repeat_of_the_same_bytes_is_what_their_first_decode_gave() -> None:
    decodes = RepeatDecodes(link.decode)
    first = decodes(mark_bytes(3), {})
    again = decodes(mark_bytes(3), {})  # equal bytes, another object
    assert again is first and first == link.decode(mark_bytes(3))
    assert (decodes.decoded, decodes.repeated) == (1, 1)


def test_refused_bytes_are_decoded_and_refused_each_time() -> None:
    decodes = RepeatDecodes(link.decode)
    for _ in range(2):
        with pytest.raises(DecodeError):
            decodes(b'{"not": "an envelope"}', {})
    assert (decodes.decoded, decodes.repeated) == (0, 0)


def test_the_oldest_bytes_are_forgotten_first() -> None:
    decodes = RepeatDecodes(link.decode, keep=2)
    for seq in (1, 2, 3, 1):
        decodes(mark_bytes(seq), {})
    assert (decodes.decoded, decodes.repeated) == (4, 0)
    decodes(mark_bytes(1), {})
    assert decodes.repeated == 1


def test_a_faulty_run_decodes_every_distinct_delivery_through_the_codec() -> None:
    result = run(2, 40, faults=ALL_FAULTS)
    decodes = result.world.decodes
    assert decodes.decoded > 0 and decodes.repeated > 0
    assert not result.violations
