"""Every message a node sends in the integration tier, checked against asyncapi.yaml (issue 18:
"every message sent in the integration tier validates against `asyncapi.yaml`").

The watch sits on nats-py's `Client.publish`, through which every message of a process goes —
core publishes, JetStream publishes (a request underneath) and request replies alike — and
checks those of a node's own connections (named `tongban-<region>`, `tongban-test-<region>`,
`tongban-cmd-<region>`, `tongban-doc-<region>`): link messages and controls on
`tb.v1.evt.*` (by their CloudEvents type), feed batches on `tb.v1.feed.*`, quarantined copies on
`tb.v1.dlq.*` (headers) and answers on a requester's inbox (a command, case-query or document
reply). A test's own clients, and junk a test publishes on purpose, are not the node's and are
not checked. Nodes run in subprocesses are outside it (their messages reach the same schemas
through the in-process tests).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any, Final

import yaml
from jsonschema import Draft7Validator

ROOT: Final = Path(__file__).resolve().parents[2]
NODE_CONNECTION: Final = re.compile(r"tongban-(?:test-|cmd-|doc-)?[0-9]{6}")
REPLIES: Final = ("CommandReply", "CaseStateReply", "DocumentReply")
_PREFIX: Final = "cn.tongban."


@cache
def _document() -> dict[str, Any]:
    found: dict[str, Any] = yaml.safe_load((ROOT / "asyncapi.yaml").read_text(encoding="utf-8"))
    return found


@cache
def _validator(message: str, part: str) -> Draft7Validator:
    components = _document()["components"]
    return Draft7Validator({**components["messages"][message][part],
                            "components": components})


def _errors(message: str, part: str, instance: Any) -> list[str]:
    return [f"{message} {part} {'/'.join(map(str, e.path))}: {e.message[:200]}"
            for e in _validator(message, part).iter_errors(instance)]


class ContractWatch:
    """Collects what the node sent that the document does not describe."""

    def __init__(self) -> None:
        self.violations: list[str] = []
        self.checked: dict[str, int] = {}

    def sent(self, connection: str, subject: str, payload: bytes,
             headers: Mapping[str, str] | None) -> None:
        if not NODE_CONNECTION.fullmatch(connection or ""):
            return
        found = self.check(subject, payload, dict(headers or {}))
        if found:
            self.violations.extend(f"{connection} → {subject}: {v}" for v in found[:3])

    def check(self, subject: str, payload: bytes, headers: dict[str, str]) -> list[str]:
        if subject.startswith("tb.v1.dlq."):
            return self._count("QuarantinedMessage", _errors("QuarantinedMessage", "headers",
                                                             headers))
        if subject.startswith("_INBOX"):
            return self._reply(payload)
        if not subject.startswith(("tb.v1.evt.", "tb.v1.feed.")):
            return []
        try:
            body = json.loads(payload)
        except ValueError:
            return [f"not JSON: {payload[:80]!r}"]
        if subject.startswith("tb.v1.feed."):
            return self._count("FeedEvent", _errors("FeedEvent", "payload", body)
                               + _errors("FeedEvent", "headers", headers))
        kind = str(body.get("type", "")) if isinstance(body, dict) else ""
        name = kind.removeprefix(_PREFIX).removeprefix("link.")
        if not kind.startswith(_PREFIX) or name not in _document()["components"]["messages"]:
            return [f"a link message of undocumented type {kind!r}"]
        return self._count(name, _errors(name, "payload", body)
                           + _errors(name, "headers", headers))

    def _reply(self, payload: bytes) -> list[str]:
        try:
            body = json.loads(payload)
        except ValueError:
            return [f"a reply that is not JSON: {payload[:80]!r}"]
        for name in REPLIES:
            if not _errors(name, "payload", body):
                return self._count(name, [])
        return [f"a reply none of {', '.join(REPLIES)} describes: {payload[:200]!r}"]

    def _count(self, name: str, errors: list[str]) -> list[str]:
        self.checked[name] = self.checked.get(name, 0) + 1
        return errors
