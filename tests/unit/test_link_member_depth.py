"""A batch's members are bounded by the batch's own depth check, not a check of each member.

Why: `link._split` checks the whole array at `MAX_WIRE_DEPTH + 1` before it parses (the array
is one level above its members), so a member nested past `MAX_WIRE_DEPTH` already refuses its
batch there; checking each member again after its parse was work on the inbox's hot path that
could refuse nothing. Held here: a member one level past the bound refuses the batch as
`too_deep` (as before: the batch whole), a member at the bound passes the check and is decoded
as it is alone, and its neighbours too.
"""

from __future__ import annotations

from typing import Any

import pytest

from regions.core.errors import DecodeError
from regions.core.inbox_state import Packed
from regions.wire import envelope, link

BOUND = envelope.MAX_WIRE_DEPTH
#: A member whose strings hold brackets and an escaped quote (no nesting of their own).
PLAIN = b'{"id": "x:1", "type": "t", "data": {"a": "[[{ \\" ]"}}'


def member(depth: int) -> bytes:
    """An object nested `depth` levels deep in all (itself the first), strings in it."""
    return b'{"a": ' * (depth - 1) + b'{"s": "]]}}\\"[["}' + b"}" * (depth - 1)


def batch(*members: bytes) -> bytes:
    return b"[" + b",".join(members) + b"]"


def alone(raw: bytes) -> Any:
    try:
        return link.decode(raw)
    except DecodeError as exc:
        return exc.reason


def test_the_member_builder_nests_as_said() -> None:
    envelope.check_depth(member(BOUND))
    with pytest.raises(envelope.WireError, match="too_deep"):
        envelope.check_depth(member(BOUND + 1))


@pytest.mark.parametrize("where", [0, 1, 2])
def test_a_member_one_level_past_the_bound_refuses_its_batch_as_too_deep(where: int) -> None:
    members = [PLAIN, PLAIN]
    members.insert(where, member(BOUND + 1))
    for read in (link.members, link.decode_all):  # the inbox's reader refuses it the same way
        with pytest.raises(DecodeError, match=r"^wire_too_deep: batch: "):
            read(batch(*members))


def test_a_member_at_the_bound_is_split_and_decoded_as_alone() -> None:
    deep = member(BOUND)
    data = batch(PLAIN, deep, PLAIN)
    assert link.members(data) == [PLAIN, deep, PLAIN]
    found = link.decode_all(data)
    assert isinstance(found, Packed)
    for raw, item in found.members:
        assert (item.reason if isinstance(item, DecodeError) else item) == alone(raw)
