"""The relay's window and the inbox's pipeline in the simulator: the driver's interleavings, seeded.

Why: the driver has up to `RELAY_WINDOW` relay batches awaiting JetStream's acks at once, a
batch's recipients published side by side, and its inbox pulling while the database thread
commits (`regions.runtime.tail_flow`, `regions.runtime.inbox_pipeline`). Relaying one batch at a
time and deciding one inbox batch at a time, the simulator could not produce those orders, nor
catch a break of them. Here the same rules run — `tail_flow.Window` decides which batch the
position moves over next, `inbox_pipeline.Pipeline` which fetched deliveries are decided next —
and only the waits are the scheduler's: a destination's publish is stored when sent (the batch's
destinations in a seeded order) and its ack, or failure (`publish_fails`, a stream the broker
refuses), comes back after a seeded delay; an inbox commit takes seeded time while pulls fetch
ahead; a crash drops what was in flight. The outcomes are handled as `NodeDriver.publish_relayed`
(a failed destination falls behind, caught up on the heartbeat: `retry_links`; all failing fail
the batch, and the flow reads again from the position after the guard's pause) and
`NodeDriver.handle` handle them. Checked (`relay_skipped`): links sent in order, the position
moved only over what a publish stored, in order, unless its link fell behind.
"""

from __future__ import annotations

import datetime as dt
import functools
import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from regions.core.inbox import Incoming
from regions.core.messages import LinkMessage, WireItem
from regions.core.ports import BrokerError, Delivery
from regions.runtime.driver import first_seq
from regions.runtime.inbox_pipeline import Pipeline
from regions.runtime.tail_flow import RELAY_WINDOW, Window
from regions.wire import link, subjects
from simulations import hostile

if TYPE_CHECKING:
    from simulations.world import SimRegion, World

#: The driver's guard pauses this long before a failed relay flow starts again (`_guard`).
GUARD_PAUSE = dt.timedelta(seconds=1)
#: Deliveries an inbox fetches at once (as the node's driver does).
INBOX_BATCH = 256


@dataclass
class Sink:
    """One relay batch with its sink: its destinations' publishes, awaiting their acks."""
    recipients: int
    waiting: int
    #: destination -> the first link_seq its publish did not store (0: control items only)
    failed: dict[str, int] = field(default_factory=dict)
    done: bool = False
    #: Every destination failed: the batch fails, the flow stops (`publish_links` raises).
    error: bool = False


def sink_done(sink: Sink) -> bool:
    return sink.done


def new_window(sim: SimRegion) -> Window[Sink]:
    """A relay flow (re)starting: from the position the relay has (a start reads its cursor)."""
    return Window(RELAY_WINDOW, sim.region.relay.position)


def new_pipe() -> Pipeline[Delivery]:
    return Pipeline(INBOX_BATCH)


def grouped(items: list[WireItem]) -> dict[str, list[WireItem]]:
    """A relay batch by recipient, in order of first appearance, each recipient's items in
    order (`NodeDriver.publish_links`)."""
    groups: dict[str, list[WireItem]] = {}
    for item in items:
        groups.setdefault(item.destination if isinstance(item, LinkMessage) else item.recipient,
                          []).append(item)
    return groups


# ----------------------------------------------------------------------------- the relay


def relay_tick(world: World, code: str) -> None:
    """Read and hand on batches while the window has room (`tail_flow.flow`)."""
    sim = world.regions[code]
    sim.relay_scheduled = False
    window = sim.window
    if window is None:
        return  # stopped after a failed batch: `restart_flow` starts it again
    relay = sim.region.relay
    now = world.local_now(code)
    while not window.full():
        batch = relay.step(now, window.handed)
        if batch is None:
            return
        if world.plan.fires("crash_after_commit", sim.rngs["crash"]):
            world.crash(code)
            world.schedule_relay(code, dt.timedelta(seconds=1))
            return
        batch = relay.still_to_hand_on(batch)
        if window.flying:
            world.edges["relay_batches_in_flight"] += 1
        window.hand_on(batch, send(world, code, sim, batch.items))
        land(world, code)  # a batch with nothing to publish is done at once


