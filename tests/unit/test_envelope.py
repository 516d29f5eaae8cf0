"""The CloudEvents envelope and link control messages: what goes out comes back, and what is
wrong is refused with a specific reason (the inbox quarantines by it) or parked (newer schema)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.kernel import EventRef, InvalidValue, to_payload
from regions.core.messages import HighWaterMark, ResendRequest
from regions.wire import (
    LinkPosition,
    NewerSchema,
    WireError,
    WireMessage,
    WireReason,
    decode,
    decode_any,
    decode_control,
    encode,
    encode_control,
)
from tests.fixtures.wire.events import (
    AT,
    DESTINATION,
    FIXTURES,
    ORIGIN,
    WireProbeNoted,
    WireProbeSent,
    probe_event,
    probe_message,
)

GOLDEN = FIXTURES / "WireProbeSent.v2.cloudevent.json"


def as_json(message: bytes) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(message)
    return parsed


def reason_of(data: bytes) -> WireReason:
    with pytest.raises(WireError) as caught:
        decode(data)
    return caught.value.reason


# --------------------------------------------------------------------------- round trips


def test_a_shared_event_and_its_link_fields_survive_the_wire_unchanged() -> None:
    message = probe_message(
        receipt_of=EventRef("7a1b2c3d-0000-5000-8000-000000000001", 12),
        prev_hash="sha256:" + "0f" * 32, key_id="kms:150600:2025", sig="c2lnbmF0dXJl",
    )
    assert decode(encode(message)) == message


@given(
    amount=st.integers(min_value=0, max_value=10**12),
    months=st.integers(min_value=0, max_value=600),
    note=st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=40),
    link_seq=st.integers(min_value=1, max_value=2**53),
    version=st.integers(min_value=1, max_value=10**6),
)
def test_reencoding_a_decoded_message_gives_the_same_bytes(
    amount: int, months: int, note: str, link_seq: int, version: int,
) -> None:
    event = probe_event(amount_fen=amount, months=months, note=note)
    message = probe_message(event=event, link_seq=link_seq, ref=EventRef("side-1", version))
    data = encode(message)
    assert decode(data) == message
    assert encode(decode(data)) == data


def test_encoding_is_the_committed_golden_bytes() -> None:
    """Pins the format: attribute order, `time` taken from the event, the SDK's rendering."""
    assert encode(probe_message()) == GOLDEN.read_bytes().rstrip(b"\n")


def test_time_is_the_event_instant_whatever_its_time_zone() -> None:
    local = AT.astimezone(ZoneInfo("Asia/Shanghai"))
    message = probe_message(event=probe_event(at=local))
    data = encode(message)
    assert decode(data).event.at == AT
    assert as_json(data)["time"] == "2025-09-30T16:15:30.123456+08:00"
    assert encode(decode(data)) == data


def test_attributes_follow_the_documented_mapping() -> None:
    attributes = as_json(encode(probe_message()))
    assert attributes["id"] == "2f1e3a5c-6b7d-5e8f-9a0b-1c2d3e4f5a6b:7"
    assert attributes["source"] == f"/tongban/regions/{ORIGIN}"
    assert attributes["type"] == "cn.tongban.WireProbeSent"
    assert attributes["subject"] == "150600-20250930-0123456789"
    assert (attributes["linkseq"], attributes["schemaversion"]) == (3, 2)
    assert (attributes["origin"], attributes["destination"]) == (ORIGIN, DESTINATION)
    assert attributes["data"] == to_payload(probe_event())


def test_reserved_trust_attributes_are_absent_until_they_have_a_value() -> None:
    attributes = as_json(encode(probe_message(traceparent="")))
    assert {"prevhash", "keyid", "sig", "receiptof", "traceparent"}.isdisjoint(attributes)


def test_unknown_extra_attributes_are_ignored_so_the_envelope_can_grow() -> None:
    grown = mutated(put("priority", "high"))
    assert decode(grown) == probe_message()


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.cloudevent.json")), ids=lambda p: p.name)
def test_every_recorded_message_still_decodes_to_its_current_payload(path: Path) -> None:
    expected_path = path.with_name(path.name.replace(".cloudevent.", ".expected."))
    expected = json.loads(expected_path.read_text(encoding="utf-8"))
    message = decode(path.read_bytes())
    assert message.event.TYPE == expected["type"]  # noqa: SIM300
    assert to_payload(message.event) == expected["payload"]
    assert message.upcast_from == expected["upcast_from"]


