"""The envelope's reading without the SDK (`regions.wire.plain.read`) and its writing
through a kept C encoder (`plain.dumps`) change no byte and no verdict: a message read the plain way
is one the CloudEvents SDK accepts, with the same attributes (the instant equal) and the same
data; anything else is read by the SDK as before; and every text written is `json.dumps`'."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from regions.wire import envelope, errors, plain
from tests.unit.test_envelope_write import attribute_sets, json_values, payloads

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "wire"


def sdk_read(data: bytes | str) -> tuple[dict[str, Any], Any] | Exception:
    """What `read` gave before the plain way: the SDK's reading (or the refusal)."""
    try:
        received = envelope._FORMAT.read(envelope._strict, data)
    except Exception as exc:  # compared, not handled
        return exc
    return dict(received.get_attributes()), received.get_data()


def assert_same_as_sdk(data: bytes | str) -> bool:
    """The plain reading of `data`, if any, is the SDK's; whether there was one."""
    found = plain.read(data)
    if found is None:
        return False
    reference = sdk_read(data)
    assert not isinstance(reference, Exception), (data, reference)
    attributes, payload = found
    assert attributes == reference[0] and payload == reference[1]
    assert attributes["time"].utcoffset() == reference[0]["time"].utcoffset()
    assert list(attributes) == list(reference[0])
    return True


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.cloudevent.json")),
                         ids=lambda p: p.name)
def test_every_fixture_is_read_the_plain_way_as_the_sdk_reads_it(path: Path) -> None:
    assert assert_same_as_sdk(path.read_bytes())


@settings(max_examples=300)
@given(attribute_sets(), payloads)
def test_a_written_message_reads_back_as_the_sdk_reads_it(
        attributes: dict[str, Any], payload: dict[str, Any]) -> None:
    assert_same_as_sdk(envelope.write(attributes, payload))


instant_texts = st.one_of(
    st.datetimes(min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30),
                 timezones=st.sampled_from([dt.UTC, dt.timezone(dt.timedelta(hours=8)),
                                            dt.timezone(dt.timedelta(hours=-23, minutes=-59))])
                 ).map(lambda d: d.isoformat()),
    st.from_regex(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,7})?"
                  r"(Z|[+-][0-9]{2}:?[0-9]{2}|)", fullmatch=True),
    st.text(max_size=30))
names = st.sampled_from(["id", "source", "type", "specversion", "time", "subject",
                         "datacontenttype", "dataschema", "data", "data_base64", "linkseq",
                         "origin", "Origin", "", "x-y", "caseid"])


@settings(max_examples=600)
@given(st.dictionaries(names, json_values | instant_texts, max_size=12), instant_texts,
       st.booleans(), st.booleans())
def test_whatever_the_plain_way_reads_the_sdk_reads_alike(
        drawn: dict[str, Any], at: str, complete: bool, as_text: bool) -> None:
    """Hostile shapes (missing, empty, mistyped attributes; odd instants; reserved or bad
    extension names; data not an object): the plain way reads only what the SDK accepts."""
    message = dict(drawn)
    if complete:
        message = {"specversion": "1.0", "id": "a:1", "source": "/x", "type": "t", "time": at,
                   "data": {}, **drawn}
    text = json.dumps(message)
    assert_same_as_sdk(text if as_text else text.encode())


def test_what_the_plain_way_leaves_is_refused_as_before() -> None:
    """A message not of the common form goes to the SDK, and its refusal is the refusal."""
    good = json.loads((FIXTURES / "ContactLetterIssued.v1.cloudevent.json").read_bytes())
    midnight = json.dumps({**good, "time": "2025-09-30T24:00:00Z"})  # dateutil takes it
    assert plain.read(midnight) is None
    assert envelope.read(midnight)[0]["time"] == dt.datetime(2025, 10, 1, tzinfo=dt.UTC)
    for change, reason in (({"specversion": "0.3"}, errors.WireReason.UNSUPPORTED_SPECVERSION),
                           ({"id": ""}, errors.WireReason.BAD_ATTRIBUTE),
                           ({"Bad": "x"}, errors.WireReason.BAD_ATTRIBUTE)):
        data = json.dumps({**good, **change}).encode()
        assert plain.read(data) is None
        with pytest.raises(errors.WireError) as refused:
            envelope.read(data)
        assert refused.value.reason == reason
    for broken, reason in ((b"\xff{}", errors.WireReason.NOT_JSON),
                           (b"[1]", errors.WireReason.NOT_AN_OBJECT)):
        assert plain.read(broken) is None
        with pytest.raises(errors.WireError) as refused:
            envelope.read(broken)
        assert refused.value.reason == reason


@given(payloads, st.booleans())
def test_the_kept_encoder_writes_what_json_dumps_writes(payload: dict[str, Any],
                                                        sort_keys: bool) -> None:
    assert plain.dumps(payload, sort_keys=sort_keys) == json.dumps(
        payload, sort_keys=sort_keys, default=plain.instant_text)


def test_the_kept_encoder_fails_as_json_dumps_fails() -> None:
    circular: dict[str, Any] = {"a": 1}
    circular["self"] = circular
    for value, error in (({"x": object()}, TypeError), ({"x": {1, 2}}, TypeError),
                         (circular, ValueError)):
        with pytest.raises(error) as expected:
            json.dumps(value, sort_keys=True, default=plain.instant_text)
        with pytest.raises(error) as got:
            plain.dumps(value, sort_keys=True)
        assert str(got.value) == str(expected.value)
    assert plain.dumps({"ok": 1}, sort_keys=True) == '{"ok": 1}'  # none left behind
