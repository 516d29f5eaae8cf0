"""`provision()` on a real nats-server: what it creates, that it is idempotent, what it refuses.

Stream and consumer settings are read back through a plain nats-py connection (an operator's
view), not through the adapter under test.
"""

from __future__ import annotations

import re
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import nats
import pytest
import yaml
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext, api

from regions.adapters.brokers import retention
from regions.adapters.brokers.nats import NatsBroker
from regions.adapters.brokers.nats_server import NatsServer, free_port
from regions.adapters.brokers.provision import (
    BACKEND_ACK_WAIT,
    BACKEND_MAX_ACK_PENDING,
    DEFAULT_ACK_WAIT,
    DEFAULT_DUPLICATE_WINDOW,
    provision,
)
from regions.core.ports import BrokerError
from regions.wire import link, subjects

ORDOS, ULANQAB = "150600", "150900"
YULIN = "610800"

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def js(nats_server: NatsServer) -> AsyncIterator[JetStreamContext]:
    """An operator's connection to an empty server."""
    if not nats_server.running:
        nats_server.restart()
    nc: NatsClient = await nats.connect(nats_server.url)
    js = nc.jetstream()
    for info in await js.streams_info():
        await js.delete_stream(info.config.name or "")
    yield js
    await nc.close()


async def stream_names(js: JetStreamContext) -> set[str]:
    return {info.config.name or "" for info in await js.streams_info()}


async def test_provision_creates_event_and_dead_letter_streams_and_an_inbox_per_region(
    nats_server: NatsServer, js: JetStreamContext,
) -> None:
    done = await provision([ORDOS, ULANQAB], nats_server.url)
    assert [p.region for p in done] == [ORDOS, ULANQAB]
    assert await stream_names(js) == {"TB_EVT_150600", "TB_DLQ_150600", "TB_FEED_150600",
                                      "TB_EVT_150900", "TB_DLQ_150900", "TB_FEED_150900"}
    events = (await js.stream_info("TB_EVT_150600")).config
    assert events.subjects == ["tb.v1.evt.150600.*"]
    assert events.duplicate_window == DEFAULT_DUPLICATE_WINDOW
    dead = (await js.stream_info("TB_DLQ_150600")).config
    assert dead.subjects == ["tb.v1.dlq.150600"]
    inbox = await js.consumer_info("TB_EVT_150600", "inbox_150600")
    assert inbox.config.durable_name == "inbox_150600"
    assert inbox.config.ack_policy == api.AckPolicy.EXPLICIT
    assert inbox.config.deliver_policy == api.DeliverPolicy.ALL
    assert inbox.config.deliver_subject is None  # a pull consumer
    assert inbox.config.ack_wait == DEFAULT_ACK_WAIT
    assert done[0].inbox.ack_wait == DEFAULT_ACK_WAIT
    assert done[0].events.name == "TB_EVT_150600"
    feed = (await js.stream_info("TB_FEED_150600")).config
    assert feed.subjects == ["tb.v1.feed.150600.>"]
    assert done[0].feed is not None and done[0].feed.name == "TB_FEED_150600"


async def test_provisioned_streams_keep_messages_for_the_longest_wait_and_never_drop_when_full(
    nats_server: NatsServer, js: JetStreamContext,
) -> None:
    await provision([ORDOS], nats_server.url)
    for name in ("TB_EVT_150600", "TB_DLQ_150600", "TB_FEED_150600"):
        config = (await js.stream_info(name)).config
        assert config.retention == api.RetentionPolicy.LIMITS  # acking deletes nothing
        assert config.storage == api.StorageType.FILE
        assert (config.max_msgs, config.max_bytes, config.max_age,
                config.max_msgs_per_subject) == (-1, -1, retention.MAX_AGE_DAYS * 86400.0, -1)
        assert config.discard == api.DiscardPolicy.NEW  # a limit added later refuses, not drops
        assert config.persist_mode in (None, api.PersistMode.DEFAULT)
    assert (await js.stream_info("TB_EVT_150600")).config.deny_purge is True
    with pytest.raises(nats.js.errors.APIError):
        await js.purge_stream("TB_EVT_150600")


