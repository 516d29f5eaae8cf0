"""Ratings, follow-ups and attention: the annotations a side takes after its phases, shared by
the application and household sides (the transfer sides rate through `transfer_ratings`).

好差评: a rating is a whole score 1–5, one per case and rated region, given once the case is
finished and only of regions that took part; given at the rated region it is recorded there,
given through a counterpart it is sent on (`RatingGiven` → `RatingReceived`). A poor rating
(`POOR_RATING` or less) opens a follow-up at the rated region, due after the region's follow-up
limit (`FOLLOW_UP_STEP`, 差评整改时限), flagged overdue by its timer and closed with a note; a
person resolves an attention note with a note too. These are annotations (`ANNOTATIONS`): the
only events a side takes after its terminal state.

Why a module of its own: it is the one part of casework about the applicant's verdict rather
than the side's clocks; `domain.protocols.casework` re-exports every name, so no importer moved.
It reads a side's `Bookkeeping` and keeps none of its own.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from typing import TYPE_CHECKING

from domain.deadlines import DeadlineRules, FlagDeadlineMissed
from domain.fold import replace
from domain.kernel import Actor, Command, Event, IllegalCommand, InvalidValue, Receive
from domain.protocols.casework_events import (
    AttentionResolved,
    CloseFollowUp,
    FollowUpClosed,
    FollowUpOpened,
    FollowUpOverdue,
    Rate,
    RatingGiven,
    RatingReceived,
    ResolveAttention,
)

if TYPE_CHECKING:  # casework imports this module; the book is only read here
    from domain.protocols.casework import Bookkeeping

POOR_RATING = 2
#: The waiting limit of a poor rating's follow-up (`domain.statutes`: a local default, not law).
FOLLOW_UP_STEP = "follow_up"


@dataclass(frozen=True)
class RatingContext:
    """Who may be rated through a side, and which region a rating of "" means."""

    own_region: str
    default_region: str
    rateable: tuple[str, ...]
    finished: bool


def decide_annotation(keep: Bookkeeping, command: Command, now: dt.datetime,
                      ctx: RatingContext | None, rules: DeadlineRules | None = None,
                      process: str = "") -> list[Event] | None:
    """Events for Rate / CloseFollowUp / ResolveAttention and the follow-up's timer; None for
    any other command.

    `ctx` is None on a side that does not take ratings (the applicant rates through the side
    they deal with). With `rules`, a follow-up opened gets its due date (`FOLLOW_UP_STEP`).
    """
    if isinstance(command, Rate):
        return with_follow_up_due(_rate(keep, command, now, ctx), rules, process, now)
    if isinstance(command, FlagDeadlineMissed) and command.step == FOLLOW_UP_STEP:
        due = keep.follow_up_due
        if keep.follow_up != "open" or due is None or keep.follow_up_overdue or now < due:
            return []  # a stale timer command
        return [FollowUpOverdue(at=now, actor=command.actor, due_at=due)]
    if isinstance(command, CloseFollowUp):
        if keep.follow_up != "open":
            raise IllegalCommand("no follow-up is open for this case", code="no_open_follow_up")
        if not command.note.strip():
            raise InvalidValue("closing a follow-up needs a note", code="note_required")
        return [FollowUpClosed(at=now, actor=command.actor, note=command.note.strip())]
    if isinstance(command, ResolveAttention):
        if not keep.attention:
            raise IllegalCommand("the case does not need attention", code="no_attention")
        if not command.note.strip():
            raise InvalidValue("resolving needs a note saying what was done", code="note_required")
        return [AttentionResolved(at=now, actor=command.actor, note=command.note.strip())]
    return None


def _rate(keep: Bookkeeping, command: Rate, now: dt.datetime,
          ctx: RatingContext | None) -> list[Event]:
    if ctx is None:
        raise IllegalCommand("ratings are given through the region the applicant deals with",
                             code="rate_elsewhere")
    score = command.score
    if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
        raise InvalidValue(f"a rating is a whole score from 1 to 5, got {score!r}",
                           code="invalid_score")
    if not ctx.finished:
        raise IllegalCommand("a case is rated once it is finished", code="not_completed")
    rated = command.rated_region or ctx.default_region
    if rated not in ctx.rateable:
        raise InvalidValue(f"region {rated!r} did not take part in this case",
                           code="unknown_rated_region")
    if rated in keep.rated:
        raise IllegalCommand(f"this case was already rated for region {rated}",
                             code="already_rated")
    shared = "" if rated == ctx.own_region else rated
    events: list[Event] = [RatingGiven(at=now, actor=command.actor, to_region=shared,
                                       rated_region=rated, score=score,
                                       comment=command.comment.strip())]
    if not shared and score <= POOR_RATING:
        events.append(FollowUpOpened(at=now, actor=command.actor, rated_region=rated,
                                     score=score))
    return events


def with_follow_up_due(events: list[Event], rules: DeadlineRules | None, process: str,
                       now: dt.datetime) -> list[Event]:
    """A follow-up opened now is due after the region's follow-up limit (差评整改时限)."""
    if rules is None or not any(isinstance(e, FollowUpOpened) for e in events):
        return events
    spec = rules.waiting_limit(process, FOLLOW_UP_STEP, now)
    return [replace(e, due_at=spec.due_at, calendar_version=spec.calendar_version,
                    reckoning=spec.reckoning)
            if isinstance(e, FollowUpOpened) else e for e in events]


