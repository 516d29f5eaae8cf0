"""What a command or a counterpart event did: the node's answer, stored for idempotent replays.

Its dict form (`to_dict`) is what `CommandRecord` keeps and what a command reply carries, so a
retry with the same command id gets exactly the first answer. A refusal names the field at fault
(`error_field`, a path in the request such as `command.reason`); records stored before it was
kept read back with none.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Outcome:
    """What a command or a counterpart event did; stored for idempotent replays."""

    ok: bool
    case_id: str = ""
    events: tuple[str, ...] = ()
    status: str = ""
    error_code: str = ""
    error: str = ""
    error_field: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "case_id": self.case_id, "events": list(self.events),
                "status": self.status, "error_code": self.error_code, "error": self.error,
                "error_field": self.error_field}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Outcome:
        return cls(ok=d["ok"], case_id=d["case_id"], events=tuple(d["events"]),
                   status=d["status"], error_code=d["error_code"], error=d["error"],
                   error_field=d.get("error_field", ""))
