"""The projections under the simulator: every region's case views, kept live as the node would
keep them, must show what the protocol decided and equal a replay from scratch.

How: one `SideEventTailer` per region with a memory cursor feeds that region's `Views` (the
node's own code path: `regions.runtime.views.attach_views` keeps them in tables). After each
step, for every case the step touched, the live view of each side must show the side's status
and terminality as its decider summarises the side; at the end every view of every region is
compared with a replay of its case's records alone (once: a replay costs the whole case), and
the sides of every joint case are put side by side (`projections.joint.agreement`). Each
difference is a `projection` violation, counted in `summary.json` as `projection_mismatches`.
Reading the log changes nothing in the run, so the trace hash is unaffected.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary

from domain import invariants as inv
from projections.cases import CaseView, fold
from projections.joint import agreement
from projections.records import SideEvent
from projections.views import Views
from regions.core.side_events import SideEventTailer
from regions.core.tailer import MemoryCursor
from simulations import checkers

if TYPE_CHECKING:
    from simulations.workload import Workload
    from simulations.world import World

RULE = "projection"
_EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
#: How long the live views' tailer believes its node's window of recent commits without asking
#: the store (`Tailer.trust`): on their fixed clock (`_EPOCH`), for good once it read the store.
_FOR_GOOD = dt.timedelta(days=1)


class RegionViews:
    def __init__(self, world: World, code: str) -> None:
        region = world.regions[code].region
        self.deciders = {p: b.decider for p, b in region.node.protocols.items()}
        # The live views take the transition check's folds of the node's events (one
        # `evolve` per event for both); the replay below folds with the deciders themselves.
        self.views = Views({p: world.checks.folds.taking(d) for p, d in self.deciders.items()})
        self.tailer = SideEventTailer(code, region.node.app, cursor=MemoryCursor())
        # Why the window is trusted: each region has a log of its own (one recorder per region
        # in memory, a file or a schema per region on disk) and its node is the log's only
        # writer in a run, every save of it going through the window
        # (`regions.core.recent_log`). So while the window holds the tailer's position, it
        # holds every record after it, and the store read that ended each catch-up (to see
        # that nothing lay beyond the window) could only find nothing: 7,620 of the 18,407
        # store reads of a 600-case run. A restart opens a new store object with an empty
        # window: `follow` moves the tailer to it (at every step and at the end), and a window
        # not holding the position sends the tailer to the store as before. The node's driver
        # trusts the window for 0.25 s only, for the writers of *other* processes
        # (`regions.core.tailer.STORE_CHECK`); a run has none.
        self.tailer.trust = _FOR_GOOD
        self.records: dict[str, list[SideEvent]] = {}
        self.caught_up_at = -1

    def catch_up(self, commits: int = -1) -> None:
        """Read what the region committed since; `commits` (the world's count of this region's
        commits) skips the read when the region committed nothing since the last one (the
        world's count of every region's commits moved at nearly every step: 48,606 reads at
        2,000 cases, most of them finding nothing)."""
        if commits >= 0 and commits == self.caught_up_at:
            return
        self.caught_up_at = commits
        while (batch := self.tailer.step(_EPOCH)) is not None:
            self.views.feed(batch.items)
            for record in batch.items:
                self.records.setdefault(record.case_id, []).append(record)
            self.tailer.advance(batch, _EPOCH)

    def follow(self, app: Any) -> None:
        """Read through the region's current store: a restart reopens it, and on SQLite the
        old connection is closed (the position read so far is kept)."""
        self.tailer.app = app

    def replay(self, case_id: str) -> CaseView | None:
        """The case's view folded from its own records alone (`replayed`)."""
        return replayed(self.records.get(case_id, ()), self.deciders)


