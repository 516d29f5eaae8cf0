"""Region nodes as separate OS processes, for the real-process fault tests.

- `NodeProcess`: one `tongban node` (`python -m api node …`) in its own process group, stdout and
  stderr in files under the test's directory (one pair per incarnation), SIGKILL / SIGTERM, and a
  crash plan (`TONGBAN_CRASH_AT`, see `regions.runtime.crashpoints`) per incarnation.
- `ProcessCluster`: the `realworld.Nodes` the people of `realworld` work with (`pension_transfer`,
  `household_move`, `wait_status`, `wait_links_converged`, `judge`), over processes: commands go
  through `RegionClient` over NATS and are retried with the *same* command id while a node is
  down (safe: the node stores each command's outcome); sides are read from the region's store by
  a reader built with the composition root in the test process. A supervisor restarts a node that
  died at a planned crash point, without the plan, as an operator's service manager would.
- `jetstream`: what the broker holds (message ids in a stream, a consumer's delivery counts), so
  a test can show that the fault it staged really happened (a redelivery, a republish).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nats

from domain.kernel import Command, SideSummary
from regions.adapters.stores.sql import PostgresStore, SqliteStore
from regions.core.config import RegionConfig
from regions.core.outcome import Outcome
from regions.core.ports import Store
from regions.runtime.bootstrap import Region, build_region
from regions.sdk.client import CommandRejected, RegionClient, RegionUnavailable
from regions.wire import subjects
from tests.integration import realworld as rw
from tests.integration.contract_watch import ContractTap

ROOT = Path(__file__).resolve().parents[2]
#: Start-up to a serving command endpoint (imports, store, broker); ~1.5 s on this machine.
START_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0
#: Per request; a node killed mid-request costs this much before the retry.
REQUEST_TIMEOUT = 3.0
#: Test settings: fast heartbeats and a short gap bound, so anti-entropy acts within seconds.
FAST = {"TONGBAN_HEARTBEAT_SECONDS": "0.5", "TONGBAN_GAP_BOUND_SECONDS": "1",
        "TONGBAN_DEVELOPMENT": "true"}  # the public register key, an unencrypted store


def store_args(store: Store, code: str) -> list[str]:
    """The node flags that open the same store the test reads."""
    if isinstance(store, PostgresStore):
        return ["--store", "postgres", "--dsn", store.dsn, "--schema", store.schema_for(code)]
    if isinstance(store, SqliteStore):
        return ["--store", "sqlite", "--sqlite-dir", str(store.directory)]
    raise TypeError(f"a node process needs a durable store, not {type(store).__name__}")


@dataclass
class NodeProcess:
    code: str
    peers: tuple[str, ...]
    store: Store
    url: str
    logdir: Path
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    incarnation: int = 0
    exits: list[int] = field(default_factory=list)  # return codes of earlier incarnations
    restart_on_crash: bool = True
    wanted: bool = False  # started and not stopped since: only such a node is restarted

    def start(self, crash_at: str = "") -> None:
        assert not self.running, f"{self.code} already running"
        self.wanted = True
        self.incarnation += 1
        env = {k: v for k, v in os.environ.items() if not k.startswith("TONGBAN_")}
        env.update(FAST, **self.env, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")
        if crash_at:
            env["TONGBAN_CRASH_AT"] = crash_at
        with self.out_path.open("wb") as out, self.err_path.open("wb") as err:
            self.process = subprocess.Popen(self._command(), cwd=ROOT, env=env,
                                            stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                            start_new_session=True)

    def _command(self) -> list[str]:
        """The argv of an incarnation: the node of this region on its store and broker. A test
        of the supervision itself runs something else in its place (`SleeperProcess`), with
        the same bookkeeping (`wanted`, `incarnation`, the logs) as `start` keeps."""
        return [sys.executable, "-m", "api", "node", "--region", self.code,
                "--peers", ",".join(self.peers), *store_args(self.store, self.code),
                "--broker", "nats", "--nats-url", self.url]

    @property
    def out_path(self) -> Path:
        return self.logdir / f"node-{self.code}.{self.incarnation}.out"

    @property
    def err_path(self) -> Path:
        return self.logdir / f"node-{self.code}.{self.incarnation}.err"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def logs(self) -> str:
        """Everything every incarnation wrote to stderr (the node logs there)."""
        return "".join(p.read_text(errors="replace")
                       for p in sorted(self.logdir.glob(f"node-{self.code}.*.err")))

    def tail(self, lines: int = 25) -> str:
        parts = []
        for path in sorted(self.logdir.glob(f"node-{self.code}.*")):
            text = path.read_text(errors="replace").splitlines()[-lines:]
            if text:
                parts.append(f"--- {path.name}\n" + "\n".join(text))
        return "\n".join(parts) or f"(node {self.code} wrote nothing)"

    async def wait_serving(self, timeout: float = START_TIMEOUT) -> None:
        """Until this incarnation's command endpoint subscribed (it logs so)."""
        wanted = f"command endpoint of {self.code} serving"
        deadline = asyncio.get_running_loop().time() + timeout
        while wanted not in self.err_path.read_text(errors="replace"):
            if not self.running:
                raise AssertionError(f"node {self.code} exited ({self._returncode()}) before "
                                     f"serving:\n{self.tail()}")
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"node {self.code} not serving after {timeout} s:\n"
                                     f"{self.tail()}")
            await asyncio.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL the node's process group, as a crash would."""
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self._reap(self.process.wait(timeout=STOP_TIMEOUT))

    async def stop(self) -> int:
        """SIGTERM and wait (the node drains and exits 0); SIGKILL if it does not. From here the
        node is not wanted: the supervisor neither takes this exit for a crash nor restarts a
        node that died before and waits out its restart delay."""
        self.wanted = False
        process = self.process
        if process is None:
            return 0
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        try:
            code = await asyncio.to_thread(process.wait, STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"node {self.code} ignored SIGTERM:\n{self.tail()}") from None
        self._reap(code)
        return code

    def _reap(self, code: int) -> None:
        self.exits.append(code)
        self.process = None

    def _returncode(self) -> int | None:
        return self.process.poll() if self.process is not None else None


