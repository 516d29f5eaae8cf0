"""JSON Schemas of everything on a link, generated from the Python types that encode it.

Why generated: the dataclasses and the envelope's attribute declarations *are* the contract; a
hand-written schema would drift from them. pydantic derives the schemas (it reads stdlib
dataclasses and TypedDicts), with nested types hoisted to `#/components/schemas/<Name>` so the
AsyncAPI document can hold them once.

Which event types: every registered `Event` with `WIRE = True` *defined under `domain.`*. All
of `domain` is imported first (including `domain.protocols`, which registers the protocol
events), so the set does not depend on what happened to be imported; types registered by tests
live elsewhere and never leak into the published contract.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from typing import Any, Final

from pydantic import TypeAdapter

import domain
from domain.kernel import Event, event_types
from regions.wire.attributes import ControlEnvelope, EventEnvelope
from regions.wire.control import CONTROL_TYPES

REF_TEMPLATE: Final = "#/components/schemas/{model}"


def load_domain() -> None:
    """Import every module of `domain`, so every event type there is registered.

    `domain.protocols` is walked explicitly: `pkgutil` skips a folder without `__init__.py`,
    and the protocols may be a namespace package.
    """
    packages = [domain]
    try:
        packages.append(importlib.import_module("domain.protocols"))
    except ModuleNotFoundError as exc:
        if exc.name != "domain.protocols":
            raise
    for package in packages:
        for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            importlib.import_module(module.name)


def wire_event_types() -> dict[str, type[Event]]:
    """The published event types, by `TYPE`, sorted."""
    load_domain()
    return {
        name: cls for name, cls in sorted(event_types().items())
        if cls.WIRE and cls.__module__.startswith("domain.")
    }


@dataclass(frozen=True)
class SchemaSet:
    """`$ref`s of each top-level schema plus the shared definitions they point into."""

    events: dict[str, dict[str, Any]]  # Event.TYPE -> {"$ref": ...}
    controls: dict[str, dict[str, Any]]  # CloudEvents type -> {"$ref": ...}
    event_envelope: dict[str, Any]
    control_envelope: dict[str, Any]
    definitions: dict[str, dict[str, Any]]


def build_schemas(event_classes: dict[str, type[Event]]) -> SchemaSet:
    """Generate all schemas in one pass, so shared nested types (Actor, EventRef…) appear once."""
    inputs: list[tuple[str, Any]] = [
        ("envelope:event", EventEnvelope), ("envelope:control", ControlEnvelope),
        *((f"control:{name}", cls) for name, cls in sorted(CONTROL_TYPES.items())),
        *((f"event:{name}", cls) for name, cls in sorted(event_classes.items())),
    ]
    refs, definitions = TypeAdapter.json_schemas(
        [(key, "validation", TypeAdapter(tp)) for key, tp in inputs], ref_template=REF_TEMPLATE)
    by_key = {key: schema for (key, _mode), schema in refs.items()}
    return SchemaSet(
        events={k.removeprefix("event:"): v for k, v in by_key.items() if k.startswith("event:")},
        controls={k.removeprefix("control:"): v for k, v in by_key.items()
                  if k.startswith("control:")},
        event_envelope=by_key["envelope:event"],
        control_envelope=by_key["envelope:control"],
        definitions=dict(sorted(definitions.get("$defs", {}).items())),
    )
