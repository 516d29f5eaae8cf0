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
import json
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from projections.cases import CaseView, Deadline, Step

TIMES = ("opened_at", "submitted_at", "finished_at")
TUPLES = ("supplement", "overdue", "peers", "ratings")
#: The document's plain fields, in the document's order.
SCALARS = ("case_id", "case_number", "process", "region", "role", "item_id", "mode",
           "applicant_masked", "status", "status_text", "terminal", "needs_attention",
           "holder", "next_action", "amount_stated", "amount_sent", "amount_received",
           "amount_credited", "amount_differed", "follow_up", "position", "supplement_note",
           "escalated", "benefit_region", "benefit_region_reason")


def iso(at: dt.datetime | None) -> str | None:
    """UTC, microseconds always written: equal widths sort as times.

    Kept by value for aware times (`_ISO`): an aware `isoformat` is ~2 µs (it asks the zone for
    its offset), and a case's times recur — an event's time is its timeline step's, often its
    milestone's and its opened or submitted time, and the events of one decision share theirs.
    Only times in UTC are kept: a time equal to one of them is the same instant (naive times
    never equal aware ones), whose UTC text is the same, so the memo never changes a text."""
    if at is None:
        return None
    text = _ISO.get(at)
    if text is None:
        text = at.astimezone(dt.UTC).isoformat(timespec="microseconds")
        if at.tzinfo is dt.UTC:
            if len(_ISO) >= ISO_KEPT:
                _ISO.clear()
            _ISO[at] = text
    return text


#: The UTC times whose ISO text `iso` keeps (a cache: cleared whole when full).
ISO_KEPT = 8_192
_ISO: dict[dt.datetime, str] = {}


def parse(text: str | None) -> dt.datetime | None:
    return None if text is None else dt.datetime.fromisoformat(text)


def to_document(view: CaseView) -> dict[str, Any]:
    doc = _plain(view)
    doc["deadlines"] = _deadlines(view.deadlines)
    doc["milestones"] = _milestones(view.milestones)
    doc["timeline"] = [_step(s) for s in view.timeline]
    return doc


def _plain(view: CaseView, times: tuple[str | None, ...] | None = None) -> dict[str, Any]:
    """The document's first part: all but its deadlines, milestones and timeline (`times`:
    the ISO forms of the view's `TIMES`, when the caller has them)."""
    fields = view.__dict__
    doc: dict[str, Any] = {name: fields[name] for name in SCALARS}
    for name in TUPLES:
        doc[name] = list(fields[name])
    if times is None:
        times = tuple(iso(fields[name]) for name in TIMES)
    doc["opened_at"], doc["submitted_at"], doc["finished_at"] = times
    doc["consultation"] = dict(view.consultation)
    return doc


def _deadlines(deadlines: tuple[Deadline, ...]) -> list[Any]:
    return [[d.step, iso(d.due_at), d.basis, d.provisional, iso(d.recomputed_from)]
            for d in deadlines]


def _milestones(milestones: tuple[tuple[str, dt.datetime], ...]) -> list[Any]:
    return [[name, iso(at)] for name, at in milestones]


def _step(s: Step) -> list[Any]:
    return [iso(s.at), s.region, s.actor, s.type, s.text, s.received_from]


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
    """What the view tables index and the queue and supervision read without the document
    (`Encoder.row` makes the same values with the document)."""
    deadline = view.deadline
    return {"case_id": view.case_id, "case_number": view.case_number, "process": view.process,
            "role": view.role, "item_id": view.item_id, "mode": view.mode,
            "status": view.status, "status_text": view.status_text, "terminal": view.terminal,
            "needs_attention": view.needs_attention, "overdue": bool(view.overdue),
            "due_at": iso(deadline.due_at) if deadline else None,
            "opened_at": iso(view.opened_at), "submitted_at": iso(view.submitted_at),
            "finished_at": iso(view.finished_at), "position": view.position}