def replayed(records: Sequence[SideEvent], deciders: Mapping[str, Any]) -> CaseView | None:
    """A case's view folded from its records alone, with the protocols' own deciders, not
    through `Views.feed` (the code under test) nor in the batches the live view saw: the whole
    case in one `projections.cases.fold`, each record's payload decoded afresh. The live views
    fold the event the node saved (`SideEvent.with_event`), so a payload that does not read back
    as that event shows here as a live view that differs from its replay; and a fold that
    depends on how the events are batched shows as the live views' batches (a step's commits)
    against the whole case at once.

    Why one `fold` and not `apply` per record (VIEWS3): the view is copied, and the fields only
    the summary sets are made, once per case instead of after every event — the same view
    (`apply` is `fold` of one record; `tests/unit/test_view_batch_fold.py`). Records of
    another process than the one before (none in a run: a side is one process) start a fold
    of their own, with their decider."""
    view: CaseView | None = None
    run: list[SideEvent] = []
    decider: Any = None
    for record in records:
        known = deciders.get(record.process)
        if known is None:
            continue
        if known is not decider and run:
            view = fold(view, run, decider)
            run = []
        decider = known
        run.append(record.fresh())
    return fold(view, run, decider) if run else view


_STATE: WeakKeyDictionary[Any, dict[str, RegionViews]] = WeakKeyDictionary()
_MISMATCHES: WeakKeyDictionary[Any, int] = WeakKeyDictionary()


def _regions(world: World) -> dict[str, RegionViews]:
    if world not in _STATE:
        _STATE[world] = {code: RegionViews(world, code) for code in sorted(world.regions)}
    return _STATE[world]


def _found(world: World, found: list[inv.Violation]) -> list[inv.Violation]:
    _MISMATCHES[world] = _MISMATCHES.get(world, 0) + len(found)
    return found


def case_views(world: World, workload: Workload, case_id: str) -> list[inv.Violation]:
    found: list[inv.Violation] = []
    regions = _regions(world)
    for code in checkers.regions_of(world, case_id):
        live = regions[code]
        summary = checkers.summary_of(world, code, case_id)
        if summary is None:
            continue
        live.follow(world.regions[code].region.node.app)
        live.catch_up(world.commits_in[code])
        view = live.views.cases.get(case_id)
        if view is None or (view.status, view.terminal) != (summary.status, summary.terminal):
            shown = (view.status, view.terminal) if view else None
            found.append(inv.Violation(case_id, RULE, f"{code} shows {shown}, the protocol "
                                       f"says {(summary.status, summary.terminal)}"))
        # A replay costs the whole case: `all_views` replays each case once, at the end.
    return _found(world, found)


def all_views(world: World, workload: Workload) -> list[inv.Violation]:
    found: list[inv.Violation] = []
    for code, live in _regions(world).items():
        live.follow(world.regions[code].region.node.app)  # a restart since its last step
        live.catch_up()
        for case_id in sorted(set(live.views.cases) | set(live.records)):
            if live.views.cases.get(case_id) != live.replay(case_id):
                found.append(inv.Violation(case_id, RULE, f"{code}: live view differs from a "
                                           "replay of its records"))
    found += agreements(world)
    return _found(world, found)


def agreements(world: World) -> list[inv.Violation]:
    """Every region's side of each joint case, side by side: the agreement view must find none
    of its disagreements (what staff would be shown as the reason)."""
    sides: dict[str, list[CaseView]] = {}
    for live in _regions(world).values():
        for view in live.views.cases.values():
            sides.setdefault(view.case_id, []).append(view)
    found: list[inv.Violation] = []
    for case_id, views in sorted(sides.items()):
        if any(v.role == "destination" for v in views):
            for reason in agreement(views, complete=True).disagreements:
                found.append(inv.Violation(case_id, RULE, f"the sides disagree: {reason}"))
    return found


def mismatches(world: World) -> int:
    return _MISMATCHES.get(world, 0)


checkers.CASE_CHECKS.append(case_views)
checkers.FINAL_CHECKS.append(all_views)
