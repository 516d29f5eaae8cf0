"""Who may fetch a document, how the owner serves it in chunks, and how the fetcher checks it.

The owner is a real region (memory store) holding a proxy application (异地代收: received at
鄂尔多斯 150600, handled by 榆林 610800) with a scanned ID card; the endpoint is the real
`DocumentEndpoint` on the real driver's database thread. Only NATS is replaced, by a loopback
that hands each request to the endpoint with a reply subject under the requester's inbox
(tests/integration/test_materials_fetch.py runs the same over a real nats-server).
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import nats.errors
import pytest

from domain.kernel import Actor
from domain.protocols.application_events import VerifyAndForward
from domain.protocols.details import ApplicationDetails
from domain.protocols.intake import Submit
from domain.values import CaseNumber, MaterialRef, RegionCode
from regions.adapters.blobs.base import MemoryBlobStore
from regions.adapters.brokers.memory import MemoryBroker
from regions.adapters.stores.memory import MemoryStore
from regions.core.config import RegionConfig
from regions.core.documents import DocError, DocRequest, authorise
from regions.core.request_budget import RequestBudget
from regions.runtime import documents as documents_endpoint
from regions.runtime.bootstrap import Region, build_region
from regions.runtime.documents import DocumentEndpoint
from regions.runtime.driver import NodeDriver
from regions.sdk.documents import MaterialMismatch, OwnerUnavailable, fetch_material
from regions.wire.documents import DocChunk, chunk_size, encode_chunk, encode_request, inbox_prefix
from simulations.workload import draw_applicant

OWNER, HANDLER, STRANGER = "150600", "610800", "152900"
SCAN = b"%PDF-1.7\n" + random.Random(7).randbytes(10_000)


def wall() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class Owner:
    region: Region
    blobs: MemoryBlobStore
    case_id: str
    ref: MaterialRef


def proxy_case(*, forwarded: bool = True) -> Owner:
    region = build_region(RegionConfig(region=OWNER, peers=(OWNER, HANDLER)), clock=wall,
                          ids=uuid.uuid4, broker=None, store=MemoryStore())
    blobs = MemoryBlobStore()
    ref = blobs.put(SCAN, "application/pdf", "居民身份证", kind="居民身份证")
    person = draw_applicant(random.Random(3))
    number = CaseNumber.new(RegionCode(OWNER), wall().date(), uuid.uuid4())
    case_id = str(number.case_id)
    applicant = Actor("applicant", person.citizen.masked, OWNER)
    node = region.node
    assert node.submit(case_id, str(number), "certification", Submit(
        actor=applicant, case_number=str(number), item_id="certification", process="certification",
        mode="proxy", person_key=person.person_key, applicant_masked=person.citizen.masked,
        channel="window", materials=(ref,), details=ApplicationDetails(HANDLER)), wall()).ok
    if forwarded:
        assert node.command(case_id, VerifyAndForward(
            actor=Actor("staff", "0451", OWNER, "窗口", "W3"), identity_verified=True),
            wall()).ok
    return Owner(region, blobs, case_id, ref)


def refused(request: DocRequest, owner: Owner) -> DocError:
    with pytest.raises(DocError) as caught:
        authorise(owner.region.node, request)
    return caught.value


# --------------------------------------------------------------------------- authorisation


def test_a_counterpart_of_the_case_gets_the_reference_the_owner_recorded() -> None:
    owner = proxy_case()
    assert authorise(owner.region.node, DocRequest(HANDLER, owner.case_id, owner.ref.doc_id)) \
        == owner.ref


def test_a_region_not_party_to_the_case_is_refused_like_one_asking_about_an_unknown_case(
        ) -> None:
    owner = proxy_case()
    stranger = refused(DocRequest(STRANGER, owner.case_id, owner.ref.doc_id), owner)
    unknown = refused(DocRequest(HANDLER, str(uuid.uuid4()), owner.ref.doc_id), owner)
    assert stranger.code == unknown.code == "forbidden"
    assert owner.ref.doc_id not in str(stranger)  # nothing about the case's documents leaks


def test_a_party_asking_for_a_document_the_case_does_not_name_gets_not_found() -> None:
    owner = proxy_case()
    other = owner.blobs.put(SCAN + b"!", "application/pdf", "户口簿")  # stored, but not named
    error = refused(DocRequest(HANDLER, owner.case_id, other.doc_id), owner)
    assert (error.code, error.field) == ("not_found", "doc_id")


def test_the_owner_does_not_serve_itself() -> None:
    owner = proxy_case()
    assert refused(DocRequest(OWNER, owner.case_id, owner.ref.doc_id), owner).code \
        == "wrong_region"


# --------------------------------------------------------------------------- serving


@dataclass
class Loopback:
    """Stands in for NATS only: each request goes to the endpoint with a reply subject."""

    endpoint: DocumentEndpoint
    reply_prefix: str
    requests: list[DocRequest] = field(default_factory=list)
    tamper: Callable[[bytes], bytes] = lambda raw: raw

    @dataclass
    class Msg:
        data: bytes

    async def request(self, subject: str, payload: bytes = b"", timeout: float = 1.0
                      ) -> Loopback.Msg:
        body = json.loads(payload)
        self.requests.append(DocRequest(**body))
        raw = await self.endpoint.handle(payload, f"{self.reply_prefix}.abc.{len(self.requests)}")
        if raw is None:  # NATS: nobody answers
            raise nats.errors.TimeoutError
        return Loopback.Msg(self.tamper(raw))


def serve(owner: Owner, scenario: Callable[[DocumentEndpoint], Awaitable[None]], *,
          max_chunk: int = 4096) -> None:
    async def main() -> None:
        driver = NodeDriver(owner.region, MemoryBroker(wall).connect())
        try:
            await scenario(DocumentEndpoint(driver, owner.blobs, max_chunk=max_chunk))
        finally:
            driver._db.shutdown(wait=True)
    asyncio.run(main())


def test_a_large_document_travels_in_chunks_and_arrives_verified() -> None:
    owner = proxy_case()

    async def scenario(endpoint: DocumentEndpoint) -> None:
        nc = Loopback(endpoint, inbox_prefix(HANDLER))
        data = await fetch_material(nc, owner=OWNER, requester=HANDLER, case_id=owner.case_id,
                                    ref=owner.ref)
        assert data == SCAN
        assert [r.offset for r in nc.requests] == list(range(0, len(SCAN), 4096))
    serve(owner, scenario)


def test_a_request_whose_reply_is_not_the_requesters_inbox_is_neither_served_nor_answered(
) -> None:
    owner = proxy_case()

    async def scenario(endpoint: DocumentEndpoint) -> None:
        # A stranger naming the handler as requester but listening on its own inbox, then
        # pointing the answer at a stream subject and at the shared namespace.
        for prefix in (inbox_prefix(STRANGER), f"tb.v1.evt.{HANDLER}.{OWNER}", "_INBOX"):
            nc = Loopback(endpoint, prefix)
            with pytest.raises(OwnerUnavailable):
                await fetch_material(nc, owner=OWNER, requester=HANDLER,
                                     case_id=owner.case_id, ref=owner.ref)
        # The handler's back-ends reply under their own prefixes, and are served.
        nc = Loopback(endpoint, inbox_prefix(HANDLER, "officer"))
        assert await fetch_material(nc, owner=OWNER, requester=HANDLER, case_id=owner.case_id,
                                    ref=owner.ref) == SCAN
    serve(owner, scenario)


@pytest.mark.parametrize(("body", "code", "where"), [
    (b"{not json", "malformed_json", ""),
    (b"[]", "invalid_request", ""),
    (json.dumps({"requester": HANDLER, "doc_id": "d"}).encode(), "missing_field", "case_id"),
    (json.dumps({"requester": "61080", "case_id": str(uuid.uuid4()), "doc_id": "d"}).encode(),
     "invalid_field", "requester"),
    (json.dumps({"requester": HANDLER, "case_id": "nope", "doc_id": "d"}).encode(),
     "invalid_field", "case_id"),
    (json.dumps({"requester": HANDLER, "case_id": str(uuid.uuid4()), "doc_id": "d",
                 "offset": -1}).encode(), "invalid_field", "offset"),
    (json.dumps({"requester": HANDLER, "case_id": str(uuid.uuid4()), "doc_id": "d",
                 "x": 1}).encode(), "unknown_field", "x"),
])
def test_bad_requests_get_a_reply_naming_the_problem(body: bytes, code: str, where: str) -> None:
    owner = proxy_case(forwarded=False)

    async def scenario(endpoint: DocumentEndpoint) -> None:
        reply = json.loads(await endpoint.handle(body, f"{inbox_prefix(HANDLER)}.x.1"))
        assert reply["ok"] is False
        assert (reply["error"]["code"], reply["error"]["field"]) == (code, where)
    serve(owner, scenario)


def test_a_lost_blob_and_an_offset_past_the_end_are_reported() -> None:
    owner = proxy_case()

    async def scenario(endpoint: DocumentEndpoint) -> None:
        async def ask(offset: int) -> dict[str, object]:
            raw = await endpoint.handle(encode_request(DocRequest(
                HANDLER, owner.case_id, owner.ref.doc_id, offset)), f"{inbox_prefix(HANDLER)}.x.1")
            error: dict[str, object] = json.loads(raw)["error"]
            return error
        assert (await ask(len(SCAN) + 1))["code"] == "offset_out_of_range"
        del owner.blobs.blobs[owner.ref.sha256]
        assert (await ask(0))["code"] == "blob_missing"
    serve(owner, scenario)


# --------------------------------------------------------------------------- the fetcher's checks


def test_a_tampered_blob_of_the_same_size_fails_the_hash_check() -> None:
    owner = proxy_case()
    owner.blobs.blobs[owner.ref.sha256] = SCAN[:-1] + b"X"

    async def scenario(endpoint: DocumentEndpoint) -> None:
        with pytest.raises(MaterialMismatch) as caught:
            await fetch_material(Loopback(endpoint, inbox_prefix(HANDLER)), owner=OWNER,
                                 requester=HANDLER, case_id=owner.case_id, ref=owner.ref)
        assert caught.value.code == "hash_mismatch"
    serve(owner, scenario)


def test_a_blob_of_another_size_is_refused_at_the_first_chunk() -> None:
    owner = proxy_case()
    owner.blobs.blobs[owner.ref.sha256] = SCAN * 100

    async def scenario(endpoint: DocumentEndpoint) -> None:
        nc = Loopback(endpoint, inbox_prefix(HANDLER))
        with pytest.raises(MaterialMismatch) as caught:
            await fetch_material(nc, owner=OWNER, requester=HANDLER, case_id=owner.case_id,
                                 ref=owner.ref)
        assert caught.value.code == "size_mismatch"
        assert len(nc.requests) == 1
    serve(owner, scenario)


def test_an_owner_sending_more_than_it_announced_is_cut_off() -> None:
    owner = proxy_case()

    def inflate(raw: bytes) -> bytes:  # a reply that keeps the size but pads the data
        body = json.loads(raw)
        data = base64.b64decode(body["data"]) + b"\0" * len(SCAN)
        body["data"] = base64.b64encode(data).decode()
        return json.dumps(body).encode()

    async def scenario(endpoint: DocumentEndpoint) -> None:
        nc = Loopback(endpoint, inbox_prefix(HANDLER), tamper=inflate)
        with pytest.raises(MaterialMismatch) as caught:
            await fetch_material(nc, owner=OWNER, requester=HANDLER, case_id=owner.case_id,
                                 ref=owner.ref)
        assert caught.value.code == "size_mismatch"
    serve(owner, scenario)


@pytest.mark.parametrize("max_payload", [1024 * 1024, 64 * 1024, 8 * 1024 * 1024])
def test_a_full_chunk_reply_fits_the_servers_max_payload(max_payload: int) -> None:
    size = chunk_size(max_payload)
    reply = encode_chunk(DocChunk("sha256:" + "a" * 64, "a" * 64, "application/vnd.ms-excel",
                                  10**12, 10**12, b"\xff" * size))
    assert len(reply) <= max_payload
    assert size <= 512 * 1024


# --------------------------------------------------------------------------- throttled fetches


async def spend_budget(endpoint: DocumentEndpoint, owner: Owner) -> None:
    """The handler's own budget spent on refused requests (a refusal is never cached)."""
    for n in range(documents_endpoint.REQUEST_BURST + 5):
        await endpoint.handle(encode_request(DocRequest(HANDLER, str(uuid.uuid4()),
                                                        owner.ref.doc_id)),
                              f"{inbox_prefix(HANDLER)}.spent.{n}")