def test_an_old_payload_is_upcast_and_reencoded_at_the_current_version() -> None:
    message = decode((FIXTURES / "WireProbeSent.v1.cloudevent.json").read_bytes())
    assert isinstance(message.event, WireProbeSent)
    assert (message.event.amount_fen, message.event.months, message.event.note) == (98765, 12, "")
    assert message.position == LinkPosition(ORIGIN, DESTINATION, 1)
    assert as_json(encode(message))["schemaversion"] == WireProbeSent.SCHEMA_VERSION


# --------------------------------------------------------------------------- refusals


def golden() -> dict[str, Any]:
    return as_json(GOLDEN.read_bytes())


def mutated(change: Callable[[dict[str, Any]], object]) -> bytes:
    message = golden()
    change(message)
    return json.dumps(message).encode()


def drop(name: str) -> Callable[[dict[str, Any]], object]:
    return lambda m: m.pop(name)


def put(name: str, value: Any) -> Callable[[dict[str, Any]], object]:
    return lambda m: m.__setitem__(name, value)


def put_data(name: str, value: Any) -> Callable[[dict[str, Any]], object]:
    return lambda m: m["data"].__setitem__(name, value)


RAW_REFUSALS = [
    ("truncated", GOLDEN.read_bytes()[:40], WireReason.NOT_JSON),
    ("not utf-8", b"\xff\xfe\x00", WireReason.NOT_JSON),
    ("a JSON array", b"[1, 2]", WireReason.NOT_AN_OBJECT),
    ("a JSON string", b'"cn.tongban.WireProbeSent"', WireReason.NOT_AN_OBJECT),
]

REFUSALS = [
    ("no id", drop("id"), WireReason.MISSING_ATTRIBUTE),
    ("no time", drop("time"), WireReason.MISSING_ATTRIBUTE),
    ("no specversion", drop("specversion"), WireReason.MISSING_ATTRIBUTE),
    ("no linkseq", drop("linkseq"), WireReason.MISSING_ATTRIBUTE),
    ("no originatorid", drop("originatorid"), WireReason.MISSING_ATTRIBUTE),
    ("CloudEvents 0.3", put("specversion", "0.3"), WireReason.UNSUPPORTED_SPECVERSION),
    ("unregistered type", put("type", "cn.tongban.NoSuchEvent"), WireReason.UNKNOWN_TYPE),
    ("foreign type", put("type", "com.example.Thing"), WireReason.UNKNOWN_TYPE),
    ("control type", put("type", "cn.tongban.link.HighWaterMark"), WireReason.UNKNOWN_TYPE),
    ("local event", put("type", "cn.tongban.WireProbeNoted"), WireReason.NOT_WIRE_TYPE),
    ("five-digit origin", put("origin", "15060"), WireReason.BAD_REGION_CODE),
    ("no such province", put("destination", "990600"), WireReason.BAD_REGION_CODE),
    ("linkseq 0", put("linkseq", 0), WireReason.BAD_ATTRIBUTE),
    ("linkseq as text", put("linkseq", "3"), WireReason.BAD_ATTRIBUTE),
    ("linkseq true", put("linkseq", True), WireReason.BAD_ATTRIBUTE),
    ("time not a date", put("time", "yesterday"), WireReason.BAD_ATTRIBUTE),
    ("time a number", put("time", 12), WireReason.BAD_ATTRIBUTE),
    ("time without zone", put("time", "2025-09-30T08:15:30"), WireReason.BAD_ATTRIBUTE),
    ("bad traceparent", put("traceparent", "abc"), WireReason.BAD_ATTRIBUTE),
    ("text data", put("datacontenttype", "text/plain"), WireReason.BAD_ATTRIBUTE),
    ("upper-case extension", put("LinkSeq", 3), WireReason.BAD_ATTRIBUTE),
    ("id not the origin identity", put("id", "other:1"), WireReason.INCONSISTENT_ENVELOPE),
    ("source not the origin", put("source", "/tongban/regions/150900"),
     WireReason.INCONSISTENT_ENVELOPE),
    ("a link to itself", put("destination", ORIGIN), WireReason.INCONSISTENT_ENVELOPE),
    ("time not the event's", put("time", "2025-09-30T08:15:31Z"), WireReason.INCONSISTENT_ENVELOPE),
    ("addressed elsewhere", put_data("to_region", "150900"), WireReason.INCONSISTENT_ENVELOPE),
    ("payload field missing", lambda m: m["data"].pop("amount_fen"), WireReason.PAYLOAD_MISMATCH),
    ("payload field mistyped", put_data("amount_fen", "12.34"), WireReason.PAYLOAD_MISMATCH),
    ("payload naive instant", put_data("at", "2025-09-30T08:15:30"), WireReason.PAYLOAD_MISMATCH),
    ("payload a list", put("data", [1]), WireReason.PAYLOAD_MISMATCH),
    ("no data", drop("data"), WireReason.PAYLOAD_MISMATCH),
    ("v1 payload without periods", lambda m: m.update(schemaversion=1, data={
        **m["data"], "amount": 1}), WireReason.PAYLOAD_MISMATCH),
]


