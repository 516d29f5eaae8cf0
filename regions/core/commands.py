"""The command use case: what one command from outside goes through, whoever carried it here.

A back-end's NATS request (`regions.runtime.commands`) and, soon, an HTTP request both arrive
as a `CommandRequest` (their codecs map JSON to it) and leave as a `CommandResult` (mapped back
to a reply, a problem+json body, a status). In between, and only here (a service layer in the
cosmicpython sense, sans-IO like the rest of `core`):

1. **Authorise the target region**: a command that opens a case (no `case_id`) must come to the
   region of its case number, under a process this node runs; a command for an existing case
   names it by id, and a case this region does not hold is `unknown_case`.
2. **Submit or command**: an opening command opens this region's side (`RegionNode.submit`); if
   the number already is a case of another process here, `case_exists`. Anything else goes to
   the existing side (`RegionNode.command`).
3. **Idempotency**: the node stores each command's outcome with its effects, keyed on
   `(principal, command_id)`; a retry gets that outcome, the same id with another request
   `idempotency_conflict`, a concurrent duplicate `in_progress`.
4. **One table of stable codes** (`ERRORS`): every code a request or the node's bookkeeping can
   answer, what it means, how it is counted (`kind`, the metrics label) and the HTTP status the
   API answers with. The domain's own refusals keep their own codes (`reason_required`...) and
   count as `refused` (`REFUSAL`).

Runs on the node's database thread (it reads and writes the store through the node).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal

from domain.kernel import Command, DomainError
from domain.values import CaseNumber
from regions.core.errors import CommandInProgress, IdempotencyConflict
from regions.core.node import RegionNode
from regions.core.outcome import Outcome

log = logging.getLogger("tongban.commands")

#: How a command request ended, as counted (`tongban_commands_total{outcome=...}`).
Kind = Literal["ok", "refused", "conflict", "invalid", "error"]
KINDS: Final[tuple[Kind, ...]] = ("ok", "refused", "conflict", "invalid", "error")
#: Codes of a request refused before anything is decided (by its codec or by `authorise`).
RequestCode = Literal[
    "malformed_json", "invalid_request", "missing_field", "invalid_field", "unknown_field",
    "unknown_command_type", "wrong_region", "unknown_process"]


@dataclass(frozen=True)
class ErrorCode:
    """What one stable error code means, how it is counted and which HTTP status carries it."""

    meaning: str
    kind: Kind
    status: int


ERRORS: Final[Mapping[str, ErrorCode]] = {
    "malformed_json": ErrorCode("the request is not JSON", "invalid", 400),
    "invalid_request": ErrorCode("the request is not a JSON object, or could not be read",
                                 "invalid", 400),
    "missing_field": ErrorCode("a required field is missing (`field` names it)", "invalid", 422),
    "invalid_field": ErrorCode("a field's value is not one the command takes (`field`)",
                               "invalid", 422),
    "unknown_field": ErrorCode("a field the request or the command does not have (`field`)",
                               "invalid", 422),
    "unknown_command_type": ErrorCode("`command.type` names no command of the domain",
                                      "invalid", 422),
    "wrong_region": ErrorCode("a new case opens at the region of its case number, not here",
                              "invalid", 421),
    "unknown_process": ErrorCode("this region runs no such process", "invalid", 422),
    "unknown_case": ErrorCode("this region holds no case with this case_id", "refused", 404),
    "case_exists": ErrorCode("the case number is already a case of another process here",
                             "refused", 409),
    "idempotency_conflict": ErrorCode("this command_id was used before with another request",
                                      "conflict", 422),
    "in_progress": ErrorCode("this command_id's first request is still being decided; retry "
                             "with the same id for its outcome", "conflict", 409),
    "internal_error": ErrorCode("the node could not run the command; retry with the same "
                                "command_id", "error", 500),
}
#: Every other code is the domain's refusal in the case's current state (the rule's own code).
REFUSAL: Final = ErrorCode("the domain refused the command in the case's current state",
                           "refused", 409)


def describe(code: str) -> ErrorCode:
    """The table's entry for `code`; a domain refusal's code gets `REFUSAL`."""
    return ERRORS.get(code, REFUSAL)


class InvalidRequest(DomainError):
    """A request refused before anything is decided; `field` is the dotted path of the culprit."""

    code = "invalid_request"

    def __init__(self, message: str, *, code: RequestCode, field: str = "") -> None:
        super().__init__(message, code=code)
        self.field = field


@dataclass(frozen=True)
class CommandError:
    """The error half of a reply: a stable `code`, a message for people, the field at fault."""

    code: str
    message: str
    field: str = ""


@dataclass(frozen=True)
class CommandRequest:
    """A decoded request; `case_id` is None when the command opens a new case."""

    command_id: str
    principal: str
    command: Command
    case_id: str | None = None
    case_number: str = ""
    process: str = ""

    @property
    def opens_case(self) -> bool:
        return self.case_id is None

    @property
    def target_case_id(self) -> str:
        """The case the command is for; a new case's id derives from its number."""
        if self.case_id is not None:
            return self.case_id
        return str(CaseNumber.parse(self.case_number).case_id)


