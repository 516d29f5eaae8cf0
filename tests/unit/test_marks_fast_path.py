"""The high-water marks' fast path writes the SDK's bytes and reads only what the generic path
reads the same way (regions.wire.marks): a speed change, never a change of the wire."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.kernel import DomainError
from regions.core.messages import HighWaterMark, as_utc_text
from regions.wire import attributes as wire_attributes
from regions.wire import control, envelope, errors, marks

CODES = ("150600", "610800", "640100", "150100", "150000")


def generic_bytes(mark: HighWaterMark) -> bytes:
    """What `encode_control` wrote through the CloudEvents SDK before the fast path."""
    attributes: dict[str, Any] = {
        "specversion": wire_attributes.SPECVERSION, "id": mark.id,
        "source": wire_attributes.source_of(mark.sender), "type": control.control_type(mark),
        "time": mark.at, "datacontenttype": wire_attributes.DATA_CONTENT_TYPE,
        "origin": mark.origin, "destination": mark.destination}
    wire_attributes.check_attributes(wire_attributes.CONTROL_ENVELOPE, attributes)
    return envelope.write(attributes, {"at": mark.at.isoformat(), "destination": mark.destination,
                                       "link_seq": mark.link_seq, "origin": mark.origin})


def generic_decode(data: bytes) -> Any:
    return control._control_from(*envelope.read(data))


instants = st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2199, 1, 1),
                        timezones=st.just(dt.UTC))
links = st.permutations(CODES).map(lambda p: (p[0], p[1]))


@given(links, st.integers(min_value=0, max_value=10**12), instants)
def test_a_mark_is_written_byte_for_byte_as_the_sdk_writes_it_and_read_back_alike(
        link: tuple[str, str], seq: int, at: dt.datetime) -> None:
    mark = HighWaterMark(link[0], link[1], seq, at)
    fast = marks.encode(mark)
    assert fast == generic_bytes(mark) == control.encode_control(mark)
    assert marks.decode(fast) == generic_decode(fast) == control.decode_any(fast) == mark


def test_a_mark_in_another_offset_is_left_to_the_generic_encoder() -> None:
    at = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    mark = HighWaterMark("150600", "610800", 3, at)
    assert marks.encode(mark) is None
    assert control.decode_any(control.encode_control(mark)) == mark


def canonical() -> bytes:
    fast = marks.encode(HighWaterMark("150600", "610800", 7,
                                      dt.datetime(2026, 3, 2, 1, 0, 0, 5, tzinfo=dt.UTC)))
    assert fast is not None
    return fast


@pytest.mark.parametrize("change", [
    lambda b: b.replace(b'"origin": "150600"}', b'"origin": "610800"}'),  # data vs attributes
    lambda b: b.replace(b'"origin": "150600"', b'"origin": "999999"'),  # no such region
    lambda b: b.replace(b'"link_seq": 7', b'"link_seq": 8'),  # the id says 7
    lambda b: b.replace(b".000005Z", b".000006Z"),  # time vs data
    lambda b: b.replace(b"+00:00", b"+08:00"),
])
def test_anything_but_the_canonical_form_of_a_valid_mark_goes_the_generic_way(change) -> None:
    bad = change(canonical())
    assert bad != canonical()
    assert marks.decode(bad) is None
    with pytest.raises(errors.WireError) as generic:
        generic_decode(bad)
    with pytest.raises(errors.WireError) as used:
        control.decode_any(bad)
    assert used.value.reason == generic.value.reason


def test_the_same_mark_in_another_layout_is_still_read_the_generic_way() -> None:
    body = json.loads(canonical())
    relaid = json.dumps(body, indent=1).encode()
    assert marks.decode(relaid) is None
    assert control.decode_any(relaid) == marks.decode(canonical())


@given(st.datetimes(min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30),
                    timezones=st.sampled_from([dt.UTC, dt.timezone(dt.timedelta(hours=8)),
                                               dt.timezone(dt.timedelta(hours=-5, minutes=-30))])))
def test_an_instant_in_an_id_is_the_text_strftime_writes(at: dt.datetime) -> None:
    """Ids of control messages render their instant by hand (`as_utc_text`, most of a mark's
    encoding was `strftime`): the same text for every aware instant, years before 1000 too."""
    assert as_utc_text(at) == at.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%S.%fZ")


_WRITTEN_AGAIN = re.compile(
    rb'\{"datacontenttype": "application/json", "destination": "([0-9]{6})", "id": "[^"]*", '
    rb'"origin": "([0-9]{6})", "source": "/tongban/regions/[0-9]{6}", "specversion": "1\.0", '
    rb'"time": "[^"]*", "type": "cn\.tongban\.link\.HighWaterMark", "data": \{"at": '
    rb'"([0-9T:.+\-]{19,40})", "destination": "[0-9]{6}", "link_seq": (0|[1-9][0-9]{0,17}), '
    rb'"origin": "[0-9]{6}"\}\}')


def written_again(raw: bytes) -> HighWaterMark | None:
    """The fast path's check before back-references: the mark its fields give, kept only when
    writing it again gives `raw` byte for byte."""
    found = _WRITTEN_AGAIN.fullmatch(raw)
    if found is None:
        return None
    destination, origin, at, seq = (g.decode() for g in found.groups())
    try:
        mark = HighWaterMark(origin, destination, int(seq), dt.datetime.fromisoformat(at))
    except (DomainError, ValueError, TypeError):
        return None
    return mark if marks.encode(mark) == raw else None


#: Bytes a mark's text is made of, and a few it is not: what a mutation writes in.
_SPLICED = st.sampled_from([b"0", b"1", b"9", b"00", b"000000", b".", b":", b"-", b"T", b"Z",
                            b"+00:00", b"150600", b"610800", b"999999", b'"', b" ", b""])


@given(links, st.integers(min_value=0, max_value=10**12),
       st.datetimes(min_value=dt.datetime(1990, 1, 1), max_value=dt.datetime(2199, 1, 1),
                    timezones=st.just(dt.UTC)),
       st.lists(st.tuples(st.integers(min_value=0, max_value=400), st.integers(0, 6), _SPLICED),
                max_size=3))
def test_the_fast_read_keeps_exactly_what_writing_the_mark_again_would_keep(
        link: tuple[str, str], seq: int, at: dt.datetime,
        edits: list[tuple[int, int, bytes]]) -> None:
    """Reading by back-references takes a mark exactly when the mark its fields give writes
    those very bytes (the check it replaced): for canonical marks, whole seconds included, and
    for bytes spliced into them anywhere."""
    raw = marks.encode(HighWaterMark(link[0], link[1], seq, at))
    assert raw is not None
    for at_byte, cut, text in edits:
        at_byte = min(at_byte, len(raw))
        raw = raw[:at_byte] + text + raw[at_byte + cut:]
    assert marks.decode(raw) == written_again(raw)
    whole = marks.encode(HighWaterMark(link[0], link[1], seq, at.replace(microsecond=0)))
    assert whole is not None
    assert marks.decode(whole) == written_again(whole) is not None


@pytest.mark.parametrize("change", [
    lambda b: b.replace(b":00.000005", b":00"),  # the id's fraction, none in `time` and `at`
    lambda b: b.replace(b".000005", b".000000"),  # a fraction `isoformat` does not write
    lambda b: b.replace(b'"hwm.150600.610800.7.', b'"hwm.150600.610800.07.'),
    lambda b: b.replace(b"20260302T", b"20260230T").replace(b"2026-03-02", b"2026-02-30"),
    lambda b: b.replace(b"610800", b"150600"),  # a link from a region to itself
])
def test_a_mark_that_would_not_be_written_so_is_read_the_generic_way(change) -> None:
    bad = change(canonical())
    assert bad != canonical()
    assert marks.decode(bad) is None
    assert written_again(bad) is None
