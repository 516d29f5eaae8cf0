"""Documents between two real nodes over a private nats-server: fetched, verified, refused.

鄂尔多斯 (150600) receives a proxy application (异地代收) with a scanned ID card and forwards it to
榆林 (610800), which handles it: 榆林 fetches the scan from 鄂尔多斯 on `tb.v1.doc.150600`, chunk
by chunk, and checks it against the reference *its own* store recorded. 阿拉善 (152900), no party
to the case, is refused — asking honestly or pretending to be 榆林. A scan altered on 鄂尔多斯's
disk is caught by the fetcher. The last test runs `run_node` (what `tongban node` runs) and
fetches from it, so the endpoint is proven registered in the node process. One test runs on the
shipped `deploy/nats/nats.conf`: the nodes as their own NATS users, the fetch as 榆林's pension
back-end, with its own reply prefix.
"""

from __future__ import annotations

import asyncio
import functools
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.application import AggregateNotFoundError

from api.node import run_node
from domain.kernel import Actor
from domain.protocols.application_events import VerifyAndForward
from domain.protocols.details import ApplicationDetails
from domain.protocols.intake import Submit
from domain.values import MaterialRef
from regions.adapters.blobs.fs import FilesystemBlobStore
from regions.adapters.brokers import nats_conf
from regions.adapters.brokers.nats_server import NatsServer
from regions.adapters.stores.sql import SqliteStore
from regions.core.config import RegionConfig
from regions.core.documents import DocError, recorded_ref
from regions.core.sides import side_id
from regions.runtime.documents import serve_materials
from regions.runtime.driver import NodeDriver
from regions.sdk.documents import (
    MaterialMismatch,
    OwnerUnavailable,
    connect_fetcher,
    fetch_material,
)
from simulations.workload import draw_applicant
from tests.integration import realworld as rw
from tests.integration.deployment import DeployedNats
from tests.services.nats_server import pinned_binary

pytestmark = pytest.mark.timeout(60)

RECEIVING, HANDLING, STRANGER = "150600", "610800", "152900"
#: Over two chunks at the default max_payload (1 MiB → 512 KiB of bytes per reply).
SCAN = b"%PDF-1.7\n" + random.Random(11).randbytes(1_200_000)


@asynccontextmanager
async def two_nodes(tmp_path: Path, url: str, **users: Any) -> AsyncIterator[rw.Nodes]:
    """Both nodes on SQLite with filesystem blob stores and their document endpoints; `users`
    are `running_nodes`' `urls` and `clients` (the NATS users of a permissioned server)."""
    store = SqliteStore(tmp_path / "stores")
    try:
        async with rw.running_nodes(store, url, (RECEIVING, HANDLING), **users) as nodes:
            serving = []
            for code in (RECEIVING, HANDLING):
                node = nodes[code]
                node.region.blobs = FilesystemBlobStore(tmp_path / "blobs" / code)
                ready = asyncio.Event()
                serving.append(asyncio.create_task(
                    serve_materials(node.driver, blobs=node.region.blobs, ready=ready)))
                await asyncio.wait_for(ready.wait(), 10)
            try:
                yield nodes
            finally:
                for code in (RECEIVING, HANDLING):
                    nodes[code].driver.stop()  # the endpoints stop with their drivers
                await asyncio.wait_for(asyncio.gather(*serving), 10)
    finally:
        store.close()


