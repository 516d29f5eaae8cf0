"""`tongban nats provision` and `tongban nats config`: a site's JetStream objects and its server
configuration, both from the subject grammar."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Annotated

import typer

from domain.values import PILOT_REGIONS
from regions.core.ports import BrokerError

app = typer.Typer(help="NATS JetStream administration.", no_args_is_help=True)

PILOTS = ",".join(str(r) for r in PILOT_REGIONS)


@app.command("provision")
def provision_command(
    nats_url: Annotated[str, typer.Option(envvar="TONGBAN_NATS_URL")] = "nats://127.0.0.1:4222",
    regions: Annotated[str, typer.Option(help="Comma-separated region codes.")] = PILOTS,
    replicas: Annotated[int, typer.Option(min=1, max=5, help="1, or 3 on a cluster.")] = 1,
    backend: Annotated[list[str] | None, typer.Option(
        help="NAME or NAME=PROCESS: a back-end's durable on each region's feed (repeatable); "
             "ack_wait 5 s, max_ack_pending 64.")] = None,
    remote: Annotated[list[str] | None, typer.Option(
        help="Multi-site: DOMAIN=CODES, regions homed on another JetStream domain (repeatable); "
             "--regions are then this site's own.")] = None,
    max_age_days: Annotated[float, typer.Option(
        help="How long streams keep a message (default: the protocols' longest wait, 63 "
             "calendar days, plus a week; older link messages are re-sent from the origin's "
             "store).")] = 70.0,
    max_bytes: Annotated[int, typer.Option(
        help="A byte limit per stream, reserved against the server's store (-1: none; a full "
             "store refuses publishes, never drops).")] = -1,
) -> None:
    """Create (idempotently) the per-region streams, inbox consumers and back-end durables."""
    from regions.adapters.brokers.domains import parse_remote, provision_site
    from regions.adapters.brokers.provision import Backend, provision
    from regions.adapters.brokers.retention import Retention

    codes = [c.strip() for c in regions.split(",") if c.strip()]
    try:
        backends = [Backend.parse(b) for b in backend or ()]
        limits = Retention(max_age=max_age_days * 86400.0, max_bytes=max_bytes)
        if remote:
            site = asyncio.run(provision_site(codes, nats_url, parse_remote(remote), replicas,
                                              backends=backends, retention=limits))
            done = [*site.home, *site.outbound]
        else:
            done = list(asyncio.run(provision(codes, nats_url, replicas, backends=backends,
                                              streams=limits, dead_letters=limits)))
    except ValueError as exc:
        print(f"tongban nats provision: {exc}", file=sys.stderr)
        raise typer.Exit(2) from None
    except BrokerError as exc:
        print(f"tongban nats provision: {exc}", file=sys.stderr)
        raise typer.Exit(1) from None
    for item in done:
        print(item)


@app.command("config")
def config_command(
    regions: Annotated[str, typer.Option(help="Comma-separated region codes.")] = PILOTS,
    backend: Annotated[list[str] | None, typer.Option(
        help="A back-end every region runs (repeatable; default: pension).")] = None,
    output: Annotated[Path | None, typer.Option(help="Write here instead of stdout.")] = None,
    check: Annotated[bool, typer.Option(
        help="Exit 1 if --output differs from what would be written.")] = False,
) -> None:
    """Write the NATS server configuration (users and permissions) for a site."""
    from regions.adapters.brokers.nats_conf import Site, render

    try:
        text = render(Site(tuple(c.strip() for c in regions.split(",") if c.strip()),
                           tuple(backend or ("pension",))))
    except ValueError as exc:
        print(f"tongban nats config: {exc}", file=sys.stderr)
        raise typer.Exit(2) from None
    if output is None:
        sys.stdout.write(text)
        return
    if check:
        current = output.read_text(encoding="utf-8") if output.exists() else ""
        if current != text:
            print(f"tongban nats config: {output} is out of date; regenerate it with "
                  "`tongban nats config --output`", file=sys.stderr)
            raise typer.Exit(1)
        return
    output.write_text(text, encoding="utf-8")
