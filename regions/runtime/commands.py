"""The command endpoint: region back-ends (any language) send commands over NATS request/reply.

Why NATS request/reply on `tb.v1.cmd.<region>.<backend>`: a region's social-insurance, police
or bank system already reaches the node's NATS; one JSON request per command
(`regions.wire.commands`) needs no SDK, and the subject names the sender: only back-end
`<backend>`'s NATS user may publish on it (`deploy/nats/nats.conf`), so the endpoint takes the
command's principal, `backend:<backend>`, from the subject and never from the body. What that
principal may command is `regions.core.authority`'s rule, applied by the command service.

A request whose reply subject is not under the sending back-end's own prefix
(`_INBOX_<region>_<backend>.`) is neither executed nor answered: the back-end could not read
the answer anyway, and the node must not publish it wherever the request pointed.

How it fits the node:
- It is a driver service (`NodeDriver.services`) on the shared request/reply loop
  (`regions.runtime.endpoints.serve_requests`: its own NATS connection, a queue group, lossy
  replies, a draining stop).
- What a command *means* — the target region, submit or command, idempotency, the error codes —
  is the command service's (`regions.core.commands`), run on the node's one database thread
  (`driver.db(...)`), so a command is decided and saved exactly like one from the API, the
  inbox or the timer, with its idempotency record in the same transaction. This adapter only
  decodes, calls the service and encodes.
- Bad input never crashes it and never touches the store: what does not decode is answered
  with the field at fault; a domain refusal is answered with its code and the stored outcome.
"""

from __future__ import annotations

import asyncio
import logging

from regions.core.authority import backend_principal
from regions.core.case_query import case_state
from regions.core.commands import (
    CommandError,
    CommandRequest,
    CommandResult,
    CommandService,
    InvalidRequest,
)
from regions.runtime.driver import NodeDriver
from regions.runtime.endpoints import Request, serve_requests
from regions.wire import case_query, subjects
from regions.wire.commands import decode_request, encode_reply

log = logging.getLogger("tongban.backend")


def queue_group(region: str) -> str:
    """The queue group of a region's endpoints: each request is served by one of them."""
    return f"tb_cmd_{subjects.region_code(region)}"


class CommandEndpoint:
    """Request bytes in, reply bytes out, for one driven node: decode, run the command service
    on the node's database thread, encode. Knows nothing of NATS."""

    def __init__(self, driver: NodeDriver) -> None:
        self.driver = driver
        self.service = CommandService.for_config(driver.region.node, driver.region.config)

    async def handle(self, data: bytes, principal: str) -> bytes:
        """The reply to `data`, a request from `principal` (the transport vouches for it): a
        case query's answer (`regions.wire.case_query`), or a command's."""
        try:
            case_id = case_query.query_of(data)
        except InvalidRequest as exc:
            return case_query.encode_refusal(CommandError(exc.code, str(exc), exc.field))
        if case_id is not None:
            return await self.query(case_id)
        try:
            request = decode_request(data, principal)
        except InvalidRequest as exc:
            result = CommandResult.refusing(exc)
        except Exception as exc:  # a decoder bug must not cost the requester its answer
            log.exception("undecodable command request")
            result = CommandResult(error=CommandError("invalid_request", f"unreadable: {exc!r}"))
        else:
            result = await self.driver.db(self._handle, request)
        self.driver.count_command(result.kind)
        return encode_reply(result)

    async def query(self, case_id: str) -> bytes:
        """The case's state as this region committed it, read on the database thread."""
        state = await self.driver.db(case_state, self.driver.region.node, case_id)
        if state is None:
            return case_query.encode_refusal(CommandError(
                "unknown_case", f"region {self.driver.region.code} holds no case {case_id}",
                "case_id"))
        return case_query.encode_state(state)

    def _handle(self, request: CommandRequest) -> CommandResult:
        """On the database thread, at the node's clock."""
        return self.service.handle(request, self.driver.now())


async def serve_commands(driver: NodeDriver, *, url: str | None = None,
                         ready: asyncio.Event | None = None) -> None:
    """The driver service: answer `tb.v1.cmd.<region>.*` until the driver stops.

    `url` defaults to the node's `nats_url`; `ready` is set once the subscription is live.
    """
    code = driver.region.code
    endpoint = CommandEndpoint(driver)

    async def handle(request: Request) -> bytes | None:
        try:
            address = subjects.parse_subject(request.subject)
        except ValueError:
            address = None
        if address is None or address.kind != "cmd" or address.backend is None \
                or address.region != code:
            log.warning("command endpoint of %s: ignored a request on %r", code, request.subject)
            driver.count_command("invalid")
            return None
        backend = address.backend
        if request.reply and subjects.inbox_owner(request.reply) != (code, backend):
            log.warning("command endpoint of %s: back-end %s asked for the answer on %r, not "
                        "under its own %s.; not executed", code, backend, request.reply,
                        subjects.inbox_prefix(code, backend))
            driver.count_command("invalid")
            return None
        answer = await endpoint.handle(request.data, backend_principal(backend))
        if not request.reply:
            log.info("a command of back-end %s without a reply subject was executed; it "
                     "cannot learn the outcome", backend)
        return answer

    await serve_requests(driver, name="command endpoint", client="cmd",
                         subject=subjects.command_filter(code), queue=queue_group(code),
                         handler_for=lambda nc: handle, url=url, ready=ready)