def send(world: World, code: str, sim: SimRegion, items: list[WireItem]) -> Sink:
    """The sink's sends (`NodeDriver.publish_relayed`): every recipient's messages stored before
    any ack comes back, the recipients in a seeded order; each one's ack after a seeded delay."""
    groups = grouped(items)
    sink = Sink(len(groups), len(groups), done=not groups)
    for item in items:
        if isinstance(item, LinkMessage):
            world.sent_at.setdefault(item.event_id, world.sched.now)
    rng = sim.rngs["relay"]
    order = list(groups)
    if len(order) > 1:
        world.edges["relay_batch_to_several"] += 1
        rng.shuffle(order)
    generation = sim.generation
    for recipient in order:  # side by side: no recipient's publish waits for another's acks
        publish(world, code, sink, recipient, groups[recipient], ack_delay(rng), generation)
    return sink


def publish(world: World, code: str, sink: Sink, recipient: str, group: list[WireItem],
            ack: dt.timedelta, generation: int) -> None:
    """One recipient's messages to the broker (a failed one stops the rest, as
    `MemoryBroker.publish_many` does), its acks back after `ack`."""
    packets = link.encode_many(group)
    failed = -1
    for index, packet in enumerate(packets):
        try:
            world.transmit(code, packet.out)
        except BrokerError:
            failed = index
            break
    handed_on(world, code, group)
    first = first_seq(packets[failed:]) if failed >= 0 else -1
    world.sched.after(ack, f"acked:{code}", functools.partial(
        acked, world, code, generation, sink, recipient, first))


def ack_delay(rng: random.Random) -> dt.timedelta:
    """JetStream's ack of a publish: a store and its fsync (up to 30 ms), one in ten behind a
    busy disk (up to 0.8 s), one in fifty stalled for seconds (a stream's leader elected anew,
    a disk flushing): long enough for later batches to be read and sent meanwhile."""
    roll = rng.random()
    if roll < 0.02:
        return dt.timedelta(seconds=rng.uniform(1, 8))
    return dt.timedelta(milliseconds=rng.uniform(30, 800) if roll < 0.12 else rng.uniform(0.5, 30))


def acked(world: World, code: str, generation: int, sink: Sink, recipient: str,
          failed: int) -> None:
    """One recipient's acks came back (`failed` >= 0: its publish failed from that link_seq);
    the last one returns the sink, as `publish_relayed` returns."""
    sim = world.regions[code]
    if sim.generation != generation:
        return  # the process that sent it crashed: nobody waits for this ack
    if failed >= 0:
        sink.failed[recipient] = failed
    sink.waiting -= 1
    if sink.waiting:
        return
    sink.done = True
    if sink.failed and len(sink.failed) == sink.recipients:
        sink.error = True  # every recipient failed: the broker, not a link (the batch fails)
    else:
        for destination, first in sink.failed.items():
            if first:
                world.edges["relay_link_fell_behind"] += 1
                sim.region.relay.fell_behind(destination, first)
    window = sim.window
    if window is not None and window.flying and not window.flying[0][1].done:
        world.edges["relay_later_batch_acked_first"] += 1
    land(world, code)


def land(world: World, code: str) -> None:
    """Move the position over the batches whose sinks returned, as the window allows."""
    sim = world.regions[code]
    window = sim.window
    if window is None:
        return
    relay = sim.region.relay
    moved = False
    while (landed := window.landing(sink_done)) is not None:
        batch, sink = landed
        if sink.error:
            # `land` raises: the flow waits for the rest in flight, the guard pauses, and the
            # flow reads again from the position
            sim.window = None
            world.edges["relay_batch_failed"] += 1
            if world.plan.injected.get("publish_fails"):
                world.edges["publish_failed_then_retried"] += 1
            rest = [s for _, s in window.flying]
            world.sched.after(GUARD_PAUSE, f"relay:{code}", functools.partial(
                restart_flow, world, code, sim.generation, rest))
            return
        passed(world, code, batch.items, sink)
        relay.advance(batch, world.local_now(code))
        moved = True
    if moved:
        world.schedule_relay(code)


