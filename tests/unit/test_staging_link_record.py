"""The out-link's record of a shared event is `LinkMessage.to_record()`'s, key for key and in
order (the order is the stored JSON's): staging builds the dict directly
(`regions.core.staging.link_record`) rather than a frozen `LinkMessage` first."""

from __future__ import annotations

import datetime as dt

from regions.core.messages import LinkMessage
from regions.core.staging import link_record


def test_the_record_is_the_messages_record_in_the_same_key_order() -> None:
    at = dt.datetime(2026, 12, 6, 12, 30, 1, 250, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    payload = {"at": "2026-12-06T04:30:01.000250+00:00", "amount_fen": 120, "note": "转移"}
    message = LinkMessage(origin="610800", destination="150600", link_seq=0,
                          case_id="c-1", case_number="N-1", process="pension",
                          originator_id="0b5e", originator_version=7, type="FundsRemitted",
                          schema_version=2, payload=payload, at=at)
    record = link_record("610800", "150600", "c-1", "N-1", "pension", "0b5e", 7, "FundsRemitted",
                         2, payload, at)
    assert record == message.to_record()
    assert list(record) == list(message.to_record())
    assert list(record.values()) == list(message.to_record().values())
