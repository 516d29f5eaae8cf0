"""What an invariant checker reports: a `Violation` naming the case and the rule (severity
"attention" for a side that needs a person: reported, never counted).

Why a module of its own: the checkers over summaries and registers (`domain.invariants`) and
those over one side's events as they are recorded (`domain.invariant_watches`) report alike,
and `domain.invariants` names both kinds for its readers.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Severity = Literal["violation", "attention"]
SideKey = tuple[str, str]  # (case_id, region)


@dataclass(frozen=True)
class Violation:
    case_id: str
    rule: str
    detail: str
    severity: Severity = "violation"

    def __str__(self) -> str:
        return f"[{self.rule}] case {self.case_id}: {self.detail}"


def violations_only(found: Iterable[Violation]) -> list[Violation]:
    return [v for v in found if v.severity == "violation"]