INTERNAL_ERROR: Final = CommandError(
    "internal_error", "the node could not execute the command; retry with the same command_id")


@dataclass(frozen=True)
class CommandResult:
    """The answer to one request: the node's `outcome` (stored for retries) when it decided,
    and the `error` when the answer is no (with the stored outcome, if the node refused)."""

    outcome: Outcome | None = None
    error: CommandError | None = None

    @classmethod
    def decided(cls, outcome: Outcome) -> CommandResult:
        """The node's outcome: done, or refused by the domain with its code."""
        if outcome.ok:
            return cls(outcome)
        field = "case_id" if outcome.error_code == "unknown_case" else ""
        return cls(outcome, CommandError(outcome.error_code or "refused", outcome.error, field))

    @classmethod
    def refusing(cls, exc: InvalidRequest) -> CommandResult:
        return cls(error=CommandError(exc.code, str(exc), exc.field))

    @property
    def ok(self) -> bool:
        return self.error is None and self.outcome is not None

    @property
    def kind(self) -> Kind:
        if self.ok:
            return "ok"
        if self.outcome is not None:
            return "refused"  # the node decided no, and stored it
        assert self.error is not None
        return describe(self.error.code).kind

    @property
    def status(self) -> int:
        """The HTTP status of this answer."""
        return 200 if self.error is None else describe(self.error.code).status


class CommandService:
    """The use case over one region's node (see the module docstring)."""

    def __init__(self, node: RegionNode) -> None:
        self.node = node

    @property
    def region(self) -> str:
        return self.node.region

    def handle(self, request: CommandRequest, now: dt.datetime) -> CommandResult:
        """Authorise, decide and save (or replay the stored outcome); never raises for a refusal
        — every answer, an internal failure included, is a `CommandResult`."""
        try:
            self.authorise(request)
            outcome = self.run(request, now)
        except InvalidRequest as exc:
            return CommandResult.refusing(exc)
        except (IdempotencyConflict, CommandInProgress) as exc:
            return CommandResult(error=CommandError(exc.code, str(exc), "command_id"))
        except DomainError as exc:
            return CommandResult(error=CommandError(exc.code, str(exc)))
        except Exception:
            log.exception("command %s of %s failed", request.command_id, request.principal)
            return CommandResult(error=INTERNAL_ERROR)
        return CommandResult.decided(outcome)

    def authorise(self, request: CommandRequest) -> None:
        """A new case opens at the region of its number, under a process this node runs."""
        if not request.opens_case:
            return
        region = str(CaseNumber.parse(request.case_number).region)
        if region != self.region:
            raise InvalidRequest(
                f"case {request.case_number} belongs to region {region}; this is {self.region}",
                code="wrong_region", field="case_number")
        if request.process not in self.node.protocols:
            raise InvalidRequest(f"region {self.region} runs no process {request.process!r}",
                                 code="unknown_process", field="process")

    def run(self, request: CommandRequest, now: dt.datetime) -> Outcome:
        """Submit or command through the node; `IdempotencyConflict`/`CommandInProgress` for a
        reused command id."""
        keys = {"command_id": request.command_id, "principal": request.principal}
        if request.case_id is not None:
            return self.node.command(request.case_id, request.command, now, **keys)
        case_id = request.target_case_id
        existing = self.node.side(case_id)
        if existing is not None and existing.process != request.process:
            return Outcome(False, case_id, error_code="case_exists",
                           error=f"case {request.case_number} is a {existing.process} case")
        return self.node.submit(case_id, request.case_number, request.process, request.command,
                                now, **keys)