@pytest.mark.parametrize(("data", "reason"), [(d, r) for _, d, r in RAW_REFUSALS],
                         ids=[label for label, _, _ in RAW_REFUSALS])
def test_bytes_that_are_no_cloudevent_are_refused_with_the_reason(
    data: bytes, reason: WireReason,
) -> None:
    assert reason_of(data) == reason


@pytest.mark.parametrize(("change", "reason"), [(c, r) for _, c, r in REFUSALS],
                         ids=[label for label, _, _ in REFUSALS])
def test_a_malformed_message_is_refused_with_a_specific_reason(
    change: Callable[[dict[str, Any]], object], reason: WireReason,
) -> None:
    assert reason_of(mutated(change)) == reason


def test_a_payload_refusal_still_says_where_the_message_sat_on_its_link() -> None:
    with pytest.raises(WireError) as caught:
        decode(mutated(put_data("months", "many")))
    assert caught.value.position == LinkPosition(ORIGIN, DESTINATION, 3)
    assert caught.value.code == "wire_payload_mismatch"


def test_a_newer_schema_version_is_parked_not_quarantined() -> None:
    with pytest.raises(NewerSchema) as caught:
        decode(mutated(lambda m: m.update(schemaversion=3, data={"amount_in_cents": 1})))
    parked = caught.value
    assert parked.reason == WireReason.NEWER_SCHEMA
    assert parked.event_type == "WireProbeSent"
    assert (parked.schema_version, parked.known_version) == (3, 2)
    assert parked.position == LinkPosition(ORIGIN, DESTINATION, 3)


@pytest.mark.parametrize(("change", "reason"), [
    (lambda m: m, None),
    (lambda m: dataclasses.replace(m, destination="150900"), WireReason.INCONSISTENT_ENVELOPE),
    (lambda m: dataclasses.replace(m, origin="12345"), WireReason.BAD_REGION_CODE),
    (lambda m: dataclasses.replace(m, link_seq=0), WireReason.BAD_ATTRIBUTE),
    (lambda m: dataclasses.replace(m, process="Pension Transfer"), WireReason.BAD_ATTRIBUTE),
    (lambda m: dataclasses.replace(m, traceparent="00-zz"), WireReason.BAD_ATTRIBUTE),
    (lambda m: dataclasses.replace(m, event=WireProbeNoted(
        at=AT, actor=m.event.actor, to_region=DESTINATION, text="x")), WireReason.NOT_WIRE_TYPE),
], ids=["valid", "wrong destination", "bad origin", "linkseq 0", "bad process", "bad trace",
        "local event"])
def test_encode_refuses_what_decode_would_refuse(
    change: Callable[[WireMessage], WireMessage], reason: WireReason | None,
) -> None:
    message = change(probe_message())
    if reason is None:
        assert decode(encode(message)) == message
        return
    with pytest.raises(WireError) as caught:
        encode(message)
    assert caught.value.reason == reason


