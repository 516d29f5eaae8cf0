"""A small Python client for region back-ends: commands to a node's endpoint over NATS.

    async with RegionClient("nats://backend_150600_pension:…@127.0.0.1:4222", "150600",
                            "pension") as client:
        outcome = await client.submit(case_number, "pension_transfer", submit_command,
                                      applicant_id="110101196504157795",
                                      command_id="intake-42")
        await client.command(outcome.case_id, AcceptIntake(actor=staff), command_id="accept-42")

Who is speaking: the back-end's name. Commands go to `tb.v1.cmd.<region>.<backend>`, which
only that back-end's NATS user may publish on, and the node takes the principal
(`backend:<name>`, the key of its idempotency records) from the subject — a request body
carries none. Replies come under the back-end's own prefix `_INBOX_<region>_<backend>`.

Why it is this thin: the contract is the JSON of `regions.wire.commands`, the same one any other
language speaks; the client only encodes, sends and reads the reply. A refusal (bad input, a
domain rule, a reused command id) raises `CommandRejected` with the endpoint's code and field.
A timeout raises `RegionUnavailable` and is always safe to retry with the *same* `command_id`:
the node stores each command's outcome, so a retry never acts twice. An application names its
applicant by the ID number (`applicant_id`); the node derives the person key and the masked form
(leave `person_key` and `applicant_masked` of the `Submit` empty: they are not sent).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from types import TracebackType
from typing import Final

import nats.errors
from nats.aio.client import Client as NatsClient

from domain.kernel import Command, DomainError
from regions.adapters.brokers.nats_connect import ConnectionLog, open_connection
from regions.core.outcome import Outcome
from regions.wire import subjects
from regions.wire.commands import decode_reply, encode_request

DEFAULT_TIMEOUT: Final = 10.0
log = logging.getLogger("tongban.client")


class CommandRejected(DomainError):
    """The endpoint refused the command: `code` is stable, `field` names the culprit (or "")."""

    def __init__(self, code: str, message: str, field: str = "",
                 outcome: Outcome | None = None) -> None:
        super().__init__(message, code=code)
        self.field = field
        self.outcome = outcome

    def __repr__(self) -> str:
        return f"CommandRejected({self.code!r}, {str(self)!r}, field={self.field!r})"


class RegionUnavailable(Exception):
    """No endpoint answered in time (none serving, or the request or its reply was lost)."""


class RegionClient:
    """Commands of back-end `backend` to its region's endpoint. Not thread-safe: use it from one
    event loop."""

    def __init__(self, url: str, region: str, backend: str, *, timeout: float = DEFAULT_TIMEOUT,
                 name: str | None = None) -> None:
        self.url = url
        self.region = subjects.region_code(region)
        self.backend = subjects.backend_name(backend)
        self.subject = subjects.command_subject(region, backend)
        self.timeout = timeout
        self.name = name or f"tongban-client-{self.region}-{self.backend}"
        self._nc: NatsClient | None = None

    async def connect(self) -> RegionClient:
        if self._nc is None:
            try:
                self._nc = await asyncio.wait_for(open_connection(
                    self.url, name=self.name, log=ConnectionLog(log, self.name),
                    inbox_prefix=subjects.inbox_prefix(self.region, self.backend)),
                    self.timeout)
            except (nats.errors.Error, OSError, TimeoutError) as exc:
                raise RegionUnavailable(f"cannot connect to NATS at {self.url}: {exc!r}") \
                    from exc
        return self

    async def close(self) -> None:
        if self._nc is not None:
            nc, self._nc = self._nc, None
            with contextlib.suppress(nats.errors.Error, OSError):
                await nc.drain()

    async def __aenter__(self) -> RegionClient:
        return await self.connect()

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.close()

    async def submit(self, case_number: str, process: str, command: Command, *,
                     command_id: str, applicant_id: str | None = None) -> Outcome:
        """Open this region's side of a new case (its number must be this region's); a
        `Submit` names its applicant by `applicant_id`, the 居民身份证号."""
        return await self._send(encode_request(
            command, command_id=command_id, case_number=case_number, process=process,
            applicant_id=applicant_id))

    async def command(self, case_id: str, command: Command, *, command_id: str) -> Outcome:
        """A command to this region's side of an existing case."""
        return await self._send(encode_request(command, command_id=command_id, case_id=case_id))

    async def request(self, data: bytes) -> bytes:
        """Send raw request bytes and return the raw reply (for other encoders and probes)."""
        if self._nc is None:
            await self.connect()
        assert self._nc is not None
        try:
            msg = await self._nc.request(self.subject, data, timeout=self.timeout)
        except nats.errors.NoRespondersError as exc:
            raise RegionUnavailable(f"no command endpoint serves region {self.region}") from exc
        except (nats.errors.TimeoutError, TimeoutError) as exc:
            refused = self._refused()
            if refused:
                raise RegionUnavailable(f"NATS refused to carry the command: {refused} (is "
                                        f"this back-end {self.backend}'s NATS user?)") from exc
            raise RegionUnavailable(f"region {self.region} did not answer within "
                                    f"{self.timeout} s; retry with the same command_id") from exc
        except (nats.errors.Error, OSError) as exc:
            raise RegionUnavailable(f"request to region {self.region} failed: {exc!r}") from exc
        return msg.data

    def _refused(self) -> str:
        """The server's permissions violation for our subject, if it reported one."""
        error = str(self._nc.last_error) if self._nc is not None else ""
        return error if "permissions violation" in error.lower() and self.subject in error \
            else ""

    async def _send(self, data: bytes) -> Outcome:
        reply = decode_reply(await self.request(data))
        if reply.ok and reply.outcome is not None:
            return reply.outcome
        assert reply.error is not None
        raise CommandRejected(reply.error.code, reply.error.message, reply.error.field,
                              reply.outcome)
