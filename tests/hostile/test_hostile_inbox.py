"""Hostile messages on a region's inbox are refused or contained (issue 11, findings 6, 7, 8).

Three in-memory regions run the toy protocol of the node-core tests (`tests/unit/toy_protocol`):
榆林 (610800) is the target; 鄂尔多斯 (150600) and 大同 (140200) are both its genuine peers, and
each case here is between 150600 and 610800 only. Every attack arrives *inside a batch* between
honest messages, and every test asserts the same three things:

- the attack is refused or contained: the hostile message is quarantined with its reason (kept
  byte for byte, acknowledged so it is not redelivered forever);
- nothing recorded is lost and no case is touched: the target's sides are exactly as the honest
  messages alone leave them (no `needs_attention`, no side opened by the attacker);
- the other links keep flowing: the honest messages of the same batch are applied, and the
  links' positions move on.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import replace

import pytest

from domain.kernel import Actor, Command, Event
from domain.protocols import spec_of
from domain.values import CaseNumber, RegionCode
from regions.adapters.stores.memory import MemoryStore
from regions.core.config import RegionConfig
from regions.core.inbox import InboxResult, Incoming
from regions.core.messages import LinkMessage
from regions.core.store import Quarantined
from regions.runtime import quarantine
from regions.runtime.bootstrap import Region, build_region
from regions.wire import link, subjects
from tests.unit import toy_protocol as toy

HOME, TARGET, ROGUE = "150600", "610800", "140200"
T0 = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)
CLERK = {code: Actor("staff", "s1", code, "clerk") for code in (HOME, ROGUE)}


def make(code: str, peers: tuple[str, ...], store: MemoryStore) -> Region:
    return build_region(RegionConfig(region=code, peers=peers, gap_bound_seconds=10),
                        clock=lambda: T0, ids=uuid.uuid4, broker=None, store=store,
                        protocols={"toy": spec_of("toy", toy)})


@pytest.fixture
def world() -> dict[str, Region]:
    store = MemoryStore()
    return {HOME: make(HOME, (TARGET,), store), TARGET: make(TARGET, (HOME, ROGUE), store),
            ROGUE: make(ROGUE, (TARGET,), store)}


def new_case(region: str) -> tuple[str, str]:
    """(case id, case number) as a real window issues them: the id derived from the number."""
    number = CaseNumber.new(RegionCode(region), T0.date(), uuid.uuid4())
    return str(number.case_id), str(number)


def ping(region: Region, case: tuple[str, str] | None = None, n: int = 1) -> str:
    case_id, number = case or new_case(region.code)
    outcome = region.node.submit(case_id, number, "toy", toy.Ping(
        actor=CLERK[region.code], case_id=case_id, n=n, to=TARGET, home=region.code), T0)
    assert outcome.ok, outcome
    return case_id


def sent(region: Region) -> list[LinkMessage]:
    batch = region.relay.step(T0)
    assert batch is not None
    region.relay.advance(batch, T0)
    return [item for item in batch.items if isinstance(item, LinkMessage)]


def incoming(message: LinkMessage, token: object) -> Incoming:
    out = link.encode(message)
    return Incoming(out.subject, out.data, out.headers, token=token,
                    subject_origin=subjects.parse_event_subject(out.subject)[1])


def raw(origin: str, data: bytes, token: object, *, subject: str | None = None) -> Incoming:
    subject = subject if subject is not None else subjects.event_subject(TARGET, origin)
    return Incoming(subject, data, {}, token=token, subject_origin=origin)


def side_status(region: Region, case_id: str) -> str | None:
    region.node.forget_caches()
    view = region.node.side(case_id)
    return None if view is None else view.state.status


def parked(region: Region) -> list[quarantine.Entry]:
    return quarantine.entries(region.node.app)


def assert_contained(result: InboxResult, region: Region, hostile: list[object],
                     honest: list[object], reason: str) -> None:
    """The hostile tokens were quarantined with `reason` and acked; the honest ones applied."""
    assert result.quarantined == len(hostile), result
    assert result.applied == len(honest), result
    assert sorted(map(str, result.ack)) == sorted(map(str, [*hostile, *honest]))
    reasons = [entry.reason for entry in parked(region)]
    assert len(reasons) == len(hostile) and all(reason in r for r in reasons), reasons


# --------------------------------------------------------------------------- finding 6


def nested(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


def test_deep_json_nesting_is_quarantined_and_the_batch_goes_on(world) -> None:
    home, target = world[HOME], world[TARGET]
    first, second = ping(home), ping(home)
    honest = sent(home)
    deep = [nested(100_000), b"[" * 50_000 + b"]" * 50_000]
    batch = [incoming(honest[0], "h1"), raw(HOME, deep[0], "deep-object"),
             raw(HOME, deep[1], "deep-array"), incoming(honest[1], "h2")]
    result = target.inbox.handle(batch, T0)
    assert_contained(result, target, ["deep-object", "deep-array"], ["h1", "h2"], "too_deep")
    assert {bytes(e.data) for e in parked(target)} == set(deep)  # kept byte for byte
    assert side_status(target, first) == side_status(target, second) == "ponged"
    assert target.node.inlink_position(HOME) == 2


def test_a_nested_payload_inside_a_valid_envelope_is_quarantined_and_its_position_skipped(
        world) -> None:
    home, target = world[HOME], world[TARGET]
    first, second = ping(home), ping(home)
    one, two = sent(home)
    envelope = json.loads(link.encode(one).data)
    envelope["data"]["home"] = json.loads(nested(40))  # deeper than a payload may be
    hostile = json.dumps(envelope).encode()
    result = target.inbox.handle([raw(HOME, hostile, "deep"), incoming(two, "h2")], T0)
    assert_contained(result, target, ["deep"], ["h2"], "")
    assert side_status(target, first) is None  # the hostile copy touched nothing
    assert side_status(target, second) == "ponged"
    assert target.node.inlink_position(HOME) == 2  # stepped over #1, applied #2


class Exploding:
    """A protocol bug one message can trigger: the destination's decider raises a non-domain
    error (here `ZeroDivisionError`) for a ping numbered 13. Any exception but a lost store must
    stay with its message."""

    def __init__(self, inner: toy.Toy) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)

    def decide(self, state: toy.ToyState | None, command: Command,
               now: dt.datetime) -> list[Event]:
        event = getattr(command, "event", None)
        if isinstance(event, toy.Pinged) and event.n == 13:
            raise ZeroDivisionError("a bug only this message reaches")
        return self.inner.decide(state, command, now)


def test_any_other_error_for_one_message_quarantines_it_and_the_batch_goes_on(world) -> None:
    home, target = world[HOME], world[TARGET]
    for binding_name, binding in list(target.node.protocols.items()):
        target.node.protocols[binding_name] = replace(binding, decider=Exploding(binding.decider))
    target.node.stager.protocols = target.node.protocols
    first, bad, last = ping(home, n=1), ping(home, n=13), ping(home, n=2)
    messages = sent(home)
    batch = [incoming(m, f"m{m.link_seq}") for m in messages]
    result = target.inbox.handle(batch, T0)
    assert_contained(result, target, ["m2"], ["m1", "m3"], "ZeroDivisionError")
    assert side_status(target, first) == side_status(target, last) == "ponged"
    assert side_status(target, bad) is None
    assert target.node.inlink_position(HOME) == 3
    again = target.inbox.handle(batch, T0)  # redelivered: duplicates, nothing parked twice
    assert again.duplicates == 3 and len(parked(target)) == 1


# --------------------------------------------------------------------------- finding 7


@pytest.mark.parametrize("subject", ["", "tb.v1.evt", "tb.v1.cmd.610800.pension",
                                     "tb.v1.evt.610800", "not a subject"])
def test_a_subject_that_does_not_parse_fails_closed(world, subject: str) -> None:
    home, target = world[HOME], world[TARGET]
    forged_case, honest_case = ping(home), ping(home)
    forged, honest = sent(home)
    out = link.encode(forged)
    hostile = Incoming(subject, out.data, out.headers, token="forged", subject_origin="")
    result = target.inbox.handle([hostile, incoming(honest, "h2")], T0)
    assert result.quarantined == 1 and "forged" in result.ack
    assert side_status(target, forged_case) is None
    assert "subject" in parked(target)[0].reason
    # the honest #2 waits for #1, which the origin re-sends from its store: nothing is lost
    resent = home.relay.resend(TARGET, 1, 1)
    after = target.inbox.handle([incoming(m, f"r{m.link_seq}") for m in resent], T0)
    assert after.applied == 2
    assert side_status(target, forged_case) == side_status(target, honest_case) == "ponged"


# --------------------------------------------------------------------------- finding 8


def test_a_genuine_peer_not_party_to_a_case_cannot_touch_it(world) -> None:
    home, target, rogue = world[HOME], world[TARGET], world[ROGUE]
    case = new_case(HOME)
    ping(home, case)
    target.inbox.handle([incoming(m, "h1") for m in sent(home)], T0)
    assert side_status(target, case[0]) == "ponged"
    ping(rogue, case)  # 140200 pings about 150600's case with 610800 (its own store allows it)
    later_case = ping(home)
    batch = [incoming(m, "rogue") for m in sent(rogue)] + [incoming(sent(home)[0], "h2")]
    result = target.inbox.handle(batch, T0)
    assert_contained(result, target, ["rogue"], ["h2"], "not party")
    assert side_status(target, case[0]) == "ponged"  # not needs_attention
    assert side_status(target, later_case) == "ponged"
    assert target.node.inlink_position(ROGUE) == 1  # the rogue's link is stepped over, not stuck


def test_a_peer_cannot_open_a_side_under_another_regions_case_number(world) -> None:
    home, target, rogue = world[HOME], world[TARGET], world[ROGUE]
    squatted = new_case(HOME)  # a number 150600 may issue tomorrow
    ping(rogue, squatted)
    honest_case = ping(home)
    batch = [incoming(m, "rogue") for m in sent(rogue)] + [incoming(sent(home)[0], "h1")]
    result = target.inbox.handle(batch, T0)
    assert_contained(result, target, ["rogue"], ["h1"], "not party")
    assert side_status(target, squatted[0]) is None
    assert side_status(target, honest_case) == "ponged"
    ping(home, squatted)  # the real case with that number still opens normally
    assert target.inbox.handle([incoming(m, "h2") for m in sent(home)], T0).applied == 1
    assert side_status(target, squatted[0]) == "ponged"


def test_envelope_case_id_case_number_and_payload_must_agree(world) -> None:
    home, target = world[HOME], world[TARGET]
    cases = [ping(home) for _ in range(4)]
    one, two, three, four = sent(home)
    other_id, other_number = new_case(HOME)
    # the envelope's case id is not the id of its case number (subject)
    wrong_id = replace(one, case_id=other_id)
    # the payload's case_id is not the envelope's
    wrong_payload = replace(two, payload={**two.payload, "case_id": other_id})
    # the case number names another case than the case id
    wrong_number = replace(three, case_number=other_number)
    batch = [incoming(wrong_id, "id"), incoming(wrong_payload, "payload"),
             incoming(wrong_number, "number"), incoming(four, "h4")]
    result = target.inbox.handle(batch, T0)
    assert_contained(result, target, ["id", "payload", "number"], ["h4"], "case")
    assert all(side_status(target, c) is None for c in cases[:3])
    assert side_status(target, other_id) is None
    assert side_status(target, cases[3]) == "ponged"
    assert target.node.inlink_position(HOME) == 4


def test_quarantined_records_keep_the_hostile_bytes(world) -> None:
    """Nothing recorded is lost: what was parked can be read back exactly (for the operator)."""
    target = world[TARGET]
    data = nested(10_000)
    target.inbox.handle([raw(HOME, data, "deep")], T0)
    (entry,) = parked(target)
    record = target.node.app.repository.get(entry.id)
    assert isinstance(record, Quarantined) and record.raw == data


@pytest.mark.parametrize("subject", ["tb.v1.evt.610800", "not a subject"])
def test_a_replay_of_a_message_whose_subject_does_not_parse_is_refused(world, subject) -> None:
    """The operator's replay is held to the inbox's rule: no parsed subject, no message."""
    home, target = world[HOME], world[TARGET]
    case = ping(home)
    (forged,) = sent(home)
    out = link.encode(forged)
    target.inbox.handle([Incoming(subject, out.data, out.headers, token="f", subject_origin="")],
                        T0)
    (entry,) = parked(target)
    replayed = quarantine.replay(target, entry.id, T0)
    assert replayed.outcome == "failed" and "subject" in replayed.detail
    assert side_status(target, case) is None and target.node.inlink_position(HOME) == 0
