"""`tongban quarantine list|show|replay|discard --region CODE`: the operator's view of parked
messages (core logic and the safety argument in `regions.runtime.quarantine`).

The store flags are the node's (`--store`, `--dsn`, `--schema`, `--sqlite-dir`, `--peers`, or
their `TONGBAN_*` variables), so the same environment that runs a node can inspect it. `list`,
`show` and `discard` are safe while the node runs; `replay` takes the region's worker lock and
refuses while a node holds it. Exit codes: 0 done, 1 the replay failed or the node is running,
2 bad input (flags, unknown id, settled record, missing store).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import getpass
import json
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from pydantic import ValidationError

from regions.core.config import RegionConfig
from regions.core.store import EventStore

app = typer.Typer(help="Quarantined messages: list, show, replay, discard.",
                  no_args_is_help=True)
T = TypeVar("T")

#: How long `replay` tries for the region's worker lock before deciding a node holds it (s).
LOCK_WAIT = 2.0

Region = Annotated[str | None, typer.Option(help="GB/T 2260 code of the region.")]
Store = Annotated[str | None, typer.Option(help="sqlite or postgres (as the node's).")]
Dsn = Annotated[str | None, typer.Option(help="PostgreSQL DSN for --store postgres.")]
Schema = Annotated[str | None, typer.Option(help="PostgreSQL schema of this region.")]
SqliteDir = Annotated[Path | None, typer.Option(help="Directory of SQLite files.")]
Peers = Annotated[str | None, typer.Option(help="Comma-separated peer regions (for replay).")]
AsJson = Annotated[bool, typer.Option("--json", help="JSON instead of text.")]
Id = Annotated[str, typer.Argument(help="Quarantine id, or a unique prefix of it.")]


@app.command("list")
def list_command(region: Region = None, store: Store = None, dsn: Dsn = None,
                 schema: Schema = None, sqlite_dir: SqliteDir = None, peers: Peers = None,
                 as_json: AsJson = False) -> None:
    """Every quarantined message: id, when, origin, subject, reason, state."""
    from regions.runtime import quarantine

    config = _config("list", region, store, dsn, schema, sqlite_dir, peers)
    found = _with_store("list", config, quarantine.entries)
    if as_json:
        print(json.dumps([e.summary() for e in found], ensure_ascii=False))
        return
    if not found:
        print(f"no quarantined messages in region {config.region}")
        return
    print(f"{'ID':<13}{'PARKED AT (UTC)':<21}{'ORIGIN':<8}{'STATE':<18}{'SUBJECT':<26}REASON")
    for e in found:
        print(f"{str(e.id)[:12]:<13}{e.parked_at.strftime('%Y-%m-%d %H:%M:%S'):<21}"
              f"{e.origin or '-':<8}{_cut(e.state, 17):<18}{_cut(e.subject or '-', 25):<26}"
              f"{quarantine.printable(e.reason.encode())}")


@app.command("show")
def show_command(qid: Id, region: Region = None, store: Store = None, dsn: Dsn = None,
                 schema: Schema = None, sqlite_dir: SqliteDir = None, peers: Peers = None,
                 as_json: AsJson = False) -> None:
    """One message in full: reason, headers, history and its bytes (escaped for the terminal)."""
    from regions.runtime import quarantine

    config = _config("show", region, store, dsn, schema, sqlite_dir, peers)
    entry = _with_store("show", config, lambda app: quarantine.find(app, qid))
    if as_json:
        print(json.dumps(entry.detail(), ensure_ascii=False))
        return
    d = entry.detail()
    for key in ("id", "parked_at", "origin", "subject", "state", "reason"):
        print(f"{key + ':':<11}{quarantine.printable(str(d[key]).encode()) or '-'}")
    for name, value in sorted(entry.headers.items()):
        print(f"header:    {quarantine.printable(f'{name}: {value}'.encode())}")
    for step in d["history"]:
        print(f"history:   {step['at']} {quarantine.printable(step['what'].encode())}")
    print(f"payload:   {d['size']} bytes (escaped; --json gives base64)")
    print(d["data_text"])


@app.command("discard")
def discard_command(qid: Id,
                    reason: Annotated[str, typer.Option(help="Why (kept with the record).")],
                    by: Annotated[str | None, typer.Option(help="Operator (default: login).")]
                    = None,
                    region: Region = None, store: Store = None, dsn: Dsn = None,
                    schema: Schema = None, sqlite_dir: SqliteDir = None, peers: Peers = None,
                    as_json: AsJson = False) -> None:
    """Mark a message discarded, with who and why. The record and its bytes are kept."""
    from regions.runtime import quarantine

    config = _config("discard", region, store, dsn, schema, sqlite_dir, peers)
    operator = by or _login()

    def discard(app: EventStore) -> quarantine.Entry:
        entry = quarantine.find(app, qid)
        return quarantine.discard(app, entry.id, by=operator, reason=reason, now=_now())
    entry = _with_store("discard", config, discard)
    print(json.dumps(entry.summary(), ensure_ascii=False) if as_json else
          f"{entry.id} discarded by {operator}: {reason}")


@app.command("replay")
def replay_command(qid: Id, region: Region = None, store: Store = None, dsn: Dsn = None,
                   schema: Schema = None, sqlite_dir: SqliteDir = None, peers: Peers = None,
                   as_json: AsJson = False) -> None:
    """Run a message through the inbox again (e.g. after an upgrade). The node must be stopped:
    this takes the region's worker lock, and refuses while a node holds it."""
    from regions.runtime import quarantine

    config = _config("replay", region, store, dsn, schema, sqlite_dir, peers)
    result = asyncio.run(_replay_locked(config, qid))
    if as_json:
        print(json.dumps({**result.entry.summary(), "outcome": result.outcome,
                          "detail": result.detail}, ensure_ascii=False))
    else:
        print(f"{result.entry.id}: {result.outcome}"
              + (f" ({quarantine.printable(result.detail.encode())})" if result.detail else ""))
    if result.outcome == "failed":
        raise typer.Exit(1)


