"""`projections.records.built` makes the `SideEvent` its constructor makes: the same fields in
the same order, equal, with the same repr and the same event handed on (the node's side-event
tailer builds every record it reads with it)."""

from __future__ import annotations

import dataclasses
import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from projections.records import SideEvent, built

AT = dt.datetime(2026, 12, 7, 5, 0, tzinfo=dt.UTC)
texts = st.text(max_size=8)


@given(st.integers(0, 10**9), texts, texts, texts, texts, texts, st.integers(0, 99), texts,
       st.integers(1, 3), st.dictionaries(texts, st.integers()), st.sampled_from([None, AT]))
def test_built_is_the_constructors_record(position: int, region: str, case_id: str,
                                          number: str, process: str, side: str, version: int,
                                          type_: str, schema: int, payload: dict[str, int],
                                          committed: dt.datetime | None) -> None:
    mine = built(position, region, case_id, number, process, side, version, type_, schema,
                 payload, committed)
    theirs = SideEvent(position=position, region=region, case_id=case_id, case_number=number,
                       process=process, side_id=side, version=version, type=type_,
                       schema_version=schema, payload=payload, committed=committed)
    assert type(mine) is SideEvent
    assert list(vars(mine).items()) == list(vars(theirs).items())
    assert mine == theirs and repr(mine) == repr(theirs)
    assert dataclasses.asdict(mine) == dataclasses.asdict(theirs)
    assert mine.committed is committed and mine.fresh() == theirs
