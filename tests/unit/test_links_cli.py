"""`tongban links received|restored` (api/cli/links.py) on bad input: a clear error naming the
command, exit 2, and the stores left as they were — the commands run during a disaster
recovery, by an operator who may mistype a region or a number.

Two regions of the toy protocol on SQLite files, one message applied across the link; each bad
invocation is checked for its message and for the files' bytes afterwards.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app as cli
from domain.protocols import spec_of
from regions.adapters.stores.sql import SqliteStore
from regions.adapters.worker_lock import worker_lock_for
from regions.core import link_restore
from regions.core.config import RegionConfig
from regions.runtime.bootstrap import Region, build_region
from tests.hostile.test_hostile_inbox import HOME, ROGUE, T0, TARGET, incoming, ping, sent
from tests.unit import toy_protocol as toy


def region(code: str, peer: str, store: SqliteStore) -> Region:
    return build_region(RegionConfig(region=code, peers=(peer,), gap_bound_seconds=10),
                        clock=lambda: T0, ids=uuid.uuid4, broker=None, store=store,
                        protocols={"toy": spec_of("toy", toy)})


@pytest.fixture
def stores(tmp_path: Path) -> Path:
    store = SqliteStore(tmp_path)
    home, target = region(HOME, TARGET, store), region(TARGET, HOME, store)
    ping(home)
    assert target.inbox.handle([incoming(m, "1") for m in sent(home)], T0).applied == 1
    store.close()
    return tmp_path


def digest(directory: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(directory.iterdir()) if p.suffix != ".lock"}  # the stores


def links(directory: Path, *args: str, peers: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["links", *args, "--store", "sqlite", "--sqlite-dir",
                                      str(directory)], env={"TONGBAN_PEERS": peers})
    return result.exit_code, result.stderr


def test_links_commands_refuse_bad_input_clearly_and_change_nothing(stores: Path) -> None:
    before = digest(stores)
    bad = [
        (("received", "--origin", HOME), None, "tongban links received: region"),
        (("received", "--region", TARGET, "--origin", HOME, "--after", "-1"), None,
         "--after"),
        (("received", "--region", TARGET, "--origin", "abc"), None, "--origin"),
        (("received", "--region", TARGET, "--origin", TARGET), None, "--origin"),
        (("received", "--region", TARGET, "--origin", "140200"), HOME, "--origin"),
        (("restored", "--region", HOME, "--recorded", f"{HOME}=3"), None, "--recorded"),
        (("restored", "--region", HOME, "--recorded", "140200=3"), TARGET, "--recorded"),
        (("restored", "--region", HOME, "--recorded", f"{TARGET}=\u00b2"), None, "--recorded"),
        (("restored", "--region", HOME, "--recorded", f"{TARGET}=-1"), None, "--recorded"),
        (("restored", "--region", "130700", "--recorded", f"{TARGET}=3"), TARGET,
         "tongban links restored: no store for region 130700"),
    ]
    for args, peers, said in bad:
        code, err = links(stores, *args, peers=peers)
        assert (code, said in err, err.startswith(f"tongban links {args[0]}: ")) == \
            (2, True, True), (args, code, err)
    assert digest(stores) == before


def test_links_commands_refuse_to_run_without_the_nodes_peers(stores: Path) -> None:
    """A well-formed code that is no peer of the region (ROGUE) is refused, and so is any code
    while the node's peers are not given: the commands cannot tell a peer from a typo without
    them. The error says where the peers come from; given, it names them."""
    before = digest(stores)
    for args in (("restored", "--region", HOME, "--recorded", f"{ROGUE}=3"),
                 ("restored", "--region", HOME, "--recorded", f"{TARGET}=3"),
                 ("received", "--region", TARGET, "--origin", ROGUE)):
        code, err = links(stores, *args)
        assert (code, err.startswith(f"tongban links {args[0]}: "), "--peers" in err,
                "TONGBAN_PEERS" in err) == (2, True, True, True), (args, err)
    code, err = links(stores, "restored", "--region", HOME, "--recorded", f"{ROGUE}=3",
                      "--peers", TARGET)
    assert code == 2 and f"not among region {HOME}'s peers ({TARGET})" in err, err
    assert digest(stores) == before


def test_restored_refuses_when_a_peer_has_no_recorded_position(stores: Path) -> None:
    """Every peer's link must be renumbered: one left as the backup had it would number again
    what that peer recorded after the backup (its new cases dropped as duplicates there). The
    error names the peers missing and where to read their positions."""
    before = digest(stores)
    code, err = links(stores, "restored", "--region", HOME, "--recorded", f"{TARGET}=3",
                      peers=f"{TARGET},{ROGUE}")
    assert code == 2 and err.startswith("tongban links restored: "), err
    assert f"no --recorded for {ROGUE}" in err and "links received" in err, err
    assert digest(stores) == before


def test_received_prints_the_argument_links_restored_takes(stores: Path) -> None:
    """Step 1's number is copied to step 2 at another region: printed as the argument itself,
    ready to paste, so the operator neither retypes nor swaps the two regions."""
    result = CliRunner().invoke(cli, ["links", "received", "--region", TARGET, "--origin", HOME,
                                      "--store", "sqlite", "--sqlite-dir", str(stores)],
                                env={"TONGBAN_PEERS": HOME})
    assert result.exit_code == 0, result.stderr
    assert f"tongban links restored --region {HOME} --recorded {TARGET}=1" in result.stdout


def test_received_says_when_its_list_was_cut_and_how_to_go_on(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The reconciliation list is read up to a limit: when there was more, the command says so
    (on stderr too, as its output may go to a file) and names the `--after` that lists the rest.
    Two messages recorded, a limit of one (the real one is 100,000)."""
    store = SqliteStore(tmp_path)
    home, target = region(HOME, TARGET, store), region(TARGET, HOME, store)
    for token in ("1", "2"):
        ping(home)
        assert target.inbox.handle([incoming(m, token) for m in sent(home)], T0).applied == 1
    store.close()
    whole = link_restore.received_after
    monkeypatch.setattr(link_restore, "received_after",
                        lambda *args, **kwargs: whole(*args, **{**kwargs, "limit": 1}))
    result = CliRunner().invoke(cli, ["links", "received", "--region", TARGET, "--origin", HOME,
                                      "--after", "0", "--store", "sqlite", "--sqlite-dir",
                                      str(tmp_path)], env={"TONGBAN_PEERS": HOME})
    assert result.exit_code == 0, result.stderr
    assert "--after 1" in result.stderr and "cut" in result.stderr, result.stderr
    assert "--after 1" in result.stdout, result.stdout
    rest = CliRunner().invoke(cli, ["links", "received", "--region", TARGET, "--origin", HOME,
                                    "--after", "1", "--store", "sqlite", "--sqlite-dir",
                                    str(tmp_path), "--json"], env={"TONGBAN_PEERS": HOME})
    assert rest.exit_code == 0 and rest.stderr == "", rest.stderr
    page = json.loads(rest.stdout)
    assert ([r["link_seq"] for r in page["received"]], page["next_after"]) == ([2], None)


