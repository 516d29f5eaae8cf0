"""Timing edges of the workload: people who act hours before a permit expires or a deadline
falls, applicants who withdraw right after a message arrives (or while one is in flight), and
single messages the network holds for hours.

Why: people act within minutes of each step and the clock skew is at most ±90 s, so without
these a 40-day permit never races its expiry, a withdrawal almost never lands between the
origin's 注销 and the 迁移证's arrival, and a message late by hours (heartbeats see the gap, a
re-send arrives first, the late copy after) never happens (issue 16). Each edge is counted in
`world.edges` only when it really happened, and the CI batch requires every one of them
(`EDGES`, tests/e2e/test_seed_batch.py).

Every draw here comes from streams of its own ("timing:…"), so the other components' draws
stay where they were.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from typing import Any

from domain.kernel import Command
from regions.core.messages import LinkMessage

#: A visit is timed to land hours before the side's next timer with this chance; higher while a
#: permit is what runs out (few cases carry one).
BEFORE_TIMER, BEFORE_PERMIT = 0.04, 0.7
#: How long before the timer the person acts, in hours (a permit's last afternoon, a deadline's
#: last working hours).
HOURS_BEFORE = (0.25, 8.0)
#: Of the visits timed at a permit, this share comes back minutes to hours *after* it expired
#: (the origin must have refused it by then, on its own timer).
AFTER_PERMIT, MINUTES_AFTER = 0.3, (1.0, 240.0)
#: Only timers at least this far ahead are worth waiting for (otherwise it is an ordinary visit).
WORTH_WAITING = dt.timedelta(hours=12)
#: Chance that the applicant tries to withdraw right after a counterpart's message arrives, and
#: right after the counterpart commits (a withdrawal racing the message in flight).
WITHDRAW_AFTER_ARRIVAL, WITHDRAW_DURING_FLIGHT = 0.03, 0.05
#: Messages past the point of no return (the 迁移证 after 注销, an info sheet after the money
#: left): a withdrawal racing one of these is the edge the protocols decide on, so it is drawn
#: far more often.
NO_RETURN = frozenset({"MigrationCertificateIssued", "InfoSheetIssued"})
WITHDRAW_ACROSS_NO_RETURN = 0.6
#: The 迁移证: the origin committed it with 迁出登记 + 注销, so a withdrawal crossing it reaches
#: an origin that no longer registers the person and must refuse it. Counted on its own: the
#: info sheets alone kept `withdrew_across_no_return` reached while no withdrawal met a
#: deregistered origin in the harness's batch (the 注销 mutant went unseen over seeds 1–8).
DEREGISTERED = "MigrationCertificateIssued"
#: ...and drawn nearly always, within the 3 ms the 迁移证 takes to arrive on a clean link (the
#: relay's tick at 1 ms, the inbox's 2 ms after the publish): a run sees only a handful of
#: 注销, and across 0–6 ms half the withdrawals came after the certificate and were no race.
WITHDRAW_ACROSS_DEREGISTRATION, DEREGISTRATION_FLIGHT_MS = 0.9, 3.0
#: A delayed or reordered message is held for hours with this chance (not milliseconds).
LONG_DELAY = 0.03
LONG_DELAY_HOURS = (1.0, 30.0)

#: An applicant whose origin's visit is timed at the permit's expiry waits this long past it
#: before withdrawing: otherwise the withdrawal (most applicants give up within weeks) ends the
#: case first and no origin ever holds a 准迁证 to its expiry (the permit mutant of issue 16
#: went unseen for that reason).
PATIENT_PAST_EXPIRY = dt.timedelta(hours=12)

EDGES = ("acted_hours_before_permit_expiry", "acted_hours_before_deadline",
         "visited_after_permit_expiry", "origin_held_permit_to_expiry",
         "withdrew_right_after_arrival", "withdrew_with_message_in_flight",
         "withdrew_across_no_return", "withdrew_across_deregistration",
         "message_delayed_hours")


def held_to_expiry(events: list[Any]) -> bool:
    """Whether these events are an origin refusing a request it held when the permit ran out,
    on its own timer (not one already expired on arrival, refused at once)."""
    for e in events:  # a loop: asked at every commit and visit, almost always of no refusal
        if e.TYPE == "MoveOutRefused" and getattr(e, "code", "") == "permit_expired" \
                and e.actor.kind == "system":
            return True
    return False


def visit_before_timer(next_timer: dt.datetime | None, permit_expires_at: dt.datetime | None,
                       local_now: dt.datetime, rng: random.Random
                       ) -> tuple[dt.timedelta, str] | None:
    """(delay, edge) for a visit timed hours before the side's next timer, or None (most
    visits). `permit_expires_at` is the side's permit, when it holds one."""
    if next_timer is None or next_timer - local_now < WORTH_WAITING:
        rng.random()  # one draw per opportunity, whatever the outcome
        return None
    permit = permit_expires_at is not None and next_timer == permit_expires_at
    if rng.random() >= (BEFORE_PERMIT if permit else BEFORE_TIMER):
        return None
    if permit and rng.random() < AFTER_PERMIT:  # the staff come back only after it expired
        after = dt.timedelta(minutes=rng.uniform(*MINUTES_AFTER))
        return next_timer - local_now + after, "visited_after_permit_expiry"
    before = dt.timedelta(hours=rng.uniform(*HOURS_BEFORE))
    edge = "acted_hours_before_permit_expiry" if permit else "acted_hours_before_deadline"
    return next_timer - local_now - before, edge