async def test_back_end_durables_are_provisioned_with_a_prompt_ack_wait_and_keep_their_place(
    nats_server: NatsServer, js: JetStreamContext,
) -> None:
    await provision([ORDOS], nats_server.url, backends=["pension", "audit=pension_transfer"])
    pension = await js.consumer_info("TB_FEED_150600", "pension")
    audit = await js.consumer_info("TB_FEED_150600", "audit")
    for info in (pension, audit):
        config = info.config
        assert (config.ack_wait, config.max_ack_pending, config.max_deliver) == (
            BACKEND_ACK_WAIT, BACKEND_MAX_ACK_PENDING, -1)
        assert config.ack_policy == api.AckPolicy.EXPLICIT and config.deliver_subject is None
        assert config.deliver_policy == api.DeliverPolicy.ALL
    assert pension.config.filter_subject == "tb.v1.feed.150600.>"
    assert audit.config.filter_subject == "tb.v1.feed.150600.pension_transfer.*"
    await js.publish(subjects.feed_subject(ORDOS, "pension_transfer", "X"), b"{}")
    sub = await js.pull_subscribe_bind("pension", "TB_FEED_150600")
    for msg in await sub.fetch(1, timeout=2):
        await msg.ack_sync()
    again = await provision([ORDOS], nats_server.url, backends=["pension"])
    assert again[0].backends[0].ack_floor == (await js.consumer_info(
        "TB_FEED_150600", "pension")).ack_floor.stream_seq >= 1  # its place is kept
    with pytest.raises(BrokerError, match="filters"):  # another process under the same name
        await provision([ORDOS], nats_server.url, backends=["audit=household_move"])
    with pytest.raises(ValueError, match="back-end name"):
        await provision([ORDOS], nats_server.url, backends=["pension.audit"])


async def test_provisioning_lifts_a_discarding_limit_someone_set_on_an_existing_stream(
    nats_server: NatsServer, js: JetStreamContext,
) -> None:
    name = subjects.event_stream_name(ORDOS)
    await js.add_stream(api.StreamConfig(
        name=name, subjects=subjects.event_stream_subjects(ORDOS), max_msgs=2,
        discard=api.DiscardPolicy.OLD))
    for n in range(2):
        await js.publish(subjects.event_subject(ORDOS, YULIN), f"{n}".encode())
    await provision([ORDOS], nats_server.url)
    config = (await js.stream_info(name)).config
    assert (config.max_msgs, config.discard, config.deny_purge) == (-1, "new", True)
    await js.publish(subjects.event_subject(ORDOS, YULIN), b"2")
    assert (await js.stream_info(name)).state.messages == 3


async def test_provisioning_again_keeps_messages_and_the_consumer_position_and_updates_settings(
    nats_server: NatsServer, js: JetStreamContext,
) -> None:
    await provision([ORDOS], nats_server.url, duplicate_window=60.0, ack_wait=10.0)
    broker = await NatsBroker.connect(nats_server.url)
    try:
        outs = [link.event_message(dest=ORDOS, origin=YULIN, event_id=f"e-{n}", data=b"x")
                for n in range(3)]
        await broker.publish_many(outs)
        [first] = await broker.fetch("inbox_150600", "TB_EVT_150600", 1, timeout=1.0)
        await broker.ack(first)
        await broker.consumer_info("TB_EVT_150600", "inbox_150600")  # acks applied
    finally:
        await broker.close()

    again = await provision([ORDOS], nats_server.url, duplicate_window=300.0, ack_wait=45.0,
                            max_deliver=20)

    info = await js.stream_info("TB_EVT_150600")
    assert (info.state.messages, info.config.duplicate_window) == (3, 300.0)
    inbox = await js.consumer_info("TB_EVT_150600", "inbox_150600")
    assert (inbox.ack_floor.stream_seq, inbox.num_pending) == (1, 2)
    assert (inbox.config.ack_wait, inbox.config.max_deliver) == (45.0, 20)
    assert (again[0].inbox.ack_floor, again[0].events.messages) == (1, 3)


