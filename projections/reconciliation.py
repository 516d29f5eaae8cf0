"""Reconciliation of one region's transfers over a period: what it sent and received, in fen,
which received transfers match what the origins stated, which differ (and by how much), which
were corrected, and which are still outstanding.

Why from the case views: the amounts are the protocol's own (`Decider.summary`), so the
figures a finance officer reconciles are the ones the node acted on. A case belongs to the
period in which this region first recorded it (Asia/Shanghai dates, end exclusive).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass

from domain.kernel import InvalidValue
from projections.cases import CaseView


@dataclass(frozen=True)
class Line:
    case_number: str
    process: str
    counterparts: tuple[str, ...]
    stated_fen: int  # what the origins stated in their information sheets
    received_fen: int  # what this region's finance recorded as arrived
    difference_fen: int  # received - stated


@dataclass(frozen=True)
class Reconciliation:
    region: str
    start: dt.datetime
    end: dt.datetime
    sent: int
    sent_fen: int
    received: int
    stated_fen: int
    received_fen: int
    matched: int
    mismatched: tuple[Line, ...]
    corrected: int
    outstanding: tuple[Line, ...]


def reconcile(views: Iterable[CaseView], region: str, start: dt.datetime,
              end: dt.datetime) -> Reconciliation:
    """The period [start, end): origin sides count as sent, destination sides as received."""
    chosen = [v for v in views if v.opened_at is not None and start <= v.opened_at < end]
    sent = [v for v in chosen if v.role == "origin" and v.amount_sent]
    received = [v for v in chosen if v.role == "destination" and v.amount_stated]
    matched_n, corrected = 0, 0
    mismatched_l: list[Line] = []
    outstanding_l: list[Line] = []
    for v in received:
        line = Line(v.case_number, v.process, v.peers, v.amount_stated, v.amount_received,
                    v.amount_received - v.amount_stated)
        if not v.terminal and v.amount_received < v.amount_stated:
            outstanding_l.append(line)  # funds not (all) arrived yet
        elif v.amount_received == 0:
            continue  # ended before any funds moved (withdrawn, refused): nothing to reconcile
        elif line.difference_fen:
            mismatched_l.append(line)
        else:
            matched_n += 1
            corrected += v.amount_differed
    return Reconciliation(
        region, start, end, len(sent), sum(v.amount_sent for v in sent), len(received),
        sum(v.amount_stated for v in received), sum(v.amount_received for v in received),
        matched_n, tuple(sorted(mismatched_l, key=lambda x: x.case_number)), corrected,
        tuple(sorted(outstanding_l, key=lambda x: x.case_number)))


LINE_COLUMNS = ("case_number", "process", "counterparts", "stated_fen", "received_fen",
                "difference_fen", "state")


def render(rec: Reconciliation, fmt: str, *, period: str) -> str:
    """json (everything), csv (one row per mismatched or outstanding transfer) or md (totals
    then those rows)."""
    lines = [(x, "mismatched") for x in rec.mismatched] + [(x, "outstanding")
                                                           for x in rec.outstanding]
    rows = [[x.case_number, x.process, " ".join(x.counterparts), x.stated_fen, x.received_fen,
             x.difference_fen, state] for x, state in lines]
    if fmt == "json":
        data = asdict(rec)
        data.update(period=period, start=rec.start.isoformat(), end=rec.end.isoformat())
        return json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(LINE_COLUMNS)
        writer.writerows(rows)
        return out.getvalue()
    if fmt == "md":
        text = (f"# {rec.region} {period} 跨省转移资金对账\n\n"
                f"| 转出 | 转出金额(分) | 转入 | 应转入(分) | 实收(分) | 相符 | 不符 | 已更正 | 未到账 |\n"
                f"|---|---|---|---|---|---|---|---|---|\n"
                f"| {rec.sent} | {rec.sent_fen} | {rec.received} | {rec.stated_fen} | "
                f"{rec.received_fen} | {rec.matched} | {len(rec.mismatched)} | {rec.corrected} | "
                f"{len(rec.outstanding)} |\n")
        if rows:
            text += "\n| " + " | ".join(LINE_COLUMNS) + " |\n" + "|---" * len(LINE_COLUMNS)
            text += "|\n" + "".join("| " + " | ".join(map(str, r)) + " |\n" for r in rows)
        return text
    raise InvalidValue(f"format must be csv, json or md, got {fmt!r}", field="format")
