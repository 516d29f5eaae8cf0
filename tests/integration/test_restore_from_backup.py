"""A region restored from a file backup of its SQLite store, declared with `tongban links
restored` (the operator's procedure: docs/operations.md): the case opened after the restore
reaches the peer, and the peer lists the event the restored region lost (`links received`).

Two regions of the toy protocol, each on its own SQLite file; the link messages are handed from
one's relay to the other's inbox (as `tests/unit/test_restore_gap.py` does in memory). The
backup is a copy of the file taken with the region's store closed; the commands run as an
operator runs them, in their own process on the same files.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

from domain.protocols import spec_of
from regions.adapters.stores.sql import SqliteStore
from regions.core.config import RegionConfig
from regions.runtime.bootstrap import Region, build_region
from tests.hostile.test_hostile_inbox import HOME, T0, TARGET, incoming, ping, sent
from tests.hostile.test_hostile_inbox import side_status as status
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

    at_peer = json.loads(links(directory, "received", "--region", TARGET, "--origin", HOME))
    assert at_peer["recorded"] == 2
    [done] = json.loads(links(directory, "restored", "--region", HOME, "--recorded",
                              f"{TARGET}={at_peer['recorded']}"))
    assert done == {"destination": TARGET, "held": 1, "recorded": 2, "lost": 1}
    report = json.loads(links(directory, "received", "--region", TARGET, "--origin", HOME,
                              "--after", str(done["held"])))
    assert [r["link_seq"] for r in report["received"]] == [2]
    assert report["received"][0]["type"] == "Pinged"  # the lost case's event, by its id

    store = SqliteStore(directory)
    home, target = region(HOME, TARGET, store), region(TARGET, HOME, store)
    after = ping(home)
    assert deliver(home, target, "3") == 1
    assert status(target, before) == status(target, lost) == status(target, after) == "ponged"
    assert status(home, lost) is None  # the restored region has no trace of it: reconciled by hand
    store.close()