class RetryingClient:
    """`RegionClient` that retries a command with the same id while its node is down."""

    def __init__(self, url: str, code: str, timeout: float = rw.CASE_TIMEOUT,
                 backend: str = "window") -> None:
        self.inner = RegionClient(url, code, backend, timeout=REQUEST_TIMEOUT)
        self.timeout = timeout

    async def connect(self) -> RetryingClient:
        await self.inner.connect()
        return self

    async def close(self) -> None:
        await self.inner.close()

    async def submit(self, case_number: str, process: str, command: Command, *,
                     command_id: str, applicant_id: str | None = None) -> Outcome:
        return await self._retry(lambda: self.inner.submit(
            case_number, process, command, command_id=command_id,
            applicant_id=applicant_id))

    async def command(self, case_id: str, command: Command, *, command_id: str) -> Outcome:
        return await self._retry(lambda: self.inner.command(
            case_id, command, command_id=command_id))

    async def _retry(self, send: Any) -> Outcome:
        deadline = asyncio.get_running_loop().time() + self.timeout
        while True:
            try:
                outcome: Outcome = await send()
                return outcome
            except RegionUnavailable:
                pass
            except CommandRejected as exc:
                if exc.code != "in_progress":
                    raise
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"region {self.inner.region} unavailable for "
                                     f"{self.timeout} s")
            await asyncio.sleep(0.1)


@dataclass
class ProcessNode:
    """What `realworld` asks of a node: a client, a region to read with, a side's summary."""

    code: str
    process: NodeProcess
    client: RetryingClient
    region: Region  # the test's reader on the node's store (never the node's own)
    reader: ThreadPoolExecutor

    async def read(self, fn: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self.reader, lambda: fn(*args))

    async def summary(self, case_id: str) -> SideSummary | None:
        def read() -> SideSummary | None:
            node = self.region.node
            node.forget_caches()  # the store's word: the node process writes behind our back
            view = node.side(case_id)
            if view is None or view.state is None:
                return None
            summary: SideSummary = node.protocols[view.process].decider.summary(view.state)
            return summary
        result: SideSummary | None = await self.read(read)
        return result


class ProcessCluster(rw.Nodes):
    """`realworld.Nodes` whose nodes are OS processes (see the module docstring)."""

    by_code: dict[str, Any]

    def new_client(self, code: str, backend: str) -> Any:
        return RetryingClient(self[code].client.inner.url, code, backend=backend)

    async def collect(self, cases: Mapping[str, rw.CaseRun]) -> dict[str, rw.StoreEvidence]:
        peers = list(self.by_code)
        return {code: await node.read(rw.collect, node.region, cases, peers)
                for code, node in self.by_code.items()}

    def process(self, code: str) -> NodeProcess:
        node: ProcessNode = self.by_code[code]
        return node.process

    async def supervise(self, restart_delay: float) -> None:
        """Restart (without a crash plan) any node that died while meant to run: not one that
        `stop()` is stopping (it reaps that exit itself), nor one stopped during the delay."""
        while True:
            for node in self.by_code.values():
                proc: NodeProcess = node.process
                if proc.process is not None and proc.process.poll() is not None \
                        and proc.restart_on_crash and proc.wanted:
                    proc._reap(proc.process.returncode)
                    await asyncio.sleep(restart_delay)
                    if proc.wanted and not proc.running:  # not stopped in the meantime
                        proc.start()
            await asyncio.sleep(0.05)

    def tails(self) -> str:
        return "\n".join(node.process.tail() for node in self.by_code.values())


