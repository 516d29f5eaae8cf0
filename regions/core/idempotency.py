"""Idempotent commands: `(principal, command_id) -> (request hash, outcome)`, stored with the
command's effects.

What an id stands for is the command's whole target: the case it is for and the command (its
type and every field). The request hash covers both, so the same id reused for another case, or
with another body, is `IdempotencyConflict` — never the first request's outcome (issue 11 item 9:
an id reused on a second case used to answer with the first case's outcome and leave the second
untouched). The process is the case's (a new case's is in its `Submit`), so the case id covers
it. A refusal the domain decided is an outcome like any other: stored under the id, answered
again to a retry; a request refused before it reached the domain (`regions.core.commands`)
stores nothing, so a corrected request may reuse the id.

Why a command id is not looked up before deciding: its outcome is stored as version 1 of an
aggregate named after the id (`CommandRecord`), in the same transaction as the command's
effects, so a reused id makes that transaction conflict and nothing of it is written; only then
does the node read the stored outcome and return it (or refuse a different request under the
same id, `IdempotencyConflict`). Retries are rare; a read per command is not (reference: the
bench profile in the node's report). Within one process, a command id whose first request is
still being decided is *in progress* (`CommandInProgress`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from domain.kernel import Command
from domain.sorted_text import sorted_text
from regions.core.errors import CommandInProgress, IdempotencyConflict
from regions.core.outcome import Outcome
from regions.core.sides import BatchedCommand
from regions.core.store import CommandRecord, EventStore
from regions.core.unit_of_work import UnitOfWork


def request_hash(case_id: str, command: Command) -> str:
    """What a command id stands for: the target case and the command, type and body — the
    SHA-256 of `f"{case_id}:{type name}:{body}"`, the body `json.dumps(to_payload(command),
    sort_keys=True, ensure_ascii=False, default=str)`, written in one pass by
    `domain.sorted_text` (the same text, ~2× cheaper than the payload then its sorted JSON:
    docs/performance.md, NODECPU; `tests/unit/test_request_hash.py` holds it to the formula)."""
    body = sorted_text(command)
    return hashlib.sha256(f"{case_id}:{type(command).__name__}:{body}".encode()).hexdigest()


class Idempotency:
    """The command ids of one node: stored outcomes, and those in progress in this process."""

    def __init__(self, app: EventStore) -> None:
        self.app = app
        self._in_progress: set[UUID] = set()

    def claim(self, uow: UnitOfWork, request: BatchedCommand) -> Outcome | None:
        """The outcome already staged in `uow` under this id, or None after marking the id in
        progress for `uow`. Only the unit is searched: a record in the store makes the commit
        conflict (see the module docstring)."""
        key = CommandRecord.id_for(request.principal, request.command_id)
        record = uow.records.get(key)
        if record is not None:
            return self._answer(request, record)
        if key in self._in_progress:
            raise CommandInProgress(f"command {request.command_id} is in progress")
        self._in_progress.add(key)
        uow.command_keys.add(key)
        return None

    def replay(self, request: BatchedCommand, uow: UnitOfWork | None, *,
               store: bool) -> Outcome | None:
        """The stored outcome of a command id used before (in `uow`, or in the store)."""
        key = CommandRecord.id_for(request.principal, request.command_id)
        record: Any = uow.records.get(key) if uow is not None else None
        if record is None:
            if not store:
                return None
            try:
                record = self.app.repository.get(key)
            except AggregateNotFoundError:
                return None
        return self._answer(request, record)

    @staticmethod
    def _answer(request: BatchedCommand, record: Any) -> Outcome:
        """The stored outcome, if `request` is the request it answered."""
        assert isinstance(record, CommandRecord)
        if record.request_hash != request_hash(request.case_id, request.command):
            raise IdempotencyConflict(
                f"command id {request.command_id} was already used for another request (another "
                "case, or another command); use a new command_id for a new request")
        return Outcome.from_dict(record.outcome)

    def record(self, uow: UnitOfWork, request: BatchedCommand, outcome: Outcome,
               now: dt.datetime) -> None:
        """Stage the outcome of an idempotent command (one with an id) with its effects."""
        if request.command_id:
            uow.add(CommandRecord.done(request.principal, request.command_id,
                                       request_hash(request.case_id, request.command),
                                       outcome.to_dict(), now))

    def release(self, uow: UnitOfWork) -> None:
        """`uow` was committed or given up: its commands are no longer in progress."""
        self._in_progress.difference_update(uow.command_keys)
        uow.command_keys.clear()

    def clear(self) -> None:
        self._in_progress.clear()
