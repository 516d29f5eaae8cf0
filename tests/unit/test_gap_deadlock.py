"""A lost message mid-stream never deadlocks a link, however small `max_ack_pending` is
(issue 11, finding 4).

JetStream stops delivering to a consumer once `max_ack_pending` deliveries are unacknowledged.
An inbox that left the messages it holds behind a gap unacknowledged filled that cap with them,
and then the origin's re-send of the missing message was never delivered: every link into the
region stopped for good. Two real region cores on the in-memory JetStream, one message of one
link lost on its first publish, the consumers capped at 1–3 (and at production's cap): every
case still completes and nothing is lost.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from regions.core.inbox_state import Packed
from regions.core.messages import LinkMessage
from regions.core.ports import INBOX_MAX_ACK_PENDING, Outgoing
from regions.wire import link
from simulations import checkers
from simulations.faults import FaultPlan
from simulations.runner import region_groups
from simulations.workload import Workload
from simulations.world import World
from tests.fixtures.nightly import size

REGIONS = ("150600", "610800")
CASES = 12


#: Later messages of the link sent before the lost one gets through (its re-sends are lost too
#: until then): more than any small cap, as a busy link sends within one `gap_bound`.
LATER = 6


class LosesOne(World):
    """The simulator's world whose network loses one link message — and every re-send of it
    until `LATER` later messages of its link went out. A batched message carrying it is lost
    whole (`regions.wire.link.encode_many`), the later events it carries with it."""

    def __init__(self, *args: Any, lose: tuple[str, int], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lose = lose  # (origin, link_seq)
        self.lost: LinkMessage | None = None
        self.sent_after_loss = 0

    def transmit(self, sender: str, out: Outgoing) -> None:
        mine = [i for i in carried(out) if i.origin == self.lose[0]]
        hit = [i for i in mine if i.link_seq == self.lose[1]]
        if hit and self.sent_after_loss < LATER:
            self.lost = hit[0]
            self.plan.injected["drop"] = 1  # a run that lost something may ask for re-sends
            return
        if self.lost is not None:
            self.sent_after_loss += sum(1 for i in mine if i.link_seq > self.lost.link_seq)
        super().transmit(sender, out)


def carried(out: Outgoing) -> list[LinkMessage]:
    """The link events a message carries (one, or a batch's members)."""
    found = link.decode_all(out.data, dict(out.headers))
    items = [m for _, m in found.members] if isinstance(found, Packed) else [found]
    return [i for i in items if isinstance(i, LinkMessage)]


GRACE = dt.timedelta(days=1)


def run_to_rest(world: World, workload: Workload, budget: dt.timedelta) -> None:
    """Run until the world is at rest, the budget is spent, or a link behind its origin has not
    moved for a virtual day (a deadlock: it never will). Past the budget the run goes on until
    what was committed is delivered (at most `GRACE`): stopped right after a commit, its message
    still unpublished, the counterpart looked stuck (seed 122's `[liveness]`)."""
    workload.start()
    deadline = world.sched.now + budget
    moved_at, positions = world.sched.now, links(world)
    past: dt.datetime | None = None  # when the budget ran out: what was committed is delivered
    while past is None or (world.sched.now < past + GRACE and not world.converged()):
        if world.sched.now >= deadline and past is None:
            past = world.sched.now
            continue
        if world.sched.step() is None:
            if world.converged():
                return
            world.sched.after(dt.timedelta(seconds=5), "drain", lambda: None)
        world.background()
        if (now := links(world)) != positions:
            moved_at, positions = world.sched.now, now
        elif world.sched.now - moved_at > dt.timedelta(days=1) and any(
                lag for sim in world.regions.values() for lag in sim.region.inbox.lag().values()):
            return


def links(world: World) -> tuple[int, ...]:
    return tuple(sim.region.node.inlink_position(origin) for sim in world.regions.values()
                 for origin in world.regions if origin != sim.code)


def lose_one(seed: int, origin: str, link_seq: int, max_ack_pending: int) -> tuple[
        LosesOne, Workload]:
    world = LosesOne(seed, REGIONS, FaultPlan({}), max_ack_pending=max_ack_pending,
                     lose=(origin, link_seq))
    workload = Workload(world, CASES, region_groups(REGIONS), dt.timedelta(minutes=30))
    run_to_rest(world, workload, dt.timedelta(days=60))
    return world, workload


def assert_every_case_completes(world: LosesOne, workload: Workload) -> None:
    assert world.lost is not None, "the message to lose was never sent"
    assert world.sent_after_loss >= LATER, "the loss was not mid-stream"
    assert world.converged(), (
        f"a link stopped after losing {world.lost.origin}->{world.lost.destination} "
        f"#{world.lost.link_seq}: inbox lag {world.regions[world.lost.destination].region.inbox.lag()}")
    # Every oracle holds, `takeover_timing` included: a withdrawal a transfer-out overtook
    # (seed 0, origin 150600, #3) completes opening the relationship (issue 15, item 6).
    found = checkers.check_final(world, workload)
    assert found == [], found
    outcomes = checkers.outcomes(world, workload)
    assert len(outcomes) == CASES
    assert not [c for c, o in outcomes.items() if o.startswith(("open", "missing"))], outcomes


def test_one_lost_message_with_a_cap_of_three_deliveries_still_completes_every_case() -> None:
    world, workload = lose_one(seed=3, origin=REGIONS[0], link_seq=2, max_ack_pending=3)
    assert_every_case_completes(world, workload)


@settings(max_examples=size(12, 300), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
# A draw whose last step (a joint case's denial on day 61) committed a CooperationClosed just
# past the budget: the run stopped before the relay published it, so the partner was "still
# declined" and the world not converged — a `[liveness]` of the harness, not of the protocol.
@example(seed=122, origin=REGIONS[0], link_seq=3, max_ack_pending=3)
@given(seed=st.integers(0, 2**16), origin=st.sampled_from(REGIONS), link_seq=st.integers(1, 6),
       max_ack_pending=st.sampled_from([1, 2, 3, INBOX_MAX_ACK_PENDING]))
def test_any_one_lost_message_under_any_cap_still_completes_every_case(
        seed: int, origin: str, link_seq: int, max_ack_pending: int) -> None:
    world, workload = lose_one(seed, origin, link_seq, max_ack_pending)
    # The link's part: every link whole again, nothing lost or applied twice. (Drawn seeds also
    # reach protocol questions the new timing exposes — a withdrawal crossing a transfer-out,
    # a declined joint partner — reported to the protocols' owners; the fixed case above judges
    # every oracle.)
    # A draw whose link carries too few messages after the loss does not test a mid-stream
    # gap (traces change with the protocols: issue 15's review clock did): skip it, not fail.
    assume(world.lost is not None and world.sent_after_loss >= LATER)
    assert world.converged(), world.regions[world.lost.destination].region.inbox.lag()
    assert checkers.lost_messages(world) == 0
    found = checkers.check_final(world, workload)
    assert not [v for v in found if v.startswith(("[lost]", "[duplicate"))], found


def test_a_withdrawal_overtaken_by_a_transfer_out_completes_opening_the_relationship() -> None:
    """Seed 0 losing 150600's #3: a withdrawal crosses a transfer-out and the transfer completes
    (issue 15, item 6); the take-over oracle accepts that completion, and only that one."""
    world, workload = lose_one(seed=0, origin=REGIONS[0], link_seq=3, max_ack_pending=1000)
    assert_every_case_completes(world, workload)
