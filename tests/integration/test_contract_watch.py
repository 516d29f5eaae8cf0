"""The contract watch (tests/integration/conftest.py) catches what a node sends off contract,
and leaves alone what is not the node's."""

from __future__ import annotations

import asyncio
import json

import nats
import pytest

from regions.adapters.brokers.nats_server import NatsServer
from tests.integration.contract_watch import ContractTap, ContractWatch

NODE = "tongban-test-150600"


def test_a_link_message_of_an_undocumented_shape_is_a_violation() -> None:
    watch = ContractWatch()
    bad = {"specversion": "1.0", "type": "cn.tongban.InfoSheetIssued", "id": "x"}
    watch.sent(NODE, "tb.v1.evt.610800.150600", json.dumps(bad).encode(), {})
    watch.sent(NODE, "tb.v1.evt.610800.150600", b'{"type": "cn.tongban.Nope"}', {})
    assert any("InfoSheetIssued payload" in v for v in watch.violations)
    assert "Nope" in watch.violations[-1]


def test_a_reply_no_reply_schema_describes_is_a_violation() -> None:
    watch = ContractWatch()
    watch.sent("tongban-cmd-150600", "_INBOX_150600_pension.x", b'{"ok": "yes"}', None)
    watch.sent("tongban-cmd-150600", "_INBOX_150600_pension.y",
               b'{"ok": false, "error": {"code": "unknown_case", "message": "m", '
               b'"field": "case_id"}}', None)
    assert len(watch.violations) == 1 and watch.checked == {"CommandReply": 1}


def test_what_a_test_client_publishes_is_not_the_nodes() -> None:
    watch = ContractWatch()
    for connection in ("tongban", "tongban-client-pension", "", "tongban-provision"):
        watch.sent(connection, "tb.v1.evt.610800.150600", b"\x00junk", {})
    assert watch.violations == [] and watch.checked == {}


def test_the_tap_checks_what_reaches_the_broker_from_any_process(
        nats_server: NatsServer) -> None:
    """For nodes run as processes: what is on the link subjects and a back-end's reply inbox is
    checked; JetStream's deliveries and its answers on a node's inbox are not."""
    async def main() -> tuple[ContractWatch, ContractTap]:
        tap = await ContractTap(nats_server.url).start()
        nc = await nats.connect(nats_server.url)
        try:
            await nc.publish("tb.v1.evt.610800.150600", b'{"type": "cn.tongban.Nope"}')
            await nc.publish("_INBOX_150600_window.a", b'{"ok": "yes"}')
            await nc.publish("_INBOX_150600_window.b", json.dumps(
                {"ok": False, "error": {"code": "unknown_case", "message": "m",
                                        "field": "case_id"}}).encode())
            await nc.publish("_INBOX_150600_window.c", b"[1]", reply="$JS.ACK.TB_FEED.x.1")
            await nc.publish("tb.v1.evt.610800.150600", b"\x00", reply="$JS.ACK.TB_EVT.y.1")
            await nc.publish("_INBOX_150600.d", b"{}")  # a node's inbox: JetStream's answers
            await nc.publish("tb.v1.cmd.150600.window", b"{}")  # a request, not the node's
            await nc.flush()
        finally:
            await nc.close()
        await tap.settled(7)
        stopped = await tap.stop()
        return stopped, tap

    watch, tap = asyncio.run(main())
    assert len(watch.violations) == 2 and watch.checked == {"CommandReply": 1}, (
        watch.__dict__, tap.seen, tap.stats)
    assert any("Nope" in v for v in watch.violations)
    assert any("none of" in v for v in watch.violations)


def test_a_check_that_raises_in_the_tap_is_a_violation_not_silence(
        nats_server: NatsServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """A tap whose checker crashes must fail the test that relies on it, not report a clean
    run with nothing checked."""
    def broken(self: ContractWatch, subject: str, payload: bytes,
               headers: dict[str, str]) -> list[str]:
        raise KeyError("components")

    monkeypatch.setattr(ContractWatch, "check", broken)

    async def main() -> ContractWatch:
        tap = await ContractTap(nats_server.url).start()
        nc = await nats.connect(nats_server.url)
        try:
            await nc.publish("tb.v1.evt.610800.150600", b'{"type": "cn.tongban.Nope"}')
            await nc.flush()
        finally:
            await nc.close()
        return await tap.stop()

    watch = asyncio.run(main())
    assert any("could not check" in v and "KeyError" in v for v in watch.violations), \
        watch.__dict__


def test_a_batch_of_link_events_is_checked_member_by_member() -> None:
    """`LinkEventBatch`: the array and its headers, then each member by its own type."""
    from regions.wire import link
    from tests.unit.test_link_codec_stored import stored_link_messages
    by_link: dict[tuple[str, str], list] = {}
    for message in stored_link_messages():
        by_link.setdefault((message.origin, message.destination), []).append(message)
    run = sorted(max(by_link.values(), key=len), key=lambda m: m.link_seq)[:3]
    (packet,) = link.encode_many(run)
    out = packet.out
    watch = ContractWatch()
    watch.sent(NODE, out.subject, out.data, dict(out.headers))
    assert watch.violations == []
    assert watch.checked.pop("LinkEventBatch") == 1 and sum(watch.checked.values()) == 3
    members = [json.loads(m) for m in link.members(out.data)]
    members[1]["data"]["unknown_field"] = 1
    watch.sent(NODE, out.subject, json.dumps(members).encode(), dict(out.headers))
    assert len(watch.violations) == 1 and "member 2: " in watch.violations[0]
    watch.sent(NODE, out.subject, out.data, {"Nats-Msg-Id": "x:1:610800"})  # no Content-Type
    assert len(watch.violations) == 2 and "LinkEventBatch headers" in watch.violations[1]
