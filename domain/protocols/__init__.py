"""The protocol registry: catalogue process name -> the protocol that runs it.

Importing this package registers every protocol's event types (for decoding stores and wire
messages). Each protocol module exposes `decider(rules)`, `options(state, now, rng)`,
`register_effects(event)` and `ALLOWED_TERMINAL_PAIRS`; `ProtocolSpec` bundles them.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from domain.deadlines import DeadlineRules
from domain.kernel import Command, Decider, Event


@dataclass(frozen=True)
class ProtocolSpec:
    process: str
    module: str
    decider: Callable[[DeadlineRules], Decider[Any]]
    options: Callable[[Any, dt.datetime, random.Random], list[Command]]
    register_effects: Callable[[Event], Sequence[Any]]
    allowed_terminal_pairs: frozenset[tuple[str, str]]
    transitions: frozenset[tuple[str, str]] = frozenset()


def spec_of(process: str, module: ModuleType) -> ProtocolSpec:
    """The spec of one process a module runs: its own interface where the module runs several
    processes with different rules (`INTERFACES`, the pension items), else the module's."""
    own = getattr(module, "INTERFACES", {}).get(process, module)
    return ProtocolSpec(
        process=process, module=getattr(module, "__name__", process), decider=own.decider,
        options=own.options, register_effects=own.register_effects,
        allowed_terminal_pairs=frozenset(module.ALLOWED_TERMINAL_PAIRS),
        transitions=frozenset(getattr(module, "TRANSITIONS", frozenset())))


def _load() -> dict[str, ProtocolSpec]:
    import importlib

    specs: dict[str, ProtocolSpec] = {}
    for name in ("pension", "unemployment", "medical", "housing_fund", "household", "application"):
        try:
            module = importlib.import_module(f"domain.protocols.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"domain.protocols.{name}":
                raise
            continue
        processes = getattr(module, "PROCESSES", None) or (module.PROCESS,)
        for process in processes:
            specs[process] = spec_of(process, module)
    return specs


PROTOCOLS: dict[str, ProtocolSpec] = _load()


def _services() -> dict[str, ProtocolSpec]:
    from domain.protocols import consultation

    return {consultation.PROCESS: spec_of(consultation.PROCESS, consultation)}


#: Case types a node runs beside the catalogue's processes: not 政务服务事项 (no item, mode or
#: counterpart), so not in `PROTOCOLS` — the applicant's 咨询/投诉/建议 (`consultation`).
SERVICE_PROTOCOLS: dict[str, ProtocolSpec] = _services()

#: The status a side reports while a person is needed (an overlay on its phase, not a phase).
NEEDS_ATTENTION = "needs_attention"


def statuses(spec: ProtocolSpec) -> frozenset[str]:
    """Every status a side of `spec`'s process can report (`Decider.status`): each phase of its
    transition table and of its allowed terminal pairs, and `needs_attention`. Derived from the
    protocol's own tables so the contract's enumeration cannot drift from the deciders; the
    transfer schemes keep their table in `transfer` (their modules only configure it)."""
    import importlib

    from domain.protocols.casework import ABSENT

    table = spec.transitions
    if not table:
        shared = getattr(importlib.import_module(spec.module), "transfer", None)
        table = frozenset(getattr(shared, "TRANSITIONS", frozenset()))
    phases = {phase for pair in (*table, *spec.allowed_terminal_pairs) for phase in pair}
    return frozenset(phases - {"", ABSENT}) | {NEEDS_ATTENTION}


def modes_run(process: str) -> tuple[str, ...]:
    """The modes the protocol of a catalogue process runs (none when no protocol runs it): what
    `tongban catalog` reports, and what a test holds every catalogue item to."""
    from domain.protocols.details import BY_PROTOCOL

    spec = PROTOCOLS.get(process)
    return tuple(BY_PROTOCOL.get(spec.module, {})) if spec is not None else ()
