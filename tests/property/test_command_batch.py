"""Group commit answers as one at a time does: `CommandService.handle_many` is `handle` in a loop.

The command endpoint decides the requests that arrived together in one transaction
(`regions.core.command_batch`). For any sequence of requests — openings, commands, domain
refusals, reused ids (the same request again, or another body under the id), two for one case,
cases that share an applicant's register entry, requests refused before anything is decided —
split into batches any way, the replies are those `handle` gives one after another, and the
store holds the same streams, event for event.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
import uuid
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.kernel import Actor
from domain.protocols import pension
from domain.protocols.intake import AcceptIntake, RejectIntake
from domain.protocols.transfer import application
from domain.values import CaseNumber, RegionCode
from regions.adapters.stores.memory import MemoryStore
from regions.core.commands import CommandRequest, CommandResult, CommandService
from regions.core.config import RegionConfig
from regions.runtime.bootstrap import build_region
from simulations.workload import draw_applicant

HERE, ORIGIN, ELSEWHERE = "150600", "610800", "150200"
T0 = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)
STAFF = Actor("staff", "0451", HERE, "社保经办", "W3")
SYSTEM = Actor.system("timer", HERE)
IDS = ("k1", "k2", "k3")


def service() -> CommandService:
    region = build_region(RegionConfig(region=HERE, peers=(ORIGIN,)), clock=lambda: T0,
                          ids=uuid.uuid4, broker=None, store=MemoryStore())
    return CommandService(region.node)


def number(n: int, region: str = HERE) -> CaseNumber:
    return CaseNumber.new(RegionCode(region), dt.date(2026, 3, 2), uuid.UUID(int=n))


def opening(person: int, case: int, command_id: str, *, other_process: bool = False,
            region: str = HERE, item_id: str = "b1-7") -> CommandRequest:
    applicant = draw_applicant(random.Random(person))
    numbered = number(case, region)
    command = application(pension.PROCESS, numbered, "", [ORIGIN],
                          Actor("applicant", applicant.citizen.masked, HERE), item_id=item_id)
    return CommandRequest(command_id, "applicant:demo", command, case_number=str(numbered),
                          process="household_move" if other_process else pension.PROCESS,
                          applicant_id=applicant.citizen.number)


def on_case(case: int, command_id: str, kind: str) -> CommandRequest:
    case_id = str(number(case).case_id)
    command: Any = {"accept": AcceptIntake(actor=STAFF),
                    "reject": RejectIntake(actor=STAFF, reason="材料不全"),
                    "blank": RejectIntake(actor=STAFF, reason="  "),  # refused, and stored
                    "system": AcceptIntake(actor=SYSTEM)}[kind]  # forbidden before anything
    return CommandRequest(command_id, "staff:0451", command, case_id=case_id)


cases = st.integers(1, 3)
ids = st.sampled_from(IDS)
requests = st.one_of(
    st.builds(opening, st.integers(1, 2), cases, ids),
    st.builds(opening, st.integers(1, 2), cases, ids, other_process=st.just(True)),
    st.builds(opening, st.just(1), cases, ids, region=st.just(ELSEWHERE)),
    st.builds(opening, st.just(1), cases, ids, item_id=st.just("b9-99")),
    st.builds(on_case, st.integers(1, 4), ids,
              st.sampled_from(("accept", "reject", "blank", "system"))),
)


def stored(svc: CommandService) -> list[tuple[Any, ...]]:
    """Every stored event, stream by stream (a transaction's order of streams may differ)."""
    recorder: Any = svc.node.app.recorder
    events = recorder.select_notifications(1, 10_000)
    return sorted((e.originator_id, e.originator_version, e.topic, e.state) for e in events)


def batches(draw: st.DrawFn, items: list[CommandRequest]) -> list[list[CommandRequest]]:
    cuts = sorted(draw(st.sets(st.integers(1, max(1, len(items) - 1)), max_size=4)))
    bounds = [0, *[c for c in cuts if c < len(items)], len(items)]
    return [items[a:b] for a, b in itertools.pairwise(bounds) if b > a]


@st.composite
def batched_sequences(draw: st.DrawFn) -> tuple[list[CommandRequest], list[list[CommandRequest]]]:
    items = draw(st.lists(requests, min_size=1, max_size=14))
    return items, batches(draw, items)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batched_sequences())
def test_batched_replies_and_store_equal_one_at_a_time(
        drawn: tuple[list[CommandRequest], list[list[CommandRequest]]]) -> None:
    items, groups = drawn
    one, many = service(), service()
    singly = [one.handle(request, T0) for request in items]
    together: list[CommandResult] = []
    for group in groups:
        together += many.handle_many(group, T0)
    assert together == singly
    assert stored(many) == stored(one)


def test_every_kind_of_answer_in_one_batch_equals_one_at_a_time() -> None:
    """The brief's mixed sequence, in one batch: good, refused, a retry, a reused id, a second
    command for one case, an unknown case, a forbidden actor, a request of another region."""
    items = [opening(1, 1, "k1"), opening(2, 2, "k2"), on_case(1, "a1", "accept"),
             on_case(2, "b1", "blank"), opening(1, 1, "k1"), opening(1, 3, "k1"),
             on_case(1, "a2", "reject"), on_case(4, "a3", "accept"), on_case(2, "s", "system"),
             opening(1, 3, "k3", region=ELSEWHERE), opening(2, 3, "k3"),
             opening(1, 3, "k4", other_process=True), on_case(2, "b1", "blank")]
    one, many = service(), service()
    singly = [one.handle(request, T0) for request in items]
    assert {r.error.code for r in singly if r.error} >= {
        "reason_required", "idempotency_conflict", "unknown_case", "forbidden_actor",
        "wrong_region", "case_exists"}
    assert many.handle_many(items, T0) == singly
    assert stored(many) == stored(one)


def test_a_store_that_fails_answers_each_request_of_the_batch_and_keeps_nothing() -> None:
    many = service()
    assert many.handle_many([opening(1, 1, "k1")], T0)[0].ok
    before = stored(many)

    def gone(*aggregates: object) -> None:
        raise OSError("database gone")

    many.node.app.save = gone  # type: ignore[method-assign,assignment]
    results = many.handle_many([on_case(1, "a1", "accept"), opening(2, 2, "k2"),
                                on_case(1, "a2", "system")], T0)
    assert [r.error.code if r.error else "ok" for r in results] == [
        "internal_error", "internal_error", "forbidden_actor"]
    assert stored(many) == before