async def forwarded_case(nodes: rw.Nodes) -> tuple[str, MaterialRef]:
    """A proxy application with one scan, received and forwarded to the handling region."""
    receiving = nodes[RECEIVING]
    ref = receiving.region.blobs.put(SCAN, "application/pdf", "居民身份证", kind="居民身份证")
    person = draw_applicant(random.Random(5))
    number = rw.new_case_number(RECEIVING)
    applicant = rw.Person(nodes, Actor("applicant", person.citizen.masked, RECEIVING))
    submitted = await applicant.submit(str(number), "notarisation", Submit(
        actor=applicant.actor, case_number=str(number), item_id="b1-1",  # 学历公证 (proxy)
        process="notarisation", mode="proxy", person_key="", applicant_masked="",
        channel="window", materials=(ref,), details=ApplicationDetails(HANDLING)),
        applicant_id=person.citizen.number)
    assert submitted.ok, submitted
    window = rw.staff(nodes, RECEIVING, "0451", "窗口")
    forwarded = await window.command(RECEIVING, submitted.case_id, VerifyAndForward(
        actor=window.actor, identity_verified=True))
    assert forwarded.ok, forwarded
    await nodes.wait_status(HANDLING, submitted.case_id, "submitted")
    return submitted.case_id, ref


async def own_record(node: rw.LiveNode, case_id: str, doc_id: str) -> MaterialRef | None:
    """The reference as the fetching region's own store recorded it."""
    def read() -> MaterialRef | None:
        try:
            stream = node.region.node.app.repository.get(side_id(case_id, node.code))
        except AggregateNotFoundError:
            return None
        return recorded_ref(stream, doc_id)
    return await node.driver.db(read)


def run(tmp_path: Path, url: str,
        scenario: Callable[[rw.Nodes, str, MaterialRef], Awaitable[None]]) -> None:
    async def main() -> None:
        async with two_nodes(tmp_path, url) as nodes:
            case_id, ref = await forwarded_case(nodes)
            await scenario(nodes, case_id, ref)
    asyncio.run(main())


def test_the_handling_region_fetches_the_scan_of_a_joint_case_and_it_verifies(
        tmp_path: Path, nats_server: NatsServer) -> None:
    async def scenario(nodes: rw.Nodes, case_id: str, sent: MaterialRef) -> None:
        ref = await own_record(nodes[HANDLING], case_id, sent.doc_id)
        assert ref == sent  # the forwarded event carried the whole reference
        nc = await connect_fetcher(nats_server.url, HANDLING)
        try:
            data = await fetch_material(nc, owner=RECEIVING, requester=HANDLING,
                                        case_id=case_id, ref=ref)
        finally:
            await nc.close()
        assert data == SCAN
    run(tmp_path, nats_server.url, scenario)


def test_a_region_not_party_to_the_case_is_refused(tmp_path: Path,
                                                  nats_server: NatsServer) -> None:
    async def scenario(nodes: rw.Nodes, case_id: str, ref: MaterialRef) -> None:
        nc = await connect_fetcher(nats_server.url, STRANGER)
        try:
            with pytest.raises(DocError) as honest:
                await fetch_material(nc, owner=RECEIVING, requester=STRANGER,
                                     case_id=case_id, ref=ref)
            # Naming 榆林 but listening on its own inbox: neither served nor answered.
            with pytest.raises(OwnerUnavailable):
                await fetch_material(nc, owner=RECEIVING, requester=HANDLING,
                                     case_id=case_id, ref=ref, timeout=1.0)
        finally:
            await nc.close()
        assert honest.value.code == "forbidden"
        assert await own_record(nodes[HANDLING], case_id, ref.doc_id) == ref  # still a party
    run(tmp_path, nats_server.url, scenario)


