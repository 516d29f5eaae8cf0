"""Fetching a counterpart's document: chunk by chunk over NATS, then checked against the record.

Why the fetcher checks and not the owner: the fetcher's trust comes from its *own* recorded
event — the `MaterialRef` a counterpart sent it, with `sha256` and `size` — not from what the
owner says now. So every claim of a reply is compared with that reference: the announced size
before anything accumulates (a reply promising more than the reference is refused at once, so a
wrong or hostile owner cannot make us buffer without bound), each chunk's offset, and the
SHA-256 of the whole before the bytes are handed out. Bytes that fail are never returned.

The fetcher's NATS connection must use its own inbox prefix (`connect_fetcher`): the owner
replies only under an inbox prefix of the requesting region, `_INBOX_<requester>_<backend>.…`
for a back-end (see `regions.wire.documents`), and under the shipped `nats.conf` a back-end may
subscribe only to its own.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from typing import Final, Protocol

import nats.errors
from nats.aio.client import Client as NatsClient

from domain.values import MaterialRef
from regions.adapters.brokers.nats_connect import ConnectionLog, open_connection
from regions.core.documents import DocError, DocRequest, retry_after
from regions.wire import subjects
from regions.wire.documents import decode_reply, encode_request, inbox_prefix

DEFAULT_TIMEOUT: Final = 5.0
#: How many `too_many_requests` refusals one fetch waits out, and the longest wait it accepts
#: (an owner asking for more is refusing, for now; the caller decides when to try again).
THROTTLE_WAITS: Final = 5
MAX_THROTTLE_WAIT: Final = 30.0
log = logging.getLogger("tongban.materials")


class Reply(Protocol):
    data: bytes


class Requester(Protocol):
    """What fetching needs of a NATS connection (nats-py's `Client` is one)."""

    async def request(self, subject: str, payload: bytes = ..., timeout: float = ...
                      ) -> Reply: ...


class MaterialMismatch(Exception):
    """The owner's bytes are not the document the case recorded; `code` says how."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class OwnerUnavailable(Exception):
    """No endpoint of the owning region answered (down, or not serving documents)."""


async def connect_fetcher(url: str, region: str, backend: str | None = None,
                          **options: object) -> NatsClient:
    """A NATS connection whose replies arrive under back-end `backend`'s own inbox prefix
    (`_INBOX_<region>_<backend>`; the node's, `_INBOX_<region>`, without a back-end)."""
    name = f"tongban-fetch-{region}" + (f"-{backend}" if backend else "")
    return await open_connection(url, name=name, inbox_prefix=inbox_prefix(region, backend),
                                 log=ConnectionLog(log, name), **options)


async def fetch_material(nc: Requester, *, owner: str, requester: str, case_id: str,
                         ref: MaterialRef, timeout: float = DEFAULT_TIMEOUT) -> bytes:
    """The document's bytes from `owner`, verified against `ref`.

    A `too_many_requests` refusal (the owner's budget for this requester is spent) is waited
    out for the time it states, then asked again: up to `THROTTLE_WAITS` times, each wait at
    most `MAX_THROTTLE_WAIT` seconds. Raises `DocError` when the owner refuses (its `code`:
    forbidden, not_found, too_many_requests past those bounds...), `MaterialMismatch` when the
    bytes are not the recorded ones, `OwnerUnavailable` when nobody answers.
    """
    subject = subjects.materials_subject(owner)
    data = bytearray()
    waits = 0
    while True:
        request = encode_request(DocRequest(requester, case_id, ref.doc_id, len(data)))
        try:
            msg = await nc.request(subject, request, timeout=timeout)
        except (nats.errors.NoRespondersError, nats.errors.TimeoutError) as exc:
            raise OwnerUnavailable(f"region {owner} did not answer for {ref.doc_id}: "
                                   f"{exc!r}") from None
        try:
            chunk = decode_reply(msg.data)
        except DocError as exc:
            wait = retry_after(exc)
            if wait is None or waits >= THROTTLE_WAITS or wait > MAX_THROTTLE_WAIT:
                raise
            waits += 1
            log.info("region %s throttled %s's fetch of %s; asking again in %.1f s",
                     owner, requester, ref.doc_id, wait)
            await asyncio.sleep(wait)
            continue
        if chunk.size != ref.size:
            raise MaterialMismatch("size_mismatch", f"region {owner} holds {chunk.size} bytes "
                                   f"for {ref.doc_id}; the case recorded {ref.size}")
        if chunk.offset != len(data):
            raise MaterialMismatch("offset_mismatch", f"asked for offset {len(data)}, got "
                                   f"{chunk.offset}")
        if not chunk.data and len(data) < ref.size:
            raise MaterialMismatch("size_mismatch", f"region {owner} sent nothing at offset "
                                   f"{len(data)} of {ref.size}")
        data += chunk.data
        if len(data) > ref.size:
            raise MaterialMismatch("size_mismatch", f"region {owner} sent more than the "
                                   f"{ref.size} bytes the case recorded")
        if len(data) == ref.size:
            break
    digest = hashlib.sha256(data).hexdigest()
    if digest != ref.sha256:
        raise MaterialMismatch("hash_mismatch", f"the bytes of {ref.doc_id} from region {owner} "
                               f"hash to {digest}, the case recorded {ref.sha256}")
    return bytes(data)