# --------------------------------------------------------------------------- control messages

MARK = HighWaterMark(origin=ORIGIN, destination=DESTINATION, link_seq=41, at=AT)
RESEND = ResendRequest(origin=ORIGIN, destination=DESTINATION, from_seq=12, to_seq=17, at=AT)


@pytest.mark.parametrize("control", [MARK, RESEND], ids=["mark", "resend"])
def test_control_messages_survive_the_wire_byte_for_byte(
    control: HighWaterMark | ResendRequest,
) -> None:
    data = encode_control(control)
    assert decode_control(data) == control
    assert decode_any(data) == control
    assert encode_control(decode_control(data)) == data


def test_the_sender_of_a_resend_request_is_the_receiver_asking_on_the_reverse_link() -> None:
    mark, resend = as_json(encode_control(MARK)), as_json(encode_control(RESEND))
    assert (mark["source"], mark["type"]) == (f"/tongban/regions/{ORIGIN}",
                                              "cn.tongban.link.HighWaterMark")
    assert (resend["source"], resend["type"]) == (f"/tongban/regions/{DESTINATION}",
                                                  "cn.tongban.link.ResendRequest")
    assert "linkseq" not in mark and "linkseq" not in resend
    assert (RESEND.sender, RESEND.recipient) == (DESTINATION, ORIGIN)


def test_decode_any_tells_events_from_control_messages() -> None:
    assert decode_any(encode(probe_message())) == probe_message()
    assert decode_any(encode_control(MARK)) == MARK


def test_heartbeats_of_the_same_mark_are_distinct_messages() -> None:
    later = dataclasses.replace(MARK, at=AT + dt.timedelta(seconds=30))
    assert as_json(encode_control(MARK))["id"] != as_json(encode_control(later))["id"]


@pytest.mark.parametrize("build", [
    lambda: HighWaterMark(origin=ORIGIN, destination=DESTINATION, link_seq=-1, at=AT),
    lambda: HighWaterMark(origin=ORIGIN, destination=ORIGIN, link_seq=1, at=AT),
    lambda: HighWaterMark(origin="1506", destination=DESTINATION, link_seq=1, at=AT),
    lambda: HighWaterMark(origin=ORIGIN, destination=DESTINATION, link_seq=1,
                          at=dt.datetime(2025, 1, 1)),
    lambda: ResendRequest(origin=ORIGIN, destination=DESTINATION, from_seq=0, to_seq=3, at=AT),
    lambda: ResendRequest(origin=ORIGIN, destination=DESTINATION, from_seq=5, to_seq=4, at=AT),
], ids=["negative mark", "self link", "bad region", "naive instant", "from 0", "empty range"])
def test_invalid_control_messages_cannot_be_built(build: Callable[[], object]) -> None:
    with pytest.raises(InvalidValue):
        build()


def mutated_control(change: Callable[[dict[str, Any]], object]) -> bytes:
    message = as_json(encode_control(RESEND))
    change(message)
    return json.dumps(message).encode()


@pytest.mark.parametrize(("change", "reason"), [
    (put("source", f"/tongban/regions/{ORIGIN}"), WireReason.INCONSISTENT_ENVELOPE),
    (put("destination", "150900"), WireReason.INCONSISTENT_ENVELOPE),
    (put("type", "cn.tongban.link.Nudge"), WireReason.UNKNOWN_TYPE),
    (put("origin", "00000"), WireReason.BAD_REGION_CODE),
    (put_data("to_seq", 2), WireReason.PAYLOAD_MISMATCH),
    (lambda m: m["data"].pop("from_seq"), WireReason.PAYLOAD_MISMATCH),
    (drop("time"), WireReason.MISSING_ATTRIBUTE),
], ids=["sent by the origin", "other destination", "unknown control", "bad origin",
        "backwards range", "no from_seq", "no time"])
def test_a_malformed_control_message_is_refused_with_a_specific_reason(
    change: Callable[[dict[str, Any]], object], reason: WireReason,
) -> None:
    with pytest.raises(WireError) as caught:
        decode_any(mutated_control(change))
    assert caught.value.reason == reason
