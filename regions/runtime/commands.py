"""The command endpoint: region back-ends (any language) send commands over NATS request/reply.

Why NATS request/reply on `tb.v1.cmd.<region>`: a region's social-insurance, police or bank
system already reaches the node's NATS; one JSON request per command (`regions.wire.commands`)
needs no SDK, and the subject grammar lets one permission per region say who may command it.

How it fits the node:
- It is a driver service (`NodeDriver.services`) on the shared request/reply loop
  (`regions.runtime.endpoints.serve_requests`: its own NATS connection, a queue group, lossy
  replies, a draining stop).
- Every store touch goes through `driver.db(...)`, the node's one database thread, so a command
  is decided and saved exactly like one from the API, the inbox or the timer, with its
  idempotency record in the same transaction (`RegionNode.command/submit`).
- Bad input never crashes it and never touches the store: what does not decode is answered
  with the field at fault; a domain refusal is answered with its code and the stored outcome.
"""

from __future__ import annotations

import asyncio
import logging

from domain.kernel import DomainError
from domain.values import CaseNumber
from regions.core.errors import CommandInProgress, IdempotencyConflict
from regions.core.outcome import Outcome
from regions.runtime.driver import NodeDriver
from regions.runtime.endpoints import serve_requests
from regions.wire import subjects
from regions.wire.commands import (
    CommandDecodeError,
    CommandError,
    CommandRequest,
    decode_request,
    encode_error_reply,
    encode_outcome_reply,
)

log = logging.getLogger("tongban.backend")


def queue_group(region: str) -> str:
    """The queue group of a region's endpoints: each request is served by one of them."""
    return f"tb_cmd_{subjects.region_code(region)}"


class CommandEndpoint:
    """Turns request bytes into reply bytes for one driven node; knows nothing of NATS."""

    def __init__(self, driver: NodeDriver) -> None:
        self.driver = driver

    @property
    def code(self) -> str:
        return self.driver.region.code

    async def handle(self, data: bytes) -> bytes:
        try:
            request = decode_request(data)
            self._check_target(request)
        except CommandDecodeError as exc:
            self.driver.count_command("invalid")
            return encode_error_reply(CommandError(exc.code, str(exc), exc.field))
        except Exception as exc:  # a decoder bug must not cost the requester its answer
            log.exception("undecodable command request")
            self.driver.count_command("invalid")
            return encode_error_reply(CommandError("invalid_request", f"unreadable: {exc!r}"))
        try:
            outcome = await self.driver.db(self._execute, request)
        except (IdempotencyConflict, CommandInProgress) as exc:
            self.driver.count_command("conflict")
            return encode_error_reply(CommandError(exc.code, str(exc), "command_id"))
        except DomainError as exc:
            self.driver.count_command("refused")
            return encode_error_reply(CommandError(exc.code, str(exc)))
        except Exception:
            log.exception("command %s of %s failed", request.command_id, request.principal)
            self.driver.count_command("error")
            return encode_error_reply(CommandError(
                "internal_error", "the node could not execute the command; retry with the "
                "same command_id"))
        self.driver.count_command("ok" if outcome.ok else "refused")
        return encode_outcome_reply(outcome)

    def _check_target(self, request: CommandRequest) -> None:
        """A new case opens at the region of its number, under a process this node runs."""
        if not request.opens_case:
            return
        region = str(CaseNumber.parse(request.case_number).region)
        if region != self.code:
            raise CommandDecodeError(
                f"case {request.case_number} belongs to region {region}; this is {self.code}",
                code="wrong_region", field="case_number")
        if request.process not in self.driver.region.node.protocols:
            raise CommandDecodeError(f"region {self.code} runs no process {request.process!r}",
                                     code="unknown_process", field="process")

    def _execute(self, request: CommandRequest) -> Outcome:
        """On the database thread: decide and save, or replay the stored outcome."""
        node, now = self.driver.region.node, self.driver.now()
        keys = {"command_id": request.command_id, "principal": request.principal}
        if request.case_id is not None:
            return node.command(request.case_id, request.command, now, **keys)
        case_id = request.target_case_id
        existing = node.side(case_id)
        if existing is not None and existing.process != request.process:
            return Outcome(False, case_id, error_code="case_exists",
                           error=f"case {request.case_number} is a {existing.process} case")
        return node.submit(case_id, request.case_number, request.process, request.command, now,
                           **keys)


async def serve_commands(driver: NodeDriver, *, url: str | None = None,
                         ready: asyncio.Event | None = None) -> None:
    """The driver service: answer `tb.v1.cmd.<region>` until the driver stops.

    `url` defaults to the node's `nats_url`; `ready` is set once the subscription is live.
    """
    code = driver.region.code
    endpoint = CommandEndpoint(driver)

    async def handle(data: bytes, reply: str) -> bytes:
        answer = await endpoint.handle(data)
        if not reply:
            log.info("a command without a reply subject was executed; its sender cannot learn "
                     "the outcome")
        return answer

    await serve_requests(driver, name="command endpoint", client="cmd",
                         subject=subjects.command_subject(code), queue=queue_group(code),
                         handler_for=lambda nc: handle, url=url, ready=ready)
