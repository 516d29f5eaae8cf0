"""The applicant's view of a case, as one region knows it: status in the applicant's words,
the timeline of *both* regions, who holds the case, the current deadline, what to do next.

Why a projection folds the domain state too: the status a person reads must be the status the
protocol decides (`Decider.summary`), never a second guess from event names, so `apply` evolves
the side's state with the protocol's own `evolve` and reads its summary; the timeline, deadline
and next action come from the events themselves. "Both regions": what this node decided, and
what it received from the counterpart (receipts carry `from_region` and the counterpart's time),
so any participating node answers for the whole case.

Pure: `apply(view, event, decider)` is a function of its arguments; time and ids are in the
events. Masked data only: events carry the masked applicant and a keyed person hash, never an
ID number.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from domain.calendar import is_provisional
from domain.deadlines import (
    DeadlineCleared,
    DeadlineMissed,
    DeadlinePaused,
    DeadlineRecomputed,
    DeadlineSet,
    met_of,
)
from domain.kernel import Decider, Event, Receipt, SideSummary
from domain.protocols.consultation import PROCESS as CONSULTATION
from projections.milestones import MILESTONES, reached
from projections.records import SideEvent
from projections.wording import event_text, next_action, status_text


@dataclass(frozen=True)
class Step:
    """One line of the timeline: when, in which region, who, what."""

    at: dt.datetime
    region: str
    actor: str
    type: str
    text: str
    received_from: str = ""  # a counterpart's step, as this node received it


@dataclass(frozen=True)
class Deadline:
    """A running deadline. `provisional`: reckoned over days no official holiday schedule decided
    yet (it may still move later); `recomputed_from`: the date it had before the official
    schedule was installed and it was reckoned again (None when it never was)."""

    step: str
    due_at: dt.datetime
    basis: str
    provisional: bool
    recomputed_from: dt.datetime | None = None


@dataclass(frozen=True)
class CaseView:
    case_id: str
    case_number: str
    process: str
    region: str
    role: str = ""
    item_id: str = ""
    mode: str = ""
    applicant_masked: str = ""
    status: str = ""
    status_text: str = ""
    terminal: bool = False
    needs_attention: bool = False
    #: Staff's 督办 reason while the side needs attention (`AttentionEscalated`): the case is in
    #: the supervisors' queue; "" when not escalated or no longer needing attention.
    escalated: str = ""
    holder: str = ""
    next_action: str = ""
    supplement: tuple[str, ...] = ()
    #: The note that came with the 补正 request (what the clerk or the handler told the applicant).
    supplement_note: str = ""
    deadlines: tuple[Deadline, ...] = ()
    overdue: tuple[str, ...] = ()
    peers: tuple[str, ...] = ()
    amount_stated: int = 0
    amount_sent: int = 0
    amount_received: int = 0
    amount_credited: int = 0
    #: Funds arrived that differed from what the origins stated, at some point (reconciliation
    #: counts such a case as corrected once the amounts agree).
    amount_differed: bool = False
    #: A pension transfer at retirement: the region that will pay the pension (待遇领取地) and
    #: why (国办发〔2009〕66号 第六条), "" otherwise.
    benefit_region: str = ""
    benefit_region_reason: str = ""
    #: 好差评 scores given to this region for this case (1–5), in order.
    ratings: tuple[int, ...] = ()
    #: The 差评 follow-up (整改) of this side: "", "open", "overdue" or "closed".
    follow_up: str = ""
    #: The side's joint-case milestones (`joint.MILESTONES`) with when each was first reached.
    milestones: tuple[tuple[str, dt.datetime], ...] = ()
    #: The side's first event (when this region first recorded the case).
    opened_at: dt.datetime | None = None
    submitted_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    timeline: tuple[Step, ...] = ()
    position: int = 0
    #: A consultation's texts (`domain.protocols.consultation`): kind, subject, text, about_case,
    #: reply and replied_at; empty for every other case.
    consultation: Mapping[str, str] = field(default_factory=dict)
    #: The protocol's own state of this side (not shown; the next event evolves it).
    state: Any = field(default=None, repr=False, compare=False)

    @property
    def deadline(self) -> Deadline | None:
        """The earliest running deadline: what the page shows as "办理时限"."""
        return min(self.deadlines, key=lambda d: d.due_at, default=None)


FOLLOW_UP = {"FollowUpOpened": "open", "FollowUpOverdue": "overdue", "FollowUpClosed": "closed"}


def ordinary(views: Iterable[CaseView]) -> Iterator[CaseView]:
    """The cases a region handles, without the consultations (咨询/投诉/建议): those are answered,
    not handled, and have their own figures (the supervisors' complaints view), so counting them
    as cases received, finished or overdue would misstate the handling figures."""
    return (v for v in views if v.process != CONSULTATION)


#: How the timeline names who acted, by actor kind (staff add their role).
ACTOR_NAMES = {"staff": "工作人员", "applicant": "申请人", "system": "系统", "backend": "业务系统"}
#: The events that move a side's deadlines or its overdue steps (`_deadlines`).
DEADLINE_EVENTS = (DeadlineSet, DeadlineRecomputed, DeadlineCleared, DeadlinePaused,
                   DeadlineMissed)


#: `is_provisional` by calendar version (a few versions; ~1 µs a call, at every deadline event).
_provisional = functools.lru_cache(maxsize=256)(is_provisional)


def _actor(event: Event) -> str:
    actor = event.actor
    who = ACTOR_NAMES.get(actor.kind, actor.kind)
    return f"{who} {actor.role}".strip() if actor.kind == "staff" else who


def apply(view: CaseView | None, record: SideEvent, decider: Decider[Any],
          folded: Callable[[Event], Any] | None = None) -> CaseView:
    """The view after one more event of this side (events arrive in version order).
    `folded(event)`: the side's state after `event` when the caller already has it (the
    node's own fold of the command that wrote it: `regions.runtime.views`), else None; the
    state is then not folded again.

    Why it is written for the common event: the views fold every event of the region (the
    node's views thread, the simulator's live views and replays: 137 µs an event under the
    profiler, docs/performance.md), and most events change only what the summary says and
    maybe the timeline. So the fields of the summary are set together, and each of the
    rarer changes (deadlines, supplement, ratings, consultation …) is made only by the event
    types that make it; an event that touches no deadline keeps the view's (already sorted)
    deadlines and overdue steps rather than sorting them again."""
    return fold(view, (record,), decider, folded)


def fold(view: CaseView | None, records: Sequence[SideEvent], decider: Decider[Any],
         folded: Callable[[Event], Any] | None = None) -> CaseView:
    """The view after `records` (one side's, in version order, at least one): `apply` of
    each in turn, the same view and state.

    Why: the views' writer rewrites each case a batch touched, after two to three of its
    events at burst (docs/performance.md, VIEWS2), and the views between them are never read.
    So the fields only the summary sets (status and its text, role, holder, next action,
    peers, amounts, terminal, needs attention) are set once, from the summary after the last
    event — no event reads them back — and the view is copied once, not after every event.
    What an event adds or keeps from the one before (timeline, milestones, deadlines, the
    escalation, the amounts that once differed, the state) is still made event by event."""
    if view is None:
        first = records[0]
        view = CaseView(first.case_id, first.case_number, first.process, first.region)
    fields: dict[str, Any] | None = None
    summary: SideSummary | None = None
    region = view.region
    for record in records:
        if record.position and record.position <= (
                view.position if fields is None else fields["position"]):
            continue  # seen already (a tailer hands a batch on again after a crash)
        if fields is None:
            fields = dict(view.__dict__)
        summary = _event(fields, record, decider, folded)
        region = record.region
    if fields is None or summary is None:
        return view
    status, role, terminal = summary.status, summary.role, summary.terminal
    fields["holder"], fields["next_action"] = next_action(status, role, region,
                                                          summary.peer_regions, terminal)
    fields.update(role=role, status=status, status_text=status_text(status, role),
                  terminal=terminal, needs_attention=summary.needs_attention,
                  peers=summary.peer_regions, amount_stated=summary.amount_stated,
                  amount_received=summary.amount_received,
                  amount_credited=summary.amount_credited, amount_sent=summary.amount_sent)
    return _next(view, fields)


def _event(fields: dict[str, Any], record: SideEvent, decider: Decider[Any],
           folded: Callable[[Event], Any] | None) -> SideSummary:
    """Fold one event into `fields` (a view's, being made), but for the fields only the
    summary sets; the summary after it."""
    event = record.event()
    state = folded(event) if folded is not None else None
    if state is None:
        state = decider.evolve(fields["state"], event)
    summary = decider.summary(state)
    kind, payload = record.type, record.payload
    terminal = summary.terminal
    stated, received = summary.amount_stated, summary.amount_received
    fields["state"], fields["position"] = state, record.position
    fields["amount_differed"] = fields["amount_differed"] or (
        received > 0 and stated > 0 and received != stated)
    if not summary.needs_attention or terminal:
        fields["escalated"] = ""
    elif kind == "AttentionEscalated":
        fields["escalated"] = str(payload.get("reason", ""))
    milestone = MILESTONES.get((summary.role, kind))
    if milestone:
        fields["milestones"] = reached(fields["milestones"], milestone, event.at)
    if fields["opened_at"] is None:
        fields["opened_at"] = event.at
    if kind in SPECIAL:
        _special(fields, record, event)
    if terminal or isinstance(event, DEADLINE_EVENTS) or "met" in payload:
        _deadlines(fields, event, terminal)
    if terminal:
        fields["finished_at"] = fields["finished_at"] or event.at
    text = event_text(kind)
    if text:
        from_region = event.from_region if isinstance(event, Receipt) else ""
        step = object.__new__(Step)  # as `_next` makes views: no frozen `__init__` per field
        step.__dict__.update(at=event.at, region=from_region or record.region,
                             actor=_actor(event), type=kind, text=text,
                             received_from=from_region)
        fields["timeline"] = (*_folded(fields["timeline"], record, event), step)
    return summary


def _folded(timeline: tuple[Step, ...], record: SideEvent, event: Event) -> tuple[Step, ...]:
    """The timeline before `event`'s step, with the step of a `Reconciled` that rides on the
    completion (its `reconciled`, issue 17's rows) where it stood as a row of its own: before
    the conclusions to the origins the same decision recorded."""
    if record.type != "TransferCompleted" or not record.payload.get("reconciled"):
        return timeline
    at = len(timeline)
    while at and timeline[at - 1].type == "TransferConcluded" and timeline[at - 1].at == event.at:
        at -= 1
    step = Step(at=event.at, region=record.region, actor=_actor(event), type="Reconciled",
                text=event_text("Reconciled"), received_from="")
    return (*timeline[:at], step, *timeline[at:])


def _next(view: CaseView, changes: dict[str, Any]) -> CaseView:
    """`view` with `changes`, copied as `domain.fold.replace` copies a plain frozen dataclass,
    without its check of the names: `fold` writes only `CaseView`'s own fields, and the
    check (a set difference of some twenty names) was a tenth of the fold's own work.
    `changes` holds every field (`fold`'s are a copy of the view's, then changed), so the new
    view is filled from it alone: copying the view's own first, to overwrite all of it, was
    half of this copy (VIEWS3)."""
    new = object.__new__(CaseView)
    new.__dict__.update(changes)
    return new


def _special(changes: dict[str, Any], record: SideEvent, event: Event) -> None:
    """The changes of the event types that carry more than the summary (`SPECIAL`), made in
    `changes` (the fields of the view being made)."""
    kind, payload = record.type, record.payload
    if kind in ("RatingGiven", "RatingReceived"):
        if payload.get("rated_region") in ("", record.region):
            changes["ratings"] = (*changes["ratings"], int(payload.get("score", 0)))
    elif kind in FOLLOW_UP:
        changes["follow_up"] = FOLLOW_UP[kind]
    elif kind == "ConsultationOpened":
        changes.update(item_id=payload.get("kind", ""), mode="consultation", submitted_at=event.at,
                       consultation={k: str(payload.get(k, "")) for k in
                                     ("kind", "subject", "text", "about_case")})
    elif kind == "ConsultationReplied":
        changes["consultation"] = {**changes["consultation"], "reply": str(payload.get("reply", "")),
                                   "replied_at": event.at.isoformat(), "replied_by": _actor(event)}
    elif kind == "BenefitRegionDetermined":
        changes.update(benefit_region=str(payload.get("region", "")),
                       benefit_region_reason=str(payload.get("reason", "")))
    elif kind == "ApplicationSubmitted":
        changes.update(item_id=payload.get("item_id", ""), mode=payload.get("mode", ""),
                       applicant_masked=payload.get("applicant_masked", ""),
                       submitted_at=event.at)
    elif kind == "SupplementRequested" or (
            kind == "HandlingNoticeReceived" and not payload.get("stale")
            and payload.get("notice") == "HandlingSupplementRequested"):  # asked by the handler
        changes["supplement"] = tuple(payload.get("missing_kinds", ()))
        changes["supplement_note"] = str(payload.get("note", ""))
    if kind in ("SupplementProvided", "ApplicationWithdrawn"):
        changes["supplement"], changes["supplement_note"] = (), ""


#: The event types `_special` looks at; every other event changes none of those fields.
SPECIAL = frozenset({"RatingGiven", "RatingReceived", *FOLLOW_UP, "ConsultationOpened",
                     "ConsultationReplied", "BenefitRegionDetermined", "ApplicationSubmitted",
                     "SupplementRequested", "HandlingNoticeReceived", "SupplementProvided",
                     "ApplicationWithdrawn"})


def _deadlines(changes: dict[str, Any], event: Event, terminal: bool) -> None:
    """The running deadlines (earliest first) and overdue steps after a deadline event, or
    after the event that ended the side (none run on a finished side), in `changes`."""
    deadlines = {d.step: d for d in changes["deadlines"]}
    overdue = set(changes["overdue"])
    if isinstance(event, DeadlineSet):
        deadlines[event.step] = Deadline(event.step, event.due_at, event.basis,
                                         _provisional(event.calendar_version))
    elif isinstance(event, DeadlineRecomputed) and event.step in deadlines:
        deadlines[event.step] = Deadline(event.step, event.due_at, event.basis,
                                         _provisional(event.calendar_version),
                                         event.previous_due_at)
    elif isinstance(event, (DeadlineCleared, DeadlinePaused)):
        deadlines.pop(event.step, None)
        overdue.discard(event.step)
    elif isinstance(event, DeadlineMissed):
        overdue.add(event.step)
    for step in met_of(event):  # met by the event itself (issue 17's rows): as its clear did
        deadlines.pop(step, None)
        overdue.discard(step)
    if terminal:
        deadlines.clear()
    changes["deadlines"] = tuple(sorted(deadlines.values(), key=lambda d: d.due_at))
    changes["overdue"] = tuple(sorted(overdue))
