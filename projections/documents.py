"""A case view as a JSON document and back, for view tables (`regions.adapters.stores.views`).

Why a document and not one column per field: the timeline, deadlines and milestones are lists
the pages show whole, and no query filters on them; the fields the API filters and sorts on
(number, status, due date, overdue, times) are columns beside the document (`columns`). The
protocol's own state (`CaseView.state`) is not stored: it is the fold of the side's events, which
the region's store keeps, so a writer that needs it folds the side again (the view is derived
data; the store is the truth).

Pure: no clock, no ids; datetimes are written in UTC ISO form so that text columns (SQLite)
sort in time order.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from projections.cases import CaseView, Deadline, Step

TIMES = ("opened_at", "submitted_at", "finished_at")
TUPLES = ("supplement", "overdue", "peers", "ratings")


def iso(at: dt.datetime | None) -> str | None:
    """UTC, microseconds always written: equal widths sort as times."""
    return None if at is None else at.astimezone(dt.UTC).isoformat(timespec="microseconds")


def parse(text: str | None) -> dt.datetime | None:
    return None if text is None else dt.datetime.fromisoformat(text)


def to_document(view: CaseView) -> dict[str, Any]:
    doc: dict[str, Any] = {
        name: getattr(view, name) for name in (
            "case_id", "case_number", "process", "region", "role", "item_id", "mode",
            "applicant_masked", "status", "status_text", "terminal", "needs_attention",
            "holder", "next_action", "amount_stated", "amount_sent", "amount_received",
            "amount_credited", "amount_differed", "follow_up", "position", "supplement_note",
            "escalated", "benefit_region", "benefit_region_reason")}
    doc.update({name: list(getattr(view, name)) for name in TUPLES})
    doc.update({name: iso(getattr(view, name)) for name in TIMES})
    doc["consultation"] = dict(view.consultation)
    doc["deadlines"] = [[d.step, iso(d.due_at), d.basis, d.provisional, iso(d.recomputed_from)]
                        for d in view.deadlines]
    doc["milestones"] = [[name, iso(at)] for name, at in view.milestones]
    doc["timeline"] = [[iso(s.at), s.region, s.actor, s.type, s.text, s.received_from]
                       for s in view.timeline]
    return doc


def from_document(doc: dict[str, Any]) -> CaseView:
    """The view a document was made from (without the protocol's state)."""
    fields = {name: doc[name] for name in doc
              if name not in (*TUPLES, *TIMES, "deadlines", "milestones", "timeline")}
    fields.update({name: tuple(doc[name]) for name in TUPLES})
    fields.update({name: parse(doc[name]) for name in TIMES})
    # rows written before `recomputed_from` existed hold four entries
    fields["deadlines"] = tuple(Deadline(step, parse(at), basis, provisional,  # type: ignore[arg-type]
                                         parse(rest[0]) if rest else None)
                                for step, at, basis, provisional, *rest in doc["deadlines"])
    fields["milestones"] = tuple((name, parse(at)) for name, at in doc["milestones"])
    fields["timeline"] = tuple(Step(parse(at), region, actor, type_, text, received)  # type: ignore[arg-type]
                               for at, region, actor, type_, text, received in doc["timeline"])
    return CaseView(**fields)


def columns(view: CaseView) -> dict[str, Any]:
    """What the view tables index and the queue and supervision read without the document."""
    deadline = view.deadline
    return {"case_id": view.case_id, "case_number": view.case_number, "process": view.process,
            "role": view.role, "item_id": view.item_id, "mode": view.mode,
            "status": view.status, "status_text": view.status_text, "terminal": view.terminal,
            "needs_attention": view.needs_attention, "overdue": bool(view.overdue),
            "due_at": iso(deadline.due_at) if deadline else None,
            "opened_at": iso(view.opened_at), "submitted_at": iso(view.submitted_at),
            "finished_at": iso(view.finished_at), "position": view.position}


def summary(row: dict[str, Any], region: str) -> CaseView:
    """A view with only its columns (no timeline, no document): enough for the work queue and
    supervision figures, which read nothing else."""
    return CaseView(
        row["case_id"], row["case_number"], row["process"], region, role=row["role"],
        item_id=row["item_id"], mode=row["mode"], status=row["status"],
        status_text=row["status_text"], terminal=bool(row["terminal"]),
        needs_attention=bool(row["needs_attention"]),
        overdue=("overdue",) if row["overdue"] else (),
        deadlines=(Deadline("", _time(row["due_at"]), "", False),) if row["due_at"] else (),  # type: ignore[arg-type]
        opened_at=_time(row["opened_at"]), submitted_at=_time(row["submitted_at"]),
        finished_at=_time(row["finished_at"]), position=int(row["position"]))


def _time(value: Any) -> dt.datetime | None:
    """A column's time: PostgreSQL hands back datetimes, SQLite the ISO text we wrote."""
    return parse(value) if isinstance(value, str) else value
