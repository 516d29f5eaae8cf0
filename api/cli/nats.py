"""`tongban nats provision`: streams, dead-letter streams and consumers for a set of regions."""

from __future__ import annotations

import asyncio
import sys
from typing import Annotated

import typer

from domain.values import PILOT_REGIONS
from regions.core.ports import BrokerError

app = typer.Typer(help="NATS JetStream administration.", no_args_is_help=True)


@app.command("provision")
def provision_command(
    nats_url: Annotated[str, typer.Option(envvar="TONGBAN_NATS_URL")] = "nats://127.0.0.1:4222",
    regions: Annotated[str, typer.Option(help="Comma-separated region codes.")] = ",".join(
        str(r) for r in PILOT_REGIONS),
    replicas: Annotated[int, typer.Option(min=1, max=5, help="1, or 3 on a cluster.")] = 1,
    remote: Annotated[list[str] | None, typer.Option(
        help="Multi-site: DOMAIN=CODES, regions homed on another JetStream domain (repeatable); "
             "--regions are then this site's own.")] = None,
) -> None:
    """Create (idempotently) the per-region streams and durable consumers."""
    from regions.adapters.brokers.domains import parse_remote, provision_site
    from regions.adapters.brokers.provision import provision

    codes = [c.strip() for c in regions.split(",") if c.strip()]
    try:
        if remote:
            site = asyncio.run(provision_site(codes, nats_url, parse_remote(remote), replicas))
            done = [*site.home, *site.outbound]
        else:
            done = list(asyncio.run(provision(codes, nats_url, replicas)))
    except ValueError as exc:
        print(f"tongban nats provision: {exc}", file=sys.stderr)
        raise typer.Exit(2) from None
    except BrokerError as exc:
        print(f"tongban nats provision: {exc}", file=sys.stderr)
        raise typer.Exit(1) from None
    for item in done:
        print(item)