def restart_flow(world: World, code: str, generation: int, rest: list[Sink]) -> None:
    """The guard's restart of a failed flow, once what was in flight returned."""
    sim = world.regions[code]
    if sim.generation != generation or sim.window is not None:
        return
    if not all(s.done for s in rest):
        world.sched.after(dt.timedelta(milliseconds=100), f"relay:{code}", functools.partial(
            restart_flow, world, code, generation, rest))
        return
    sim.window = new_window(sim)
    world.schedule_relay(code)


def handed_on(world: World, code: str, items: list[WireItem]) -> None:
    """A recipient's messages went to the broker: each link's must follow on from the last one
    sent (repeats after a restart are fine; a gap is a message the receiver holds behind, or
    gets only by asking), unless the link fell behind (caught up from the store)."""
    for item in items:
        if isinstance(item, LinkMessage):
            in_order(world, code, world.relayed, item)


def passed(world: World, code: str, items: list[WireItem], sink: Sink) -> None:
    """The position moves over a batch: each of its link messages was stored by a publish whose
    ack came back, in link order after the last one passed, or its link fell behind."""
    failed = sink.failed
    for item in items:
        if isinstance(item, LinkMessage):
            first = failed.get(item.destination)
            if first is not None and 0 < first <= item.link_seq:
                continue  # not stored: the link fell behind from `first` (`catch_up`)
            in_order(world, code, world.landed, item)


def in_order(world: World, code: str, marks: dict[tuple[str, str], int],
             item: LinkMessage) -> None:
    """One link message past a mark (`world.relayed`: handed to the broker; `world.landed`:
    the position moved over it): it must follow on from the last one, or its link fell behind
    from at or before the gap; a gap is recorded in `relay_skips`, and the mark moves on."""
    key = (code, item.destination)
    last = marks.get(key, 0)
    if item.link_seq > last + 1 and not excused(world, code, item.destination, last):
        world.relay_skips.append((code, item.destination, last, item.link_seq, world.sched.now))
    marks[key] = max(last, item.link_seq)


def excused(world: World, code: str, destination: str, last: int) -> bool:
    """A link behind from at or before the gap (`catch_up` sends it from the store)."""
    first = world.regions[code].region.relay.behind().get(destination)
    return first is not None and first <= last + 1


def retry_links(world: World, code: str) -> None:
    """`NodeDriver.retry_links`: catch up every link the relay left behind, from the store."""
    relay = world.regions[code].region.relay
    behind = relay.behind()
    if not behind:
        return
    now = world.local_now(code)
    for destination in sorted(behind):
        while True:
            start = relay.behind().get(destination)
            items = relay.catch_up(destination, now)
            if start is None or not items:
                break
            try:
                for packet in link.encode_many(items):
                    world.transmit(code, packet.out)
            except BrokerError:
                break
            if world.plan.injected.get("publish_fails"):
                world.edges["publish_failed_then_retried"] += 1
            sent = [i.link_seq for i in items if isinstance(i, LinkMessage)]
            key = (code, destination)
            top = max(sent, default=start - 1)
            world.relayed[key] = max(world.relayed.get(key, 0), top)
            world.landed[key] = max(world.landed.get(key, 0), top)
            relay.caught_up(destination, top)
            if not sent:
                break


def forget_in_flight(world: World, sim: SimRegion) -> None:
    """A crash drops what was in flight; a link left behind is forgotten (`Relay.forget`): its
    receiver asks for what it lacks, on the marks."""
    relay = sim.region.relay
    for destination in relay.behind():
        key = (sim.code, destination)
        top = relay.high_water_marks().get(destination, 0)
        world.relayed[key] = max(world.relayed.get(key, 0), top)
        world.landed[key] = max(world.landed.get(key, 0), top)
    sim.generation += 1
    sim.window = None
    outstanding = sim.pipe.ahead or sim.pipe.deciding
    sim.pipe = new_pipe()
    if outstanding:  # fetched, never acked: the broker delivers them again after ack_wait
        world.schedule_inbox(sim.code, world.redeliver_after)


def restarted(sim: SimRegion) -> None:
    sim.window = new_window(sim)


# ----------------------------------------------------------------------------- the inbox


