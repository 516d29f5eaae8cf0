"""State tables of every process and mode in asyncapi.yaml, generated from the deciders (issue 18,
finding 3).

An outside team learnt which command is valid in which state, and which steps the node takes by
itself, only by trial and refusal. The tables are not written by hand: a small explorer runs the
process's real decider on both sides of one case (the region that takes the application and its
counterpart: one origin, the handling or the partner region; none online or locally) — every
command the
protocol's `options` offer in a state, every counterpart event delivered in order, every timer
once its limit has passed — and records, per role and status:

- each command of the role: the status it leads to and the steps the node then takes by itself
  (its policies, e.g. `SendContactLetters` after `AcceptIntake`), or the refusal code;
- each counterpart event received: what it leads to, and the node's own steps;
- each timer that fires there once its limit passed (`Lapse`, `FlagDeadlineMissed`...).

Pure and deterministic (a fixed instant, a seeded sampler): the document is regenerated, and
the drift check compares it, like every other part. It covers the states one origin reaches
(several origins add the hold-then-proceed phase, `awaiting_holds`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import random
import uuid
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from domain.calendar import WorkingCalendar
from domain.kernel import Actor, Command, Decider, DomainError, Event, EventRef, Receive
from domain.limits import Rules
from domain.protocols import PROTOCOLS, ProtocolSpec, modes_run
from domain.protocols.details import (
    ApplicationDetails,
    Details,
    HouseholdDetails,
    JointDetails,
    NoDetails,
)
from domain.protocols.intake import Submit
from domain.protocols.transfer import TransferDecider, TransferSpec, application
from domain.statutes import RegionLimits
from domain.values import CaseNumber, RegionCode
from regions.core.authority import SYSTEM_COMMANDS

DESTINATION, ORIGIN = "150600", "610800"
#: The counterparts of an exploration: one origin, or two for a scheme that takes several.
COUNTERPARTS: Final = (ORIGIN, "150200")
AT: Final = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)
#: When every limit has passed (a timer fires only after its due instant).
LATER: Final = AT + dt.timedelta(days=800)
MAX_WORLDS: Final = 5_000
MAX_DEPTH: Final = 40
#: A person key of the right shape (the node derives real ones); the explorer never stores it.
_KEY: Final = "ab" * 32


@dataclass(frozen=True)
class Step:
    """What a command or a received event did: the status after and the node's own steps, or
    the refusal code."""

    status: str = ""
    steps: tuple[str, ...] = ()
    refused: str = ""
    #: Accepted with nothing to do (no event): e.g. a policy step already taken.
    quiet: bool = False

    def text(self) -> str:
        if self.quiet:
            return "ok, nothing to do"
        if self.refused:
            return f"`{self.refused}`"
        then = f" (then {', '.join(self.steps)})" if self.steps else ""
        return f"→ {self.status}{then}"


@dataclass
class Table:
    """A process's table: role → status → command (or `← event`, `⏱ timer`) → what it did, in
    each case of that status met (a status holds several situations: `RecordFundsReceived` in
    `awaiting_transfer` waits for the rest of the money, or completes the case)."""

    rows: dict[str, dict[str, dict[str, list[Step]]]] = field(default_factory=dict)

    def put(self, role: str, status: str, what: str, step: Step) -> None:
        found = self.rows.setdefault(role, {}).setdefault(status, {}).setdefault(what, [])
        if step not in found:
            found.append(step)

    def text(self, role: str, status: str, what: str) -> str:
        steps = self.rows[role][status].get(what, [])
        return " or ".join(step.text() for step in sorted(steps, key=_order))


def _order(step: Step) -> tuple[bool, bool, str, tuple[str, ...], str]:
    """Accepted before refused, then by status: the same order whatever the exploration's."""
    return (step.refused != "", step.quiet, step.status, step.steps, step.refused)


