"""Hypothesis drives two and three real region nodes: cases, people, and every fault as a rule.

The machine wraps the simulator's world (real node cores, in-memory JetStream, virtual time) but
lets Hypothesis choose — and shrink — the schedule: which case arrives, how far time runs, and
when a node crashes, the broker redelivers, forgets its dedup memory, loses acknowledgements or
stored messages, recreates a stream, or the network partitions, drops, duplicates or reorders.
The invariant checkers run after every step; the teardown heals everything, drains, and checks
liveness and that nothing was lost or applied twice.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from regions.core.ports import INBOX_MAX_ACK_PENDING
from simulations import checkers
from simulations.faults import FaultPlan
from simulations.runner import region_groups
from simulations.workload import Workload
from simulations.world import ACK_WAIT, World
from tests.fixtures.nightly import size

MESSAGE_FAULTS = ("drop", "duplicate", "reorder", "delay")


class Nodes(RuleBasedStateMachine):
    REGIONS: tuple[str, ...] = ("150600", "610800")
    PROTOCOLS: ClassVar[dict[str, Any] | None] = None  # None: the real registry
    MIX: ClassVar[dict[str, int] | None] = None

    # The inbox consumers' cap on unacknowledged deliveries: production's, or one so small that
    # an inbox holding deliveries behind a gap would fill it (issue 11, finding 4).
    @initialize(seed=st.integers(0, 2**20),
                max_ack_pending=st.sampled_from([INBOX_MAX_ACK_PENDING, 3, 1]))
    def build(self, seed: int, max_ack_pending: int) -> None:
        self.plan = FaultPlan({})
        self.world = World(seed, self.REGIONS, self.plan, protocols=self.PROTOCOLS,
                           max_ack_pending=max_ack_pending)
        self.workload = Workload(self.world, 0, region_groups(self.REGIONS),
                                 dt.timedelta(hours=1), self.MIX)
        self.arrivals = 0
        self.violations: list[str] = []

    def region(self, index: int) -> str:
        return self.REGIONS[index % len(self.REGIONS)]

    def _run(self, steps: int) -> None:
        for _ in range(steps):
            if self.world.sched.step() is None:
                break
            self.world.background()
        if self.world.touched:
            self.violations += checkers.check_cases(self.world, self.workload,
                                                    sorted(self.world.touched))
            self.world.touched.clear()

    @rule()
    def a_case_arrives(self) -> None:
        self.workload.cases = self.arrivals + 1
        self.workload.arrive(self.arrivals)
        self.arrivals += 1

    @rule(steps=st.integers(1, 40))
    def time_passes(self, steps: int) -> None:
        self._run(steps)

    @rule(minutes=st.integers(1, 600))
    def a_quiet_while(self, minutes: int) -> None:
        until = self.world.sched.now + dt.timedelta(minutes=minutes)
        while (nxt := self.world.sched.next_at()) is not None and nxt <= until:
            self._run(1)

    def _injected(self, kind: str) -> None:
        """Count a fault this machine injected by hand, as the fault plan counts its own: the
        final checks judge by it (a re-send is only needed after something was lost)."""
        self.plan.injected[kind] = self.plan.injected.get(kind, 0) + 1

    @rule(index=st.integers(0, 8))
    def a_node_crashes_and_restarts(self, index: int) -> None:
        region = self.region(index)
        self._injected("crash_after_commit")
        self.world.crash(region)

    @rule(index=st.integers(0, 8))
    def the_broker_redelivers_everything_unacked(self, index: int) -> None:
        region = self.region(index)
        self._injected("redeliver")
        self.world.server.faults.expire_ack_wait(region)
        self.world.schedule_inbox(region)

    @rule(index=st.integers(0, 8))
    def a_relay_republishes_after_the_dedup_window(self, index: int) -> None:
        region = self.region(index)
        self._injected("dedup_expired")
        self.world.server.faults.forget_dedup(None)
        self.world._republish_recent(region, self.world.sched.rng("hypothesis"))

    @rule(index=st.integers(0, 8))
    def a_stream_is_deleted_and_recreated(self, index: int) -> None:
        region = self.region(index)
        self._injected("stream_recreated")
        self.world.server.faults.recreate_stream(region)
        self.world.server.ensure_consumer_now(region, ack_wait=ACK_WAIT,
                                              max_ack_pending=self.world.max_ack_pending)

    @rule(index=st.integers(0, 8), n=st.integers(1, 5))
    def the_broker_loses_its_last_acknowledgements(self, index: int, n: int) -> None:
        region = self.region(index)
        self._injected("acks_lost")
        self.world.server.faults.lose_acks(region, n)
        self.world.schedule_inbox(region)

    @rule(index=st.integers(0, 8), n=st.integers(1, 3))
    def the_broker_loses_its_last_stored_messages(self, index: int, n: int) -> None:
        region = self.region(index)
        self._injected("stored_lost")
        self.world.server.faults.lose_stored(region, n)

    @rule(a=st.integers(0, 8), b=st.integers(0, 8))
    def two_regions_are_partitioned(self, a: int, b: int) -> None:
        first, second = self.region(a), self.region(b)
        if first != second:
            self._injected("partition")
            self.world.partitions.add(frozenset((first, second)))

    @precondition(lambda self: bool(self.world.partitions))
    @rule()
    def the_partitions_heal(self) -> None:
        self.world.heal()

    @rule(kind=st.sampled_from(MESSAGE_FAULTS), on=st.booleans())
    def the_network_misbehaves(self, kind: str, on: bool) -> None:
        self.plan.rates[kind] = 0.5 if on else 0.0

    @invariant()
    def no_invariant_is_broken(self) -> None:
        assert self.violations == []

    def teardown(self) -> None:
        if not hasattr(self, "world"):
            return
        self.plan.enabled = False
        self.world.heal()
        deadline = self.world.sched.now + dt.timedelta(days=400)
        while self.world.sched.now < deadline:
            if self.world.sched.step() is None:
                if self.world.converged():
                    break
                self.world.sched.after(dt.timedelta(seconds=5), "drain", lambda: None)
            self.world.background()
        assert self.world.converged(), "the regions did not converge after the faults stopped"
        final = checkers.check_final(self.world, self.workload)
        assert final == [], final


class ThreeNodes(Nodes):
    REGIONS = ("150900", "140200", "130700")


SETTINGS = settings(max_examples=size(15, 200), stateful_step_count=size(25, 100), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
TestTwoNodes = Nodes.TestCase
TestTwoNodes.settings = SETTINGS
TestThreeNodes = ThreeNodes.TestCase
TestThreeNodes.settings = SETTINGS