def inbox_pull(world: World, code: str, when: dt.datetime) -> None:
    """One pull (`run_inbox`'s `pull`): what it fetched waits behind the batch being decided."""
    sim = world.regions[code]
    if sim.inbox_scheduled != when:
        return
    sim.inbox_scheduled = None
    room = sim.pipe.room()
    if room <= 0:
        return  # the commit's end pulls again
    try:
        deliveries = sim.broker.fetch_now(sim.consumer, sim.stream, room)
    except BrokerError:
        world.schedule_inbox(code, dt.timedelta(seconds=5))
        return
    if deliveries and sim.pipe.deciding is not None:
        world.edges["inbox_fetched_ahead"] += 1
    sim.pipe.fetched(deliveries)
    decide_next(world, code, sim)
    pull_more(world, code, sim, len(deliveries) == room, bool(deliveries))


def pull_more(world: World, code: str, sim: SimRegion, full: bool, took: bool) -> None:
    """More is waiting (a full pull, or, after a pull or a commit that took some, messages held
    back by max_ack_pending): pull again at once. A delivery un-acked that the pipeline does not
    hold (lost acks, a crash's): pull when its ack_wait runs out. Otherwise the next publish
    schedules the pull (a pull now would find nothing)."""
    num_pending, num_ack_pending = sim.broker.backlog_now(sim.stream, sim.consumer)
    if sim.pipe.room() > 0 and (full or (took and num_pending)):
        world.schedule_inbox(code)
    pipe = sim.pipe
    if num_ack_pending > len(pipe.ahead) + len(pipe.deciding or ()):
        world.schedule_inbox(code, world.redeliver_after)


def decide_next(world: World, code: str, sim: SimRegion) -> None:
    """Hand the next batch to the database thread, if none is being decided: its commit takes
    a seeded while (now and then a long one, behind a group commit)."""
    batch = sim.pipe.to_decide()
    if batch is None:
        return
    rng = sim.rngs["db"]
    slow = rng.random() < 0.05
    delay = dt.timedelta(milliseconds=rng.uniform(20, 300) if slow else rng.uniform(0.2, 15))
    generation = sim.generation
    world.sched.after(delay, f"commit:{code}",
                      functools.partial(commit, world, code, generation, batch))


def commit(world: World, code: str, generation: int, deliveries: list[Delivery]) -> None:
    """`NodeDriver.handle`: the inbox core's transaction, then the acks of what it committed."""
    sim = world.regions[code]
    if sim.generation != generation:
        return  # the process crashed meanwhile: nothing of it was committed or acked
    rng, crash_rng = sim.rngs["inbox"], sim.rngs["crash"]
    now = world.local_now(code)
    incoming = [Incoming(d.subject, d.data, d.headers, d,
                         subject_origin=subjects.parse_event_subject(d.subject)[1])
                for d in deliveries]
    if world.plan.fires("crash_mid_transaction", crash_rng):
        if sim.pipe.ahead:
            world.edges["inbox_crash_with_fetched_ahead"] += 1
        world.crash(code)  # nothing of this batch, nor of what was fetched ahead, was acked
        return
    hostile_rng = sim.rngs["hostile"] if world.hostile is not None else None
    if hostile_rng is not None and world.plan.fires("hostile_peer", hostile_rng):
        assert world.hostile is not None
        incoming += world.hostile.batch(world, code, hostile_rng, now)
    result = sim.region.inbox.handle(incoming, now)
    if hostile_rng is not None:  # crafted messages are no broker's deliveries
        result.ack = [t for t in result.ack if not isinstance(t, hostile.Marker)]
    if world.plan.fires("crash_before_ack", crash_rng):
        world.crash(code)
        return
    for token in result.ack:
        sim.broker.ack_now(token)
    if world.plan.fires("acks_lost", rng) and result.ack:
        world.server.faults.lose_acks(code, min(len(result.ack), rng.randint(1, 5)))
    for request in result.resend_requests:
        world.resend_requests += 1
        world.send_quietly(code, request)
    for request in result.resends_asked_of_us:
        world.resend_quietly(code, sim.region.relay.resend(
            request.destination, request.from_seq, request.to_seq), resent=request)
    sim.pipe.decided()
    decide_next(world, code, sim)
    pull_more(world, code, sim, False, True)
