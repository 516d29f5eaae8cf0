"""The run's fingerprint: what a seed did, hashed as it happens, so two runs can be compared.

Why: a seed (plus the commit) must reproduce a run exactly; the trace hash is the regression
test of that (a pure speed change keeps every seed's hash). It hashes domain content in commit
order — event types and payloads, case ids, side versions, the virtual instant, the region —
and never wall-clock stamps, so it is the same on any machine and under any load.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from domain.kernel import Event, to_payload
from regions.core.sides import SideView

#: The trace's JSON, as `json.dumps(..., sort_keys=True, ensure_ascii=False)` writes it, made
#: once: `json.dumps` with options builds a new encoder at each call (a commit each).
_TRACE_JSON = json.JSONEncoder(sort_keys=True, ensure_ascii=False)


@dataclass
class Trace:
    """The run's fingerprint: domain content in commit order (types, ids, versions, payloads,
    virtual time) — never wall-clock stamps — hashed incrementally."""

    digest: Any = field(default_factory=hashlib.sha256)
    commits: int = 0

    def add(self, now: dt.datetime, region: str, view: SideView, events: list[Event]) -> None:
        self.commits += 1
        record = [now.isoformat(), region, view.case_id, view.version,
                  [[e.TYPE, to_payload(e)] for e in events]]
        self.digest.update(_TRACE_JSON.encode(record).encode())
        self.digest.update(b"\n")

    def hexdigest(self) -> str:
        return self.digest.hexdigest()
