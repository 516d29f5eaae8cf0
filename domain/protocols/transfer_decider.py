"""The transfer protocol's decider: both sides of one scheme's transfer, the state's type says
the role.

Why apart from `domain.protocols.transfer` (the protocol's vocabulary in one import, and
`application`): this is the machine itself — the side's summary, its timers, `decide` with the
bookkeeping every status change implies (waiting limits carried by the status events, clocks
cleared at the end, the state folded once: `decide_folded`), and `evolve`, which hands each
role's events to `transfer_destination` and `transfer_origin`. The module map is in
`domain.protocols.transfer`'s docstring; the state tables in docs/transfer.md.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from domain import deadlines as dl
from domain.deadlines import (
    DeadlineCleared,
    DeadlinePaused,
    DeadlineSet,
)
from domain.fold import replace
from domain.kernel import (
    Actor,
    Command,
    CounterpartEventRejected,
    Event,
    IllegalCommand,
    NeedsAttentionRaised,
    Receipt,
    Receive,
    SideSummary,
    fold,
)
from domain.protocols import transfer_ratings as ratings
from domain.protocols.casework import recheck_follow_up
from domain.protocols.casework_events import AttentionEscalated, Lapse
from domain.protocols.intake import (
    ApplicationSubmitted,
    evolve_intake,
)
from domain.protocols.transfer_application import agency_of, direction_of, origins_of
from domain.protocols.transfer_bookkeeping import (
    MET_CARRIERS,
    carried,
    ended,
    keeps_waiting,
    met_by_carriers,
    waits,
)
from domain.protocols.transfer_destination import DestinationSide
from domain.protocols.transfer_events import (
    Reconciled,
)
from domain.protocols.transfer_origin import OriginSide
from domain.protocols.transfer_receipts import (
    ContactLetterReceived,
)
from domain.protocols.transfer_states import (
    DestinationState,
    OriginState,
    OriginTrack,
    SideState,
    track_mismatched,
    waiting_name,
)
from domain.protocols.transfer_waiting import (
    TransferWaitingTimerSet,
    WaitingTimerRecomputed,
    carries_waiting,
)
from domain.reckoning import WaitingLimit
from domain.values import CaseNumber


@dataclass
class TransferDecider(DestinationSide, OriginSide):
    """Both sides of one scheme's transfer; the state's type tells the role."""

    def summary(self, state: SideState) -> SideSummary:
        """The side's summary, its tracks read once (issue 17: asked for every event the views
        fold; the status, `needs_person` and the sums each walked them again)."""
        terminal = self.is_terminal(state)
        if isinstance(state, DestinationState):
            stated = received = months = 0
            mismatched = False
            for t in state.tracks.values():
                sheet = t.sheet
                if sheet is not None:
                    stated += sheet.amount_fen
                    months += sheet.months
                received += t.received_fen - (t.reversed_fen or 0)
                mismatched = mismatched or track_mismatched(t)
            needs = bool(state.attention) or mismatched  # `DestinationState.needs_person`
            return SideSummary(
                case_id=state.case_id, process=state.process, role="destination",
                region=state.region, status=self.status_of(state, needs, terminal),
                terminal=terminal, needs_attention=needs, person_key=state.person_key,
                scheme=state.scheme, peer_regions=state.origins, amount_stated=stated,
                amount_received=received, amount_credited=state.credited_fen,
                months_stated=months, months_credited=state.credited_months)
        sheet, needs = state.sheet, state.needs_person
        return SideSummary(
            case_id=state.case_id, process=state.process, role="origin", region=state.region,
            status=self.status_of(state, needs, terminal), terminal=terminal,
            needs_attention=needs, person_key=state.person_key, scheme=state.scheme,
            peer_regions=(state.destination,), amount_stated=sheet.amount_fen if sheet else 0,
            amount_sent=state.remitted_fen - state.returned_fen,
            months_stated=sheet.months if sheet else 0,
            amount_for_new_case=state.for_new_case_fen)

    def next_timer(self, state: SideState) -> dt.datetime | None:
        follow_up = ratings.follow_up_due(state)  # runs after the end too
        if self.is_terminal(state):
            return follow_up
        times = [t for t in (dl.next_due(state.book), state.waiting[1] if state.waiting else None,
                             follow_up) if t is not None]
        return min(times, default=None)

    def timers(self, state: SideState, now: dt.datetime) -> list[Command]:
        out = ratings.follow_up_timer(state, now)
        if self.is_terminal(state):
            return out
        out += dl.due_commands(state.book, now, state.region)
        if state.waiting is not None and now >= state.waiting[1]:
            out.append(Lapse(actor=Actor.system("waiting_timer", state.region),
                             step=state.waiting[0]))
        return out

    def decide(self, state: SideState | None, command: Command, now: dt.datetime) -> list[Event]:
        """Events for `command`, plus the bookkeeping every status change implies (a rating
        is an annotation: it moves no status, so it needs none)."""
        return self.decide_folded(state, command, now)[0]

    def decide_folded(self, state: SideState | None, command: Command, now: dt.datetime,
                      ) -> tuple[list[Event], SideState | None]:
        """`decide`, and the state its events lead to (`settling.settle` takes it rather than
        folding them again: the bookkeeping folded them already)."""
        if state is not None:
            rated = ratings.decide_rating(state, command, now, self.rules, self.process)
            if rated is None and isinstance(command, dl.RecheckDeadlines):
                rated = self._recheck(state, command, now)
            if rated is not None:
                return rated, fold(self, rated, state)
        if state is None:
            if isinstance(command, Receive):
                events = self._origin_first(command, now)
            else:
                events = self._destination(None, command, now)
        elif isinstance(state, DestinationState):
            events = self._destination(state, command, now)
        else:
            events = self._origin(state, command, now)
        if not events:
            return events, state
        return self._bookkeeping(state, events, now)

    def _recheck(self, state: SideState, command: dl.RecheckDeadlines,
                 now: dt.datetime) -> list[Event]:
        """The calendar changed: every provisional date this side recorded is reckoned again
        (`deadlines.recheck`, later only) — its deadlines and waiting timer while it runs, and
        an open follow-up's due date (which runs after the end)."""
        events: list[Event] = []
        if not self.is_terminal(state):
            events += dl.decide_recheck(state.book, command, now, self.rules) or []
            w, held = state.waiting, state.waiting_watch
            found = None if w is None or held is None else dl.recheck(held, self.rules)
            if found is not None and w is not None:
                events.append(WaitingTimerRecomputed(
                    at=now, actor=command.actor, waiting_state=w[0], due_at=found.due_at,
                    previous_due_at=w[1], official_due_at=found.spec.due_at,
                    basis=found.spec.basis, calendar_version=found.spec.calendar_version))
        return events + recheck_follow_up(state.ratings, command.actor, now, self.rules)

    def _bookkeeping(self, before: SideState | None, events: list[Event], now: dt.datetime,
                     ) -> tuple[list[Event], SideState]:
        """A new waiting limit on entering a waiting status, carried by the event that made the
        status — or, when its type has no room for it (a shared answer), by the last event of
        the same decision that has; a `TransferWaitingTimerSet` after them when none has. Clear
        everything on reaching an end. With the state the events lead to (folded here once)."""
        events = met_by_carriers(events)
        after, old = before, self.status(before) if before is not None else ""
        new, made = old, -1
        states: list[SideState] = []
        for i, e in enumerate(events):
            after = self.evolve(after, e)
            states.append(after)
            if isinstance(e, dl.DEADLINE_EVENTS):
                continue  # a clock's event moves no status
            status = self.status(after)
            if status != new:
                new, made = status, i
        assert after is not None
        if self.is_terminal(after):
            actor = Actor.system("transfer_policy", after.region)
            clears: list[Event] = [DeadlineCleared(at=now, actor=actor, step=step)
                                   for step in sorted(after.book)]
            if not clears:
                return events, after
            events = clears + events
            ended = fold(self, events, before)
            assert ended is not None
            return events, ended
        if new != old and new != "needs_attention":
            name = waiting_name(new)
            spec = self.rules.waiting_limit(self.process, name, now)
            carrier = made if carries_waiting(events[made]) else next(
                (i for i in reversed(range(len(events))) if carries_waiting(events[i])), -1)
            if carrier >= 0:
                limit = WaitingLimit(name, spec.due_at, spec.basis, spec.calendar_version,
                                     spec.reckoning)
                bare = events[carrier]
                events[carrier] = replace(bare, waiting=limit)
                if keeps_waiting(events, carrier):
                    kept = carried(after, bare, events[carrier])
                    if kept is not None:
                        return events, kept
                after = fold(self, events[carrier:], states[carrier - 1] if carrier else before)
                assert after is not None
                return events, after
            timer = TransferWaitingTimerSet(
                at=now, actor=Actor.system("waiting_timer", after.region), waiting_state=name,
                status=new, due_at=spec.due_at, basis=spec.basis,
                calendar_version=spec.calendar_version, reckoning=spec.reckoning)
            events.append(timer)
            after = self.evolve(after, timer)
        return events, after

    def evolve(self, state: SideState | None, event: Event) -> SideState:
        if state is None:
            if isinstance(event, ApplicationSubmitted):
                number = CaseNumber.parse(event.case_number)
                origins = origins_of(event)
                intake = evolve_intake(None, event)
                assert intake is not None
                return waits(DestinationState(
                    process=event.process, case_id=str(number.case_id),
                    case_number=event.case_number, region=str(number.region),
                    person_key=event.person_key, scheme=self.spec.scheme,
                    applicant_masked=event.applicant_masked, origins=origins, intake=intake,
                    tracks={o: OriginTrack() for o in origins}, agency=agency_of(event),
                    direction=direction_of(event)), event)
            if isinstance(event, ContactLetterReceived):
                return waits(OriginState(
                    process=event.process, case_id=event.case_id, case_number=event.case_number,
                    region=event.region, destination=event.from_region,
                    person_key=event.person_key, scheme=self.spec.scheme,
                    applicant_masked=event.applicant_masked, origins=event.origins,
                    two_phase=event.two_phase, seen=frozenset({event.ref}), agency=event.agency,
                    direction=event.direction), event)
            raise IllegalCommand(f"a transfer side cannot start with {event.TYPE}",
                                 code="not_a_first_event")
        if isinstance(event, ratings.RATING_EVENTS):
            return ratings.evolve_rating(state, event)
        new = self._evolve_common(state, event)
        if isinstance(event, dl.DEADLINE_EVENTS):  # a clock's own: no role's fold, no limit
            return ended(new) if self.is_terminal(new) else new
        if isinstance(event, MET_CARRIERS) and event.met:
            new = replace(new, book={k: w for k, w in new.book.items() if k not in event.met})
        if isinstance(new, DestinationState):
            new = self._evolve_destination(new, event)
        else:
            new = self._evolve_origin(new, event)
        if self.is_terminal(new):
            return ended(new)
        return waits(new, event)

    def _evolve_common(self, s: SideState, e: Event) -> SideState:
        if isinstance(e, dl.DEADLINE_EVENTS):
            s = replace(s, book=dl.watch(s.book, e))
            if isinstance(e, DeadlinePaused):
                s = replace(s, paused={**s.paused, e.step: e.remaining_days})
            if isinstance(e, DeadlineSet) and e.step in s.paused:
                s = replace(s, paused={k: v for k, v in s.paused.items() if k != e.step})
            return s
        if isinstance(e, TransferWaitingTimerSet):
            return s  # its limit: `waits`, as for the status events that carry their own
        if isinstance(e, WaitingTimerRecomputed):
            if s.waiting is None or s.waiting[0] != e.waiting_state or s.waiting_watch is None:
                return s
            return replace(s, waiting=(e.waiting_state, e.due_at), waiting_watch=replace(
                s.waiting_watch, due_at=e.due_at, escalate_at=e.due_at, basis=e.basis,
                calendar_version=e.calendar_version))
        if isinstance(e, NeedsAttentionRaised):
            return replace(s, attention=e.reason, waiting=None)
        if isinstance(e, AttentionEscalated):
            return replace(s, escalated=e.reason)  # still needs a person
        if isinstance(e, CounterpartEventRejected):
            return replace(s, seen=s.seen | {e.ref})
        if isinstance(e, Reconciled) and not e.matched:
            return s
        if isinstance(e, Receipt):
            if s.attention or s.escalated:
                return replace(s, seen=s.seen | {e.ref}, attention="", escalated="")
            return replace(s, seen=s.seen | {e.ref})
        # progress ends the attention; the state itself when there is none (one copy less)
        return replace(s, attention="", escalated="") if s.attention or s.escalated else s
