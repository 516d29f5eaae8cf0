"""The view tables' rows made by `Encoder` (the document's parts a case's last write encoded,
kept and reused) are exactly the rows made from scratch: `columns(view)`'s values and
`json.dumps(to_document(view), ensure_ascii=False)`, byte for byte, whichever versions of a
case are written, in whatever order, and after the kept parts stop matching."""

from __future__ import annotations

import datetime as dt
import json
import random
from functools import cache
from typing import Any

import pytest

from projections.cases import CaseView, apply
from projections.documents import Encoder, columns, from_document, to_document
from regions.core.side_events import SideEventTailer
from regions.core.tailer import MemoryCursor
from simulations.faults import ALL_FAULTS
from simulations.runner import run

NOW = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)


def from_scratch(view: CaseView) -> tuple[Any, ...]:
    return (*columns(view).values(), json.dumps(to_document(view), ensure_ascii=False))


@cache
def histories() -> list[list[list[CaseView]]]:
    """Per region, every version of every case's view (one list per case), as the views fold
    a simulated run with every fault."""
    result = run(4, 60, faults=ALL_FAULTS)
    found = []
    for code, sim in result.world.regions.items():
        deciders = {p: b.decider for p, b in sim.region.node.protocols.items()}
        items: list[Any] = []
        tailer = SideEventTailer(code, sim.region.node.app, cursor=MemoryCursor())
        while tailer.pump(items.extend, NOW) is not None:
            pass
        versions: dict[str, list[CaseView]] = {}
        for r in items:
            if r.process in deciders:
                before = versions[r.case_id][-1] if r.case_id in versions else None
                versions.setdefault(r.case_id, []).append(apply(before, r, deciders[r.process]))
        found.append(list(versions.values()))
    return found


@pytest.mark.parametrize("seed", range(4))
def test_rows_equal_rows_made_from_scratch(seed: int) -> None:
    rng = random.Random(seed)
    checked = 0
    for region in histories():
        encoder = Encoder(size=rng.choice((1, 5, 10_000)))  # small: cases fall out and return
        writes = [(case, i) for case, versions in enumerate(region)
                  for i in range(len(versions)) if rng.random() < 0.4]
        rng.shuffle(writes)  # any order: older versions after newer ones, cases interleaved
        writes.sort(key=lambda w: rng.random() < 0.7 and w[1])  # mostly in version order
        for case, i in writes:
            view = region[case][i]
            assert encoder.row(view) == from_scratch(view)
            checked += 1
    assert checked > 200


def test_a_view_read_back_from_its_row_is_encoded_alike() -> None:
    """A view refolded (new `Step` objects, equal ones) or read back from its document: the
    kept parts are not reused, or reused only where they are the same."""
    encoder = Encoder(size=100)
    for region in histories():
        for versions in region[:20]:
            last = versions[-1]
            assert encoder.row(last) == from_scratch(last)
            again = from_document(json.loads(from_scratch(last)[-1]))
            assert encoder.row(again) == from_scratch(again) == from_scratch(last)
            if len(versions) > 1:
                assert encoder.row(versions[-2]) == from_scratch(versions[-2])


def test_the_kept_iso_texts_are_the_texts_made_afresh() -> None:
    """`iso` keeps the texts of UTC times: an equal time in another zone is the same instant
    (the same text), a naive one is never taken for an aware one."""
    from projections import documents

    utc = dt.datetime(2026, 12, 1, 3, 4, 5, 6, tzinfo=dt.UTC)
    china = utc.astimezone(dt.timezone(dt.timedelta(hours=8)))
    naive = utc.replace(tzinfo=None)
    for order in ([utc, china, naive], [china, naive, utc], [naive, utc, china]):
        documents._ISO.clear()
        for at in order * 2:
            assert documents.iso(at) == at.astimezone(dt.UTC).isoformat(timespec="microseconds")
    assert list(documents._ISO) == [utc] and documents.iso(None) is None
    documents._ISO.clear()
    for n in range(documents.ISO_KEPT + 5):  # bounded: cleared whole when full
        documents.iso(utc + dt.timedelta(seconds=n))
    assert len(documents._ISO) <= documents.ISO_KEPT
