"""A transfer whose origin never answers: the destination's limit raises needs_attention, its
staff escalate (督办) and close it, and the `closed_transfer` oracle judges the close
(simulations/closing.py; issue 16, scope item 4 of 2026-12-06)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import partial

import pytest

from domain.protocols import PROTOCOLS, pension
from domain.protocols.transfer import TransferDecider
from domain.protocols.transfer_events import TransferCaseClosed
from simulations import closing
from simulations.report import summarise
from simulations.runner import run

REGIONS = ("150900", "140200", "130700")


def rules(violations: list[str]) -> set[str]:
    return {v.split("]")[0].lstrip("[") for v in violations}


@pytest.fixture
def many_silent(monkeypatch: pytest.MonkeyPatch) -> None:
    """Enough silent origins for a 40-case run (the batch's rate is a few per seed)."""
    monkeypatch.setattr(closing, "SILENT_ORIGIN", 0.5)


def test_a_silent_origin_is_escalated_then_closed_and_the_close_passes_every_oracle(
        many_silent) -> None:
    result = run(1, 40, REGIONS, ("timing_edges",), mix={"pension_transfer": 1})
    edges = result.world.edges
    assert edges["silent_origin_escalated"] > 0
    assert edges["silent_origin_closed"] > 0
    assert result.violations == []
    assert result.world.events_by_type["AttentionEscalated"] > 0


def test_a_closed_transfer_is_counted_closed_not_open(many_silent) -> None:
    """The summary counted a case its staff closed as still open ("closed" was no outcome),
    so the CI batch's `open == 0` failed once closes were drawn at all."""
    result = run(1, 40, REGIONS, ("timing_edges",), mix={"pension_transfer": 1})
    summary = summarise(result)
    assert summary["open"] == 0
    assert summary["closed"] == result.world.edges["silent_origin_closed"] > 0


@dataclass
class ClosesWithoutTheHandshake(TransferDecider):
    """The bug: staff close a transfer after its letters went out as if none had — the case
    ends at once, and the origin is never asked to release what it holds."""

    def _close(self, s, c, now):  # type: ignore[no-untyped-def]
        super()._close(s, c, now)  # its refusals still apply
        return [TransferCaseClosed(at=now, actor=c.actor, outcome="closed", reason=c.reason)]


def test_a_close_that_never_tells_the_origin_is_caught(many_silent) -> None:
    broken = {**PROTOCOLS, pension.PROCESS: replace(
        PROTOCOLS[pension.PROCESS], decider=partial(ClosesWithoutTheHandshake, pension.SPEC))}
    result = run(1, 40, REGIONS, ("timing_edges",), protocols=broken,
                 mix={"pension_transfer": 1})
    assert result.world.edges["silent_origin_closed"] > 0
    assert "closed_transfer" in rules(result.violations)
