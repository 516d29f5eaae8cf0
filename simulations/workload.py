"""The people and back-ends of a simulated run: applicants, window staff, origin staff, finance.

Arrivals draw a catalogue item whose process has a protocol, a pair (or group) of pilot regions
and an applicant (who they are and what they first send: `simulations.arrivals`); from then on
every open side of every case is visited after a random delay,
and one of the commands its protocol's `options(state, now, rng)` says are plausible now is
executed — as a person would, including retries with the same idempotency key, and the finance
side's late, duplicated and short credit notices (fault kinds of their own).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping

from domain.catalogue import load_catalogue
from domain.kernel import Actor, Command, Event
from domain.protocols import PROTOCOLS, application
from domain.protocols.intake import ProvideSupplement
from domain.protocols.transfer_commands import RecordFundsReceived
from domain.protocols.transfer_events import FundsRemitted
from domain.values import CaseNumber, RegionCode
from regions.core.commands import CommandRequest, CommandService
from regions.core.errors import CommandInProgress
from regions.core.messages import LinkMessage
from regions.core.sides import SideView
from simulations import closing, edges, timing
from simulations.arrivals import (
    APPLICATION_WEIGHT,
    BUILDERS,
    CATALOGUE,
    PROCESS_WEIGHTS,
    SAMPLE_MATERIALS,
    draw_applicant,
    modes_here,
    runnable,
)
from simulations.world import World

#: Share of visits that find a backlog (days to weeks), and of applicants who never supplement.
SLOW_STAFF = 0.02
NEVER_SUPPLY = 0.25

#: People mostly move cases forward; refusals, supplements and withdrawals are the exceptions.
RARE_COMMANDS = (("Withdraw", 0.04), ("Reject", 0.06), ("Refuse", 0.06), ("Deny", 0.06),
                 ("RequestSupplement", 0.12), ("Rate", 0.3), ("CorrectInfoSheet", 0.1))


def weight_of(command: Command) -> float:
    name = type(command).__name__
    return next((w for prefix, w in RARE_COMMANDS if name.startswith(prefix)), 1.0)


class Workload:
    def __init__(self, world: World, cases: int, groups: list[tuple[str, ...]],
                 arrival_span: dt.timedelta, mix: Mapping[str, int] | None = None) -> None:
        self.world = world
        self.cases = cases
        self.groups = groups
        self.arrival_span = arrival_span
        self.rng = world.sched.rng("workload")
        self.act_rng = world.sched.rng("people")
        self.ids = world.sched.ids("workload")
        catalogue = load_catalogue()
        self.items: dict[str, list[str]] = {}
        self.everywhere = tuple(sorted(world.regions))
        for item in catalogue.items:
            if (item.process in PROTOCOLS and item.process in BUILDERS and runnable(item)
                    and any(modes_here(item, code, self.everywhere) for code in self.everywhere)):
                self.items.setdefault(item.process, []).append(item.id)
        if mix is not None:
            self.items = {p: ids for p, ids in self.items.items() if mix.get(p, 0) > 0}
        self.mix = mix
        self.cases_started: list[str] = []
        self.first_region: dict[str, str] = {}
        self.started_at: dict[str, dt.datetime] = {}
        self.acts_scheduled: set[tuple[str, str]] = set()
        self.after_end: dict[tuple[str, str], int] = {}
        self.commands: dict[str, int] = {}
        self.steering: dict[str, int] = {}  # aiming at an edge (`closing`), not one reached
        self.retries = 0
        self.timing_rng = world.sched.rng("timing:people")
        self.race = timing.WithdrawalRace()
        #: case id -> virtual instant before which its applicant does not withdraw (a permit
        #: held to its expiry: `timing.PATIENT_PAST_EXPIRY`)
        self.patient_until: dict[str, dt.datetime] = {}
        #: cases whose origin never decides (`closing`: its staff never act on it)
        self.silent: set[str] = set()
        self.attention_rng = world.sched.rng("timing:attention")
        self.tempt_rng = world.sched.rng("timing:tempted-close")
        self.crossing_rng = world.sched.rng("timing:correction-crossing")
        self.new_case_rng = world.sched.rng("timing:new-case")
        world.commit_listeners.append(self.on_commit)
        world.receive_listeners.append(self.on_received)

    def start(self) -> None:
        mean_gap = self.arrival_span / max(self.cases, 1)
        when = self.world.sched.now
        for index in range(self.cases):
            when = when + dt.timedelta(seconds=self.rng.expovariate(1 / mean_gap.total_seconds()))
            self.world.sched.at(when, "arrival", functools.partial(self.arrive, index))

    def _weights(self) -> tuple[list[str], list[int]]:
        processes = sorted(self.items)
        if self.mix is not None:
            return processes, [self.mix[p] for p in processes]
        app_processes = [p for p in processes if p not in PROCESS_WEIGHTS]
        weights = [PROCESS_WEIGHTS.get(p, 0) or (APPLICATION_WEIGHT // max(len(app_processes), 1))
                   for p in processes]
        return processes, [max(w, 1) for w in weights]

    def arrive(self, index: int) -> None:
        processes, weights = self._weights()
        process = self.rng.choices(processes, weights)[0]
        item_id = self.rng.choice(self.items[process])
        group = self.rng.choice(self.groups)
        destination = self.rng.choice(group)
        if process in application.PROCESSES and not modes_here(
                CATALOGUE.get(item_id), destination, self.everywhere):
            here = [i for i in self.items[process]
                    if modes_here(CATALOGUE.get(i), destination, self.everywhere)]
            item_id = self.rng.choice(here or [item_id])
        now = self.world.local_now(destination)
        number = CaseNumber.new(RegionCode.parse(destination), _china_date(now), self.ids())
        applicant = draw_applicant(self.rng)
        region, command = BUILDERS[process](
            self.rng, group, destination, applicant, str(number), item_id, process, now,
            everywhere=self.everywhere)
        case_id = str(number.case_id)
        self.cases_started.append(case_id)
        self.first_region[case_id] = region
        self.started_at[case_id] = self.world.sched.now
        origins = getattr(getattr(command, "details", None), "origins", None)
        if origins is not None and self.timed() and closing.draws_silent(self.attention_rng,
                                                                         len(origins)):
            self.silent.add(case_id)  # its applicant waits for the destination to close it
            self.patient_until[case_id] = self.world.sched.now + closing.PATIENT_FOR_EVER
        # The window sends the ID number through the node's command service, which derives the
        # person key and the masked form (and checks the item, the mode and the actor).
        sim = self.world.regions[region].region
        # The window checks completeness against the sample materials file (一次性告知).
        service = CommandService(sim.node, register_key=sim.config.register_key.encode(),
                                 materials=SAMPLE_MATERIALS)
        request = CommandRequest(f"submit-{index}", f"applicant:{applicant.citizen.masked}",
                                 command, case_number=str(number), process=process,
                                 applicant_id=applicant.citizen.number)
        result = service.handle(request, self.world.local_now(region))
        if result.error is not None and result.outcome is None:
            raise AssertionError(f"the workload's application was refused: {result.error}")

    # ----------------------------------------------------------------- people at work

    def on_commit(self, code: str, view: SideView, events: list[Event]) -> None:
        decider = self.world.regions[code].region.node.protocols[view.process].decider
        for event in events:
            if isinstance(event, FundsRemitted):
                peers = decider.summary(view.state).peer_regions
                self.bank_transfer(code, peers[0], view.case_id, event)
        if view.state is None:
            return
        key = (code, view.case_id)
        if timing.held_to_expiry(events):
            self.world.edges["origin_held_permit_to_expiry"] += 1
        if events and code != self.first_region.get(view.case_id):
            # Also when this side ended (a transfer-out, a 注销): its last message races.
            self._race_the_message(view.case_id, {event.TYPE for event in events})
        if decider.is_terminal(view.state):
            # Ended: at most a couple of visits for the rating (好差评) and its follow-up.
            visits = self.after_end.get(key, 0)
            if visits >= 2 or key in self.acts_scheduled:
                return
            self.after_end[key] = visits + 1
            self.acts_scheduled.add(key)
            delay = dt.timedelta(hours=self.act_rng.expovariate(1 / 12))
            self.world.sched.after(delay, f"rate:{code}", lambda: self.act(code, view.case_id))
            return
        if key in self.acts_scheduled:
            return
        self.acts_scheduled.add(key)
        delay = dt.timedelta(minutes=self.act_rng.expovariate(1 / 20))
        if self.act_rng.random() < SLOW_STAFF:  # a backlog: the step runs past its deadline
            delay = dt.timedelta(days=self.act_rng.uniform(5, 40))
        timed = self.timed() and timing.visit_before_timer(
            decider.next_timer(view.state), timing.permit_of(view.state),
            self.world.local_now(code), self.timing_rng)
        if timed:  # an edge: the person comes back hours before the timer
            self._timed_one()
            delay, edge = timed
            if edge.endswith("permit_expiry"):  # the applicant waits for the origin's answer
                self.patient_until[view.case_id] = (self.world.sched.now + delay
                                                    + timing.PATIENT_PAST_EXPIRY)
            self.world.sched.after(delay, f"act:{code}",
                                   lambda: self.act(code, view.case_id, edge=edge))
            return
        self.world.sched.after(delay, f"act:{code}", lambda: self.act(code, view.case_id))

    def _patient(self, case_id: str) -> bool:
        until = self.patient_until.get(case_id)
        return until is not None and self.world.sched.now < until

    def timed(self) -> bool:
        """Whether people are timed at the edges (the `timing_edges` fault kind): for the whole
        run, not only while faults fire — cases reach their permits and deadlines days after
        the fault phase ended, and a person's timing needs no healing."""
        return self.world.plan.rates.get("timing_edges", 0.0) > 0

    def _timed_one(self) -> None:
        injected = self.world.plan.injected
        injected["timing_edges"] = injected.get("timing_edges", 0) + 1

    def _race_the_message(self, case_id: str, event_types: set[str]) -> None:
        """The counterpart just committed: sometimes the applicant withdraws within
        milliseconds, racing the message on its way (issue 16's 注销 vs 迁移证 window)."""
        if event_types & timing.NO_RETURN:
            # The origin answered (注销 and the 迁移证): the patience that waited for its answer
            # at the permit's expiry is over — it held back exactly this race (issue 16).
            self.patient_until.pop(case_id, None)
        delay = self.timed() and timing.during_flight_delay(self.timing_rng, event_types)
        if delay:
            self._timed_one()
            region = self.first_region[case_id]
            self.world.sched.after(delay, f"withdraw:{region}",
                                   lambda: self.withdraw(region, case_id))

    def on_received(self, code: str, message: LinkMessage) -> None:
        """A counterpart's message applied here: was a withdrawal racing it? And sometimes
        the applicant, seeing the status change, withdraws at once."""
        self.race.arrived(code, message, self.world.regions[message.origin].skew
                          if message.origin in self.world.regions else dt.timedelta(0),
                          self.world.edges)
        if code != self.first_region.get(message.case_id):
            return
        delay = self.timed() and timing.after_arrival_delay(self.timing_rng)
        if delay:
            self._timed_one()
            self.world.sched.after(delay, f"withdraw:{code}", lambda: self.withdraw(
                code, message.case_id, edge="withdrew_right_after_arrival"))

    def withdraw(self, code: str, case_id: str, edge: str = "") -> None:
        """The applicant withdraws now, if the protocol offers it at this moment."""
        view = self.world.regions[code].region.node.side(case_id)
        if view is None or view.state is None or self._patient(case_id):
            return
        spec = self.world.regions[code].region.specs[view.process]
        offered = timing.withdrawals(spec.options(view.state, self.world.local_now(code),
                                                  self.timing_rng))
        if offered and self._attempt(code, case_id, offered[0]) and edge:
            self.world.edges[edge] += 1

    def act(self, code: str, case_id: str, edge: str = "") -> None:
        """A visit; `edge` names a timing edge (the visit was timed hours before a timer),
        counted when a command really runs then."""
        self.acts_scheduled.discard((code, case_id))
        region = self.world.regions[code].region
        view = region.node.side(case_id)
        if view is None:
            return
        if case_id in self.silent and self._attend_silent(code, case_id, view.state):
            return
        resolved = edges.resolution_for_new_case(view.state, self.new_case_rng)
        if resolved is not None:  # staff decide the 补转 after a completion on an older sheet
            if self._attempt(code, case_id, resolved):
                self.world.edges["correction_left_for_new_case"] += 1
            return
        tempted = closing.tempted_close(view.state, code, self.tempt_rng)
        if tempted is not None:
            self.world.edges["close_over_money_tried"] += 1
            self._attempt(code, case_id, tempted)
            view = region.node.side(case_id) or view
        spec = region.specs[view.process]
        now = self.world.local_now(code)
        if edge.startswith("visited_"):  # the visit itself is the edge: it came after the timer
            self.world.edges[edge] += 1
            edge = "-"
        # The destination's credit notices come from the bank (`bank_transfer`), never from a
        # guess at what the origin will send.
        options = [c for c in spec.options(view.state, now, self.act_rng)
                   if not isinstance(c, RecordFundsReceived)]
        if self._patient(case_id):
            options = [c for c in options if not timing.withdrawals([c])]
        if not options:
            return
        if any(isinstance(c, ProvideSupplement) for c in options) and \
                self.act_rng.random() < NEVER_SUPPLY:
            return  # this applicant never sends the missing materials: the case will lapse
        weights = [weight_of(c) for c in options]
        if edge:  # timed on purpose: act now, whatever is possible
            if self._attempt(code, case_id, self.act_rng.choices(options, weights)[0]) \
                    and edge != "-":
                self.world.edges[edge] += 1
            return
        if max(weights) < 1 and self.act_rng.random() < 0.85:
            # Only exceptional moves are possible (e.g. withdrawing while the other region
            # works): people mostly wait, and look again much later.
            self.acts_scheduled.add((code, case_id))
            self.world.sched.after(dt.timedelta(days=self.act_rng.expovariate(1 / 2)),
                                   f"act:{code}", lambda: self.act(code, case_id))
            return
        self._execute(code, case_id, self.act_rng.choices(options, weights)[0])

    def _attend_silent(self, code: str, case_id: str, state: object) -> bool:
        """A silent origin's staff do nothing while the decision is theirs; the destination's
        staff escalate, then close, once its limit raised needs_attention (`closing`). Whether
        this visit was handled so."""
        if code != self.first_region.get(case_id):
            return closing.origin_waits(state)
        drawn = closing.staff_command(state, code, self.attention_rng)
        if drawn is None:
            return False
        if self._attempt(code, case_id, drawn[0]):
            self.world.edges[drawn[1]] += 1
        return True

    def bank_transfer(self, origin: str, destination: str, case_id: str,
                      remitted: FundsRemitted) -> None:
        """基金划转 through the banks: the destination's finance side learns of it later, with the
        finance faults of the run (late, duplicated and short credit notices)."""
        plan, rng = self.world.plan, self.world.sched.rng("bank")
        delay = dt.timedelta(minutes=rng.uniform(30, 24 * 60))
        if plan.fire("funds_late", rng):
            delay += dt.timedelta(days=rng.uniform(1, 10))
        amounts = [remitted.amount_fen]
        if plan.fire("funds_short", rng):  # an amount off the sheet's: biased to the edges
            amounts = edges.credits(remitted.amount_fen, rng, self.world.edges)
        for part, amount in enumerate(amounts):
            ref = remitted.bank_ref if len(amounts) == 1 else f"{remitted.bank_ref}/{part + 1}"
            notice = RecordFundsReceived(
                actor=Actor.backend("bank", destination), from_region=origin, amount_fen=amount,
                bank_ref=ref, value_date=_china_date(self.world.sched.now + delay))
            self.world.sched.after(delay + dt.timedelta(minutes=part), f"bank:{destination}",
                                   functools.partial(self.credit, destination, case_id, notice))
        if plan.fire("funds_duplicated", rng):
            self.world.sched.after(delay + dt.timedelta(minutes=rng.uniform(1, 600)),
                                   f"bank:{destination}",
                                   lambda: self._execute(destination, case_id, notice))
        whole = sum(amounts) == remitted.amount_fen  # a bank's loss is another edge's business
        if self.timed() and self.crossing_rng.random() < edges.CORRECTION_CROSSING and whole:
            offset = self.crossing_rng.uniform(-edges.CROSSING_MS, edges.CROSSING_MS)
            self.world.sched.after(delay + dt.timedelta(milliseconds=offset), f"act:{origin}",
                                   functools.partial(self.correct_crossing, origin, case_id))

    def credit(self, code: str, case_id: str, notice: RecordFundsReceived) -> None:
        """The bank's notice at the destination: a few one fen over the sheet (`closing`)."""
        self._attempt(code, case_id, closing.credit_off_the_sheet(
            self.world, code, case_id, notice, self.steering) if self.timed() else notice)

    def correct_crossing(self, code: str, case_id: str) -> None:
        """The origin corrects its sheet as its money reaches the destination (`edges`)."""
        region = self.world.regions[code].region
        view = region.node.side(case_id)
        if view is None:
            return
        spec = getattr(region.node.protocols[view.process].decider, "spec", None)
        command = edges.crossing_correction(spec, view.state, self.crossing_rng) if spec else None
        if command is not None and self._attempt(code, case_id, command):
            self.world.edges["correction_crossed_money"] += 1

    def _execute(self, code: str, case_id: str, command: Command) -> None:
        self._attempt(code, case_id, command)

    def _attempt(self, code: str, case_id: str, command: Command) -> bool:
        """Run a person's command (with the run's crash and retry faults); whether it was
        accepted."""
        region = self.world.regions[code].region
        name = type(command).__name__
        self.commands[name] = self.commands.get(name, 0) + 1
        command_id = f"cmd-{self.ids().hex[:16]}"
        principal = str(command.actor)
        now = self.world.local_now(code)
        if self.world.plan.fires("crash_mid_transaction", self.world.regions[code].rngs["crash"]):
            self.world.crash(code)  # the command's transaction never committed:
            self.world.sched.after(dt.timedelta(minutes=5), f"retry:{code}",  # the person retries
                                   lambda: self._execute(code, case_id, command))
            return False
        ok = False
        try:
            first = region.node.command(case_id, command, now, command_id=command_id,
                                        principal=principal)
            if self.world.plan.fires("command_retry", self.world.sched.rng(f"retry:{code}")):
                again = region.node.command(case_id, command, now, command_id=command_id,
                                            principal=principal)
                self.retries += 1
                if again != first:
                    raise AssertionError(f"retry of {command_id} got {again}, first got {first}")
            ok = first.ok
        except CommandInProgress:
            pass
        if ok and timing.withdrawals([command]):
            self.race.withdrew(code, case_id, self.world.sched.now)
        view = region.node.side(case_id)
        if view is not None:
            self.on_commit(code, view, [])
        return ok


def _china_date(instant: dt.datetime) -> dt.date:
    from domain.calendar import china_date
    return china_date(instant)
