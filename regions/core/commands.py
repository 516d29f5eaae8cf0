"""The command use case: what one command from outside goes through, whoever carried it here.

A back-end's NATS request (`regions.runtime.commands`) and, soon, an HTTP request both arrive
as a `CommandRequest` (their codecs map JSON to it) and leave as a `CommandResult` (mapped back
to a reply, a problem+json body, a status). In between, and only here (a service layer in the
cosmicpython sense, sans-IO like the rest of `core`):

1. **Authorise the target region**: a command that opens a case (no `case_id`) must come to the
   region of its case number, under a process this node runs; a command for an existing case
   names it by id, and a case this region does not hold is `unknown_case`.
2. **Admit** (`admission.admit`): the actor acts for this region, dates are plausible, an
   application's item, process and mode agree with the catalogue, and its applicant's ID number
   becomes the person key and the masked form (the plaintext goes no further).
3. **Submit or command**: an opening command opens this region's side (`RegionNode.submit`); if
   the number already is a case of another process here, `case_exists`. Anything else goes to
   the existing side (`RegionNode.command`).
4. **Idempotency**: the node stores each command's outcome with its effects, keyed on
   `(principal, command_id)` and bound to the command's whole target (the case and the command,
   type and body); a retry gets that outcome, the same id for another case or another body
   `idempotency_conflict`, a concurrent duplicate `in_progress`. A refusal the domain decided
   is stored like any outcome (a retry gets it again; a corrected command needs a new id); a
   request refused in steps 1–2 or by its codec stores nothing, so its id may be reused.
5. **One table of stable codes** (`ERRORS`): every code an answer can carry — the request's
   and the domain's (`domain.refusals`) — what it means, how it is counted (`kind`, the metrics
   label), the HTTP status the API answers with and the field it names. One code per kind of
   fault, whatever the command.

Runs on the node's database thread (it reads and writes the store through the node).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, Literal

from domain.catalogue import Catalogue, load_catalogue
from domain.catalogue.materials import MaterialsBook, load_materials
from domain.kernel import Command, DomainError
from domain.refusals import REFUSALS, field_of
from domain.values import CaseNumber
from regions.core import authority
from regions.core.admission import admit
from regions.core.config import DEV_REGISTER_KEY, RegionConfig
from regions.core.errors import (
    CommandInProgress,
    IdempotencyConflict,
    InvalidRequest,
    RequestCode,
    StoreRefused,
)
from regions.core.node import RegionNode
from regions.core.outcome import Outcome
from regions.core.sides import BatchedCommand

__all__ = ["ERRORS", "KINDS", "REFUSAL", "REQUEST_ERRORS", "CommandError", "CommandRequest",
           "CommandResult", "CommandService", "ErrorCode", "InvalidRequest", "Kind",
           "RequestCode", "describe"]

log = logging.getLogger("tongban.commands")

#: How a command request ended, as counted (`tongban_commands_total{outcome=...}`).
Kind = Literal["ok", "refused", "conflict", "invalid", "error"]
KINDS: Final[tuple[Kind, ...]] = ("ok", "refused", "conflict", "invalid", "error")


@dataclass(frozen=True)
class ErrorCode:
    """What one stable error code means, how it is counted, which HTTP status carries it and
    which field of the request it names (a path; `command.type` = the command itself)."""

    meaning: str
    kind: Kind
    status: int
    field: str = ""


def _invalid(meaning: str, field: str, status: int = 422) -> ErrorCode:
    return ErrorCode(meaning, "invalid", status, field)


#: The codes of the request, the node's bookkeeping and the values every command shares.
REQUEST_ERRORS: Final[Mapping[str, ErrorCode]] = {
    "malformed_json": _invalid("the request is not JSON", "", 400),
    "invalid_request": _invalid("the request is not a JSON object, or could not be read", "",
                                400),
    "missing_field": _invalid("a required field is missing", "the missing field"),
    "invalid_field": _invalid("a field's value is not one the command takes (type, length, "
                              "characters, list size or nesting)", "the field at fault"),
    "unknown_field": _invalid("a field the request or the command does not have", "the field"),
    "unknown_command_type": _invalid("`command.type` names no command of the domain",
                                     "command.type"),
    "wrong_region": _invalid("the request belongs to another region: a new case opens at the "
                             "region of its case number, and an actor acts for this region",
                             "case_number, command.actor.region", 421),
    "unknown_process": _invalid("this region runs no such process", "process"),
    "unknown_item": _invalid("the catalogue has no such item", "command.item_id"),
    "item_process_mismatch": _invalid("the item is an item of another process than the "
                                      "request's", "command.item_id"),
    "invalid_mode": _invalid("the item is not handled in this mode (the message lists its "
                             "modes)", "command.mode"),
    "handling_level": _invalid("the place named for a proxy application is coarser than the "
                               "item's competent level (办理层级): name the prefecture or county",
                               "command.details.handling_region"),
    "invalid_person_id": _invalid("the applicant's 居民身份证号 is not one (check digit, birth "
                                  "date, place)", "command.applicant_id"),
    "invalid_region": _invalid("not a GB/T 2260 region code that can exist", "the region field"),
    "not_a_peer": _invalid("a counterpart region the details name is not one of this node's "
                           "peers (a code that exists, but no link to it)", "the region field"),
    "invalid_date": _invalid("not an ISO 8601 date (an instant with its offset), or not a "
                             "plausible one (more than 50 years back or a year ahead)",
                             "the date field"),
    "invalid_amount": _invalid("an amount is a whole number of fen from 0 to 10^15 (positive "
                               "where the rule says so)", "the amount field"),
    "unknown_case": ErrorCode("this region holds no case with this case_id", "refused", 404,
                              "case_id"),
    "case_exists": ErrorCode("the case number is already a case of another process here",
                             "refused", 409, "case_number"),
    "idempotency_conflict": ErrorCode("this command_id was used before for another request "
                                      "(another case or another command); use a new id",
                                      "conflict", 422, "command_id"),
    "in_progress": ErrorCode("this command_id's first request is still being decided; retry "
                             "with the same id for its outcome", "conflict", 409, "command_id"),
    "internal_error": ErrorCode("the node could not run the command; retry with the same "
                                "command_id", "error", 500),
    "overloaded": ErrorCode("the node has more requests waiting than it takes; nothing was "
                            "run: retry with the same command_id after a pause", "error", 503),
    "unavailable": ErrorCode("the node is stopping and did not run the command; retry with the "
                             "same command_id (another node of the region takes over)", "error",
                             503),
    **{code: ErrorCode(meaning, "invalid", status, where)  # who may command what: authority.py
       for code, (meaning, status, where) in authority.CODES.items()},
}

#: Every code an answer can carry: the request's, then the domain's refusals (`domain.refusals`,
#: a state refusal 409 naming `command.type`, a value refusal 422 naming its field).
ERRORS: Final[Mapping[str, ErrorCode]] = {
    **REQUEST_ERRORS,
    **{code: ErrorCode(r.meaning, "refused", 409 if r.state else 422, f"command.{r.field}")
       for code, r in sorted(REFUSALS.items()) if code not in REQUEST_ERRORS},
}
#: What a code outside the table reads as (none should occur: a test keeps the table whole).
REFUSAL: Final = ErrorCode("the domain refused the command in the case's current state",
                           "refused", 409, "command.type")


def describe(code: str) -> ErrorCode:
    """The table's entry for `code`."""
    return ERRORS.get(code, REFUSAL)


