"""The view rows' upsert builds its binary arrays itself: the bytes psycopg's own list dumpers
build for the same columns (issue 17, VIEWS3: `regions.adapters.stores.view_tables.row_arrays`).

Why: the server reads what it is given with `array_recv`; a byte of difference would be a refused
write or a different row. Compared against psycopg's `ListBinaryDumper` with the element dumpers
the columns' casts name (`Int8` for the position, so both sides send `int8[]`), on rows with
NULL times, a column of NULLs only, non-ASCII and empty text.
"""

from __future__ import annotations

import struct
from typing import Any

import pytest
from psycopg.adapt import PyFormat, Transformer
from psycopg.types.array import ListBinaryDumper
from psycopg.types.numeric import Int8
from psycopg.types.string import StrBinaryDumper

from regions.adapters.stores.view_tables import ARRAY_TYPES, COLUMNS, row_arrays


def _psycopg_binary(values: list[Any]) -> bytes:
    """psycopg's binary array of `values`; of text elements when all are None (psycopg itself
    then sends the list in text form, `{NULL}`, which the statement's cast reads as the same
    `text[]` of NULLs: `tests/integration/test_view_tables_postgres.py` compares the rows)."""
    tx = Transformer()
    if all(v is None for v in values):
        texts = ListBinaryDumper(list, tx)
        texts.sub_dumper = StrBinaryDumper(str, tx)
        dumped = texts.dump(values)
        assert dumped is not None
        return bytes(dumped)
    dumper = tx.get_dumper(values, PyFormat.BINARY)
    dumped = dumper.upgrade(values, PyFormat.BINARY).dump(values)
    assert dumped is not None
    return bytes(dumped)


def _row(i: int, *, finished: str | None, due: str | None, text: str = "") -> tuple[Any, ...]:
    return (f"case-{i}", f"NO{i:06d}{text}", "pension_transfer", "destination", "item",
            "online", "completed" if finished else "awaiting_origin", f"办理中{text}",
            finished is not None, i % 2 == 0, i % 3 == 0, due, "2026-03-01T08:00:00+00:00",
            None if i == 0 else "2026-03-02T08:00:00+00:00", finished, 2**62 + i if i == 3 else i,
            '{"case_id": "c", "note": "Évent 模块 \\u2028"}' + text)


ROWS = [_row(0, finished=None, due=None),
        _row(1, finished="2026-03-09T16:00:00+00:00", due=None, text="模块 É"),
        _row(2, finished=None, due="2026-04-16T16:00:00+00:00", text=""),
        _row(3, finished=None, due="2026-04-20T16:00:00+00:00", text="\x7f\u00a0")]


@pytest.mark.parametrize("rows", [ROWS, ROWS[:1], [ROWS[0], ROWS[2]]],
                         ids=["mixed", "one row, NULL times", "no row finished"])
def test_each_column_is_the_bytes_psycopg_dumps_for_its_list(rows: list[tuple[Any, ...]]) -> None:
    arrays = row_arrays(rows)
    assert len(arrays) == len(COLUMNS) + 1 == len(ARRAY_TYPES)
    for kind, array, column in zip(ARRAY_TYPES, arrays, zip(*rows, strict=True), strict=True):
        values = [Int8(v) for v in column] if kind == "bigint" else list(column)
        assert array.data == _psycopg_binary(values), kind


@pytest.mark.parametrize(("column", "value", "error"), [
    (1, 7, AttributeError),  # a case number that is not text
    (8, 1, TypeError),  # a flag that is not a bool
    (15, 2**63, struct.error),  # a position beyond int8
    (16, "\udc80", UnicodeEncodeError),  # a document UTF-8 cannot hold
])
def test_what_the_arrays_cannot_hold_raises_what_the_tables_hand_back_to_psycopg(
        column: int, value: Any, error: type[Exception]) -> None:
    row = list(ROWS[1])
    row[column] = value
    with pytest.raises(error):
        row_arrays([ROWS[0], tuple(row)])
