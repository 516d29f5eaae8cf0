"""The envelope writer without the SDK (`regions.wire.envelope.write`) writes byte for byte what
the CloudEvents SDK writes for the same event (`sdk_write`): a speed change, never a change of
the wire. Held on every attribute set the codecs send and on any JSON payload."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from regions.wire import attributes as wire_attributes
from regions.wire import envelope

#: Every attribute name a link event, a control message or a feed event carries.
NAMES = ("specversion", "id", "source", "type", "subject", "time", "datacontenttype",
         "linkseq", "schemaversion", "originatorid", "originatorversion", "origin",
         "destination", "process", "caseid", "traceparent", "prevhash", "keyid", "sig",
         "receiptof", "region", "feedseq")

text = st.text(min_size=1, max_size=12)
instants = st.datetimes(min_value=dt.datetime(1990, 1, 1), max_value=dt.datetime(2199, 1, 1),
                        timezones=st.sampled_from([dt.UTC, dt.timezone(dt.timedelta(hours=8)),
                                                   dt.timezone(dt.timedelta(hours=-3,
                                                                            minutes=-30))]))
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**18, 10**18)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=4),
    max_leaves=20)
payloads = st.dictionaries(st.text(max_size=10), json_values | instants, max_size=8)


@st.composite
def attribute_sets(draw: st.DrawFn) -> dict[str, Any]:
    chosen = draw(st.lists(st.sampled_from(NAMES), unique=True, max_size=len(NAMES)))
    attributes: dict[str, Any] = {"specversion": "1.0", "id": draw(text),
                                  "source": "/tongban/regions/150600",
                                  "type": "cn.tongban." + draw(st.from_regex(r"[A-Za-z]{1,8}",
                                                                             fullmatch=True)),
                                  "time": draw(instants)}
    for name in chosen:
        if name in attributes:
            continue
        if name == "datacontenttype":
            attributes[name] = wire_attributes.DATA_CONTENT_TYPE
        elif name in ("linkseq", "schemaversion", "originatorversion", "feedseq"):
            attributes[name] = draw(st.integers(1, 10**12))
        else:
            attributes[name] = draw(text.filter(str.isprintable))
    return dict(draw(st.permutations(list(attributes.items()))))


@given(attribute_sets(), payloads)
def test_the_envelope_is_written_byte_for_byte_as_the_sdk_writes_it(
        attributes: dict[str, Any], payload: dict[str, Any]) -> None:
    assert envelope.write(attributes, payload) == envelope.sdk_write(attributes, payload)


def test_a_written_event_is_read_back_by_the_sdk_with_its_attributes_and_payload() -> None:
    at = dt.datetime(2026, 12, 5, 10, 0, 0, 123456, tzinfo=dt.UTC)
    attributes = {"specversion": "1.0", "id": "side:3", "source": "/tongban/regions/150600",
                  "type": "cn.tongban.InfoSheetIssued", "time": at, "linkseq": 7}
    payload = {"b": [1, {"z": None, "a": "信息表"}], "a": at.isoformat()}
    written = envelope.write(attributes, payload)
    assert written.startswith(b'{"id": "side:3", "linkseq": 7, "source": ')
    assert b'"time": "2026-12-05T10:00:00.123456Z", "type"' in written
    assert written.endswith(b', "data": {"a": "2026-12-05T10:00:00.123456+00:00", '
                            b'"b": [1, {"a": "\\u4fe1\\u606f\\u8868", "z": null}]}}')
    read_attributes, read_payload = envelope.read(written)
    assert read_attributes == attributes
    assert read_payload == payload
