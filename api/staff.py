"""Staff identity for the HTTP side: bearer tokens bound to one region, one role and one staff
id, issued by an operator (`tongban staff issue-token`), stored hashed, expiring and revocable.

Why a file of hashes: the operator issues tokens where the node's configuration lives, the node
only needs to check them, and a leaked file gives nobody a token (SHA-256 of 32 random bytes
cannot be reversed or guessed). The node re-reads the file when it changes, so a revocation
takes effect without a restart. The actor on every event a staff member causes is built from
the token — region, role, id — never from a request body (责任追溯).

Roles: `window` (收件窗口: registers and forwards), `department` (办理部门: decides),
`supervisor` (read-only figures). A token of region A is refused at region B's node, and the
refusal is logged.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import os
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Final, Literal

log = logging.getLogger("tongban.staff")
Role = Literal["window", "department", "supervisor"]
ROLES: Final[tuple[Role, ...]] = ("window", "department", "supervisor")
PREFIX: Final = "tbs_"


@dataclass(frozen=True)
class Grant:
    region: str
    role: Role
    staff_id: str
    expires_at: str  # ISO 8601, UTC
    revoked: bool = False

    @property
    def who(self) -> str:
        """How a refusal's log line names the holder ("supervisor S0001@150600")."""
        return f"{self.role} {self.staff_id}@{self.region}"

    def valid(self, now: dt.datetime) -> bool:
        return not self.revoked and now < dt.datetime.fromisoformat(self.expires_at)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class TokenFile:
    """The hashes and grants in one JSON file; written atomically (temp file and rename)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._seen: tuple[float, int] | None = None
        self._grants: dict[str, Grant] = {}

    def grants(self) -> dict[str, Grant]:
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return {}
        if self._seen != (stat.st_mtime, stat.st_size):
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            self._grants = {h: Grant(**g) for h, g in raw.get("tokens", {}).items()}
            self._seen = (stat.st_mtime, stat.st_size)
        return self._grants

    def check(self, token: str, now: dt.datetime) -> Grant | None:
        """The grant of `token` if it is known, unexpired and not revoked (constant time)."""
        wanted = digest(token)
        found = None
        for known, grant in self.grants().items():
            if hmac.compare_digest(known, wanted):
                found = grant
        return found if found is not None and found.valid(now) else None

    def issue(self, region: str, role: Role, staff_id: str, days: int,
              now: dt.datetime) -> str:
        token = PREFIX + secrets.token_urlsafe(32)
        grants = dict(self.grants())
        expires = (now + dt.timedelta(days=days)).isoformat()
        grants[digest(token)] = Grant(region, role, staff_id, expires)
        self._write(grants)
        return token

    def revoke(self, staff_id: str, region: str) -> int:
        grants = dict(self.grants())
        hits = [h for h, g in grants.items() if g.staff_id == staff_id and g.region == region
                and not g.revoked]
        for h in hits:
            grants[h] = Grant(**{**asdict(grants[h]), "revoked": True})
        self._write(grants)
        return len(hits)

    def _write(self, grants: dict[str, Grant]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temp = self.path.with_suffix(".tmp")
        temp.write_text(json.dumps({"format": "tongban.staff-tokens/1", "tokens": {
            h: asdict(g) for h, g in grants.items()}}, ensure_ascii=False, indent=1),
            encoding="utf-8")
        os.chmod(temp, 0o600)
        temp.replace(self.path)
        self._seen = None
