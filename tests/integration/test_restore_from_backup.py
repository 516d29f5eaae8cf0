"""A region restored from a backup of its SQLite store, declared with `tongban links restored`
(the operator's procedure: docs/operations.md): the case opened after the restore reaches the
peer, and the peer lists the event the restored region lost (`links received`).

First two regions of the toy protocol, each on its own SQLite file, the link messages handed
from one's relay to the other's inbox (as `tests/unit/test_restore_gap.py` does in memory), the
backup a copy of the file; then two `tongban node` processes over NATS, the backup taken and
put back with SQLite's online backup. The commands run as an operator runs them, in their own
process on the same files.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

from domain.protocols import spec_of
from regions.adapters.brokers.nats_server import NatsServer
from regions.adapters.brokers.provision import provision
from regions.adapters.stores.sql import SqliteStore
from regions.core.config import RegionConfig
from regions.runtime.bootstrap import Region, build_region
from tests.hostile.test_hostile_inbox import HOME, T0, TARGET, incoming, ping, sent
from tests.hostile.test_hostile_inbox import side_status as status
from tests.integration import processes as pr
from tests.integration import realworld as rw
from tests.services.nats_server import fresh_nats_server  # noqa: F401 (the `nats` fixture)
from tests.unit import toy_protocol as toy

ROOT = Path(__file__).resolve().parents[2]


def region(code: str, peer: str, store: SqliteStore) -> Region:
    return build_region(RegionConfig(region=code, peers=(peer,), gap_bound_seconds=10),
                        clock=lambda: T0, ids=uuid.uuid4, broker=None, store=store,
                        protocols={"toy": spec_of("toy", toy)})


def deliver(origin: Region, target: Region, token: str) -> int:
    return target.inbox.handle([incoming(m, token) for m in sent(origin)], T0).applied


def links(directory: Path, *args: str) -> str:
    """`tongban links …` on the test's SQLite files, as an operator runs it."""
    result = subprocess.run(
        [sys.executable, "-m", "api", "links", *args, "--store", "sqlite", "--sqlite-dir",
         str(directory), "--json"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
        start_new_session=True)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_a_region_restored_from_a_file_backup_and_declared_so_reaches_its_peer(
        tmp_path: Path) -> None:
    directory = tmp_path / "stores"
    store = SqliteStore(directory)
    home, target = region(HOME, TARGET, store), region(TARGET, HOME, store)
    before = ping(home)
    assert deliver(home, target, "1") == 1
    store.close()
    backup = tmp_path / "backup"
    backup.mkdir()
    for path in directory.glob(f"{HOME}.sqlite*"):
        shutil.copy2(path, backup / path.name)

    store = SqliteStore(directory)
    home, target = region(HOME, TARGET, store), region(TARGET, HOME, store)
    lost = ping(home)  # after the backup: lost with the file, kept by the peer
    assert deliver(home, target, "2") == 1
    store.close()
    for path in directory.glob(f"{HOME}.sqlite*"):
        path.unlink()
    for path in backup.iterdir():
        shutil.copy2(path, directory / path.name)

    at_peer = json.loads(links(directory, "received", "--region", TARGET, "--origin", HOME,
                               "--peers", HOME))
    assert at_peer["recorded"] == 2
    [done] = json.loads(links(directory, "restored", "--region", HOME, "--peers", TARGET,
                              "--recorded", f"{TARGET}={at_peer['recorded']}"))
    assert done == {"destination": TARGET, "held": 1, "recorded": 2, "lost": 1}
    report = json.loads(links(directory, "received", "--region", TARGET, "--origin", HOME,
                              "--peers", HOME, "--after", str(done["held"])))
    assert [r["link_seq"] for r in report["received"]] == [2]
    assert report["received"][0]["type"] == "Pinged"  # the lost case's event, by its id

    store = SqliteStore(directory)
    home, target = region(HOME, TARGET, store), region(TARGET, HOME, store)
    after = ping(home)
    assert deliver(home, target, "3") == 1
    assert status(target, before) == status(target, lost) == status(target, after) == "ponged"
    assert status(home, lost) is None  # the restored region has no trace of it: reconciled by hand
    store.close()


RESTORED, PEER = "610800", "150600"  # 榆林 loses its disk; 鄂尔多斯 keeps its store


def online_copy(source: Path, target: Path) -> None:
    """SQLite's online backup: a consistent copy whoever has the file open (WAL included)."""
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    src.close()
    dst.close()


def test_node_processes_a_region_restored_from_a_backup_and_declared_so_reaches_its_peer(
        nats: NatsServer, tmp_path: Path) -> None:
    """A transfer completes; 榆林's store is backed up; a second transfer completes; 榆林's node
    stops and its store is put back from the backup; the peer's position is read, the restore
    declared, the node started: a third transfer completes at both regions, and the peer lists
    the second transfer's events 榆林 no longer has."""
    directory = tmp_path / "stores"
    store = SqliteStore(directory)
    backup = tmp_path / "backup.sqlite"
    codes = (PEER, RESTORED)

    async def main() -> None:
        await provision(codes, nats.url, duplicate_window=1.0)
        async with pr.cluster(store, nats.url, codes, tmp_path) as nodes:
            first = await rw.pension_transfer(nodes, PEER, RESTORED, seed=51)
            await rw.until_all_ended(nodes, [first])
            await nodes.wait_links_converged(timeout=rw.CASE_TIMEOUT)
            online_copy(store.path_for(RESTORED), backup)
            second = await rw.pension_transfer(nodes, PEER, RESTORED, seed=52)
            await rw.until_all_ended(nodes, [second])
            await nodes.wait_links_converged(timeout=rw.CASE_TIMEOUT)
            assert await nodes.process(RESTORED).stop() == 0
            online_copy(backup, store.path_for(RESTORED))  # the disk is lost; the backup back

            at_peer = json.loads(await asyncio.to_thread(
                links, directory, "received", "--region", PEER, "--origin", RESTORED,
                "--peers", RESTORED))
            [done] = json.loads(await asyncio.to_thread(
                links, directory, "restored", "--region", RESTORED, "--peers", PEER,
                "--recorded", f"{PEER}={at_peer['recorded']}"))
            assert done["recorded"] == at_peer["recorded"] > done["held"], done
            lost = json.loads(await asyncio.to_thread(
                links, directory, "received", "--region", PEER, "--origin", RESTORED,
                "--peers", RESTORED, "--after", str(done["held"])))
            assert len(lost["received"]) == done["lost"]
            await asyncio.sleep(1.5)  # past the streams' dedup window (1 s here)

            nodes.process(RESTORED).start()
            third = await rw.pension_transfer(nodes, PEER, RESTORED, seed=53)
            await rw.until_all_ended(nodes, [third])
            for code in codes:
                assert "reused_link_seq" not in nodes.process(code).logs()
            assert await pr.stop_all(nodes) == [0, 0], nodes.tails()
    try:
        asyncio.run(main())
    finally:
        store.close()