def settle(decider: Decider[Any], state: Any, command: Command,
           now: dt.datetime) -> tuple[list[Event], Any, tuple[str, ...]]:
    """`domain.settling.settle`, also naming the policy commands the node took by itself."""
    pending = list(decider.decide(state, command, now))
    events: list[Event] = []
    steps: list[str] = []
    for _ in range(32):
        for event in pending:
            state = decider.evolve(state, event)
        events.extend(pending)
        pending = []
        for own in decider.policy(state, now) if state is not None else ():
            steps.append(type(own).__name__)
            pending.extend(decider.decide(state, own, now))
            break
        if not pending:
            return events, state, tuple(dict.fromkeys(steps))
    raise DomainError("the policies did not settle", code="policy_loop")


Queue = tuple[tuple[Event, EventRef], ...]


@dataclass(frozen=True)
class World:
    """Every side of one case (`states[0]` the region that took the application) and the
    shared events on each link (`links[sender * n + receiver]`, in order)."""

    states: tuple[Any, ...]
    versions: tuple[int, ...]
    links: tuple[Queue, ...]


class Explorer:
    """The sides of one case of `spec`'s process in `mode`, with `origins` counterparts."""

    def __init__(self, spec: ProtocolSpec, mode: str, origins: int = 1) -> None:
        self.spec, self.mode = spec, mode
        self.regions = (DESTINATION, *COUNTERPARTS[:origins])
        self.decider = spec.decider(Rules(WorkingCalendar.with_files(),
                                          RegionLimits(region=DESTINATION)))
        self.number = CaseNumber.new(RegionCode(DESTINATION), AT.date(), uuid.UUID(int=1))
        self.sides = [str(self.number.side_id(RegionCode(r))) for r in self.regions]
        self.table = Table()
        self.met: dict[tuple[str, str], list[Any]] = {}
        self.samples: dict[tuple[str, str], Command] = {}
        self.rng = random.Random(0)

    def role(self, state: Any) -> str:
        return str(self.decider.summary(state).role)

    def opening(self) -> Command:
        """The application: a transfer's from its origins or, by mode, the details that name
        the counterpart region (none online or locally)."""
        actor = Actor("staff", "0451", DESTINATION)
        if self.spec.module in TRANSFER_MODULES:
            military = _transfer_spec(self.spec).counterpart == "military_agency"
            submit = application(self.spec.process, self.number, "", list(self.regions[1:]),
                                 actor, agency="32001" if military else "")
            assert isinstance(submit, Submit)
            return dataclasses.replace(submit, person_key=_KEY,
                                       applicant_masked="1101**********7795")
        details: Details = NoDetails()
        if self.spec.module == HOUSEHOLD_MODULE:
            details = HouseholdDetails(ORIGIN)
        elif self.mode == "proxy":
            details = ApplicationDetails(ORIGIN)
        elif self.mode == "joint":
            details = JointDetails(ORIGIN)
        return Submit(actor=actor, case_number=str(self.number), item_id="",
                      process=self.spec.process, mode=self.mode, person_key=_KEY,
                      applicant_masked="1101**********7795", channel="window",
                      details=details)

    def status(self, state: Any) -> str:
        return str(self.decider.status(state))

    def after(self, world: World, at: int, events: list[Event], state: Any) -> World:
        """`world` once side `at` recorded `events` (reaching `state`): each event for another
        region (`to_region`, as the node sends it) joins that link's queue."""
        n = len(self.regions)
        links, version = list(world.links), world.versions[at]
        for event in events:
            version += 1
            if event.to_region in self.regions:
                link = at * n + self.regions.index(event.to_region)
                links[link] = (*links[link], (event, EventRef(self.sides[at], version)))
        states, versions = list(world.states), list(world.versions)
        states[at], versions[at] = state, version
        return World(tuple(states), tuple(versions), tuple(links))

    def explore(self) -> Table:
        n = len(self.regions)
        events, state, _ = settle(self.decider, None, self.opening(), AT)
        start = self.after(World((None,) * n, (0,) * n, ((),) * (n * n)), 0, events, state)
        seen: set[Any] = set()
        frontier = deque([(start, 0)])
        explored = 0
        while frontier and explored < MAX_WORLDS:
            world, depth = frontier.popleft()
            key = (tuple(s is not None and self.status(s) for s in world.states),
                   world.versions,
                   tuple(tuple(type(e).__name__ for e, _ in q) for q in world.links))
            if key in seen:
                continue
            seen.add(key)
            explored += 1
            if depth < MAX_DEPTH:
                frontier.extend((w, depth + 1) for w in self.successors(world))
        self.commands()
        return self.table

    def successors(self, world: World) -> list[World]:
        found: list[World] = []
        for at, state in enumerate(world.states):
            if state is None:
                continue
            role = self.role(state)
            self.met.setdefault((role, self.status(state)), []).append(state)
            chosen: dict[str, Command] = {}
            for command in self.spec.options(state, AT, self.rng):
                chosen.setdefault(type(command).__name__, command)
                self.samples.setdefault((role, type(command).__name__), command)
            for command in chosen.values():
                if not self.banked(world, command):
                    continue
                try:
                    events, after, _ = settle(self.decider, state, command, AT)
                except DomainError:
                    continue
                found.append(self.after(world, at, events, after))
            for timer in self.decider.timers(state, LATER):
                try:
                    events, after, steps = settle(self.decider, state, timer, LATER)
                except DomainError:
                    continue
                if events:
                    self.table.put(role, self.status(state),
                                   f"⏱ {type(timer).__name__}",
                                   Step(self.status(after), steps))
        n = len(self.regions)
        for link, queue in enumerate(world.links):
            if queue:
                found.extend(self.deliver(world, link // n, link % n, *queue[0]))
        return found

    def banked(self, world: World, command: Command) -> bool:
        """The bank notices money only after the origin sent it: the exploration records funds
        received from an origin that has remitted (the table still says what any
        `RecordFundsReceived` does in every situation met)."""
        origin = getattr(command, "from_region", None)
        if type(command).__name__ != "RecordFundsReceived" or origin not in self.regions:
            return True
        state = world.states[self.regions.index(origin)]
        return state is not None and self.decider.summary(state).amount_sent > 0

    def deliver(self, world: World, sender: int, at: int, event: Event,
                ref: EventRef) -> list[World]:
        state = world.states[at]
        receive = Receive(actor=Actor.system("inbox", self.regions[at]), event=event,
                          from_region=self.regions[sender], ref=ref)
        links = list(world.links)
        links[sender * len(self.regions) + at] = links[sender * len(self.regions) + at][1:]
        rest = dataclasses.replace(world, links=tuple(links))
        what = f"← {type(event).__name__}"
        try:
            events, after, steps = settle(self.decider, state, receive, AT)
        except DomainError as exc:
            if state is not None:
                self.table.put(self.role(state), self.status(state), what,
                               Step(refused=exc.code))
            return [rest]
        role = self.role(after if state is None else state)
        self.table.put(role, "(none)" if state is None else self.status(state), what,
                       Step(self.status(after), steps))
        return [self.after(rest, at, events, after)]

    def commands(self) -> None:
        """Every command of a role, tried in every situation of that role met."""
        for (role, status), state in ((key, s) for key, states in sorted(self.met.items())
                                      for s in states):
            own: dict[str, Command] = {}
            for command in self.spec.options(state, AT, random.Random(0)):
                own.setdefault(type(command).__name__, command)  # the first: the likeliest
            for (sample_role, name), sample in sorted(self.samples.items()):
                if sample_role != role:
                    continue
                try:
                    events, after, steps = settle(self.decider, state, own.get(name, sample), AT)
                except DomainError as exc:
                    self.table.put(role, status, name, Step(refused=exc.code))
                    continue
                self.table.put(role, status, name, Step(self.status(after), steps)
                               if events else Step(status, quiet=True))


#: The protocol modules of the transfer schemes (one machine, `domain.protocols.transfer`).
TRANSFER_MODULES: Final = frozenset(f"domain.protocols.{name}" for name in (
    "pension", "unemployment", "medical", "housing_fund"))


HOUSEHOLD_MODULE: Final = "domain.protocols.household"


def _transfer_spec(spec: ProtocolSpec) -> TransferSpec:
    """The scheme's rules of a transfer process (each pension item has its own)."""
    decider = spec.decider(Rules(WorkingCalendar.with_files()))
    assert isinstance(decider, TransferDecider)
    return decider.spec


def transfer_processes() -> list[str]:
    return sorted(p for p, spec in PROTOCOLS.items() if spec.module in TRANSFER_MODULES)


@functools.cache
def state_tables() -> dict[str, Table]:
    """A table per process and mode it runs in (`<process>` for a process of one mode, else
    `<process> (<mode>)`); the processes of one protocol module share the first one's table
    when their deciders behave alike (the applications' fourteen processes). Explored once a
    process (pure and deterministic, so cached): each document built — the drift check, every
    test that builds one — would otherwise explore every protocol again (~10 s of CPU)."""
    alike: dict[tuple[str, str], tuple[list[str], Table]] = {}
    for process, spec in sorted(PROTOCOLS.items()):
        modes = modes_run(process)
        for mode in modes:
            table = Explorer(spec, mode).explore()
            key = (mode if len(modes) > 1 else "", repr(_cells(table)))
            alike.setdefault(key, ([], table))[0].append(process)
        if spec.module in TRANSFER_MODULES and _transfer_spec(spec).multi_origin:
            table = Explorer(spec, modes[0], origins=2).explore()
            alike.setdefault(("two origins", repr(_cells(table))), ([], table))[0].append(
                process)
    return {(", ".join(processes) + (f" ({mode})" if mode else "")): table
            for (mode, _), (processes, table) in alike.items()}


def _cells(table: Table) -> dict[str, dict[str, dict[str, str]]]:
    return {role: {status: {what: table.text(role, status, what) for what in sorted(cells)}
                   for status, cells in sorted(statuses.items())}
            for role, statuses in table.rows.items()}


def _markdown(process: str, table: Table) -> str:
    lines = [f"### {process}"]
    for role, statuses in table.rows.items():
        columns = sorted({what for cells in statuses.values() for what in cells},
                         key=lambda w: (w[0] in "←⏱", w))
        lines += ["", f"{role}:", "",
                  "| status | " + " | ".join(f"`{c}`" for c in columns) + " |",
                  "|---" * (len(columns) + 1) + "|"]
        for status in sorted(statuses):
            lines.append(f"| {status} | " + " | ".join(
                table.text(role, status, c) for c in columns) + " |")
    return "\n".join(lines)


_INTRO = (
    "Which command each role may send in each status, generated from the deciders: `→ status` "
    "is where it leads (with the steps the node then takes by itself, e.g. `SendContactLetters` "
    "after `AcceptIntake`, `Reconcile` and `CompleteTransfer` after `RecordFundsReceived`); a "
    "code is the refusal (`CommandError.code`). `← Event` rows say what a counterpart's event "
    "does when it arrives (an event refused there becomes `CounterpartEventRejected` with that "
    "code); `⏱ Command` what the node does once a time limit has passed. An empty cell: that "
    "event does not arrive in that status. Roles are `Outcome`'s sides (destination and "
    "origin; receiving and handling for proxy, accepting and partner for joint applications, "
    "single online or locally). A transfer is shown with one origin and, for a scheme that "
    "takes several, with two (`(two origins)`: each origin holds the transfer out, "
    "`TransferOutHeld`, the destination instructs them all to proceed once every hold is in, "
    "`InstructProceed`, and only then does an origin issue its sheet). Processes that behave "
    "alike share a table.")


def add_state_tables(document: dict[str, Any],
                     tables: Mapping[str, Table] | None = None) -> dict[str, Any]:
    """The tables as the `sendCommand` operation's description and as `x-state-tables`."""
    tables = state_tables() if tables is None else tables
    operation = document["operations"]["sendCommand"]
    own = ", ".join(f"`{name}`" for name in sorted(c.__name__ for c in SYSTEM_COMMANDS))
    operation["description"] = "\n\n".join(
        [_INTRO, f"The steps only the node takes (a back-end sending one gets "
                  f"`forbidden_command`): {own}.",
         *(_markdown(p, t) for p, t in sorted(tables.items()))])
    operation["x-state-tables"] = {title: _cells(table) for title, table in sorted(tables.items())}
    return document
