"""One amount limit everywhere (issue 18: "amounts within the range the stores hold (and one
limit everywhere)"): every door that takes an amount in fen — the back-ends' command codec, the
staff API's forms — refuses exactly above `domain.values.MAX_FEN`, so an amount one door takes is
never one another refuses, and none can exceed what PostgreSQL's `bigint` holds.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from api import staff_casework
from domain.values import MAX_FEN

BIGINT_MAX = 2**63 - 1


def amount_limits(schema: dict[str, Any]) -> dict[str, Any]:
    """`{path: maximum}` of every `*_fen` property of a JSON schema and its definitions."""
    found: dict[str, Any] = {}
    for name, definition in {"": schema, **schema.get("$defs", {})}.items():
        for prop, spec in definition.get("properties", {}).items():
            if prop.endswith("_fen"):
                found[f"{name or schema.get('title')}.{prop}"] = spec.get("maximum")
    return found


def test_the_staff_forms_hold_amounts_to_the_one_limit_of_the_stores() -> None:
    models = [m for m in vars(staff_casework).values()
              if isinstance(m, type) and issubclass(m, BaseModel) and m is not BaseModel]
    limits: dict[str, Any] = {}
    for model in models:
        limits.update(amount_limits(model.model_json_schema()))
    assert limits, "the staff forms take amounts"
    assert dict.fromkeys(limits, MAX_FEN) == limits
    assert MAX_FEN < BIGINT_MAX
