"""The document endpoint: a node serves its blobs to counterparts on `tb.v1.doc.<region>`.

How it fits the node (as `regions.backend` does for commands): a driver service with a NATS
connection of its own, subscribed in a queue group so API processes of the region can share
the load. Authorisation reads the case on the node's one database thread (`driver.db`); the
blob bytes are read on a worker thread, never on the event loop and never on the database
thread, so a large download cannot delay the inbox. A grant is remembered (bounded): the
events that justify it are append-only, so it can never be withdrawn, and a document fetched
in twenty chunks is authorised once. The owner does not re-hash what it serves — the fetcher
checks the bytes against its own recorded `sha256` (`regions.materials.fetch`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from typing import Final

import nats.errors
from nats.aio.msg import Msg

from domain.values import MaterialRef
from regions.backend import _connect
from regions.broker import subjects
from regions.driver import NodeDriver
from regions.materials.authority import authorise
from regions.materials.blobs import BlobNotFound, BlobStore
from regions.materials.wire import (
    DocChunk,
    DocError,
    DocRequest,
    check_reply_subject,
    chunk_size,
    decode_request,
    encode_chunk,
    encode_error,
)

log = logging.getLogger("tongban.materials")

GRANT_CACHE: Final = 1024


def queue_group(region: str) -> str:
    return f"tb_doc_{subjects.region_code(region)}"


class DocumentEndpoint:
    """Request bytes (and reply subject) in, reply bytes out, for one driven node."""

    def __init__(self, driver: NodeDriver, blobs: BlobStore, *, max_chunk: int) -> None:
        self.driver = driver
        self.blobs = blobs
        self.max_chunk = max_chunk
        self._grants: OrderedDict[tuple[str, str, str], MaterialRef] = OrderedDict()

    async def handle(self, data: bytes, reply: str) -> bytes:
        try:
            request = decode_request(data)
            check_reply_subject(reply, request.requester)
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
    nc = await _connect(url or driver.region.config.nats_url, driver, f"tongban-doc-{code}")
    if nc is None:
        return
    endpoint = DocumentEndpoint(driver, blobs, max_chunk=chunk_size(nc.max_payload))

    async def on_request(msg: Msg) -> None:
        if not msg.reply:
            log.info("a document request without a reply subject was ignored")
            return
        reply = await endpoint.handle(msg.data, msg.reply)
        try:
            await msg.respond(reply)
        except (nats.errors.Error, OSError) as exc:  # the fetcher asks again
            log.warning("reply to %s lost: %r", msg.reply, exc)

    try:
        await nc.subscribe(subjects.materials_subject(code), queue=queue_group(code),
                           cb=on_request)
        await nc.flush()
        log.info("document endpoint of %s serving %s", code, subjects.materials_subject(code))
        if ready is not None:
            ready.set()
        await driver.stopped.wait()
    finally:
        with contextlib.suppress(nats.errors.Error, OSError, TimeoutError):
            await nc.drain()
        if not nc.is_closed:
            await nc.close()
