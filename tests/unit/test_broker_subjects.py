"""The subject grammar: builders, parsers, msg ids and NATS wildcard matching."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest

from regions.wire import link, subjects


def test_event_subject_puts_destination_before_origin_and_parses_back() -> None:
    subject = subjects.event_subject("150600", "610800")
    assert subject == "tb.v1.evt.150600.610800"
    assert subjects.parse_event_subject(subject) == ("150600", "610800")
    assert subjects.parse_subject(subject) == subjects.Address("evt", "150600", "610800")


def test_destination_names_its_stream_subjects_consumer_and_dead_letters() -> None:
    assert subjects.event_stream_name("150600") == "TB_EVT_150600"
    assert subjects.event_stream_subjects("150600") == ["tb.v1.evt.150600.*"]
    assert subjects.inbox_consumer_name("150600") == "inbox_150600"
    assert subjects.dead_letter_subject("150600") == "tb.v1.dlq.150600"
    assert subjects.dead_letter_stream_name("150600") == "TB_DLQ_150600"


@pytest.mark.parametrize(("build", "kind"), [
    (subjects.materials_subject, "doc"), (subjects.dead_letter_subject, "dlq"),
])
def test_single_region_subjects_parse_back(
    build: Callable[[str], str], kind: subjects.AddressKind,
) -> None:
    subject = build("140200")
    assert subject == f"tb.v1.{kind}.140200"
    assert subjects.parse_subject(subject) == subjects.Address(kind, "140200")


def test_a_command_subject_names_its_back_end_and_parses_back() -> None:
    subject = subjects.command_subject("140200", "pension")
    assert subject == "tb.v1.cmd.140200.pension"
    assert subjects.parse_subject(subject) == subjects.Address("cmd", "140200",
                                                               backend="pension")
    assert subjects.subject_matches(subjects.command_filter("140200"), subject)
    for bad in ("tb.v1.cmd.140200", "tb.v1.cmd.140200.a.b", "tb.v1.cmd.140200.*"):
        with pytest.raises(ValueError):
            subjects.parse_subject(bad)
    with pytest.raises(ValueError, match="back-end name"):
        subjects.command_subject("140200", "pension.audit")


def test_each_user_replies_under_its_own_prefix_and_a_reply_names_its_owner() -> None:
    assert subjects.inbox_prefix("150600") == "_INBOX_150600"
    assert subjects.inbox_prefix("150600", "pension") == "_INBOX_150600_pension"
    assert subjects.inbox_owner("_INBOX_150600.abc.1") == ("150600", None)
    assert subjects.inbox_owner("_INBOX_150600_pension.abc.1") == ("150600", "pension")
    assert subjects.inbox_owner("_INBOX_150600_a_b-c.x") == ("150600", "a_b-c")
    for other in ("_INBOX.abc.1", "_INBOX_150600", "_INBOX_15060.x", "tb.v1.evt.610800.150600",
                  "$JS.ACK.TB_EVT_150600.inbox_150600.1.1.1.1.0", "_INBOX_150600.*", "",
                  "_INBOX_150600_.x"):
        assert subjects.inbox_owner(other) is None, other


@pytest.mark.parametrize(
    "code", ["15060", "1506000", "15O600", "１５０６００", "", " 150600", None])
def test_region_codes_must_be_six_ascii_digits(code: object) -> None:
    with pytest.raises(ValueError, match="6 digits"):
        subjects.event_stream_name(code)  # type: ignore[arg-type]


def test_an_event_subject_needs_two_different_regions() -> None:
    with pytest.raises(ValueError, match="two different regions"):
        subjects.event_subject("150600", "150600")


@pytest.mark.parametrize("subject", [
    "tb.v1.evt.150600", "tb.v1.evt.150600.610800.x", "tb.v2.evt.150600.610800",
    "tb.v1.evt.150600.*", "tb.v1.xyz.150600", "tb.v1.cmd.1506", "tb.v1.evt.150600.150600", "",
])
def test_parsing_refuses_what_the_grammar_never_builds(subject: str) -> None:
    with pytest.raises(ValueError, match="subject"):
        subjects.parse_subject(subject)


def test_parse_event_subject_refuses_other_kinds() -> None:
    with pytest.raises(ValueError, match="not an event subject"):
        subjects.parse_event_subject("tb.v1.cmd.150600.pension")


def test_msg_id_is_event_id_colon_destination_and_parses_back() -> None:
    event_id = uuid.UUID("12345678-1234-5678-1234-567812345678")
    value = subjects.msg_id(event_id, "150600")
    assert value == "12345678-1234-5678-1234-567812345678:150600"
    assert subjects.parse_msg_id(value) == (str(event_id), "150600")


@pytest.mark.parametrize(
    "value", ["no-colon", ":150600", "evt 1:150600", "evt-1:15060"])
def test_malformed_msg_ids_are_refused(value: str) -> None:
    with pytest.raises(ValueError):
        subjects.parse_msg_id(value)


def test_outgoing_event_carries_subject_and_msg_id_header() -> None:
    out = link.event_message(dest="150600", origin="610800", event_id="e-1", data=b"{}",
                         headers={"traceparent": "00-1-2-01"})
    assert out.subject == "tb.v1.evt.150600.610800"
    assert out.headers == {"traceparent": "00-1-2-01", "Nats-Msg-Id": "e-1:150600"}
    assert out.msg_id == "e-1:150600"


@pytest.mark.parametrize(("pattern", "subject", "matches"), [
    ("tb.v1.evt.150600.*", "tb.v1.evt.150600.610800", True),
    ("tb.v1.evt.150600.*", "tb.v1.evt.150900.610800", False),
    ("tb.v1.evt.150600.*", "tb.v1.evt.150600", False),
    ("tb.v1.evt.150600.*", "tb.v1.evt.150600.610800.x", False),
    ("tb.v1.>", "tb.v1.evt.150600.610800", True),
    ("tb.v1.>", "tb.v1", False),
    ("tb.v1.dlq.150600", "tb.v1.dlq.150600", True),
    ("tb.*.dlq.150600", "tb.v1.dlq.150600", True),
])
def test_wildcards_match_as_nats_does(pattern: str, subject: str, matches: bool) -> None:
    assert subjects.subject_matches(pattern, subject) is matches


@pytest.mark.parametrize("subject", ["tb.v1.evt.*.1", "tb.v1.>", "tb..v1", "tb.v1 .x", ""])
def test_only_concrete_subjects_are_publishable(subject: str) -> None:
    with pytest.raises(ValueError, match="publishable"):
        subjects.check_publish_subject(subject)


def test_origin_identity_event_ids_with_a_colon_make_msg_ids_that_parse_back() -> None:
    value = subjects.msg_id("6f1c2d3e-0000-4000-8000-000000000001:7", "610800")
    assert subjects.parse_msg_id(value) == ("6f1c2d3e-0000-4000-8000-000000000001:7", "610800")
