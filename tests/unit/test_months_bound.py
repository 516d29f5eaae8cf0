"""A count of months is bounded (`domain.amounts.MAX_MONTHS`): a crafted 10^9 or 2^62 months in a
command or a peer's info sheet is refused naming the field, before anything is decided.

Why: `InfoSheet.months` was any 64-bit integer. Nothing loops over months (so nothing is slow),
but the destination *adds* its origins' months (`credited_months`), and two origins stating 2^62
each make a sum no 64-bit reader takes: the destination's own event, once saved, no longer
decodes (the payload rules hold every integer to 64 bits), and the side cannot be read again.
"""

from __future__ import annotations

import json

import pytest

from domain.amounts import Months
from domain.kernel import DomainError
from domain.payloads import PayloadError, from_payload
from domain.protocols.transfer_commands import IssueInfoSheet
from regions.wire import envelope
from regions.wire.errors import WireError
from tests.fixtures.wire.events import FIXTURES

HUGE = 2**62

@pytest.mark.parametrize("months", [10**9, HUGE])
def test_months_past_the_bound_are_refused_with_a_clear_error(months: int) -> None:
    with pytest.raises(DomainError, match="at most"):
        Months(months)
    body = {"actor": {"kind": "staff", "id": "s", "region": "610800", "role": "r"},
            "sheet": {"months": months, "components": []}}
    with pytest.raises(PayloadError) as caught:
        from_payload(IssueInfoSheet, body)
    assert caught.value.field == "sheet.months"


def test_a_lifetime_of_months_is_a_count() -> None:
    assert Months(1200).count == 1200 and Months(0).count == 0


def test_a_peer_sheet_stating_huge_months_is_quarantined_not_decided() -> None:
    message = json.loads((FIXTURES / "InfoSheetIssued.v1.cloudevent.json").read_text())
    message["data"]["sheet"]["months"] = HUGE
    with pytest.raises(WireError, match=r"sheet\.months"):
        envelope.decode(json.dumps(message).encode())
