"""One simulation run: build the world, inject faults, heal, drain, check, report.

Phases (TigerBeetle VOPR style): a *safety* phase in which cases arrive and faults fire freely,
with the invariant checkers run on every touched case after every step; then *heal and drain*:
faults stop, partitions heal, and the run goes on — heartbeats announcing high-water marks so a
lost last message is noticed — until every receiver has applied everything its origins
published and no action is left. A run that cannot converge within its virtual-time budget is a
liveness failure. Counts are reproducible from the seed; wall-clock figures are reported outside
the trace hash.
"""

from __future__ import annotations

import datetime as dt
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from domain.protocols import ProtocolSpec
from domain.values import PILOT_PAIRS, PILOT_REGIONS
from regions.adapters.stores.memory import MemoryStore
from regions.core.ports import Store
from simulations import (  # noqa: F401  (register checks)
    calendar_install,
    checkers,
    oracles,
    projection_checks,
)
from simulations.faults import FaultPlan
from simulations.scheduler import Scheduler
from simulations.workload import Workload
from simulations.world import MAX_ACK_PENDING, World

#: The plan's pilots plus 呼和浩特, and 内蒙古自治区本级 (150000): the autonomous region's
#: departments, where proxy applications for province-level items (执业药师注册...) are decided.
DEFAULT_REGIONS = (*(str(r) for r in PILOT_REGIONS), "150000")
VIRTUAL_BUDGET = dt.timedelta(days=400)


@dataclass
class RunResult:
    seed: int
    cases: int
    world: World
    workload: Workload
    violations: list[str] = field(default_factory=list)
    wall_seconds: float = 0.0
    converged: bool = True


def region_groups(codes: tuple[str, ...]) -> list[tuple[str, ...]]:
    """Who exchanges cases: the plan's pilot pairs among `codes`; others pair with everyone.
    A province-level code takes no applications of its own: it decides what is routed to it."""
    codes = tuple(c for c in codes if not c.endswith("0000"))
    chosen = set(codes)
    groups = [tuple(str(c) for c in pair if str(c) in chosen) for pair in PILOT_PAIRS]
    groups = [g for g in groups if len(g) >= 2]
    grouped = {c for g in groups for c in g}
    for code in codes:
        if code not in grouped:
            groups.append((code, *[c for c in codes if c != code]))
    if not groups:
        raise ValueError("a simulation needs at least two regions")
    return groups


def crashed(now: dt.datetime, exc: Exception) -> str:
    """An exception raised inside a node (or a checker) as a named violation: what was raised,
    where, and when in virtual time, so the repro command leads straight to it."""
    frame = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    where = f" at {frame.filename.rsplit('/', 1)[-1]}:{frame.lineno}" if frame else ""
    return (f"[node_exception] case -: {type(exc).__name__}: {exc}{where} "
            f"(virtual time {now.isoformat()})")


def run(seed: int, cases: int = 100, regions: tuple[str, ...] = DEFAULT_REGIONS,
        faults: tuple[str, ...] = (), store_factory: Callable[[], Store] = MemoryStore,
        progress: Callable[[int, int], None] | None = None,
        protocols: Mapping[str, ProtocolSpec] | None = None,
        mix: Mapping[str, int] | None = None,
        max_ack_pending: int = MAX_ACK_PENDING) -> RunResult:
    """One run; `protocols` replaces the registry (e.g. a deliberately broken variant), `mix`
    the weights of the processes drawn (default: the catalogue mix) and `max_ack_pending` the
    inbox consumers' cap on unacknowledged deliveries (default: production's)."""
    if len(set(regions)) < 2:
        raise ValueError("a simulation needs at least two distinct regions")
    started = time.perf_counter()
    plan = FaultPlan.draw(faults, Scheduler(seed).rng("faults"))
    world = World(seed, tuple(regions), plan, store_factory, protocols, max_ack_pending)
    span = dt.timedelta(minutes=max(30, cases))
    workload = Workload(world, cases, region_groups(tuple(regions)), span, mix)
    workload.start()
    calendar_install.start(world, span)
    result = RunResult(seed, cases, world, workload)
    sched = world.sched
    faults_end = sched.now + span
    deadline = sched.now + VIRTUAL_BUDGET
    while True:
        try:
            name = sched.step()
        except Exception as exc:  # a node raised: the run's finding, never a crash of the tool
            result.violations.append(crashed(sched.now, exc))
            result.converged = False
            break
        if name is None:
            if world.converged():
                break
            sched.after(dt.timedelta(seconds=5), "drain", lambda: None)
            name = "drain"
        world.background()
        if plan.enabled and sched.now >= faults_end and len(workload.cases_started) >= cases:
            plan.enabled = False
            world.heal()
        if world.touched:
            result.violations.extend(checkers.check_cases(world, workload, sorted(world.touched)))
            world.touched.clear()
            if progress is not None:
                progress(len(workload.cases_started), cases)
        if sched.now > deadline:
            result.converged = False
            result.violations.append(
                f"liveness: no convergence within {VIRTUAL_BUDGET.days} virtual days")
            break
    try:
        result.violations.extend(checkers.check_final(world, workload))
    except Exception as exc:
        result.violations.append(crashed(sched.now, exc))
    result.wall_seconds = time.perf_counter() - started
    return result
