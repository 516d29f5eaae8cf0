"""The `hostile_peer` fault: crafted messages slipped into region inboxes (issue 11).

Each time a region's inbox takes a batch, the fault may add hostile messages to it, drawn from
the fault's own random stream (so no other fault's draws move):

- `poison`: bytes that are not a message at all, on a genuine peer's subject;
- `deep`: JSON nested 100,000 levels deep (the parser would raise `RecursionError`);
- `bad_subject`: a well-formed message on a subject that does not parse;
- `forged_origin`: a genuine peer's envelope on another region's subject;
- `non_party`: a rogue region — a peer of every region, but party to none of their cases —
  cancelling a case the target holds with someone else;
- `squat`: the rogue opening a side under a number another region issued;
- `two_cases`: the rogue naming one case by its id and another by its number.

The rogue region (`ROGUE`, not one of the run's regions) has no node: its messages are numbered
on its own link to each target (the target's recorded position + 1), so an honest link never
loses a position to it. The invariant is *no effect on any case*: no hostile message is ever
applied (`applied` stays 0, checked by `contained`), each one is quarantined (`injected` equals
the target's quarantine count, honest runs quarantining nothing), and the run's trace — every
side's every event — is the trace of the same seed without the fault.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from domain import invariants as inv
from domain.kernel import Actor, Event, to_payload
from domain.protocols.transfer_events import TransferCancelled
from domain.values import CaseNumber, RegionCode
from regions.core.inbox import Incoming
from regions.core.messages import LinkMessage
from regions.core.sides import SideView
from regions.runtime.quarantine import entries
from regions.wire import link, subjects
from simulations import checkers

if TYPE_CHECKING:
    from simulations.workload import Workload
    from simulations.world import World

KINDS = ("poison", "deep", "bad_subject", "forged_origin", "non_party", "squat", "two_cases")
#: Candidates for the rogue region: real region codes, the first not in the run is taken.
ROGUES = ("110100", "310100", "440100", "510100")
#: At most this many cases per region are remembered as targets (the newest are kept).
TARGETS = 64


@dataclass(frozen=True)
class Marker:
    """The ack token of a hostile message: never a broker delivery, never acked."""

    kind: str
    n: int


@dataclass
class Hostile:
    rogue: str
    injected: Counter[str] = field(default_factory=Counter)  # per target region
    kinds: Counter[str] = field(default_factory=Counter)
    applied: int = 0
    #: Per region, the newest `TARGETS` cases it committed, by case id in the order first
    #: seen: one insertion-ordered dict, so a commit's membership test is no scan (the scan of
    #: up to 64 views at every commit was ~2 % of a simulation).
    targets: dict[str, dict[str, SideView]] = field(default_factory=dict)
    _n: int = 0

    @classmethod
    def for_world(cls, regions: list[str]) -> Hostile:
        return cls(next(code for code in ROGUES if code not in regions))

    def seen(self, region: str, view: SideView, events: list[Event]) -> None:
        """A commit listener: the cases each region holds, to aim at."""
        found = self.targets.setdefault(region, {})
        if view.case_id not in found:
            found[view.case_id] = view
            if len(found) > TARGETS:
                del found[next(iter(found))]

    def batch(self, world: World, code: str, rng: random.Random, now: dt.datetime,
              ) -> list[Incoming]:
        """Hostile messages for one of `code`'s inbox batches (one to three)."""
        inbox = world.regions[code].region.inbox
        inbox.known.add(self.rogue)  # a peer (again, after a restart): it passes the sender check
        peers = sorted(c for c in world.regions if c != code)
        next_seq = world.regions[code].region.node.inlink_position(self.rogue) + 1
        found = []
        for _ in range(rng.randint(1, 3)):
            kind = rng.choice(KINDS)
            self._n += 1
            made = self._make(kind, world, code, rng.choice(peers), next_seq, now)
            if made is None:
                continue
            if isinstance(made, LinkMessage):
                out = link.encode(made)
                incoming = Incoming(out.subject, out.data, out.headers, Marker(kind, self._n),
                                    subject_origin=self.rogue)
                next_seq += 1
            else:
                incoming = made
            found.append(incoming)
            self.injected[code] += 1
            self.kinds[kind] += 1
        return found

    def _make(self, kind: str, world: World, code: str, peer: str, seq: int,
              now: dt.datetime) -> Incoming | LinkMessage | None:
        token, subject = Marker(kind, self._n), subjects.event_subject(code, peer)
        if kind == "poison":
            return Incoming(subject, b"\x00\xff hostile %d" % self._n, {}, token, peer)
        if kind == "deep":
            depth = 2_000 + self._n  # past the JSON parser's recursion limit
            return Incoming(subject, b"[" * depth + b"]" * depth, {}, token, peer)
        victims = list(self.targets.get(code, {}).values())
        if kind in ("bad_subject", "forged_origin", "non_party", "two_cases") and not victims:
            return None
        if kind in ("bad_subject", "forged_origin"):
            victim = victims[self._n % len(victims)]
            out = link.encode(self._cancel(victim.case_id, victim.case_number, victim.process,
                                           peer, code, 1 + self._n, now))
            if kind == "bad_subject":
                return Incoming(f"tb.v1.evt.{code}", out.data, out.headers, token, "")
            other = next(c for c in (self.rogue, *world.regions) if c not in (peer, code))
            return Incoming(subjects.event_subject(code, other), out.data, out.headers, token,
                            other)
        if kind == "non_party":
            victim = victims[self._n % len(victims)]
            return self._cancel(victim.case_id, victim.case_number, victim.process,
                                self.rogue, code, seq, now)
        number = CaseNumber.new(RegionCode(peer), now.date(), _uuid(self._n))
        if kind == "squat":
            return self._cancel(str(number.case_id), str(number), "pension_transfer",
                                self.rogue, code, seq, now)
        victim = victims[self._n % len(victims)]  # two_cases: one case's id, another's number
        return self._cancel(victim.case_id, str(number), victim.process, self.rogue, code,
                            seq, now)

    def _cancel(self, case_id: str, number: str, process: str, origin: str, dest: str,
                seq: int, now: dt.datetime) -> LinkMessage:
        event = TransferCancelled(at=now, actor=Actor.system("hostile", origin), to_region=dest,
                                  reason=f"hostile {self._n}")
        return LinkMessage(origin=origin, destination=dest, link_seq=seq, case_id=case_id,
                           case_number=number, process=process,
                           originator_id=str(_uuid(10**9 + self._n)), originator_version=1,
                           type=event.TYPE, schema_version=event.SCHEMA_VERSION,
                           payload=to_payload(event), at=now)

    def contained(self, world: World) -> list[inv.Violation]:
        """The invariant: no hostile message applied, each one quarantined (and nothing else)."""
        found = []
        if self.applied:
            found.append(inv.Violation("-", "hostile_peer",
                                       f"{self.applied} hostile messages were applied"))
        for code, sim in world.regions.items():
            parked = len(entries(sim.region.node.app))
            if parked != self.injected[code]:
                found.append(inv.Violation("-", "hostile_peer", (
                    f"region {code} quarantined {parked} messages, {self.injected[code]} "
                    f"hostile ones were injected")))
        return found


def contained(world: World, workload: Workload) -> list[inv.Violation]:
    return [] if world.hostile is None else world.hostile.contained(world)


def _uuid(n: int) -> uuid.UUID:
    return uuid.UUID(int=n, version=4)


checkers.FINAL_CHECKS.append(contained)