def test_a_scan_altered_on_the_owners_disk_is_caught_by_the_fetcher(
        tmp_path: Path, nats_server: NatsServer) -> None:
    async def scenario(nodes: rw.Nodes, case_id: str, ref: MaterialRef) -> None:
        blobs = nodes[RECEIVING].region.blobs
        assert isinstance(blobs, FilesystemBlobStore)
        path = blobs.path_for(ref.sha256)
        altered = bytearray(path.read_bytes())
        altered[len(altered) // 2] ^= 0xFF  # one byte in the second chunk
        path.write_bytes(bytes(altered))
        nc = await connect_fetcher(nats_server.url, HANDLING)
        try:
            with pytest.raises(MaterialMismatch) as caught:
                await fetch_material(nc, owner=RECEIVING, requester=HANDLING,
                                     case_id=case_id, ref=ref)
        finally:
            await nc.close()
        assert caught.value.code == "hash_mismatch"
    run(tmp_path, nats_server.url, scenario)


def test_the_node_process_serves_documents_from_its_configured_blob_store(
        tmp_path: Path, nats_server: NatsServer) -> None:
    region = "150700"  # a region no other test of this module provisions

    async def main() -> None:
        from regions.adapters.brokers.provision import provision

        await provision([region, HANDLING], nats_server.url)
        config = RegionConfig(region=region, peers=(region, HANDLING), store="sqlite",
                              sqlite_dir=tmp_path / "node", blob_dir=tmp_path / "blobs",
                              broker="nats", nats_url=nats_server.url, development=True)
        started: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        task = asyncio.create_task(run_node(
            config, ready=lambda r, d: started.set_result((r, d))))
        owner, driver = await asyncio.wait_for(started, 10)
        assert isinstance(driver, NodeDriver)
        nc = await connect_fetcher(nats_server.url, HANDLING)
        try:
            assert isinstance(owner.blobs, FilesystemBlobStore)
            assert owner.blobs.directory == tmp_path / "blobs" / region
            ref = owner.blobs.put(SCAN[:5000], "application/pdf", "申请表", kind="申请表")
            person = draw_applicant(random.Random(8))
            number = rw.new_case_number(region)
            case_id = str(number.case_id)
            submit = Submit(
                actor=Actor("applicant", person.citizen.masked, region),
                case_number=str(number), item_id="certification", process="certification",
                mode="proxy", person_key=person.person_key,
                applicant_masked=person.citizen.masked, channel="window", materials=(ref,),
                details=ApplicationDetails(HANDLING))
            outcome = await driver.db(functools.partial(
                owner.node.submit, case_id, str(number), "certification", submit, rw.wall()))
            assert outcome.ok, outcome
            fetch = functools.partial(fetch_material, nc, owner=region, requester=HANDLING,
                                      case_id=case_id, ref=ref, timeout=1.0)
            for _ in range(50):  # the service subscribes just after the node starts
                try:
                    assert await fetch() == SCAN[:5000]
                    return
                except OwnerUnavailable:
                    await asyncio.sleep(0.1)
            raise AssertionError(f"the node never served tb.v1.doc.{region}")
        finally:
            await nc.close()
            driver.stop()
            await asyncio.wait_for(task, 10)

    asyncio.run(main())


@pytest.fixture(scope="module")
def shipped_nats(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DeployedNats]:
    server = DeployedNats(workdir=tmp_path_factory.mktemp("shipped"), binary=pinned_binary())
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_the_handling_regions_back_end_fetches_the_scan_under_the_shipped_permissions(
        tmp_path: Path, shipped_nats: DeployedNats) -> None:
    """Issue 11, finding 1: the fetch expected a reply prefix the shipped file never granted."""
    def url(user: nats_conf.NatsUser) -> str:
        return shipped_nats.user_url(user.name, user.password)

    pension = {code: nats_conf.backend_user(code, "pension") for code in (RECEIVING, HANDLING)}
    users = {"urls": {code: url(nats_conf.node_user(code)) for code in (RECEIVING, HANDLING)},
             "clients": {code: (url(user), "pension") for code, user in pension.items()}}

    async def main() -> None:
        admin = url(nats_conf.admin_user())
        async with two_nodes(tmp_path, admin, **users) as nodes:
            case_id, ref = await forwarded_case(nodes)
            nc = await connect_fetcher(url(pension[HANDLING]), HANDLING, "pension")
            try:
                data = await fetch_material(nc, owner=RECEIVING, requester=HANDLING,
                                            case_id=case_id, ref=ref)
            finally:
                await nc.close()
        assert data == SCAN
        violations = [line for line in shipped_nats.log_path.read_text().splitlines()
                      if "Violation" in line]
        assert violations == []

    asyncio.run(main())
