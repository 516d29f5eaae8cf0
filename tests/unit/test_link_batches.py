"""Link events packed into batched messages (`regions.wire.link.encode_many`) and unpacked by the
inbox: each member handled as if it had come alone, the delivery acked once, a member that fails
quarantined alone, a batch that is not one quarantined whole — and whatever the grouping,
duplicates and order, the same applied sequence as one message per event.

Uses the toy "memo" protocol of `test_batched_inbox` (several link messages per case).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_batched_inbox import (  # the same module pytest collected (tests/unit on the path)
    T0,
    A,
    B,
    _quarantined,
    heard,
    incoming,
    make,
    new_case,
    regions,
    say,
    sent,
)

from regions.adapters.stores.memory import MemoryStore
from regions.core.errors import DecodeError
from regions.core.inbox import Incoming
from regions.core.inbox_state import MEMBER_HEADER, Packed
from regions.core.messages import HighWaterMark, LinkMessage, WireItem
from regions.core.ports import MSG_ID_HEADER
from regions.runtime.driver import first_seq
from regions.wire import link

__all__ = ["regions"]  # the fixture, used by name


def batched(messages: Sequence[LinkMessage], token: Any) -> Incoming:
    """`messages` as one delivery (a batch, or the single form for one)."""
    packets = link.encode_many(list(messages))
    assert len(packets) == 1
    out = packets[0].out
    return Incoming(out.subject, out.data, dict(out.headers), token=token, subject_origin=A)


def raw_batch(members: Sequence[bytes], token: Any) -> Incoming:
    subject = link.event_message(dest=B, origin=A, event_id="x:1", data=b"").subject
    return Incoming(subject, b"[" + b",".join(members) + b"]", {}, token=token,
                    subject_origin=A)


def lines(case: str, count: int) -> list[tuple[str, str]]:
    return [(case, f"line {i}") for i in range(1, count + 1)]


# --------------------------------------------------------------------------- the codec


def test_consecutive_events_pack_into_one_array_and_unpack_into_the_same_items(regions) -> None:
    a, _ = regions
    case = new_case()
    say(a, lines(case, 5))
    messages = sent(a)
    packets = link.encode_many(messages)
    assert len(packets) == 1 and list(packets[0].items) == messages
    out = packets[0].out
    assert out.headers[link.CONTENT_TYPE_HEADER] == link.BATCH_CONTENT_TYPE
    assert [json.loads(m)["linkseq"] for m in link.members(out.data)] == [1, 2, 3, 4, 5]
    found = link.decode_all(out.data, dict(out.headers))
    assert isinstance(found, Packed)
    singles = [link.encode(m).data for m in messages]
    assert [raw for raw, _ in found.members] == singles  # each member: the single form's bytes
    assert [item for _, item in found.members] == [link.decode(s) for s in singles]
    assert link.encode_many(messages)[0].out == out  # canonical: the same id and bytes again


def test_a_lone_event_stays_the_single_form_under_its_old_id(regions) -> None:
    a, _ = regions
    say(a, lines(new_case(), 1))
    (message,) = sent(a)
    (packet,) = link.encode_many([message])
    assert packet.out == link.encode(message)
    assert link.decode_all(packet.out.data) == link.decode(packet.out.data)


def test_control_items_and_gaps_break_runs_and_caps_split_them(regions, monkeypatch) -> None:
    a, _ = regions
    say(a, lines(new_case(), 7))
    m = sent(a)
    mark = HighWaterMark(origin=A, destination=B, link_seq=7, at=T0)
    items: list[WireItem] = [m[0], m[1], mark, m[2], m[4], m[5], m[6]]  # m[3] missing: a gap
    assert [list(p.items) for p in link.encode_many(items)] == [
        [m[0], m[1]], [mark], [m[2]], [m[4], m[5], m[6]]]
    monkeypatch.setattr(link, "MAX_BATCH", 3)
    assert [len(p.items) for p in link.encode_many(m)] == [3, 3, 1]
    monkeypatch.setattr(link, "MAX_BATCH", 64)
    one = len(link.encode(m[0]).data)
    monkeypatch.setattr(link, "MAX_BYTES", 2 * one + 3)  # two of these and the brackets
    assert all(len(p.out.data) <= 2 * one + 3 for p in link.encode_many(m))
    assert len(link.encode_many(m)) == 4


@pytest.mark.parametrize("data", [b"[", b"[]", b" [ ] ", b"[1,", b'[{"a": 1}] x', b"[\xff]",
                                  b"[" * 5000 + b"]" * 5000, b"[" + b",".join([b"{}"] * 65) + b"]"])
def test_a_batch_that_is_not_a_non_empty_json_array_is_refused_whole(data: bytes) -> None:
    with pytest.raises(DecodeError):
        link.decode_all(data)


def test_a_failed_publish_maps_back_to_the_first_event_not_known_stored(regions) -> None:
    a, _ = regions
    say(a, lines(new_case(), 5))
    m = sent(a)
    mark = HighWaterMark(origin=A, destination=B, link_seq=2, at=T0)
    packets = link.encode_many([m[0], m[1], mark, m[2], m[3], m[4]])
    assert [first_seq(packets[i:]) for i in range(len(packets))] == [1, 3, 3]
    assert first_seq(link.encode_many([mark])) == 0


# --------------------------------------------------------------------------- the inbox


def test_a_batch_is_applied_in_link_order_and_acked_once(regions) -> None:
    a, b = regions
    case = new_case()
    say(a, lines(case, 6))
    m = sent(a)
    result = b.inbox.handle([batched(m[:4], "first"), *incoming(m[4:])], T0)
    assert result.applied == 6 and result.ack == ["first", 5, 6]
    assert heard(b, case) == tuple(text for _, text in lines(case, 6))


def test_a_duplicated_batch_and_an_overlapping_regrouping_apply_each_event_once(regions) -> None:
    a, b = regions
    case = new_case()
    say(a, lines(case, 6))
    m = sent(a)
    first = b.inbox.handle([batched(m[:3], "a"), batched(m[:3], "a again")], T0)
    assert first.applied == 3 and first.duplicates == 3 and first.ack == ["a", "a again"]
    resent = b.inbox.handle([batched(m[1:6], "resend")], T0)  # another grouping: 2..6
    assert resent.applied == 3 and resent.duplicates == 2 and resent.ack == ["resend"]
    assert heard(b, case) == tuple(text for _, text in lines(case, 6))


def test_a_batch_ahead_of_a_gap_is_held_and_released_in_order(regions) -> None:
    a, b = regions
    case = new_case()
    say(a, lines(case, 5))
    m = sent(a)
    held = b.inbox.handle([batched(m[2:5], "later")], T0)
    assert held.applied == 0 and held.gaps == 3 and held.ack == ["later"]  # acked when held
    released = b.inbox.handle([batched(m[:2], "earlier")], T0)
    assert released.applied == 5 and released.ack == ["earlier"]
    assert heard(b, case) == tuple(text for _, text in lines(case, 5))


def test_a_member_that_fails_is_quarantined_alone_and_its_link_steps_over_it(regions) -> None:
    a, b = regions
    case = new_case()
    say(a, lines(case, 4))
    m = sent(a)
    members = [link.encode(x).data for x in m]
    bad = json.loads(members[1])
    bad["schemaversion"] = 99  # a newer schema: refused with its link position
    members[1] = json.dumps(bad).encode()
    result = b.inbox.handle([raw_batch(members, "batch")], T0)
    assert result.applied == 3 and result.quarantined == 1 and result.ack == ["batch"]
    assert heard(b, case) == ("line 1", "line 3", "line 4")
    assert b.node.inlink_position(A) == 4  # stepped over #2
    (parked,) = _quarantined(b)
    assert parked.raw == members[1] and parked.headers[MEMBER_HEADER] == "2/4"
    assert "newer_schema" in parked.reason


def test_a_corrupted_batch_is_quarantined_whole_and_the_link_repaired_by_a_resend(
        regions) -> None:
    a, b = regions
    case = new_case()
    say(a, lines(case, 4))
    m = sent(a)
    good = batched(m[:3], "corrupt")
    corrupt = Incoming(good.subject, good.data[:-7], good.headers, "corrupt", A)
    result = b.inbox.handle([corrupt, *incoming(m[3:])], T0)
    assert result.applied == 0 and result.quarantined == 1 and result.gaps == 1
    assert sorted(map(str, result.ack)) == ["4", "corrupt"]
    later = T0 + dt.timedelta(seconds=30)
    (request,) = b.inbox.check_gaps(later) or b.inbox.check_gaps(later + dt.timedelta(seconds=30))
    assert (request.from_seq, request.to_seq) == (1, 3)
    again = b.inbox.handle([batched(m[:3], "resent")], later)
    assert again.applied == 4  # the re-send, and #4 held behind it
    assert heard(b, case) == tuple(text for _, text in lines(case, 4))


def test_old_single_messages_and_batches_mix_in_one_fetch(regions) -> None:
    a, b = regions
    case = new_case()
    say(a, lines(case, 5))
    m = sent(a)
    result = b.inbox.handle([*incoming(m[:1]), batched(m[1:3], "b"), *incoming(m[3:])], T0)
    assert result.applied == 5 and result.ack == [1, "b", 4, 5]


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_any_grouping_with_duplicates_and_reordering_applies_the_same_sequence(data) -> None:
    """Cut a link's events into batches anyhow, duplicate and shuffle the deliveries, fetch them
    in any slices: the destination applies exactly what one message per event in order does."""
    store = MemoryStore()
    a, b = make(A, B, store), make(B, A, store)
    cases = [new_case() for _ in range(2)]
    count = data.draw(st.integers(2, 12), label="events")
    say(a, [(cases[i % 2], f"line {i}") for i in range(count)])
    m = sent(a)
    cuts = sorted(data.draw(st.sets(st.integers(1, count - 1)), label="cuts"))
    groups = [m[i:j] for i, j in zip([0, *cuts], [*cuts, count], strict=True)]
    deliveries = [batched(g, f"g{k}") for k, g in enumerate(groups)]
    deliveries += data.draw(st.lists(st.sampled_from(deliveries), max_size=3), label="dups")
    deliveries = data.draw(st.permutations(deliveries), label="order")
    sizes = data.draw(st.lists(st.integers(1, 4), min_size=len(deliveries),
                               max_size=len(deliveries)), label="fetches")
    acked: list[Any] = []
    at, index = T0, 0
    for size in sizes:
        if index >= len(deliveries):
            break
        acked += b.inbox.handle(deliveries[index:index + size], at).ack
        index += size
    assert sorted(acked) == sorted(d.token for d in deliveries)  # every delivery acked once
    assert b.node.inlink_position(A) == count
    for case in cases:
        assert heard(b, case) == tuple(f"line {i}" for i in range(count) if cases[i % 2] == case)
    assert b.inbox.stats["applied"] == count and b.inbox.stats["quarantined"] == 0


def test_a_batch_carries_its_first_events_id_and_a_digest_as_its_msg_id(regions) -> None:
    a, _ = regions
    say(a, lines(new_case(), 3))
    m = sent(a)
    out = link.encode_many(m)[0].out
    msg_id = out.headers[MSG_ID_HEADER]
    assert msg_id.startswith(f"{m[0].event_id}:") and msg_id.endswith(f":{B}")
    assert out.headers[MSG_ID_HEADER] != link.encode_many(m[:2])[0].out.headers[MSG_ID_HEADER]
