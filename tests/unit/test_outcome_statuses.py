"""`Outcome.status` in asyncapi.yaml: an enumeration covering every status the deciders report,
and each process's allowed final pairs, both generated from the protocols' tables."""

from __future__ import annotations

import dataclasses
from typing import Any

import yaml

from domain.protocols import PROTOCOLS, ProtocolSpec
from regions.contract.asyncapi import DEFAULT_PATH
from simulations.runner import run


def status_schema() -> dict[str, Any]:
    document = yaml.safe_load(DEFAULT_PATH.read_text(encoding="utf-8"))
    schema: dict[str, Any] = document["components"]["schemas"]["Outcome"]["properties"]["status"]
    return schema


def watched(spec: ProtocolSpec, seen: set[str]) -> ProtocolSpec:
    """The same protocol, whose deciders note every status they report."""
    def decider(rules: Any) -> Any:
        made = spec.decider(rules)
        report = made.status

        def status(state: Any) -> str:
            seen.add(answer := report(state))
            return answer
        object.__setattr__(made, "status", status)
        return made
    return dataclasses.replace(spec, decider=decider)


def test_the_status_enumeration_covers_every_status_the_deciders_report() -> None:
    seen: set[str] = set()
    result = run(7, cases=60, protocols={p: watched(s, seen) for p, s in PROTOCOLS.items()})
    assert result.converged and not result.violations
    assert {"completed", "submitted", "transferred_out"} <= seen  # the run reached real states
    assert seen <= set(status_schema()["enum"]), sorted(seen - set(status_schema()["enum"]))


def test_every_allowed_final_pair_is_stated_in_the_enumeration_for_each_process() -> None:
    schema = status_schema()
    pairs = schema["x-allowed-terminal-pairs"]
    assert set(pairs) == set(PROTOCOLS)
    for process, spec in PROTOCOLS.items():
        assert {tuple(p) for p in pairs[process]} == spec.allowed_terminal_pairs
        assert {s for p in spec.allowed_terminal_pairs for s in p} - {"absent"} <= set(
            schema["enum"])
        assert process in schema["description"]
