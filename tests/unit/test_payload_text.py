"""The wire's text of a payload (`regions.wire.plain.payload_text`) is `json.dumps`' sorted text,
written once per payload object for the feed and the link alike — which is exact only because
nobody changes a payload once it is written, so that is checked over a simulated run too."""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import io
import json
from typing import Any

import pytest
from hypothesis import given

from regions.core.messages import LinkMessage
from regions.core.side_events import SideEvent
from regions.core.tailer import MemoryCursor
from regions.wire import feed, link, plain
from tests.unit.test_envelope_write import payloads

AT = dt.datetime(2026, 12, 6, 23, 0, tzinfo=dt.UTC)


def reference(payload: dict[str, Any]) -> str:
    return json.dumps(payload, sort_keys=True, default=plain.instant_text)


@given(payloads)
def test_a_payloads_text_is_json_dumps_sorted_text_first_and_again(
        payload: dict[str, Any]) -> None:
    assert plain.payload_text(payload) == reference(payload)
    assert plain.payload_text(payload) == reference(payload)
    assert plain.payload_text(copy.deepcopy(payload)) == reference(payload)


def shared_event() -> tuple[SideEvent, LinkMessage]:
    """A side event and its link message reading one payload dict, as the node's feed and
    relay read a shared event from its recent log."""
    payload = {"at": AT.isoformat(), "actor": {"kind": "officer", "id": "窗口-1"},
               "to_region": "640100", "case_id": "c-1", "case_number": "150600-20260302-X",
               "process": "pension_transfer"}
    item = SideEvent(position=7, region="150600", case_id="c-1",
                     case_number="150600-20260302-X", process="pension_transfer",
                     side_id="9be09841-7c7b-5879-847c-3fa76a7da25a", version=3,
                     type="ContactLetterIssued", schema_version=3, payload=payload,
                     committed=AT)
    message = LinkMessage(origin="150600", destination="640100", link_seq=1, case_id="c-1",
                          case_number="150600-20260302-X", process="pension_transfer",
                          originator_id="9be09841-7c7b-5879-847c-3fa76a7da25a",
                          originator_version=3, type="ContactLetterIssued", schema_version=3,
                          payload=payload, at=AT)
    return item, message


def test_a_shared_events_payload_is_written_once_for_its_feed_event_link_message_and_resend(
        monkeypatch: pytest.MonkeyPatch) -> None:
    item, message = shared_event()
    written: list[Any] = []
    dumps, sorted_ = plain.dumps, plain._SORTED

    def counting(value: Any, *, sort_keys: bool) -> str:
        written.append(value)
        return dumps(value, sort_keys=sort_keys)

    def counting_sorted(value: Any, level: int) -> Any:
        written.append(value)
        return sorted_(value, level)

    import simulations.runner  # noqa: F401  (registers the event types)
    before = (feed._element(item), link.encode(message).data)
    monkeypatch.setattr(plain, "dumps", counting)
    monkeypatch.setattr(plain, "_SORTED", counting_sorted)
    plain._PAYLOAD_TEXTS.clear()
    after = (feed._element(item), link.encode(message).data, link.encode(message).data)
    assert [value is item.payload for value in written] == [True]
    assert after == (*before, before[1])
    assert f'"data": {reference(item.payload)}}}'.encode() in after[0]


def test_only_shared_payloads_are_kept_boundedly_and_one_that_is_not_json_fails_as_before(
        ) -> None:
    plain._PAYLOAD_TEXTS.clear()
    own = {"at": AT.isoformat(), "to_region": ""}
    assert plain.payload_text(own) == reference(own)
    assert plain._PAYLOAD_TEXTS == {}  # not on a link: written once anyway
    shared = [{"n": n, "to_region": "640100"} for n in range(plain.PAYLOAD_TEXTS_KEPT + 10)]
    assert [plain.payload_text(p) for p in shared] == [reference(p) for p in shared]
    assert 0 < len(plain._PAYLOAD_TEXTS) <= plain.PAYLOAD_TEXTS_KEPT
    broken = {"x": object(), "to_region": "640100"}
    for _ in range(2):
        with pytest.raises(TypeError, match="not JSON serializable"):
            plain.payload_text(broken)
    assert id(broken) not in plain._PAYLOAD_TEXTS


def test_no_payload_is_changed_after_the_wire_wrote_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """What keeping a text by the payload's identity rests on: over a simulated run with every
    fault (its links, re-sends and restarts) and then its nodes' feeds, each payload written to
    the wire is, at the end, what it was when first written."""
    from regions.core.side_events import SideEventTailer
    from simulations.faults import ALL_FAULTS
    from simulations.runner import run

    first: dict[int, tuple[dict[str, Any], dict[str, Any]]] = {}
    text = plain.payload_text

    def remembering(payload: dict[str, Any]) -> str:
        first.setdefault(id(payload), (payload, copy.deepcopy(payload)))
        return text(payload)

    monkeypatch.setattr(plain, "payload_text", remembering)
    monkeypatch.setattr(feed, "payload_text", remembering)
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        result = run(3, 20, faults=ALL_FAULTS)
    linked = len(first)
    for code, sim in result.world.regions.items():
        tailer = SideEventTailer(code, sim.region.node.app, cursor=MemoryCursor())
        while (batch := tailer.step(AT)) is not None:
            feed.encode_all(batch.items)
            tailer.passed(batch, AT)
    assert 0 < linked < len(first)
    changed = [then for payload, then in first.values() if payload != then]
    assert changed == []
