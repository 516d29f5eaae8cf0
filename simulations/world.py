"""Several region nodes, one in-memory JetStream, one scheduler: the deterministic world.

The real node cores run here unchanged (`regions.runtime.bootstrap.build_region`); only the edges are
simulated: the clock (virtual, per-region skew), the broker (in memory, with JetStream's faults),
the network between relays and the broker (drop, duplicate, reorder, delay, partition), and the
people and back-ends (the workload). Fault hooks sit at the named crash points: after a commit
before publish, after processing before ack, mid-transaction.

Components run event-driven: a commit schedules its region's relay, which hands batches on
while earlier ones await their acks, and a publish the destination's inbox, which pulls while a
commit is pending (both as the node's driver runs them: `simulations.flows`); unacked deliveries
schedule a retry after `ack_wait`; the deadline timer is scheduled at its next due instant;
heartbeats, links caught up and gap checks run in the background whenever time moves past their
period (and keep time moving in the drain phase until every link has converged); after the heal a
heartbeat whose marks every receiver already holds is left out (`simulations.quiet`).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from domain.kernel import Event
from domain.protocols import ProtocolSpec
from regions.adapters.brokers.memory import MemoryBroker
from regions.adapters.stores.memory import MemoryStore
from regions.core.config import RegionConfig
from regions.core.messages import LinkMessage, ResendRequest, WireItem
from regions.core.outcome import Outcome
from regions.core.ports import INBOX_MAX_ACK_PENDING, BrokerError, Delivery, Outgoing, Store
from regions.core.sides import SideView
from regions.runtime.bootstrap import Region, build_region
from regions.runtime.inbox_pipeline import Pipeline
from regions.runtime.tail_flow import Window
from regions.wire import link, subjects
from simulations import calendar_install, checkers, flows, hostile, quiet, timing
from simulations.faults import FaultPlan
from simulations.repeats import RepeatDecodes
from simulations.scheduler import Scheduler
from simulations.trace import Trace

#: The simulated regions' secret for person keys (a development run: it is public).
SIM_REGISTER_KEY = "simulation-register-key"
ACK_WAIT = 30.0
DUPLICATE_WINDOW = 120.0
BACKGROUND_PERIOD = dt.timedelta(seconds=5)
#: The inbox consumers' cap on unacknowledged deliveries, as provisioned in production
#: (`regions.adapters.brokers.provision`); runs can choose a small one (issue 11, finding 4).
MAX_ACK_PENDING = INBOX_MAX_ACK_PENDING
MS = dt.timedelta(milliseconds=1)
#: Deliveries an inbox fetches at once (as the node's driver does).
INBOX_BATCH = flows.INBOX_BATCH


@dataclass
class SimRegion:
    code: str
    region: Region
    broker: MemoryBroker
    skew: dt.timedelta = dt.timedelta(0)
    relay_scheduled: bool = False
    inbox_scheduled: dt.datetime | None = None
    timer_scheduled: dt.datetime | None = None
    #: The region's inbox consumer and event stream, named once (asked at every inbox tick).
    consumer: str = ""
    stream: str = ""
    #: The region's own random streams (`Scheduler.rng` of "net:", "crash:", "inbox:" and
    #: "hostile:" + code): the same objects, found without building their names at each send,
    #: tick and crash roll.
    rngs: dict[str, Any] = field(default_factory=dict)
    #: The relay's flow (`simulations.flows`; None: stopped after a failed batch, restarting)
    #: and the inbox's pipeline; `generation` counts restarts, so what a crashed process had
    #: in flight (acks, a commit) is dropped when it comes back.
    window: Window[flows.Sink] | None = None
    pipe: Pipeline[Delivery] = field(default_factory=flows.new_pipe)
    generation: int = 0
    #: The relay's marks when every receiver last held them all (`quiet.marks_say_nothing`).
    quiet_marks: dict[str, int] | None = None


class World:
    def __init__(self, seed: int, region_codes: tuple[str, ...], plan: FaultPlan,
                 store_factory: Callable[[], Store] = MemoryStore,
                 protocols: Mapping[str, ProtocolSpec] | None = None,
                 max_ack_pending: int = MAX_ACK_PENDING) -> None:
        self.sched = Scheduler(seed)
        self.max_ack_pending = max_ack_pending
        self.sched_start = self.sched.now
        self.commit_listeners: list[Callable[[str, SideView, list[Event]], None]] = []
        #: Called with (region, message) when a region applied a counterpart's message.
        self.receive_listeners: list[Callable[[str, LinkMessage], None]] = []
        self.plan = plan
        self.trace = Trace()
        #: Commits per region: a reader of one region's log skips it when nothing came in.
        self.commits_in: Counter[str] = Counter()
        self.checks = checkers.Observations()
        self.server = MemoryBroker(lambda: self.sched.now)
        #: The inboxes' codec: the same bytes delivered again are not decoded again.
        self.decodes = RepeatDecodes(link.decode_all)
        self.store = store_factory()
        self.partitions: set[frozenset[str]] = set()
        self.partitioned_buffer: list[tuple[frozenset[str], Outgoing, str]] = []
        self.sent_at: dict[str, dt.datetime] = {}
        self.latencies_ms: list[float] = []
        self.events_by_type: dict[str, int] = {}
        self.touched: set[str] = set()
        #: Re-send requests receivers made (an oracle: none in a run that lost nothing).
        self.resend_requests = 0
        #: Edges of the workload reached (simulations/edges.py), asserted across the CI batch.
        self.edges: Counter[str] = Counter()
        #: (region, case id, virtual instant, error) of each timer command its own protocol
        #: refused: judged by `oracles.timers_obeyed`.
        self.timer_refusals: list[tuple[str, str, dt.datetime, str]] = []
        #: Per (origin, destination) link, the highest link_seq the relay handed to the network,
        #: and each time it handed one on past a gap: judged by `oracles.relay_never_skips`.
        self.relayed: dict[tuple[str, str], int] = {}
        self.relay_skips: list[tuple[str, str, int, int, dt.datetime]] = []
        #: Per link, the highest link_seq the relay's position moved over (`flows.passed`).
        self.landed: dict[tuple[str, str], int] = {}
        #: When an unacknowledged delivery comes again (its ack_wait and a little).
        self.redeliver_after = dt.timedelta(seconds=ACK_WAIT + 0.5)
        self._background_at = self.sched.now
        #: The hostile_peer fault's injector (`simulations.hostile`), when the plan has it.
        self.hostile = (hostile.Hostile.for_world(list(region_codes))
                        if "hostile_peer" in plan.rates else None)
        if self.hostile is not None:
            self.commit_listeners.append(self.hostile.seen)
        self.regions: dict[str, SimRegion] = {}
        #: The calendar_install fault's regions (`simulations.calendar_install`), when planned.
        self.installs = calendar_install.choose(self, tuple(region_codes))
        skew_rng = self.sched.rng("clock_skew")
        for code in region_codes:
            self.server.ensure_stream_now(code, duplicate_window=DUPLICATE_WINDOW)
            self.server.ensure_consumer_now(code, ack_wait=ACK_WAIT,
                                           max_ack_pending=max_ack_pending)
            skew = dt.timedelta(0)
            if plan.active("clock_skew"):
                skew = dt.timedelta(seconds=skew_rng.uniform(-90, 90))
                plan.injected["clock_skew"] = plan.injected.get("clock_skew", 0) + 1
            peers = tuple(c for c in region_codes if c != code)
            config = RegionConfig(region=code, peers=peers, development=True,
                                  register_key=SIM_REGISTER_KEY)
            conn = self.server.connect()
            sim = SimRegion(code, None, conn, skew)  # type: ignore[arg-type]
            sim.region = build_region(config, clock=self._clock_of(sim),
                                      ids=self.sched.ids(f"region:{code}"), broker=conn,
                                      store=self.store, protocols=protocols,
                                      rules=calendar_install.starting_rules(self, code))
            sim.consumer = subjects.inbox_consumer_name(code)
            sim.stream = subjects.event_stream_name(code)
            sim.rngs = {kind: self.sched.rng(f"{kind}:{code}")
                        for kind in ("net", "crash", "inbox", "hostile", "relay", "db")}
            sim.window = flows.new_window(sim)
            self.regions[code] = sim
            self._hook(sim)
        #: The regions in code order, as the background visits them.
        self.codes = tuple(sorted(self.regions))

    # ----------------------------------------------------------------- time and hooks

    def _clock_of(self, sim: SimRegion) -> Callable[[], dt.datetime]:
        return lambda: self.sched.now + sim.skew

    def local_now(self, code: str) -> dt.datetime:
        return self.sched.now + self.regions[code].skew

    def _hook(self, sim: SimRegion) -> None:
        node = sim.region.node
        sim.region.inbox.decode = self.decodes

        def on_commit(view: SideView, events: list[Event]) -> None:
            self.committed(sim, view, events)

        def on_received(message: LinkMessage, outcome: Outcome) -> None:
            if self.hostile is not None and message.origin == self.hostile.rogue:
                self.hostile.applied += 1
            sent = self.sent_at.pop(message.event_id, None)
            if sent is not None:
                self.latencies_ms.append((self.sched.now - sent) / MS)
            for listener in self.receive_listeners:
                listener(sim.code, message)

        node.listeners.append(on_commit)
        node.receive_listeners.append(on_received)
        node.register_listeners.append(lambda events: self.checks.record_registers(sim.code,
                                                                                   events))

    def committed(self, sim: SimRegion, view: SideView, events: list[Event]) -> None:
        """What the world does with each commit of a region's node; also called for the commits
        a restart made before the node was hooked again (the calendar recheck's)."""
        self.trace.add(self.sched.now, sim.code, view, events)
        self.commits_in[sim.code] += 1
        self.checks.record(self, sim.code, view.case_id, view.process, events)
        self.touched.add(view.case_id)
        for event in events:
            self.events_by_type[event.TYPE] = self.events_by_type.get(event.TYPE, 0) + 1
        self.schedule_relay(sim.code)
        self.schedule_timer(sim.code)
        for listener in self.commit_listeners:
            listener(sim.code, view, events)


    # ----------------------------------------------------------------- scheduling

    def schedule_relay(self, code: str, delay: dt.timedelta = MS) -> None:
        sim = self.regions[code]
        if not sim.relay_scheduled:
            sim.relay_scheduled = True
            self.sched.after(delay, f"relay:{code}", lambda: flows.relay_tick(self, code))

    def schedule_inbox(self, code: str, delay: dt.timedelta = MS) -> None:
        sim = self.regions[code]
        when = self.sched.now + delay
        if sim.inbox_scheduled is None or when < sim.inbox_scheduled:
            sim.inbox_scheduled = when
            self.sched.at(when, f"inbox:{code}", lambda: flows.inbox_pull(self, code, when))

    def schedule_timer(self, code: str) -> None:
        sim = self.regions[code]
        due = sim.region.timer.next_due()
        if due is None:
            return
        when = due - sim.skew  # the region's own clock decides
        if sim.timer_scheduled is None or when < sim.timer_scheduled:
            sim.timer_scheduled = when
            self.sched.at(when, f"timer:{code}", lambda: self._timer_tick(code, when))

    # ----------------------------------------------------------------- components

    def send(self, sender: str, item: WireItem, resent: ResendRequest | None = None) -> None:
        """One link item through the network; an answer to a re-send request goes under its
        own message id, as the driver sends it (`link.resent`)."""
        out = link.encode(item) if resent is None else link.resent(link.encode(item), resent)
        self.transmit(sender, out)

    def transmit(self, sender: str, out: Outgoing) -> None:
        """The network between a relay and the broker, with its faults (a batched message
        meets them whole: dropped, duplicated, delayed or reordered as one)."""
        receiver = subjects.parse_event_subject(out.subject)[0]
        rng = self.regions[sender].rngs["net"]
        if self.partitions and (pair := frozenset((sender, receiver))) in self.partitions:
            self.partitioned_buffer.append((pair, out, receiver))
            return
        if "publish_fails" in self.plan.rates and self.plan.fires("publish_fails", rng):
            # The broker refuses the publish and the node keeps running: the relay must not
            # advance past the batch, and retries it (the path a swallowed error never ran).
            # Drawn only when the kind is on, so runs without it keep their traces.
            raise BrokerError(f"publish to {receiver} failed (simulated)")
        if self.plan.fires("drop", rng):
            return  # lost after the relay counted it as published: only the HWM can tell
        if self.plan.fires("reorder", rng) or self.plan.fires("delay", rng):
            delay = dt.timedelta(milliseconds=rng.uniform(5, 3000))
            if self.plan.active("timing_edges"):
                delay = timing.long_delay(self.sched.rng("timing:net"), self.edges) or delay
            self.sched.after(delay, f"late:{receiver}", lambda: self._publish(out, receiver))
            return
        self._publish(out, receiver, raising=True)
        if self.plan.fires("duplicate", rng):
            self._publish(out, receiver)

    def send_quietly(self, sender: str, item: WireItem,
                     resent: ResendRequest | None = None) -> None:
        """Heartbeats, re-send requests and re-sends: a failed publish is retried by the next
        period's heartbeat or gap check, as the node does."""
        try:
            self.send(sender, item, resent)
        except BrokerError:
            return

    def resend_quietly(self, sender: str, items: list[WireItem],
                       resent: ResendRequest | None = None) -> None:
        """Re-sent link items packed as the driver packs them (`link.encode_many`), each
        message under its re-send id when answering a request; failing, they are asked again."""
        for packet in link.encode_many(items):
            out = packet.out if resent is None else link.resent(packet.out, resent)
            try:
                self.transmit(sender, out)
            except BrokerError:
                return

    def _publish(self, out: Outgoing, receiver: str, *, raising: bool = False) -> None:
        try:
            self.server.publish_now(out)
        except BrokerError:
            if raising:
                raise  # the relay's publish: it retries without advancing
            return  # a late or buffered copy: lost; links repair it
        self.schedule_inbox(receiver, dt.timedelta(milliseconds=2))

    def _timer_tick(self, code: str, when: dt.datetime) -> None:
        sim = self.regions[code]
        if sim.timer_scheduled != when:
            return
        sim.timer_scheduled = None
        for outcome in sim.region.timer.step(self.local_now(code)):
            if not outcome.ok:
                self.timer_refusals.append((code, outcome.case_id, self.sched.now,
                                            f"{outcome.error_code}: {outcome.error}"))
        self.schedule_timer(code)

    # ----------------------------------------------------------------- faults

    def crash(self, code: str) -> None:
        sim = self.regions[code]
        flows.forget_in_flight(self, sim)
        sim.region.restart()
        self._hook(sim)
        flows.restarted(sim)
        for each in self.regions.values():  # `quiet`'s memo trusts that no position falls;
            each.quiet_marks = None  # a restart reopens a store (test_simulator_link_positions)
        sim.relay_scheduled = False
        sim.timer_scheduled = None
        self.schedule_relay(code, dt.timedelta(milliseconds=50))
        self.schedule_timer(code)

    def background(self) -> None:
        """Heartbeats, gap checks and broker/network faults, whenever time passes their period."""
        if self.sched.now < self._background_at:
            return
        self._background_at = self.sched.now + BACKGROUND_PERIOD
        # The background's stream draws for faults alone (`FaultPlan.fires`): not drawn once
        # the plan is off.
        rng = self.sched.rng("background") if self.plan.enabled else None
        regions = self.regions
        for code in self.codes:
            sim = regions[code]
            now = self.sched.now + sim.skew
            flows.retry_links(self, code)
            if rng is not None or not quiet.marks_say_nothing(self, sim):  # after the heal
                for item in sim.region.relay.heartbeat(now):
                    if quiet.tells(self, code, item):
                        self.send_quietly(code, item)
            for request in sim.region.inbox.check_gaps(now):
                self.resend_requests += 1
                self.send_quietly(code, request)
            if rng is not None:
                self._region_faults(code, rng)
        codes = self.codes
        if rng is not None and len(codes) > 1 and self.plan.fire("partition", rng):
            a, b = rng.sample(codes, 2)
            link = frozenset((a, b))
            self.partitions.add(link)
            self.sched.after(dt.timedelta(seconds=rng.uniform(5, 120)), "heal",
                             lambda: self.heal(link))

    def _region_faults(self, code: str, rng: Any) -> None:
        """The broker's faults on one region's stream, in a background round."""
        if self.plan.fire("redeliver", rng):
            self.server.faults.expire_ack_wait(code)
            self.schedule_inbox(code)
        if self.plan.fire("dedup_expired", rng):
            self.server.faults.forget_dedup(code)
            self._republish_recent(code, rng)
        if self.plan.fire("stream_recreated", rng):
            self.server.faults.recreate_stream(code)
            self.server.ensure_consumer_now(code, ack_wait=ACK_WAIT,
                                           max_ack_pending=self.max_ack_pending)
        if self.plan.fire("stored_lost", rng):
            self.server.faults.lose_stored(code, rng.randint(1, 3))

    def _republish_recent(self, code: str, rng: Any) -> None:
        """A relay that republishes after the dedup window: the broker stores duplicates."""
        relay = self.regions[code].region.relay
        for destination, high in sorted(relay.high_water_marks().items()):
            low = max(1, high - rng.randint(0, 3))
            self.resend_quietly(code, relay.resend(destination, low, high))

    def heal(self, link: frozenset[str] | None = None) -> None:
        keep = []
        healed = set(self.partitions) if link is None else {link}
        self.partitions -= healed
        for buffered_link, out, receiver in self.partitioned_buffer:
            if buffered_link in healed:
                self._publish(out, receiver)
            else:
                keep.append((buffered_link, out, receiver))
        self.partitioned_buffer = keep

    # ----------------------------------------------------------------- convergence

    def converged(self) -> bool:
        """Every receiver has applied everything its origins published; nothing in flight."""
        if self.partitioned_buffer:
            return False
        for code, sim in self.regions.items():
            relay = sim.region.relay
            if sim.window is None or sim.window.flying or sim.pipe.ahead or sim.pipe.deciding \
                    or relay.behind():
                return False
            if relay.step(self.local_now(code)) is not None:
                return False
            for destination, high in relay.high_water_marks().items():
                if self.regions[destination].region.node.inlink_position(code) < high:
                    return False
        return True