def test_a_throttled_fetch_waits_the_stated_time_and_gets_the_document() -> None:
    """`too_many_requests` says how long to wait (the requester's budget refills at
    `REQUESTS_PER_SECOND`): the SDK waits that long and asks again instead of failing the
    back-end's fetch."""
    owner = proxy_case()

    async def scenario(endpoint: DocumentEndpoint) -> None:
        await spend_budget(endpoint, owner)
        nc = Loopback(endpoint, inbox_prefix(HANDLER))
        started = time.monotonic()
        data = await fetch_material(nc, owner=OWNER, requester=HANDLER, case_id=owner.case_id,
                                    ref=owner.ref)
        assert data == SCAN
        assert time.monotonic() - started >= 1 / documents_endpoint.REQUESTS_PER_SECOND / 2
        assert nc.requests[0].offset == nc.requests[1].offset == 0  # asked again after waiting
    serve(owner, scenario)


def test_a_fetch_told_to_wait_longer_than_it_will_gives_up_with_the_refusal() -> None:
    owner = proxy_case()

    async def scenario(endpoint: DocumentEndpoint) -> None:
        endpoint.budget = RequestBudget(rate=0.01, burst=1)  # a wait of 100 s
        await spend_budget(endpoint, owner)
        nc = Loopback(endpoint, inbox_prefix(HANDLER))
        with pytest.raises(DocError) as caught:
            await fetch_material(nc, owner=OWNER, requester=HANDLER, case_id=owner.case_id,
                                 ref=owner.ref)
        assert caught.value.code == "too_many_requests"
        assert len(nc.requests) == 1  # no waiting out a wait beyond the bound
    serve(owner, scenario)
