"""Marks that could tell a receiver nothing are left unsent: after the heal a region's whole
heartbeat while none of its marks could (`marks_say_nothing`), and at any time each mark its
receiver has already recorded up to (`tells`: most marks of the faults' phase, SIMCPU).

Why (issue 17): after its workload a run drains for ~100–200 virtual days, and its background
round — run at each step at least a period after the last — kept announcing every link's
high-water mark on the relay's ladder (a mark that moved, then each unchanged one again after
twice the time it had waited, up to a day). Every such mark is a publish, a pull and a batch the
receiver decides: ~5,300 marks and ~11,000 steps of a 120-case run after its heal (a sixth of
its CPU; `python -m simulations.steps`). Once the faults are off nothing is lost any more, and
when every receiver has recorded each link up to the origin's mark and nothing is in flight,
a mark can only restate what its receiver holds (`regions.core.inbox_controls`: a mark at or
below a link's position changes nothing). Such a heartbeat is what the driver's every-5-s loop
would send; the simulator already runs one round where the driver runs thousands, and leaves
this one out too.

Exactly when: the plan is off (the heal switched it off for good, so no message can be lost,
delayed or duplicated from then on), no partition buffers anything, the region's relay has no
batch in flight and no link behind, and every receiver's link position (`inlink_position`) is at
or past the relay's mark for it. A receiver short of a mark — a message a mutant or a defect
lost without a fault — makes the region's heartbeat run as before, so the marks still find it
and the receiver asks for it again. The catch-ups and gap checks run in every round as before.
The receivers' positions are looked up again only when the relay's marks differ from those they
last held (a link's position in the store never falls): most rounds after the heal compare two
small dicts (the lookups were ~10 µs a region and round, 5 % of a 120-case run).

What it changes: the receivers' marks-only batches after the heal are gone, and with them the
database stream's draws for their commit times, so later commits fall at other instants: the
trace hashes change (on purpose; docs/performance.md, SIMDRAIN).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from regions.core.messages import HighWaterMark, WireItem

if TYPE_CHECKING:
    from simulations.world import SimRegion, World


def marks_say_nothing(world: World, sim: SimRegion) -> bool:
    """Whether every mark `sim`'s heartbeat could send now restates what its receiver holds and
    nothing can be lost from here on (see the module)."""
    window = sim.window
    if world.plan.enabled or world.partitioned_buffer or window is None or window.flying:
        return False
    relay = sim.region.relay
    if relay.behind():
        return False
    marks = relay.high_water_marks()
    if marks == sim.quiet_marks:
        return True  # the same marks as when every receiver held them: a position never falls
    regions, code = world.regions, sim.code
    for destination, high in marks.items():
        receiver = regions.get(destination)
        if receiver is None or receiver.region.node.inlink_position(code) < high:
            return False
    sim.quiet_marks = marks
    return True


def tells(world: World, origin: str, mark: WireItem) -> bool:
    """Whether a mark `origin`'s heartbeat made can tell its receiver anything: its receiver
    (not a region of the run: always) has recorded the link short of it. A mark at or below
    what the receiver recorded changes nothing there whenever it arrives — late, twice, out of
    order (`regions.core.inbox_controls`: it raises the link's `announced` to at most the
    position, so no gap is seen) — and a recorded position never falls
    (tests/e2e/test_simulator_link_positions.py), so such a mark is left unsent, in the faults'
    phase too. The relay's ladder is stepped as before (the heartbeat ran): only the publish,
    its faults' draws, the pull and the receiver's marks-only batch are saved."""
    if type(mark) is not HighWaterMark:
        return True
    receiver = world.regions.get(mark.destination)
    return receiver is None or receiver.region.node.inlink_position(origin) < mark.link_seq