@asynccontextmanager
async def cluster(store: Store, url: str, codes: tuple[str, ...], logdir: Path, *,
                  crash_at: Mapping[str, str] | None = None, start: tuple[str, ...] | None = None,
                  restart_delay: float = 0.0) -> AsyncIterator[ProcessCluster]:
    """Node processes for `codes` (provisioned beforehand), started (all, or `start`), a reader
    per region, a supervisor; on exit every process is stopped (or killed) and the logs' tails are
    printed if the body failed. A contract tap watches the broker from before the first node
    starts (issue 18): every link, feed and quarantine message and every reply to a back-end
    must match asyncapi.yaml, and the tap must have seen the nodes' feed and replies."""
    crash_at = crash_at or {}
    tap = await ContractTap(url).start()
    nodes: dict[str, ProcessNode] = {}
    for code in codes:
        proc = NodeProcess(code, codes, store, url, logdir)
        config = RegionConfig(region=code, peers=codes)
        region = build_region(config, clock=rw.wall, ids=uuid.uuid4, broker=None, store=store)
        nodes[code] = ProcessNode(code, proc, RetryingClient(url, code), region,
                                  ThreadPoolExecutor(1, thread_name_prefix=f"read-{code}"))
    result = ProcessCluster(nodes, url)  # type: ignore[arg-type]
    supervisor: asyncio.Task[None] | None = None
    try:
        for code in start if start is not None else codes:
            nodes[code].process.start(crash_at.get(code, ""))
        for node in nodes.values():
            await node.client.connect()
        supervisor = asyncio.create_task(result.supervise(restart_delay))
        yield result
    except BaseException:
        print(result.tails())
        raise
    finally:
        if supervisor is not None:
            supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await supervisor
        await result.close_clients()
        for node in nodes.values():
            await node.client.close()
            if node.process.running:
                node.process.kill()
            node.reader.shutdown(wait=True)
        await tap.stop()
    watch = tap.watch
    assert watch.violations == [], "\n".join(watch.violations[:10])
    assert {"FeedEvent", "CommandReply", "ContactLetterIssued"} <= set(watch.checked), \
        watch.checked


async def stop_all(nodes: ProcessCluster) -> list[int]:
    """SIGTERM every running node (supervision off first); their exit codes."""
    for node in nodes.by_code.values():
        node.process.restart_on_crash = False
    return [await node.process.stop() for node in nodes.by_code.values()
            if node.process.running]


# --------------------------------------------------------------------------- the broker's side


@dataclass(frozen=True)
class ConsumerFacts:
    deliveries: int  # every delivery, redeliveries included (the consumer sequence)
    last_stream_seq: int
    ack_pending: int
    pending: int

    @property
    def redelivered(self) -> bool:
        return self.deliveries > self.last_stream_seq


async def consumer_facts(url: str, region: str) -> ConsumerFacts:
    nc = await nats.connect(url)
    try:
        info = await nc.jetstream().consumer_info(subjects.event_stream_name(region),
                                                  subjects.inbox_consumer_name(region))
        return ConsumerFacts(info.delivered.consumer_seq or 0, info.delivered.stream_seq or 0,
                             info.num_ack_pending or 0, info.num_pending or 0)
    finally:
        await nc.close()


async def stream_msg_ids(url: str, region: str) -> list[str]:
    """`Nats-Msg-Id` of every message the region's event stream holds, in order."""
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        stream = subjects.event_stream_name(region)
        state = (await js.stream_info(stream)).state
        if not state.messages:
            return []
        ids = []
        for seq in range(state.first_seq, state.last_seq + 1):
            msg = await js.get_msg(stream, seq)
            ids.append((msg.headers or {}).get("Nats-Msg-Id", ""))
        return ids
    finally:
        await nc.close()


async def publish_raw(url: str, subject: str, data: bytes) -> None:
    """Straight onto a stream, as a broken or foreign sender would."""
    nc = await nats.connect(url)
    try:
        await nc.jetstream().publish(subject, data)
    finally:
        await nc.close()


async def delete_stream(url: str, region: str) -> None:
    nc = await nats.connect(url)
    try:
        await nc.jetstream().delete_stream(subjects.event_stream_name(region))
    finally:
        await nc.close()


async def until(condition: Any, what: str, timeout: float = rw.CASE_TIMEOUT) -> Any:
    """Poll an async condition until it returns something truthy."""
    deadline = asyncio.get_running_loop().time() + timeout
    last = None
    while asyncio.get_running_loop().time() < deadline:
        last = await condition()
        if last:
            return last
        await asyncio.sleep(0.1)
    raise AssertionError(f"never: {what} (last seen: {last})")
