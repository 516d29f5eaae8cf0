"""Every message a node sends in the integration tier, checked against asyncapi.yaml (issue 18:
"every message sent in the integration tier validates against `asyncapi.yaml`").

The watch sits on nats-py's `Client.publish`, through which every message of a process goes —
core publishes, JetStream publishes (a request underneath) and request replies alike — and
checks those of a node's own connections (named `tongban-<region>`, `tongban-test-<region>`,
`tongban-cmd-<region>`, `tongban-doc-<region>`): link messages and controls on
`tb.v1.evt.*` (by their CloudEvents type; a batch of events as `LinkEventBatch` and each of its
members by its own type), feed batches on `tb.v1.feed.*`, quarantined copies on
`tb.v1.dlq.*` (headers) and answers on a requester's inbox (a command, case-query or document
reply). A test's own clients, and junk a test publishes on purpose, are not the node's and are
not checked.

Nodes run as `tongban node` processes are outside the patched client; `ContractTap` watches them
from the broker's side instead: a test-side subscriber on every subject, checking with the same
rules what appears on the link, feed and quarantine subjects and on back-ends' reply inboxes
(`_INBOX_<region>_<backend>.…`). The broker does not say who published, so a tap sees a test's
own junk too: a test publishes it before the tap starts, or runs without one. `tapped(url)`
runs a tap on a thread of its own, for a synchronous test whose clients each `asyncio.run`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import threading
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any, Final

import nats
import yaml
from jsonschema import Draft7Validator
from nats.aio.client import Client
from nats.aio.msg import Msg

ROOT: Final = Path(__file__).resolve().parents[2]
NODE_CONNECTION: Final = re.compile(r"tongban-(?:test-|cmd-|doc-)?[0-9]{6}")
#: A back-end's reply inbox; a node's own (`_INBOX_<region>.`) carries JetStream's answers.
BACKEND_INBOX: Final = re.compile(r"_INBOX_[0-9]{6}_[A-Za-z0-9_-]+\.")
REPLIES: Final = ("CommandReply", "CaseStateReply", "DocumentReply")
#: Consecutive events of a link in one message (CloudEvents batched JSON).
BATCH: Final = "LinkEventBatch"
_PREFIX: Final = "cn.tongban."


@cache
def _document() -> dict[str, Any]:
    found: dict[str, Any] = yaml.safe_load((ROOT / "asyncapi.yaml").read_text(encoding="utf-8"))
    return found


@cache
def _validator(message: str, part: str) -> Draft7Validator:
    components = _document()["components"]
    if part == "array":  # a batch's array alone: its members are checked one by one, by type
        payload = components["messages"][message]["payload"]
        return Draft7Validator({k: v for k, v in payload.items() if k != "items"})
    return Draft7Validator({**components["messages"][message][part],
                            "components": components})


def _errors(message: str, part: str, instance: Any) -> list[str]:
    return [f"{message} {part} {'/'.join(map(str, e.path))}: {e.message[:200]}"
            for e in _validator(message, part).iter_errors(instance)]


class ContractWatch:
    """Collects what the node sent that the document does not describe."""

    def __init__(self) -> None:
        self.violations: list[str] = []
        self.checked: dict[str, int] = {}

    def sent(self, connection: str, subject: str, payload: bytes,
             headers: Mapping[str, str] | None) -> None:
        if not NODE_CONNECTION.fullmatch(connection or ""):
            return
        found = self.check(subject, payload, dict(headers or {}))
        if found:
            self.violations.extend(f"{connection} → {subject}: {v}" for v in found[:3])

    def check(self, subject: str, payload: bytes, headers: dict[str, str]) -> list[str]:
        if subject.startswith("tb.v1.dlq."):
            return self._count("QuarantinedMessage", _errors("QuarantinedMessage", "headers",
                                                             headers))
        if subject.startswith("_INBOX"):
            return self._reply(payload)
        if not subject.startswith(("tb.v1.evt.", "tb.v1.feed.")):
            return []
        try:
            body = json.loads(payload)
        except ValueError:
            return [f"not JSON: {payload[:80]!r}"]
        if subject.startswith("tb.v1.feed."):
            return self._count("FeedEvent", _errors("FeedEvent", "payload", body)
                               + _errors("FeedEvent", "headers", headers))
        if isinstance(body, list):  # several events of the link: each member by its own type
            found = self._count(BATCH, _errors(BATCH, "headers", headers)
                                + _errors(BATCH, "array", body))
            if found:
                return found
            for index, member in enumerate(body):
                found += [f"member {index + 1}: {e}" for e in self._event(member, {})]
            return found
        return self._event(body, headers)

    def _event(self, body: Any, headers: dict[str, str]) -> list[str]:
        """A structured link message (or a batch's member: headers are the batch's) by type."""
        kind = str(body.get("type", "")) if isinstance(body, dict) else ""
        name = kind.removeprefix(_PREFIX).removeprefix("link.")
        if not kind.startswith(_PREFIX) or name not in _document()["components"]["messages"]:
            return [f"a link message of undocumented type {kind!r}"]
        return self._count(name, _errors(name, "payload", body)
                           + (_errors(name, "headers", headers) if headers else []))

    def _reply(self, payload: bytes) -> list[str]:
        try:
            body = json.loads(payload)
        except ValueError:
            return [f"a reply that is not JSON: {payload[:80]!r}"]
        for name in REPLIES:
            if not _errors(name, "payload", body):
                return self._count(name, [])
        return [f"a reply none of {', '.join(REPLIES)} describes: {payload[:200]!r}"]

    def _count(self, name: str, errors: list[str]) -> list[str]:
        self.checked[name] = self.checked.get(name, 0) + 1
        return errors


class ContractTap:
    """A `ContractWatch` fed by a subscriber on the broker: for nodes in other processes.

    It checks what is published on `tb.v1.evt.*`, `tb.v1.feed.*`, `tb.v1.dlq.*` and on
    back-ends' reply inboxes, not JetStream's own traffic: a consumer's delivery of a stored
    message, sent to the consumer's inbox, reaches a `>` subscriber under the subject it was
    first published on, with a `$JS.ACK` reply subject (it was checked when published, or is a
    test's junk from before the tap), a pull's status messages have no body, and the server's
    answers to a back-end's JetStream API calls on its inbox are the server's. It reconnects
    for as long as the test runs, so a broker killed and restarted mid-test is watched again
    once back."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.watch = ContractWatch()
        self.seen = 0  # every message the subscription handed over, checked or not
        self.stats: dict[str, int] = {}  # the connection's counters when it let go
        self._nc: Client | None = None

    async def start(self) -> ContractTap:
        async def quiet(_: Exception) -> None:  # a broker down mid-test is the test's business
            return None

        self._nc = await nats.connect(self.url, name="tongban-contract-tap",
                                      max_reconnect_attempts=-1, reconnect_time_wait=0.2,
                                      error_cb=quiet)
        await self._nc.subscribe(">", cb=self._seen)
        await self._nc.flush()
        return self

    async def settled(self, count: int, timeout: float = 10.0) -> None:
        """Wait until `count` messages have reached the tap: a test that published them and
        flushed has them on the server, not yet through the tap's callback on a loaded machine."""
        deadline = asyncio.get_running_loop().time() + timeout
        while self.seen < count and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.01)

    async def stop(self) -> ContractWatch:
        """Check what has arrived, then let go; the watch with what it found."""
        if self._nc is not None:
            nc, self._nc = self._nc, None
            self.stats = {k: int(v) for k, v in nc.stats.items()}
            if nc.is_connected:
                await nc.drain()
            else:
                await nc.close()
        return self.watch

    async def _seen(self, msg: Msg) -> None:
        self.seen += 1
        subject = msg.subject
        if (msg.reply or "").startswith("$JS.ACK."):
            return  # a consumer's delivery of a stored message (under its first subject)
        if BACKEND_INBOX.match(subject):
            if not msg.data or _jetstream_answer(msg.data):
                return
        elif not subject.startswith(("tb.v1.evt.", "tb.v1.feed.", "tb.v1.dlq.")):
            return
        try:
            found = self.watch.check(subject, msg.data, dict(msg.headers or {}))
        except Exception as exc:  # nats-py would hand it to the quiet error callback: lost
            found = [f"the tap could not check it: {exc!r}"]
        self.watch.violations.extend(f"{subject}: {v}" for v in found[:3])


def _jetstream_answer(data: bytes) -> bool:
    """The server's answer to a back-end's own JetStream API call (its durable's info, say),
    which arrives on the back-end's inbox too: the server's, not the node's."""
    try:
        body = json.loads(data)
    except ValueError:
        return False
    return isinstance(body, dict) and str(body.get("type", "")).startswith(
        "io.nats.jetstream.api.")


@contextlib.contextmanager
def tapped(url: str) -> Iterator[ContractWatch]:
    """A `ContractTap` on its own thread and event loop for the block: a synchronous test runs
    its clients with `asyncio.run`, a loop each that ends with it, so none can host the tap.
    The watch yielded holds everything the tap saw once the block has ended."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="contract-tap", daemon=True)
    thread.start()
    try:
        tap = asyncio.run_coroutine_threadsafe(ContractTap(url).start(), loop).result(30)
        try:
            yield tap.watch
        finally:
            asyncio.run_coroutine_threadsafe(tap.stop(), loop).result(30)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
