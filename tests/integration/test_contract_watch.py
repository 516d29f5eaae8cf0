"""The contract watch (tests/integration/conftest.py) catches what a node sends off contract,
and leaves alone what is not the node's."""

from __future__ import annotations

import json

from tests.integration.contract_watch import ContractWatch

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