def follow_up_timers(keep: Bookkeeping, now: dt.datetime, region: str) -> list[Command]:
    """The follow-up's timer (it runs after the side ended: a rating follows the end)."""
    due = keep.follow_up_due
    if keep.follow_up == "open" and due is not None and not keep.follow_up_overdue and now >= due:
        return [FlagDeadlineMissed(actor=Actor.system("deadline_timer", region),
                                   step=FOLLOW_UP_STEP)]
    return []


def follow_up_next(keep: Bookkeeping) -> dt.datetime | None:
    if keep.follow_up == "open" and not keep.follow_up_overdue:
        return keep.follow_up_due
    return None


def receive_rating(keep: Bookkeeping, command: Receive, own_region: str,
                   now: dt.datetime, rules: DeadlineRules | None = None,
                   process: str = "") -> list[Event]:
    """The rated region records a rating given through its counterpart (an annotation)."""
    event = command.event
    assert isinstance(event, RatingGiven)
    if event.rated_region != own_region:
        raise InvalidValue(f"a rating of region {event.rated_region} was sent to {own_region}",
                           code="wrong_region")
    if own_region in keep.rated:
        raise IllegalCommand("this case was already rated for this region", code="already_rated")
    events: list[Event] = [RatingReceived(
        at=now, actor=command.actor, ref=command.ref, from_region=command.from_region,
        rated_region=event.rated_region, score=event.score, comment=event.comment)]
    if event.score <= POOR_RATING:
        events.append(FollowUpOpened(at=now, actor=command.actor, rated_region=own_region,
                                     score=event.score))
    return with_follow_up_due(events, rules, process, now)


def annotation_options(keep: Bookkeeping, ctx: RatingContext | None, rng: random.Random,
                       actor: Actor, staff: Actor) -> list[Command]:
    """Plausible annotation commands: a rating per unrated region, closing a follow-up."""
    out: list[Command] = []
    if ctx is not None and ctx.finished:
        for region in ctx.rateable:
            if region not in keep.rated:
                out.append(Rate(actor=actor, rated_region=region, score=rng.randint(1, 5),
                                comment=rng.choice(["", "办事快", "等太久", "材料说明不清"])))
    if keep.follow_up == "open":
        out.append(CloseFollowUp(actor=staff, note="回访申请人，已说明并整改"))
    if keep.attention:
        out.append(ResolveAttention(actor=staff, note="核实后继续办理"))
    return out