def withdrawals(options: list[Command]) -> list[Command]:
    return [c for c in options if type(c).__name__.startswith("Withdraw")]


def long_delay(rng: random.Random, reached: Counter[str]) -> dt.timedelta | None:
    """Hours instead of milliseconds for one delayed message, sometimes."""
    if rng.random() >= LONG_DELAY:
        return None
    reached["message_delayed_hours"] += 1
    return dt.timedelta(hours=rng.uniform(*LONG_DELAY_HOURS))


class WithdrawalRace:
    """Withdrawals timed against the counterpart's messages, and whether one really raced.

    A withdrawal *with a message in flight* is one the applicant's side committed after the
    counterpart committed an event for the case and before that event arrived: measured on
    arrival, from the message's own time (the origin's clock, skew taken off)."""

    def __init__(self) -> None:
        #: (region, case) -> virtual instant of the applicant's last withdrawal there
        self.withdrawn_at: dict[tuple[str, str], dt.datetime] = {}
        self.counted: set[str] = set()

    def withdrew(self, region: str, case_id: str, now: dt.datetime) -> None:
        self.withdrawn_at[(region, case_id)] = now

    def arrived(self, region: str, message: LinkMessage, origin_skew: dt.timedelta,
                reached: Counter[str]) -> None:
        when = self.withdrawn_at.get((region, message.case_id))
        if when is None or message.case_id in self.counted:
            return
        if when >= message.at - origin_skew:
            self.counted.add(message.case_id)
            reached["withdrew_with_message_in_flight"] += 1
            if message.type in NO_RETURN:
                reached["withdrew_across_no_return"] += 1
            if message.type == DEREGISTERED:  # the withdrawal meets an origin after 注销
                reached["withdrew_across_deregistration"] += 1


def after_arrival_delay(rng: random.Random) -> dt.timedelta | None:
    """Seconds after a message arrives: the applicant who saw the status change and withdrew."""
    if rng.random() >= WITHDRAW_AFTER_ARRIVAL:
        return None
    return dt.timedelta(seconds=rng.uniform(0.5, 120))


def during_flight_delay(rng: random.Random, event_types: set[str]) -> dt.timedelta | None:
    """Milliseconds after the counterpart committed `event_types`: before, during or after
    the relay's publish and the inbox's fetch (1 ms and 2 ms later)."""
    if DEREGISTERED in event_types:
        chance, flight_ms = WITHDRAW_ACROSS_DEREGISTRATION, DEREGISTRATION_FLIGHT_MS
    elif event_types & NO_RETURN:
        chance, flight_ms = WITHDRAW_ACROSS_NO_RETURN, 6.0
    else:
        chance, flight_ms = WITHDRAW_DURING_FLIGHT, 6.0
    if rng.random() >= chance:
        return None
    return dt.timedelta(milliseconds=rng.uniform(0, flight_ms))


def permit_of(state: Any) -> dt.datetime | None:
    return getattr(state, "permit_expires_at", None)