async def _replay_locked(config: RegionConfig, qid: str) -> Any:
    from regions.runtime import quarantine
    from regions.runtime.bootstrap import build_region

    def replay(store: Any) -> Any:
        region = build_region(config, clock=_now, ids=uuid.uuid4, broker=None, store=store)
        try:
            entry = quarantine.find(region.node.app, qid)
            return quarantine.replay(region, entry.id, _now())
        except quarantine.QuarantineError as exc:
            _fail("replay", str(exc))

    return await _holding_worker_lock("replay", config, "replay must not change links behind "
                                      "a running node", replay)


async def _holding_worker_lock(command: str, config: RegionConfig, why: str,
                               work: Callable[[Any], T]) -> T:
    """`work(store)` on the region's store, holding the region's worker lock (exit 1, saying
    `why`, when a node holds it): for a command that changes the links (`replay`, `tongban
    links restored`), which a running node would change too."""
    from regions.adapters.worker_lock import worker_lock_for

    store = _open_store(command, config)
    lock = worker_lock_for(config.region, store, config.dsn)
    try:
        try:
            held = await asyncio.wait_for(lock.acquire(asyncio.Event()), LOCK_WAIT)
        except TimeoutError:
            held = False
        if not held:
            _fail(command, f"a node of region {config.region} holds {lock.describe()}; stop "
                  f"it first ({why})", code=1)
        return work(store)
    finally:
        await lock.release()
        store.close()


# --------------------------------------------------------------------------- plumbing


def _config(command: str, region: str | None, store: str | None, dsn: str | None,
            schema: str | None, sqlite_dir: Path | None, peers: str | None) -> RegionConfig:
    given: dict[str, Any] = {"region": region, "store": store, "dsn": dsn, "schema": schema,
                             "sqlite_dir": sqlite_dir, "peers": peers}
    try:
        config = RegionConfig(**{k: v for k, v in given.items() if v is not None})
    except ValidationError as exc:
        _fail(command, "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'settings'}: "
                                 f"{e['msg']}" for e in exc.errors()))
    if config.store == "memory":
        _fail(command, "--store must be sqlite or postgres (an in-memory store lives only "
                       "inside its node process)")
    return config


def _open_store(command: str, config: RegionConfig) -> Any:
    """The node's store, refusing to create a region that does not exist (a typo)."""
    from regions.adapters.stores.setup import store_for
    from regions.adapters.stores.sql import PostgresStore, SqliteStore, StoreConfigError

    try:
        store = store_for(config)
    except StoreConfigError as exc:
        _fail(command, str(exc))
    if isinstance(store, SqliteStore) and not store.path_for(config.region).exists():
        _fail(command, f"no store for region {config.region} at {store.path_for(config.region)}")
    if isinstance(store, PostgresStore) and not _schema_exists(command, store, config.region):
        _fail(command, f"no schema {store.schema_for(config.region)!r} for region "
                       f"{config.region} in the database")
    return store


def _schema_exists(command: str, store: Any, region: str) -> bool:
    import psycopg

    try:
        with psycopg.connect(store.dsn, autocommit=True, connect_timeout=10) as conn:
            row = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s",
                               (store.schema_for(region),)).fetchone()
    except psycopg.Error as exc:
        _fail(command, f"cannot reach PostgreSQL: {exc}", code=1)
    return row is not None


def _with_store(command: str, config: RegionConfig, work: Callable[[EventStore], T]) -> T:
    from regions.runtime.quarantine import QuarantineError

    store = _open_store(command, config)
    try:
        return work(store.open(config.region))
    except QuarantineError as exc:
        _fail(command, str(exc))
    finally:
        store.close()


def _fail(command: str, message: str, code: int = 2) -> NoReturn:
    """Exit with `message`, signed with the command: `command` is a `tongban quarantine`
    subcommand, or the whole command after `tongban` (`links received`) when another group
    shares these helpers — an operator must see which command refused."""
    name = command if " " in command else f"quarantine {command}"
    print(f"tongban {name}: {message}", file=sys.stderr)
    raise typer.Exit(code)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _login() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "operator"


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[:width - 1] + "…"
