"""The shipped `deploy/nats/nats.conf` isolates its users: nobody reads another's traffic or
touches another's consumer (issue 11, findings 1 and 9).

A private nats-server 2.15.1 runs the shipped file. The users of three regions — 鄂尔多斯
(150600), 榆林 (610800) and 银川 (640100), each a node and a pension back-end — are the cast:

- **Traffic.** 150600's node pulls a delivery from its inbox (a 610800 event with a citizen ID
  in it) and acks it; 610800's node publishes and gets its publish ack; 150600's back-end sends
  a command and gets the node's reply, and pulls and acks a message of its own feed durable.
  Meanwhile every *other* user subscribes to `>`, `_INBOX.>` and every other user's reply
  prefix: each subscription must be refused, and nothing of anybody's traffic may arrive.
- **Consumers.** A user may read, pull and ack only its own durable; nobody but the admin may
  create, update or delete a consumer — not another's, not a push consumer aimed anywhere, not
  even its own.

The traffic is made with plain nats-py calls (`js.publish`, `pull_subscribe`/`fetch`,
`request`) on connections that use the user's reply prefix, as the node and the SDK do, so the
test also shows that nats-py keeps JetStream acks, pull deliveries and replies under it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field

import nats
import nats.errors
import nats.js.errors
import pytest
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.js import api

from regions.adapters.brokers import nats_conf
from regions.adapters.brokers.provision import provision
from regions.wire import subjects
from tests.integration.deployment import DeployedNats
from tests.services.nats_server import pinned_binary

pytestmark = pytest.mark.timeout(120)

REGIONS = ("150600", "610800", "640100")
#: What must never leak: a citizen ID number in a 610800 → 150600 event, and in a reply.
SECRET = "110101199003077777"
FEED_SUBJECT = "tb.v1.feed.150600.pension_transfer.ApplicationSubmitted"
#: Short: a refused request is simply never answered.
REFUSED_AFTER = 0.75


@dataclass(frozen=True)
class User:
    """A NATS user of the shipped file, and the reply prefix its clients connect with."""

    name: str
    password: str
    prefix: str

    def __str__(self) -> str:
        return self.name


def _user(user: nats_conf.NatsUser) -> User:
    return User(user.name, user.password, user.inbox_prefix)


def node(region: str) -> User:
    return _user(nats_conf.node_user(region))


def backend(region: str, name: str = "pension") -> User:
    return _user(nats_conf.backend_user(region, name))


ADMIN = _user(nats_conf.admin_user())
USERS = [user for r in REGIONS for user in (node(r), backend(r))]


@dataclass(frozen=True)
class Consumer:
    stream: str
    name: str

    def __str__(self) -> str:
        return f"{self.stream}/{self.name}"


INBOX = Consumer("TB_EVT_150600", "inbox_150600")
PENSION = Consumer("TB_FEED_150600", "pension")
#: A second back-end of 150600 (an audit system): its durable is not the pension back-end's.
AUDIT = Consumer("TB_FEED_150600", "audit")
#: A third back-end of 150600 (its records office), attacked only by the pension back-end.
RECORDS = Consumer("TB_FEED_150600", "records")


@dataclass
class Conn:
    """A connection as one user, with every error the server reported to it."""

    user: User
    nc: NatsClient
    errors: list[str] = field(default_factory=list)

    def refused(self, what: str, subject: str) -> bool:
        """Whether the server refused it (nats-py reports the server's error lower-cased)."""
        return any(f'permissions violation for {what} to "{subject}"'.lower() in e.lower()
                   for e in self.errors)


async def refusals(conn: Conn, what: str, subjects_: list[str],
                   wait: float = 2.0) -> list[str]:
    """Those of `subjects_` the server refused, waiting up to `wait` s for its -ERR lines
    (they usually precede the flush's PONG, not always)."""
    deadline = asyncio.get_running_loop().time() + wait
    while True:
        refused = [s for s in subjects_ if conn.refused(what, s)]
        if len(refused) == len(subjects_) or asyncio.get_running_loop().time() > deadline:
            return refused
        await asyncio.sleep(0.02)


async def connect(server: DeployedNats, user: User) -> Conn:
    conn = Conn(user, NatsClient())

    async def on_error(exc: Exception) -> None:
        conn.errors.append(str(exc))
    await conn.nc.connect(server.user_url(user.name, user.password), error_cb=on_error,
                          inbox_prefix=user.prefix, allow_reconnect=False)
    return conn


@contextlib.asynccontextmanager
async def connected(server: DeployedNats, *users: User) -> AsyncIterator[list[Conn]]:
    conns = [await connect(server, user) for user in users]
    try:
        yield conns
    finally:
        for conn in conns:
            await conn.nc.close()


@pytest.fixture(scope="module")
def shipped_nats(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DeployedNats]:
    server = DeployedNats(workdir=tmp_path_factory.mktemp("shipped-nats"), binary=pinned_binary())
    server.start()
    try:
        asyncio.run(setup(server))
        yield server
    finally:
        server.stop()


async def setup(server: DeployedNats) -> None:
    """Streams and inbox consumers as `tongban nats provision` makes them, the feed durables
    of two back-ends of 150600, and a message waiting in each."""
    await provision(REGIONS, server.user_url(ADMIN.name, ADMIN.password),
                    backends=[PENSION.name, AUDIT.name, RECORDS.name])


async def publish(server: DeployedNats, subject: str, data: bytes) -> None:
    """A fresh message for the consumers to deliver (as the node that writes it would)."""
    async with connected(server, ADMIN) as (admin,):
        await admin.nc.jetstream().publish(subject, data)


async def pending(server: DeployedNats, consumer: Consumer) -> tuple[int, int]:
    """(delivered, ack pending) as the admin sees the consumer; a deleted one raises."""
    async with connected(server, ADMIN) as (admin,):
        info = await admin.nc.jetstream().consumer_info(consumer.stream, consumer.name)
    return info.delivered.consumer_seq, info.num_ack_pending


# --------------------------------------------------------------------------- traffic


async def traffic(server: DeployedNats) -> dict[str, bytes]:
    """Every kind of reply-subject traffic, each by its rightful user; what each received."""
    got: dict[str, bytes] = {}
    async with connected(server, node("150600"), node("610800"), backend("150600")) as conns:
        here, there, window = conns
        # The node's command endpoint, answering on the back-end's reply subject.
        command = subjects.command_subject("150600", "pension")

        async def answer(msg: Msg) -> None:
            await msg.respond(json.dumps({"ok": True, "id_number": SECRET}).encode())
        await here.nc.subscribe(command, cb=answer)
        await here.nc.flush()
        # 610800 publishes an event to 150600 and gets its publish ack.
        ack = await there.nc.jetstream().publish(
            "tb.v1.evt.150600.610800", json.dumps({"id_number": SECRET}).encode(),
            headers={"Nats-Msg-Id": f"{uuid.uuid4()}:150600"})
        got["publish ack"] = json.dumps({"seq": ack.seq}).encode()
        # 150600 pulls it from its inbox and acks it (the ack confirmed on its reply subject).
        inbox = await here.nc.jetstream().pull_subscribe_bind(INBOX.name, INBOX.stream)
        (delivery,) = await inbox.fetch(1, timeout=5)
        await delivery.ack_sync()
        got["inbox delivery"] = delivery.data
        # 150600's back-end sends a command and reads the reply.
        reply = await window.nc.request(command, b'{"command_id": "leak-probe"}', timeout=5)
        got["command reply"] = reply.data
        # 150600's back-end pulls a message of its own feed durable and acks it.
        await publish(server, FEED_SUBJECT, json.dumps({"id_number": SECRET}).encode())
        feed = await window.nc.jetstream().pull_subscribe_bind(PENSION.name, PENSION.stream)
        (fed,) = await feed.fetch(1, timeout=5)
        await fed.ack_sync()
        got["feed delivery"] = fed.data
    return got


def spy_patterns(spy: User) -> list[str]:
    """Everything a curious user might subscribe to for others' replies and deliveries."""
    prefixes = {user.prefix for user in [*USERS, ADMIN] if user.name != spy.name}
    return list(dict.fromkeys([">", "_INBOX.>", "$JS.>", "tb.v1.>",
                               *(f"{p}.>" for p in sorted(prefixes) if p != spy.prefix)]))


@pytest.mark.parametrize("spy", USERS, ids=str)
def test_a_third_user_sees_none_of_the_others_deliveries_replies_or_acks(
    shipped_nats: DeployedNats, spy: User,
) -> None:
    async def run() -> tuple[dict[str, list[str]], list[str], dict[str, bytes]]:
        seen: dict[str, list[str]] = {}
        async with connected(shipped_nats, spy) as (conn,):
            patterns = spy_patterns(spy)
            for pattern in patterns:
                async def record(msg: Msg, pattern: str = pattern) -> None:
                    seen.setdefault(pattern, []).append(f"{msg.subject}: {msg.data[:80]!r}")
                await conn.nc.subscribe(pattern, cb=record)
            await conn.nc.flush()
            refused = await refusals(conn, "subscription", patterns)
            got = await traffic(shipped_nats)
            await conn.nc.flush()
            await asyncio.sleep(0.2)  # anything in flight to the spy lands
        return seen, [p for p in patterns if p not in refused], got

    seen, allowed, got = asyncio.run(run())
    assert set(got) == {"publish ack", "inbox delivery", "command reply", "feed delivery"}
    assert all(SECRET.encode() in data for name, data in got.items() if name != "publish ack")
    assert seen == {}, f"{spy} read others' traffic"
    assert allowed == [], f"{spy} may subscribe to {allowed}"


# --------------------------------------------------------------------------- consumers


async def attempt(conn: Conn, subject: str, payload: bytes = b"") -> bool:
    """True when anything answered the request (the server never answers a refused one).

    A reply subject of its own rather than `nc.request`: JetStream delivers a pulled message
    under its stream subject, which nats-py's request multiplexer would not recognise.
    """
    inbox = conn.nc.new_inbox()
    sub = await conn.nc.subscribe(inbox, max_msgs=1)
    try:
        await conn.nc.publish(subject, payload, reply=inbox)
        await sub.next_msg(timeout=REFUSED_AFTER)
    except nats.errors.TimeoutError:
        return False
    finally:
        with contextlib.suppress(nats.errors.Error):
            await sub.unsubscribe()
    return True


def push_config(stream: str, name: str, deliver_to: str) -> bytes:
    """A `CONSUMER.CREATE` request for a push consumer delivering to `deliver_to`."""
    config = api.ConsumerConfig(durable_name=name, deliver_subject=deliver_to,
                                ack_policy=api.AckPolicy.EXPLICIT)
    return json.dumps({"stream_name": stream, "config": config.as_dict()}).encode()


async def someones_ack_subject(server: DeployedNats, consumer: Consumer) -> str:
    """A delivery of `consumer` pending its ack, as its rightful owner would hold it."""
    await publish(server, FEED_SUBJECT if consumer.stream.startswith("TB_FEED")
                  else "tb.v1.evt.150600.610800", b"{}")
    async with connected(server, ADMIN) as (admin,):
        sub = await admin.nc.jetstream().pull_subscribe_bind(consumer.name, consumer.stream)
        with contextlib.suppress(nats.errors.TimeoutError):
            (msg,) = await sub.fetch(1, timeout=2)
            return msg.reply
    raise AssertionError(f"nothing to deliver on {consumer}")


ATTACKS = [  # (attacker, another's consumer)
    (backend("150600"), AUDIT), (backend("640100"), PENSION), (backend("640100"), INBOX),
    (node("640100"), INBOX), (node("640100"), PENSION), (node("610800"), INBOX),
    (backend("610800"), AUDIT), (backend("150600"), INBOX),
]


@pytest.mark.parametrize(("attacker", "victim"), ATTACKS, ids=lambda x: str(x))
def test_a_user_cannot_read_pull_ack_create_or_delete_another_users_consumer(
    shipped_nats: DeployedNats, attacker: User, victim: Consumer,
) -> None:
    async def run() -> dict[str, bool]:
        ack_subject = await someones_ack_subject(shipped_nats, victim)
        before = await pending(shipped_nats, victim)
        async with connected(shipped_nats, attacker) as (conn,):
            api_ = f"$JS.API.CONSUMER.%s.{victim.stream}.{victim.name}"
            answered = dict(zip(["info", "next", "create", "delete"], await asyncio.gather(
                attempt(conn, api_ % "INFO"),
                attempt(conn, api_ % "MSG.NEXT", b'{"batch": 1, "no_wait": true}'),
                attempt(conn, api_ % "CREATE", push_config(victim.stream, victim.name,
                                                          conn.user.prefix + ".x")),
                attempt(conn, api_ % "DELETE"),
            ), strict=True))
            answered["ack"] = await attempt(conn, ack_subject, b"+ACK")
        after = await pending(shipped_nats, victim)  # raises if it was deleted
        answered["changed"] = after != before
        return answered

    answered = asyncio.run(run())
    assert answered == dict.fromkeys(["info", "next", "create", "delete", "ack", "changed"],
                                     False), f"{attacker} touched {victim}"


def test_a_back_end_cannot_pull_from_or_ack_another_back_ends_durable(
    shipped_nats: DeployedNats,
) -> None:
    async def run() -> tuple[bool, bool, tuple[int, int], tuple[int, int]]:
        ack_subject = await someones_ack_subject(shipped_nats, RECORDS)
        await publish(shipped_nats, FEED_SUBJECT, b"{}")  # one more, for the thief to pull
        before = await pending(shipped_nats, RECORDS)
        async with connected(shipped_nats, backend("150600")) as (pension,):
            pulled = await attempt(
                pension, f"$JS.API.CONSUMER.MSG.NEXT.{RECORDS.stream}.{RECORDS.name}",
                b'{"batch": 1, "no_wait": true}')
            acked = await attempt(pension, ack_subject, b"+ACK")
        return pulled, acked, before, await pending(shipped_nats, RECORDS)

    pulled, acked, before, after = asyncio.run(run())
    assert (pulled, acked) == (False, False)
    assert after == before


def test_no_user_but_the_admin_may_create_a_consumer_not_even_a_push_one_on_its_own_feed(
    shipped_nats: DeployedNats,
) -> None:
    async def run() -> tuple[dict[str, bool], list[str]]:
        answered: dict[str, bool] = {}
        for user in USERS:
            async with connected(shipped_nats, user) as (conn,):
                stream = f"TB_FEED_{user.name.split('_')[1]}"
                # A push consumer delivering the region's feed onto another region's commands.
                answered[user.name] = await attempt(
                    conn, f"$JS.API.CONSUMER.CREATE.{stream}.rogue_{user.name}",
                    push_config(stream, f"rogue_{user.name}", "tb.v1.cmd.610800"))
        async with connected(shipped_nats, ADMIN) as (admin,):
            js = admin.nc.jetstream()
            made = [info.name for r in REGIONS for info in await js.consumers_info(f"TB_FEED_{r}")
                    if info.name.startswith("rogue_")]
        return answered, made

    answered, made = asyncio.run(run())
    assert made == []
    assert answered == dict.fromkeys([u.name for u in USERS], False)


def test_each_user_may_still_read_pull_and_ack_its_own_consumer(
    shipped_nats: DeployedNats,
) -> None:
    """The refusals above are not a server that refuses everything."""
    async def run() -> tuple[str, str, int]:
        await publish(shipped_nats, FEED_SUBJECT, b'{"again": true}')
        async with connected(shipped_nats, node("150600"), backend("150600")) as conns:
            here, window = conns
            inbox = await here.nc.jetstream().consumer_info(INBOX.stream, INBOX.name)
            js = window.nc.jetstream()
            feed = await js.consumer_info(PENSION.stream, PENSION.name)
            sub = await js.pull_subscribe_bind(PENSION.name, PENSION.stream)
            msgs = await sub.fetch(1, timeout=5)
            for msg in msgs:
                await msg.ack_sync()
        return inbox.name, feed.name, len(msgs)

    assert asyncio.run(run()) == (INBOX.name, PENSION.name, 1)
