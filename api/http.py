"""The node's HTTP server (`--http HOST:PORT`): /healthz, /readyz, /metrics — and later the API.

Why it looks like this:
- `build_app(status, *routers)` composes routers onto one FastAPI app: the operations router is
  here; the applicant and staff API will be another router on the same server.
- uvicorn runs inside the node's own event loop (no thread, no second process), so the
  handlers read the node's state directly. It starts before the worker lock is taken: a standby
  answers /healthz 200 and /readyz 503 "standby". uvicorn's own signal capture is switched off —
  the node owns SIGTERM and drains first, then stops the server.
- The socket is bound before anything else starts, so a taken port fails the command at once
  with a clear message instead of inside a background task.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Iterator

import uvicorn
from fastapi import APIRouter, FastAPI, Response
from fastapi.responses import JSONResponse

from api import examples, problems
from regions.core.config import split_host_port
from regions.runtime.metrics import CONTENT_TYPE, registry_for, render
from regions.runtime.status import NodeStatus

log = logging.getLogger("tongban.http")


def ops_router(status: NodeStatus) -> APIRouter:
    # Only an unexpected error is a problem here: nothing these read can be refused.
    router = APIRouter(tags=["operations"], responses={500: problems.RESPONSES[500]})
    registry = registry_for(status)

    @router.get("/healthz", responses=examples.HEALTH)
    async def healthz() -> dict[str, object]:
        """The process is alive and its event loop answers."""
        return {"alive": True, "region": status.config.region, "worker": status.worker}

    @router.get("/readyz", responses=examples.READINESS)
    async def readyz() -> JSONResponse:
        """200 when the store answers, the broker is connected and this is the active worker."""
        await status.refresh_head()
        readiness = await status.readiness()
        return JSONResponse(readiness.body(), status_code=200 if readiness.ready else 503)

    @router.get("/metrics", response_class=Response, responses=examples.METRICS)
    async def metrics() -> Response:
        await status.refresh_head()
        return Response(render(registry), media_type=CONTENT_TYPE)

    return router


def build_app(status: NodeStatus, *routers: APIRouter) -> FastAPI:
    app = FastAPI(title=f"tongban node {status.config.region}", version="1",
                  description="Applicants, supervisors and operators of one region's node. "
                              "Errors are RFC 9457 application/problem+json.",
                  docs_url="/docs", redoc_url=None, openapi_url="/openapi.json")
    problems.install(app)
    app.include_router(ops_router(status))
    for router in routers:
        app.include_router(router)
    return app


def bind(address: str) -> socket.socket:
    """Listen on HOST:PORT (port 0: any free one); OSError with the address if that fails."""
    host, port = split_host_port(address)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise OSError(exc.errno, f"cannot listen on {address}: {exc.strerror}") from exc
    sock.setblocking(False)
    return sock


class _QuietServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield  # the node handles SIGTERM/SIGINT itself


class HttpServer:
    """uvicorn on an already bound socket, started and stopped by the node process."""

    def __init__(self, app: FastAPI, sock: socket.socket) -> None:
        self.sock = sock
        config = uvicorn.Config(app, lifespan="off", log_level="warning", access_log=False)
        self.server = _QuietServer(config)
        self._task: asyncio.Task[None] | None = None

    @property
    def address(self) -> str:
        host, port = self.sock.getsockname()[:2]
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

    async def start(self) -> None:
        self._task = asyncio.create_task(self.server.serve(sockets=[self.sock]))
        while not self.server.started:
            if self._task.done():
                await self._task  # raises what went wrong
                raise RuntimeError("the HTTP server stopped during start-up")
            await asyncio.sleep(0.01)
        log.info("HTTP on http://%s (/healthz /readyz /metrics)", self.address)

    async def stop(self) -> None:
        self.server.should_exit = True
        if self._task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._task, 5.0)
        self.sock.close()
