"""The link event's attributes are validated by pydantic (`EVENT_ENVELOPE`) only when they are
not plainly ones it accepts (`regions.wire.plain.event_attributes_accepted`): whatever the
values, what the fast check lets through the schema accepts, so encoding and decoding give the
same bytes, messages and refusals as when every message was validated."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from regions.wire import attributes as wire_attributes
from regions.wire import envelope, errors, plain

T0 = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)
VALID: dict[str, Any] = {
    "specversion": "1.0", "id": "side-1:3", "source": "/tongban/regions/610800",
    "type": "cn.tongban.TransferOutHeld", "subject": "150600-20260302-0XSKX11PCN", "time": T0,
    "datacontenttype": "application/json", "linkseq": 7, "schemaversion": 1,
    "originatorid": "side-1", "originatorversion": 3, "origin": "610800",
    "destination": "150600", "process": "pension_transfer", "caseid": "c-1",
}


def schema_accepts(attributes: dict[str, Any]) -> bool:
    try:
        wire_attributes.check_attributes(wire_attributes.EVENT_ENVELOPE, attributes)
    except errors.WireError:
        return False
    return True


def refusal(check: Any, attributes: dict[str, Any]) -> str:
    try:
        check(attributes)
    except errors.WireError as exc:
        return f"{exc.reason}: {exc}"
    return ""


values = st.one_of(
    st.text(max_size=6), st.just(""), st.just("\ud800"), st.just("é"), st.just("1.0"),
    st.integers(-2, 3), st.just(2**70), st.booleans(), st.none(), st.floats(allow_nan=False),
    st.just(T0), st.just(T0.replace(tzinfo=None)),
    st.just(dt.datetime(2026, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=8)))),
    st.sampled_from(["610800", "150600", "061080", "/tongban/regions/610800",
                     "/tongban/regions/061080", "cn.tongban.X", "cn.tongban.a b",
                     "pension_transfer", "Pension", "application/json", "text/plain",
                     "00-" + "ab" * 16 + "-" + "cd" * 8 + "-01",
                     "00-" + "ab" * 16 + "-" + "cd" * 8 + "-01\n", "x:1"]))


@given(st.dictionaries(st.sampled_from([*VALID, "traceparent", "prevhash", "keyid", "sig",
                                        "receiptof", "extra"]), values, max_size=5),
       st.sets(st.sampled_from(list(VALID)), max_size=2))
def test_what_the_fast_check_lets_through_the_schema_accepts(
        changes: dict[str, Any], dropped: set[str]) -> None:
    assert schema_accepts(VALID)
    plain.event_attributes_kept(VALID)  # the kept values, as in use
    attributes = {k: v for k, v in {**VALID, **changes}.items() if k not in dropped}
    accepted = schema_accepts(attributes)
    if plain.event_attributes_accepted(attributes):
        assert accepted, attributes
    # and the check the codecs call refuses exactly as the schema does
    assert refusal(envelope.check_event_attributes, attributes) == \
        refusal(lambda a: wire_attributes.check_attributes(wire_attributes.EVENT_ENVELOPE, a), attributes)


def test_the_common_attributes_are_not_asked_about_once_their_values_are_kept() -> None:
    plain.event_attributes_kept(VALID)
    assert plain.event_attributes_accepted(VALID)
    traced = {**VALID, "traceparent": "00-" + "ab" * 16 + "-" + "cd" * 8 + "-01"}
    assert plain.event_attributes_accepted(traced)


@pytest.mark.parametrize("change", [
    {"subject": ""}, {"subject": "\ud800"}, {"linkseq": 0}, {"linkseq": True},
    {"time": T0.replace(tzinfo=None)}, {"traceparent": "00-zz"}, {"datacontenttype": "text/x"},
    {"specversion": "0.3"}, {"receiptof": "x:1"}, {"origin": "061080"}])
def test_anything_not_plain_is_asked_about(change: dict[str, Any]) -> None:
    plain.event_attributes_kept(VALID)
    assert not plain.event_attributes_accepted({**VALID, **change})


def test_the_traceparent_pattern_is_the_schemas() -> None:
    assert f"^{plain.TRACEPARENT.pattern}$" == wire_attributes.TRACEPARENT_PATTERN
