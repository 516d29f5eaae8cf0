"""The document endpoint: a node serves its blobs to counterparts on `tb.v1.doc.<region>`.

How it fits the node (as `regions.runtime.commands` does for commands): a driver service on
the shared request/reply loop (`regions.runtime.endpoints.serve_requests`), so API processes of
the region can share the load. Authorisation reads the case on the node's one database thread (`driver.db`); the
blob bytes are read on a worker thread, never on the event loop and never on the database
thread, so a large download cannot delay the inbox. A grant is remembered (bounded): the
events that justify it are append-only, so it can never be withdrawn, and a document fetched
in twenty chunks is authorised once. The owner does not re-hash what it serves — the fetcher
checks the bytes against its own recorded `sha256` (`regions.sdk.documents`).

Every authorisation that is not remembered — a new document, and every refusal, which cannot be
remembered since the case may reach the requester later — costs the database thread a read, so
each requesting region has a budget of them (`REQUEST_BURST` at once, `REQUESTS_PER_SECOND`
after: `regions.core.request_budget`); past it the request is refused as `too_many_requests`
without touching the store, and counted (`tongban_document_requests_throttled_total`). The
budget is the *named* requester's (requests are not signed yet, see `regions.core.documents`): a
region naming another spends that one's budget, but gets none of its replies and cannot make
the node read more than the budget allows.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Final

from nats.aio.client import Client as NatsClient

from domain.values import MaterialRef
from regions.adapters.blobs.base import BlobNotFound, BlobStore
from regions.core.documents import DocError, DocRequest, authorise, throttled
from regions.core.request_budget import RequestBudget
from regions.runtime.driver import NodeDriver
from regions.runtime.endpoints import Handler, Request, serve_requests
from regions.wire import subjects
from regions.wire.documents import (
    DocChunk,
    check_reply_subject,
    chunk_size,
    decode_request,
    encode_chunk,
    encode_error,
)

log = logging.getLogger("tongban.materials")

GRANT_CACHE: Final = 1024
#: Authorisations (reads of a case) one requesting region may cost at once, and per second after.
REQUEST_BURST: Final = 50
REQUESTS_PER_SECOND: Final = 10.0
#: The driver's counter of requests refused for the budget (`/metrics`).
THROTTLED: Final = "document_requests_throttled"


def queue_group(region: str) -> str:
    return f"tb_doc_{subjects.region_code(region)}"


class DocumentEndpoint:
    """Request bytes (and reply subject) in, reply bytes out, for one driven node."""

    def __init__(self, driver: NodeDriver, blobs: BlobStore, *, max_chunk: int,
                 budget: RequestBudget | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.driver = driver
        self.blobs = blobs
        self.max_chunk = max_chunk
        self.budget = budget or RequestBudget(rate=REQUESTS_PER_SECOND, burst=REQUEST_BURST)
        self.clock = clock
        self._grants: OrderedDict[tuple[str, str, str], MaterialRef] = OrderedDict()

    async def handle(self, data: bytes, reply: str) -> bytes | None:
        """The reply; None (answer nothing) when the reply subject is not the requester's: the
        answer must not go where a request merely pointed."""
        try:
            request = decode_request(data)
        except DocError as exc:
            return encode_error(exc) if subjects.inbox_owner(reply) is not None else None
        try:
            check_reply_subject(reply, request.requester)
        except DocError as exc:
            log.warning("document request ignored: %s", exc)
            return None
        try:
            ref = await self._grant(request)
            return encode_chunk(await asyncio.to_thread(self._chunk, ref, request.offset))
        except DocError as exc:
            return encode_error(exc)
        except Exception:
            log.exception("document request failed")
            return encode_error(DocError("internal_error", "the node could not serve the "
                                         "document; retry later"))

    async def _grant(self, request: DocRequest) -> MaterialRef:
        key = (request.requester, request.case_id, request.doc_id)
        ref = self._grants.get(key)
        if ref is None:
            wait = self.budget.take(request.requester, self.clock())
            if wait:
                self.driver.counters[THROTTLED] += 1
                raise throttled(request.requester, self.budget.burst, self.budget.rate, wait)
            ref = await self.driver.db(authorise, self.driver.region.node, request)
            self._grants[key] = ref
            if len(self._grants) > GRANT_CACHE:
                self._grants.popitem(last=False)
        return ref

    def _chunk(self, ref: MaterialRef, offset: int) -> DocChunk:
        try:
            size = self.blobs.size(ref.sha256)
            if offset > size:
                raise DocError("offset_out_of_range", f"offset {offset} is past the end of the "
                               f"document ({size} bytes)", "offset")
            data = self.blobs.read(ref.sha256, offset, self.max_chunk)
        except BlobNotFound:
            log.error("case refers to %s (sha256 %s) but the blob store lacks it", ref.doc_id,
                      ref.sha256)
            raise DocError("blob_missing", f"region {self.driver.region.code} has lost the bytes "
                           f"of {ref.doc_id}; its operator must restore them", "doc_id") from None
        return DocChunk(ref.doc_id, ref.sha256, ref.media_type, size, offset, data)


async def serve_materials(driver: NodeDriver, *, blobs: BlobStore, url: str | None = None,
                          ready: asyncio.Event | None = None) -> None:
    """The driver service: answer `tb.v1.doc.<region>` until the driver stops."""
    code = driver.region.code

    budget = RequestBudget(rate=REQUESTS_PER_SECOND, burst=REQUEST_BURST)  # across reconnects

    def handler_for(nc: NatsClient) -> Handler:
        endpoint = DocumentEndpoint(driver, blobs, max_chunk=chunk_size(nc.max_payload),
                                    budget=budget)

        async def handle(request: Request) -> bytes | None:
            if not request.reply:
                log.info("a document request without a reply subject was ignored")
                return None
            return await endpoint.handle(request.data, request.reply)

        return handle

    await serve_requests(driver, name="document endpoint", client="doc",
                         subject=subjects.materials_subject(code), queue=queue_group(code),
                         handler_for=handler_for, url=url, ready=ready)
