"""A batch's members are read from the one parse that split the array (`link.decode_all`).

The receiver finds where each member of a `LinkEventBatch` ends by parsing it (`json`'s
`raw_decode`); decoding each member again from its bytes parsed it a second time — the JSON of
every batched event read twice on the receiving path. Checked here: one parse per member, and
what a batch decodes to is still, member by member, what its bytes decode to alone (`link.decode`:
the same item, or a refusal with the same reason and link position), for the common form and
for members that leave it (a control message, another offset, an extension attribute, an
unknown type, a newer schema, data that is no object, a bad attribute).

Uses the toy "memo" protocol of `test_batched_inbox`.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_batched_inbox import (  # the same module pytest collected (tests/unit on the path)
    T0,
    A,
    B,
    new_case,
    regions,
    say,
    sent,
)

from regions.core.errors import DecodeError
from regions.core.inbox_state import Packed
from regions.core.messages import HighWaterMark
from regions.wire import envelope, link

__all__ = ["regions"]  # the fixture, used by name


def batch_of(members: list[bytes]) -> bytes:
    return b"[" + b",".join(members) + b"]"


def singles(region: Any, count: int) -> list[bytes]:
    case = new_case()
    say(region, [(case, f"line {i}") for i in range(1, count + 1)])
    return [link.encode(m).data for m in sent(region)]


def same(found: Any, alone: Any) -> bool:
    """The same item, or refusals with the same reason and position."""
    if isinstance(found, DecodeError) or isinstance(alone, DecodeError):
        return (isinstance(found, DecodeError) and isinstance(alone, DecodeError)
                and (found.reason, found.position) == (alone.reason, alone.position))
    return bool(found == alone)


def alone(raw: bytes) -> Any:
    try:
        return link.decode(raw)
    except DecodeError as exc:
        return exc


def test_each_member_of_a_batch_is_parsed_once(regions, monkeypatch) -> None:
    a, _ = regions
    members = singles(a, 5)
    data = batch_of(members)
    calls = []
    raw_decode = json.JSONDecoder.raw_decode

    def counted(self: json.JSONDecoder, s: str, idx: int = 0) -> tuple[Any, int]:
        calls.append(idx)
        return raw_decode(self, s, idx)

    monkeypatch.setattr(json.JSONDecoder, "raw_decode", counted)
    found = link.decode_all(data)
    assert isinstance(found, Packed) and len(found.members) == 5
    assert len(calls) == 5  # json.loads goes through raw_decode too


def edits(one: dict[str, Any]) -> list[dict[str, Any]]:
    """Members that leave the common form, or are refused, each by one change of `one`."""
    def changed(**fields: Any) -> dict[str, Any]:
        return {**json.loads(json.dumps(one)), **fields}

    no_data = changed()
    del no_data["data"]
    return [
        changed(time=one["time"].replace("Z", "+08:00") if one["time"].endswith("Z")
                else one["time"]),
        changed(extra1="x"),
        changed(**{"Bad-Name": "x"}),
        changed(type="cn.tongban.no.Such"),
        changed(schemaversion=one["schemaversion"] + 1),
        changed(data=[1, 2]),
        changed(specversion="0.3"),
        changed(linkseq="7"),
        changed(origin=B),
        changed(id="x"),
        changed(time="yesterday"),
        no_data,
    ]


def test_what_a_batch_decodes_to_is_what_each_member_decodes_to_alone(regions) -> None:
    a, _ = regions
    members = singles(a, 3)
    mark = link.encode(HighWaterMark(origin=A, destination=B, link_seq=3, at=T0)).data
    edited = [json.dumps(m).encode() for m in edits(json.loads(members[0]))]
    for member in [*members, mark, *edited]:
        found = link.decode_all(batch_of([members[1], member]))
        assert isinstance(found, Packed)
        (_, item1), (raw2, item2) = found.members
        assert raw2 == member and same(item2, alone(member)), member
        assert same(item1, alone(members[1]))


@pytest.mark.parametrize("spacing", [b" ", b"\n\t"])
def test_members_between_spaces_decode_as_alone(regions, spacing: bytes) -> None:
    a, _ = regions
    members = singles(a, 2)
    data = b"[" + spacing + (b"," + spacing).join(members) + spacing + b"]"
    found = link.decode_all(data)
    assert isinstance(found, Packed)
    assert [raw for raw, _ in found.members] == members
    assert all(same(item, alone(raw)) for raw, item in found.members)


def nested(depth: int, inner: str = "1", opener: str = "[", closer: str = "]") -> str:
    return opener * depth + inner + closer * depth


def objects(depth: int) -> str:
    return '{"a": ' * depth + '"[[{ \\" ]"' + "}" * depth


@st.composite
def batch_texts(draw: st.DrawFn) -> bytes:
    """Arrays (or not) of members near and past the nesting bound, strings holding brackets,
    a real event, garbage; sometimes cut short or with more after them."""
    bound = envelope.MAX_WIRE_DEPTH
    depth = st.integers(0, bound + 3) | st.sampled_from([bound - 1, bound, bound + 1])
    member = st.one_of(
        depth.map(nested), depth.map(objects), st.just(EVENT),
        st.text(alphabet='[]{}",:1a\\ ', max_size=20),
        st.integers(bound - 2, bound + 2).map(lambda k: nested(k, '"]]]]"')))
    members = draw(st.lists(member, max_size=4))
    text = draw(st.sampled_from(["[", " [", "{", ""])) + ",".join(members) + draw(
        st.sampled_from(["]", "] ", "", "]]", "] x"]))
    if draw(st.booleans()):
        text = nested(draw(st.integers(1, 3)), text)
    return text.encode()


#: A real member (a memo event's single form, as `singles` writes it: fixed here, no fixture).
EVENT = ('{"id": "x:1", "source": "tb:150600", "specversion": "1.0", "type": "t", '
         '"time": "2026-03-02T01:00:00Z", "data": {"lines": [["a", "[b]"]]}}')


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(data=batch_texts())
def test_a_batch_is_refused_as_too_deep_exactly_when_its_whole_text_is(data: bytes) -> None:
    """`members`' only depth refusals are those of the check of the whole array before the
    parse (`envelope.check_depth`, one level above the members), which bounds each member."""
    try:
        envelope.check_depth(data, envelope.MAX_WIRE_DEPTH + 1)
        whole = None
    except envelope.WireError as exc:
        whole = f"{exc.code}: batch: {exc}"
    try:
        link.members(data)
        reason = None
    except DecodeError as exc:
        reason = exc.reason
    if whole is not None:
        assert reason == whole
    else:
        assert reason is None or not reason.startswith("too_deep")