class Encoder:
    """A view's row for the view tables — `columns(view)`'s values, then the document as JSON
    text, exactly `json.dumps(to_document(view), ensure_ascii=False)` — without encoding again
    what the case's previous write already encoded.

    Why: each batch of the views tailer rewrites every case it touched, whole (a case is
    written three to four times at burst, docs/performance.md, VIEWS), and building the
    document and its JSON was ~3 % of a node's CPU in the bench, more than writing the rows.
    Between two writes of a case much of its document stands: its times are set once each,
    its deadlines change only on a deadline event, and its milestones and timeline only grow
    (`apply` appends to them). So per case the encoder keeps the text of each of those, with
    what it was made from, and encodes only what differs from that: nothing for parts equal
    to what was kept, the new entries of a list that begins with the kept one (compared as
    tuples: the kept entries are the very objects, so mostly by identity). The rest of the
    document (a few dozen plain fields) is encoded afresh, in one call of the C encoder (kept
    by parts too — the fields set at opening, those that change rarely — it was no cheaper:
    building and comparing the parts cost what encoding them did). Bounded: the `size` cases written most recently."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._kept: OrderedDict[str, _Kept] = OrderedDict()

    def forget(self) -> None:
        self._kept.clear()

    def row(self, view: CaseView) -> tuple[Any, ...]:
        kept = self._kept.pop(view.case_id, None) or _Kept()
        times = (view.opened_at, view.submitted_at, view.finished_at)
        if times != kept.times:
            kept.times, kept.times_text = times, tuple(iso(at) for at in times)
        deadlines = view.deadlines
        if deadlines != kept.deadlines:
            earliest = view.deadline
            kept.deadlines, kept.due_at = deadlines, iso(earliest.due_at) if earliest else None
            kept.deadlines_text = _encode(_deadlines(deadlines))
        kept.milestones_text = _grown(kept.milestones, kept.milestones_text, view.milestones,
                                      _milestones)
        kept.milestones = view.milestones
        kept.timeline_text = _grown(kept.timeline, kept.timeline_text, view.timeline,
                                    _steps)
        kept.timeline = view.timeline
        self._kept[view.case_id] = kept
        if len(self._kept) > self.size:
            self._kept.popitem(last=False)
        doc = (f'{_encode(_plain(view, kept.times_text))[:-1]}, '
               f'"deadlines": {kept.deadlines_text}, "milestones": [{kept.milestones_text}], '
               f'"timeline": [{kept.timeline_text}]}}')
        return (view.case_id, view.case_number, view.process, view.role, view.item_id,
                view.mode, view.status, view.status_text, view.terminal, view.needs_attention,
                bool(view.overdue), kept.due_at, *kept.times_text, view.position, doc)


def _grown(kept: tuple[Any, ...], text: str, items: tuple[Any, ...],
           encoded: Callable[[tuple[Any, ...]], list[Any]]) -> str:
    """The JSON text of `encoded(items)` without its brackets, given `text`, that of `kept`:
    only the entries after `kept` are encoded when `items` begins with it."""
    done = len(kept)
    if done > len(items) or items[:done] != kept:
        done, text = 0, ""
    if done == len(items):
        return text
    more = _encode(encoded(items[done:]))[1:-1]
    return f"{text}, {more}" if done else more


def _steps(steps: tuple[Step, ...]) -> list[Any]:
    return [_step(s) for s in steps]


class _Kept:
    """What `Encoder` keeps of a case's last write: parts of its document as text, each with
    what it was encoded from."""

    __slots__ = ("deadlines", "deadlines_text", "due_at", "milestones", "milestones_text",
                 "timeline", "timeline_text", "times", "times_text")

    def __init__(self) -> None:
        self.deadlines: tuple[Deadline, ...] | None = None
        self.deadlines_text = ""
        self.due_at: str | None = None
        self.milestones: tuple[tuple[str, dt.datetime], ...] = ()
        self.milestones_text = ""
        self.timeline: tuple[Step, ...] = ()
        self.timeline_text = ""
        self.times: tuple[dt.datetime | None, ...] = ()
        self.times_text: tuple[str | None, ...] = ()


def _json_encoder() -> Callable[[Any], str]:
    """`json.dumps(..., ensure_ascii=False)`'s text, without making an encoder at every call.

    Why not `JSONEncoder(...).encode`: it builds the C encoder again at every call
    (`iterencode` with `_one_shot`), in Python; this builds it once, with the arguments
    `iterencode` gives it, so the text is the same (`check_circular` off changes no output;
    documents hold no cycles). Falls back to `encode` where the C encoder is missing."""
    base = json.JSONEncoder(ensure_ascii=False, check_circular=False)
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return base.encode
    chunks = make(None, base.default, json.encoder.encode_basestring, None,
                  base.key_separator, base.item_separator, False, False, True)
    join = "".join

    def encode(o: Any) -> str:
        return join(chunks(o, 0))

    return encode


_encode = _json_encoder()


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
