"""The transfer vocabulary split in modules (`transfer_events`, `transfer_commands`,
`transfer_waiting`, then `transfer_sheets` and `transfer_receipts`) reads every record and
message written while it was one.

Why it holds: events are stored and sent by type name (`Event.TYPE`, `kernel.event_type`),
commands travel by class name (`regions.wire.commands.command_types`) and are kept by a hash of
that name and their body (`regions.core.idempotency.request_hash`); none names a module. The
payloads and the hash below were written by the code before the split (h/moneyrace 64fa06f;
the receipts' by 7dcd8a4, before the sheets and receipts left `transfer_events`).
"""

from __future__ import annotations

import datetime as dt
import json

from domain.kernel import Actor, event_from_payload, to_payload
from domain.protocols import transfer_commands, transfer_receipts, transfer_waiting
from domain.protocols.transfer_commands import CorrectInfoSheet, RemitFunds
from domain.protocols.transfer_receipts import ConclusionReceived, InfoSheetReceived
from domain.protocols.transfer_sheets import Component, ContributionYear, InfoSheet
from domain.protocols.transfer_waiting import TransferWaitingTimerSet, WaitingTimerRecomputed
from regions.core.idempotency import request_hash
from regions.wire.commands import command_types, decode_command, encode_command

STAFF = Actor("staff", "s-07", "610800", "transfer_officer")
CASE = "9d8c7b6a-5f4e-5d3c-8b2a-190817263544"
#: A stored command record's hash of this RemitFunds, before the split.
REMIT_HASH = "edf0b90e5f2f951e66d7dbb27fe12a398ffbdc637b7bc1a5175f5530cca04662"
CORRECTION_BODY = (
    '{"type": "CorrectInfoSheet", "actor": {"kind": "staff", "id": "s-07", "region": "610800", '
    '"role": "transfer_officer", "window": ""}, "sheet": {"months": 12, "components": [{"name": '
    '"individual_account", "amount_fen": 1000000}], "years": [], "memo": [], "pooled_by_year": '
    '[]}, "reason": "漏记"}')
TIMER_SET = (
    '{"at": "2025-10-14T06:40:05+00:00", "actor": {"kind": "system", "id": "waiting_timer", '
    '"region": "610800", "role": "", "window": ""}, "to_region": "", "waiting_state": '
    '"awaiting_counterpart", "status": "transferred_out", "due_at": "2025-12-13T06:40:05+00:00", '
    '"basis": "60 days", "calendar_version": "v1", "reckoning": null}')
RECOMPUTED = (
    '{"at": "2025-10-14T06:40:05+00:00", "actor": {"kind": "system", "id": "deadline_timer", '
    '"region": "610800", "role": "", "window": ""}, "to_region": "", "waiting_state": '
    '"awaiting_counterpart", "due_at": "2025-12-14T06:40:05+00:00", "previous_due_at": '
    '"2025-12-13T06:40:05+00:00", "official_due_at": "2025-12-14T06:40:05+00:00", "basis": '
    '"60 days", "calendar_version": "v2"}')

CONCLUSION_RECEIVED = (
    '{"at": "2025-10-14T06:40:05+00:00", "actor": {"kind": "system", "id": "inbox", "region": '
    '"610800", "role": "", "window": ""}, "to_region": "", "ref": {"originator_id": '
    '"9d8c7b6a-5f4e-5d3c-8b2a-190817263544/150600", "version": 7}, "from_region": "150600", '
    '"outcome": "completed", "corrections": 1}')
SHEET_RECEIVED = (
    '{"at": "2025-10-14T06:40:05+00:00", "actor": {"kind": "system", "id": "inbox", "region": '
    '"150600", "role": "", "window": ""}, "to_region": "", "ref": {"originator_id": '
    '"9d8c7b6a-5f4e-5d3c-8b2a-190817263544/150600", "version": 7}, "from_region": "610800", '
    '"sheet": {"months": 12, "components": [{"name": "individual_account", "amount_fen": '
    '1000000}], "years": [{"year": 2023, "months": 12, "monthly_base_fen": 500000, "kind": '
    '"paid"}], "memo": [], "pooled_by_year": []}}')


def test_every_moved_command_keeps_its_wire_name() -> None:
    names = command_types()
    moved = [v for v in vars(transfer_commands).values()
             if isinstance(v, type) and v.__module__ == transfer_commands.__name__]
    assert len(moved) == 17
    assert all(names[cls.__name__] is cls for cls in moved)


def test_a_command_sent_before_the_split_decodes_and_hashes_the_same() -> None:
    decoded = decode_command(json.loads(CORRECTION_BODY))
    assert isinstance(decoded, CorrectInfoSheet)
    assert decoded.sheet == InfoSheet(12, (Component("individual_account", 1_000_000),))
    assert json.dumps(encode_command(decoded), ensure_ascii=False) == CORRECTION_BODY
    remit = RemitFunds(actor=STAFF, amount_fen=1_720_000, bank_ref="R-1")
    assert request_hash(CASE, remit) == REMIT_HASH  # a retried command finds its stored outcome


def test_waiting_events_stored_before_the_split_decode_to_their_new_module() -> None:
    set_v2 = event_from_payload("TransferWaitingTimerSet", json.loads(TIMER_SET), 2)
    assert isinstance(set_v2, TransferWaitingTimerSet)
    assert type(set_v2).__module__ == transfer_waiting.__name__
    assert json.dumps(to_payload(set_v2), ensure_ascii=False) == TIMER_SET
    old = {k: v for k, v in json.loads(TIMER_SET).items() if k != "reckoning"}
    assert isinstance(event_from_payload("TransferWaitingTimerSet", old, 1),
                      TransferWaitingTimerSet)  # schema v1, upcast from its basis
    recomputed = event_from_payload("WaitingTimerRecomputed", json.loads(RECOMPUTED), 1)
    assert isinstance(recomputed, WaitingTimerRecomputed)
    assert recomputed.due_at == dt.datetime(2025, 12, 14, 6, 40, 5, tzinfo=dt.UTC)
    assert transfer_waiting.waiting_of(set_v2) is not None


def test_receipts_and_sheets_stored_before_their_split_decode_to_their_new_modules() -> None:
    concluded = event_from_payload("ConclusionReceived", json.loads(CONCLUSION_RECEIVED), 1)
    assert isinstance(concluded, ConclusionReceived) and concluded.corrections == 1
    received = event_from_payload("InfoSheetReceived", json.loads(SHEET_RECEIVED), 1)
    assert isinstance(received, InfoSheetReceived)
    assert type(received).__module__ == transfer_receipts.__name__
    assert received.sheet == InfoSheet(12, (Component("individual_account", 1_000_000),),
                                       years=(ContributionYear(2023, 12, 500_000),))
    for stored, event in ((CONCLUSION_RECEIVED, concluded), (SHEET_RECEIVED, received)):
        assert json.dumps(to_payload(event), ensure_ascii=False) == stored