async def test_provisioning_is_idempotent_when_nothing_changed(
    nats_server: NatsServer, js: JetStreamContext,
) -> None:
    first = await provision([ORDOS], nats_server.url)
    created = (await js.stream_info("TB_EVT_150600")).created
    second = await provision([ORDOS, ORDOS], nats_server.url)
    assert second == first
    assert (await js.stream_info("TB_EVT_150600")).created == created


async def test_bad_input_is_refused_before_anything_is_created(
    nats_server: NatsServer, js: JetStreamContext,
) -> None:
    for bad in (
        provision([], nats_server.url),
        provision([ORDOS, "15060"], nats_server.url),
        provision([ORDOS], nats_server.url, duplicate_window=0),
        provision([ORDOS], nats_server.url, ack_wait=-1),
        provision([ORDOS], nats_server.url, replicas=0),
        provision([ORDOS], nats_server.url, max_deliver=0),
    ):
        with pytest.raises(ValueError):
            await bad
    assert await stream_names(js) == set()


async def test_replicas_beyond_a_single_server_are_refused_by_the_broker(
    nats_server: NatsServer, js: JetStreamContext,
) -> None:
    with pytest.raises(BrokerError, match="replicas"):
        await provision([ORDOS], nats_server.url, replicas=3)
    assert await stream_names(js) == set()


async def test_a_stream_that_acknowledges_before_flushing_is_refused(
    nats_server: NatsServer, js: JetStreamContext,
) -> None:
    name = subjects.event_stream_name(ORDOS)
    await js.add_stream(api.StreamConfig(
        name=name, subjects=subjects.event_stream_subjects(ORDOS),
        persist_mode=api.PersistMode.ASYNC))
    with pytest.raises(BrokerError, match="persist_mode async"):
        await provision([ORDOS], nats_server.url)


async def test_unreachable_broker_is_a_broker_error() -> None:
    with pytest.raises(BrokerError, match="cannot connect"):
        await provision([ORDOS], f"nats://127.0.0.1:{free_port()}", connect_timeout=1.0)


async def test_the_cli_creates_a_back_ends_durable_as_the_contract_documents_it(
    nats_server: NatsServer, js: JetStreamContext,
) -> None:
    """`tongban nats provision --backend NAME`, as an operator runs it, makes the durable
    asyncapi.yaml's consumeFeed tells a back-end to expect (issue 18, finding 12): its ack_wait
    and max_ack_pending are the numbers the document states, read from the YAML."""
    cli = await anyio.run_process(
        [sys.executable, "-m", "api", "nats", "provision", "--nats-url", nats_server.url,
         "--regions", ORDOS, "--backend", "pension"], cwd=ROOT, check=False)
    assert cli.returncode == 0, cli.stderr.decode()
    document = yaml.safe_load((ROOT / "asyncapi.yaml").read_text(encoding="utf-8"))
    stated = document["operations"]["consumeFeed"]["x-jetstream"]
    ack_wait = re.match(r"(\d+(?:\.\d+)?) s\b", stated["ack_wait"])
    pending = re.match(r"(\d+) messages\b", stated["max_ack_pending"])
    assert ack_wait and pending, stated
    config = (await js.consumer_info(subjects.feed_stream_name(ORDOS), "pension")).config
    assert (config.ack_wait, config.max_ack_pending) == (float(ack_wait.group(1)),
                                                          int(pending.group(1)))
    assert config.ack_policy == api.AckPolicy.EXPLICIT
    assert config.deliver_policy == api.DeliverPolicy.ALL
