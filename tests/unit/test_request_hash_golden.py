"""Request hashes of a few fixed commands, as the hashes stored before this session's one-pass
writer (`domain.sorted_text`) computed them: literal digests, taken from the code at 3f3e50b.

Why: the other request-hash tests compare the writer with a formula computed now
(`json.dumps(to_payload(...))`); a change made to both — the payload's encoding, the JSON
options — would pass them and still change every stored hash, turning each retry across the
upgrade into an `IdempotencyConflict`. These digests do not move with the code.
"""

from __future__ import annotations

import datetime as dt

import pytest

from domain.kernel import Actor, Command
from domain.protocols.transfer_commands import CloseTransfer, RecordFundsReceived
from regions.core.idempotency import request_hash

CASE = "8a544a35-eb98-5fd6-9090-34cb9b6e0d08"
STAFF = Actor("staff", "staff-07", "310000", "transfer_officer")

STORED = [
    (RecordFundsReceived(actor=Actor("backend", "bank-gateway"), from_region="110000",
                         amount_fen=123456, bank_ref="银行-1\"\\\u2028",
                         value_date=dt.date(2026, 12, 7)),
     "a2f87d8f78e1f193e930d4dee8cd8ebaef837c20d847c2713963e5de96be085a"),
    (CloseTransfer(actor=STAFF, reason="差额久未处理，拟关闭本次转移"),
     "9e8a2d88a205dd567fd332d54176895cae701a0f1c5bdb90a39ab6048d9245d8"),
    (CloseTransfer(actor=STAFF),
     "2258b04e88d10c4336dd821fc0272bee9d845fb179274d7625a17d7bf2b918c8"),
]


@pytest.mark.parametrize(("command", "digest"), STORED, ids=lambda v: type(v).__name__)
def test_a_commands_request_hash_is_the_one_stored_before(command: Command, digest: str) -> None:
    assert request_hash(CASE, command) == digest
