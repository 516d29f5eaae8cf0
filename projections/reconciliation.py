"""Reconciliation of one region's transfers over a period: what it sent and received, in fen,
which received transfers match what the origins stated, which differ (and by how much), which
were corrected, and which are still outstanding.

Why from the case views: the amounts are the protocol's own (`Decider.summary`), so the
figures a finance officer reconciles are the ones the node acted on. A case belongs to the
period in which this region first recorded it (Asia/Shanghai dates, end exclusive).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

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
