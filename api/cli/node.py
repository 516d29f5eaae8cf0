"""`tongban node`: run one region's node (flags or TONGBAN_* variables)."""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from regions.core.config import RegionConfig, SecretsError


def node(
    region: Annotated[str | None, typer.Option(help="GB/T 2260 code of this node's region.")] = None,
    peers: Annotated[str | None, typer.Option(help="Comma-separated peer region codes.")] = None,
    store: Annotated[str | None, typer.Option(help="memory, sqlite or postgres.")] = None,
    dsn: Annotated[str | None, typer.Option(help="PostgreSQL DSN for --store postgres.")] = None,
    schema: Annotated[str | None, typer.Option(help="PostgreSQL schema of this region.")] = None,
    sqlite_dir: Annotated[Path | None, typer.Option(help="Directory of SQLite files.")] = None,
    broker: Annotated[str | None, typer.Option(help="nats (memory only in simulate).")] = None,
    nats_url: Annotated[str | None, typer.Option(help="NATS server URL.")] = None,
    http: Annotated[str | None, typer.Option(
        help="Serve /healthz, /readyz and /metrics on HOST:PORT (e.g. 127.0.0.1:8000).")] = None,
    development: Annotated[bool, typer.Option(
        "--development", help="A development run: the public register key and an unencrypted "
                              "store are allowed (docs/secrets.md).")] = False,
) -> None:
    """Run one region's node until SIGTERM/SIGINT."""
    given: dict[str, Any] = {"region": region, "peers": peers, "store": store, "dsn": dsn, "schema": schema,
             "sqlite_dir": sqlite_dir, "broker": broker, "nats_url": nats_url,
             "http": http, "development": development or None}
    try:
        config = RegionConfig(**{k: v for k, v in given.items() if v is not None})
    except ValidationError as exc:
        for error in exc.errors():
            where = ".".join(str(p) for p in error["loc"]) or "settings"
            print(f"tongban node: {where}: {error['msg']}", file=sys.stderr)
        raise typer.Exit(2) from None
    try:
        config.check_secrets()
    except SecretsError as exc:
        print(f"tongban node: {exc}", file=sys.stderr)
        raise typer.Exit(2) from None
    if config.broker != "nats":
        print("tongban node: --broker must be nats (the in-memory broker lives only inside "
              "`tongban simulate`)", file=sys.stderr)
        raise typer.Exit(2)
    from regions.runtime import event_loop

    try:
        loop_factory = event_loop.factory()  # a bad TONGBAN_EVENT_LOOP stops here, not later
    except event_loop.EventLoopError as exc:
        print(f"tongban node: {exc}", file=sys.stderr)
        raise typer.Exit(2) from None
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("tongban.node").info("event loop: %s", event_loop.chosen())
    from api.node import run_node

    try:
        with asyncio.Runner(loop_factory=loop_factory) as runner:
            runner.run(run_node(config))
    except OSError as exc:  # e.g. the --http port is taken
        print(f"tongban node: {exc}", file=sys.stderr)
        raise typer.Exit(1) from None
