"""`tongban backend pension`: run the example back-end that auto-decides pension transfers."""

from __future__ import annotations

import asyncio
import logging
import sys
from typing import Annotated

import typer

app = typer.Typer(help="Example region back-ends (consume the feed, send commands).",
                  no_args_is_help=True)


@app.command("pension")
def pension_command(
    region: Annotated[str, typer.Option(envvar="TONGBAN_REGION",
                                        help="GB/T 2260 code of the back-end's region.")],
    nats_url: Annotated[str, typer.Option(envvar="TONGBAN_NATS_URL")] = "nats://127.0.0.1:4222",
    name: Annotated[str, typer.Option(envvar="TONGBAN_BACKEND_NAME",
                                      help="This back-end's name: its NATS user is backend_<region>_<name>, and "
                                           "it names its command subject and its durable.")] = "pension",
) -> None:
    """Consume the region's feed and decide its pension transfers until SIGTERM/SIGINT."""
    from domain.kernel import InvalidValue
    from domain.values import RegionCode

    try:
        code = RegionCode.parse(region)
    except InvalidValue as exc:
        print(f"tongban backend pension: --region: {exc}", file=sys.stderr)
        raise typer.Exit(2) from None
    from regions.wire import subjects

    try:
        subjects.feed_consumer_name(name)
    except ValueError as exc:
        print(f"tongban backend pension: --name: {exc}", file=sys.stderr)
        raise typer.Exit(2) from None
    from regions.runtime import event_loop

    try:
        loop_factory = event_loop.factory()  # TONGBAN_EVENT_LOOP, as `tongban node` reads it
    except event_loop.EventLoopError as exc:
        print(f"tongban backend pension: {exc}", file=sys.stderr)
        raise typer.Exit(2) from None
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    from regions.sdk.examples.pension import run_pension_backend

    with asyncio.Runner(loop_factory=loop_factory) as runner:
        runner.run(run_pension_backend(str(code), nats_url, name))