@dataclass(frozen=True)
class CommandError:
    """The error half of a reply: a stable `code`, a message for people, the field at fault."""

    code: str
    message: str
    field: str = ""


@dataclass(frozen=True)
class CommandRequest:
    """A decoded request; `case_id` is None when the command opens a new case.

    `applicant_id` is the applicant's 居民身份证号 for a command that names a person (`Submit`):
    the service turns it into the person key and the masked form, and it goes no further (it
    is not part of the stored request hash, nor of `repr`).
    """

    command_id: str
    principal: str
    command: Command
    case_id: str | None = None
    case_number: str = ""
    process: str = ""
    applicant_id: str | None = field(default=None, repr=False)

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
#: The answer to a request the endpoint did not take (too many waiting: `regions.runtime.commands`).
OVERLOADED: Final = CommandError(
    "overloaded", "the node has too many requests waiting; nothing was run: retry with the same "
    "command_id after a pause")
#: The answer to a request the endpoint took but a stop kept from running (`regions.runtime.commands`).
UNAVAILABLE: Final = CommandError(
    "unavailable", "the node is stopping; nothing was run: retry with the same command_id")


@dataclass(frozen=True)
class CommandResult:
    """The answer to one request: the node's `outcome` (stored for retries) when it decided,
    and the `error` when the answer is no (with the stored outcome, if the node refused)."""

    outcome: Outcome | None = None
    error: CommandError | None = None

    @classmethod
    def decided(cls, outcome: Outcome) -> CommandResult:
        """The node's outcome: done, or refused by the domain with its code and field."""
        if outcome.ok:
            return cls(outcome)
        code = outcome.error_code or "illegal_command"
        field = outcome.error_field or describe(code).field
        return cls(outcome, CommandError(code, outcome.error, field))

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
    """The use case over one region's node (see the module docstring).

    `register_key` is the region's secret for person keys (`RegionConfig.register_key`); the
    development key by default, which a production node refuses to start with.
    """

    def __init__(self, node: RegionNode, *, register_key: bytes = DEV_REGISTER_KEY.encode(),
                 catalogue: Catalogue | None = None, materials: MaterialsBook | None = None,
                 ) -> None:
        self.node = node
        self.register_key = register_key
        self.catalogue = catalogue
        self.materials = materials

    @classmethod
    def for_config(cls, node: RegionNode, config: RegionConfig) -> CommandService:
        materials = None
        if config.materials is not None:
            materials = load_materials(config.materials, load_catalogue())
        return cls(node, register_key=config.register_key.encode(), materials=materials)

    @property
    def region(self) -> str:
        return self.node.region

    def handle(self, request: CommandRequest, now: dt.datetime) -> CommandResult:
        """Authorise, admit, decide and save (or replay the stored outcome); never raises for a
        refusal — every answer, an internal failure included, is a `CommandResult`."""
        try:
            command = self.admitted(request, now)
            outcome = self.run(request, command, now)
        except Exception as exc:
            return self.refusal(request, exc)
        return CommandResult.decided(outcome)

    def handle_many(self, requests: Sequence[CommandRequest],
                    now: dt.datetime) -> list[CommandResult]:
        """The answers `handle` gives `requests` one after another, their effects saved in as
        few transactions as that allows (group commit: `regions.core.command_batch`)."""
        from regions.core.command_batch import handle_many  # it builds on this module

        return handle_many(self, requests, now)

    def admitted(self, request: CommandRequest, now: dt.datetime) -> Command:
        """Steps 1–2: the request's target, its principal's right to it, and the command as
        admitted; raises `InvalidRequest` or `authority.Forbidden`. Reads nothing stored."""
        self.authorise(request)
        authority.check(request.principal, request.command)
        return admit(request.command, region=self.region, now=now,
                     applicant_id=request.applicant_id, register_key=self.register_key,
                     catalogue=self.catalogue, materials=self.materials, peers=self.node.peers)

    @staticmethod
    def refusal(request: CommandRequest, exc: Exception) -> CommandResult:
        """What `handle` answers when deciding `request` raised `exc` (called in its handler)."""
        if isinstance(exc, InvalidRequest):
            return CommandResult.refusing(exc)
        if isinstance(exc, authority.Forbidden):
            return CommandResult(error=CommandError(exc.code, str(exc), exc.field))
        if isinstance(exc, IdempotencyConflict | CommandInProgress):
            return CommandResult(error=CommandError(exc.code, str(exc), "command_id"))
        if isinstance(exc, DomainError):
            return CommandResult(error=CommandError(exc.code, str(exc),
                                                    f"command.{field_of(exc)}"))
        if isinstance(exc, UnicodeEncodeError) or (
                isinstance(exc, StoreRefused) and isinstance(exc.__cause__, UnicodeEncodeError)):
            # A text no store can hold (a lone surrogate) in a command built past the wire's
            # payload rules (the HTTP API's): hashing or saving it fails, before anything is
            # stored; retrying cannot help, correcting it can.
            return CommandResult(error=CommandError(
                "invalid_field", "a text of the command holds a lone surrogate, which no store "
                "can hold; nothing was stored: correct it", "command"))
        log.exception("command %s of %s failed", request.command_id, request.principal)
        return CommandResult(error=INTERNAL_ERROR)

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

    def run(self, request: CommandRequest, command: Command, now: dt.datetime) -> Outcome:
        """Submit or command (as admitted) through the node; `IdempotencyConflict` or
        `CommandInProgress` for a reused command id."""
        target = self.target(request, command)
        return target if isinstance(target, Outcome) else self.node.run(target, now)

    def target(self, request: CommandRequest, command: Command) -> BatchedCommand | Outcome:
        """What the node decides for `request` (a submit carries its number and process), or
        the `case_exists` answer when its number is a case of another process here."""
        if request.case_id is not None:
            return BatchedCommand(request.case_id, command, request.command_id,
                                  request.principal)
        case_id = request.target_case_id
        existing = self.node.side(case_id)
        if existing is not None and existing.process != request.process:
            return Outcome(False, case_id, error_code="case_exists",
                           error=f"case {request.case_number} is a {existing.process} case",
                           error_field="case_number")
        return BatchedCommand(case_id, command, request.command_id, request.principal,
                              request.case_number, request.process)