def test_renumber_refuses_a_bad_position_before_it_changes_any_link(stores: Path) -> None:
    store = SqliteStore(stores)
    app = store.open(HOME)
    for recorded in ({TARGET: 5, "999999": -1}, {TARGET: 5, HOME: 3}):
        with pytest.raises(ValueError):
            link_restore.renumber(app, HOME, recorded, T0)
        assert link_restore.held(app, HOME, TARGET) == 1
    store.close()


def test_restored_refuses_while_a_node_holds_the_worker_lock(stores: Path) -> None:
    before = digest(stores)
    lock = worker_lock_for(HOME, SqliteStore(stores))
    assert asyncio.run(lock.acquire(asyncio.Event()))  # a running node of region HOME
    try:
        code, err = links(stores, "restored", "--region", HOME, "--recorded", f"{TARGET}=3",
                          peers=TARGET)
        assert code == 1 and "stop it first" in err and err.startswith("tongban links restored")
    finally:
        asyncio.run(lock.release())
    assert digest(stores) == before


def test_restored_refuses_a_position_implausibly_far_beyond_the_store(stores: Path) -> None:
    """A figure mistyped with a digit or three too many would mark that many numbers lost (one
    event each, in one transaction) and leave the link far ahead of what its peer will ever see:
    more than `--most-lost` (100,000 by default) past the store's last number is refused, naming
    the figure to check; a restore that really lost more says so with `--most-lost`."""
    before = digest(stores)
    code, err = links(stores, "restored", "--region", HOME, "--recorded", f"{TARGET}=1000001",
                      peers=TARGET)
    assert code == 2 and err.startswith("tongban links restored: "), err
    assert f"{TARGET}=1000001" in err and "--most-lost" in err and "links received" in err, err
    assert digest(stores) == before
    store = SqliteStore(stores)
    app = store.open(HOME)
    with pytest.raises(ValueError, match="more than 2"):
        link_restore.renumber(app, HOME, {TARGET: 4}, T0, most_lost=2)  # holds 1: 3 lost
    assert link_restore.held(app, HOME, TARGET) == 1
    [done] = link_restore.renumber(app, HOME, {TARGET: 3}, T0, most_lost=2)
    assert (done.held, done.recorded, len(done.lost)) == (1, 3, 2)
    store.close()


def test_restored_refuses_a_negative_figure_or_the_region_itself_before_it_opens_the_store(
        stores: Path) -> None:
    """A negative figure, or the region given as a peer of itself, is bad input: exit 2 with a
    message naming the argument, and nothing written — refused before the store is opened, so
    even while a node holds the region. Why the command checks these though `renumber` checks
    them again: `renumber` runs behind the worker lock and the store, so left to it the same
    typo would exit 1 as "stop the node first" (or "cannot reach PostgreSQL"), and the
    operator would stop a node for a mistyped figure."""
    before = digest(stores)
    lock = worker_lock_for(HOME, SqliteStore(stores))
    assert asyncio.run(lock.acquire(asyncio.Event()))  # a running node of region HOME
    try:
        for recorded, said in (
                (f"{TARGET}=-1", f"--recorded '{TARGET}=-1': expected PEER=N once per peer"),
                (f"{HOME}=3", f"--recorded {HOME}: the region itself, not a peer of it")):
            for peers in (TARGET, f"{TARGET},{HOME}"):
                code, err = links(stores, "restored", "--region", HOME, "--recorded", recorded,
                                  peers=peers)
                assert (code, err.startswith(f"tongban links restored: {said}")) == (2, True), \
                    (recorded, peers, code, err)
    finally:
        asyncio.run(lock.release())
    assert digest(stores) == before


def test_restored_refuses_a_figure_too_long_to_read_as_bad_input(stores: Path) -> None:
    """A pasted figure of thousands of digits is a typo like any other: exit 2 naming the
    argument and nothing written, not a traceback from Python's limit on reading long ints."""
    before = digest(stores)
    code, err = links(stores, "restored", "--region", HOME, "--recorded",
                      f"{TARGET}={'9' * 5000}", peers=TARGET)
    assert (code, err.startswith(f"tongban links restored: --recorded '{TARGET}=999")) \
        == (2, True), (code, err[-300:])
    assert digest(stores) == before
