"""The NATS server configuration of a tongban site, generated from the subject grammar.

`tongban nats config` writes `deploy/nats/nats.conf` from here, and a test checks the shipped
file is exactly this module's output, so the permissions cannot drift from
`regions.wire.subjects`. Every user is a role: the **admin** (provisioning and operations, the
whole account), a region's **node**, and each named **back-end** of a region. What each may do:

- `node_<r>` publishes `tb.v1.evt.*.<r>` (its events, marks and resend requests),
  `tb.v1.feed.<r>.>` and `tb.v1.dlq.<r>`; reads its own streams' info; reads, pulls and acks its
  own inbox consumer `inbox_<r>`; answers requests it received. It subscribes to
  `tb.v1.cmd.<r>.*`, `tb.v1.doc.<r>` and its replies `_INBOX_<r>.>`.
- `backend_<r>_<b>` publishes its commands on `tb.v1.cmd.<r>.<b>` and document requests on
  `tb.v1.doc.*` (the owner authorises); reads, pulls and acks its own durable `<b>` on
  `TB_FEED_<r>`. It subscribes only to its replies `_INBOX_<r>_<b>.>`.

Why these and nothing more:
- **Replies stay with their user.** Command replies, JetStream pull deliveries and publish acks
  all travel on reply subjects. Each user connects with its own inbox prefix (nats-py
  `inbox_prefix`; `subjects.inbox_prefix`) and may subscribe only under it; nobody holds
  `_INBOX.>`. nats-py builds every reply subject from the connection's prefix: `request`,
  `js.publish`/`publish_async` acks, `pull_subscribe`/`fetch`, and our own pull and settle
  inboxes (`nats_pull`, `nc.new_inbox()`).
- **The command subject is the back-end's identity.** Only back-end `<b>` of `<r>` may publish
  on `tb.v1.cmd.<r>.<b>`, so the node derives the principal from the subject.
- **Consumers are the admin's.** `$JS.API.CONSUMER.CREATE.<stream>.<name>.<filter>` lets a
  permission pin the stream, the name and the filter — but not the rest of the configuration:
  whoever may create may also make it a push consumer delivering anywhere, change its ack policy
  or reset its position (an update is a create). So no node or back-end may create, update or
  delete a consumer: `tongban nats provision` (as the admin) creates the nodes' inboxes and the
  back-ends' durables (`--backend NAME`) with settings decided once, and each user may only read
  (`CONSUMER.INFO`), pull (`CONSUMER.MSG.NEXT`) and ack (`$JS.ACK`) its own, by exact name.
- **A node's answers** (`allow_responses`) go wherever a request asked; the node itself answers
  only reply subjects under the asker's own prefix (`regions.runtime.endpoints`), or a back-end
  could have its node publish onto any subject, JetStream's ack subjects included.

What permissions cannot stop (docs/nats.md): a pull request's reply subject
is the asker's choice and nats-server delivers there without checking the asker's subscribe
rights, so a user can have *its own* consumer's messages — data it may read anyway — delivered
onto another subject. Receivers therefore check what arrives (the inbox quarantines what does
not decode as a link message). An account per back-end would close it (docs/nats.md).

Passwords here are development defaults (`tongban-dev-…`); production replaces them with bcrypt
hashes (`nats server passwd`), nkeys or JWTs.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from regions.wire import subjects

ADMIN = "admin"
JS_API = "$JS.API"
JS_ACK = "$JS.ACK"


@dataclass(frozen=True)
class NatsUser:
    """One user of the TONGBAN account: its credentials, reply prefix and allow lists."""

    name: str
    password: str
    comment: str
    inbox_prefix: str = "_INBOX"
    publish: tuple[str, ...] = ()
    subscribe: tuple[str, ...] = ()
    allow_responses: bool = False

    @property
    def restricted(self) -> bool:
        return bool(self.publish or self.subscribe)


def admin_user(password: str = "tongban-dev-admin") -> NatsUser:
    return NatsUser(ADMIN, password, "provisioning and operations: the whole account")


def node_user_name(region: str) -> str:
    return f"node_{subjects.region_code(region)}"


def backend_user_name(region: str, backend: str) -> str:
    return f"backend_{subjects.region_code(region)}_{subjects.backend_name(backend)}"


def node_user(region: str, password: str | None = None) -> NatsUser:
    """A region's node: its own events, feed and dead letters out; its commands, document
    requests and replies in; its own streams' info and its own inbox consumer."""
    r = subjects.region_code(region)
    events, dead, feed = (subjects.event_stream_name(r), subjects.dead_letter_stream_name(r),
                          subjects.feed_stream_name(r))
    inbox = subjects.inbox_consumer_name(r)
    return NatsUser(
        node_user_name(r), password or f"tongban-dev-{r}", f"region {r}: its node",
        inbox_prefix=subjects.inbox_prefix(r),
        publish=(
            f"{subjects.PREFIX}.evt.*.{r}", subjects.feed_filter(r), subjects.dead_letter_subject(r),
            *(f"{JS_API}.STREAM.INFO.{s}" for s in (events, dead, feed)),
            f"{JS_API}.CONSUMER.INFO.{events}.{inbox}",
            f"{JS_API}.CONSUMER.MSG.NEXT.{events}.{inbox}",
            f"{JS_ACK}.{events}.{inbox}.>",
        ),
        subscribe=(subjects.command_filter(r), subjects.materials_subject(r),
                   f"{subjects.inbox_prefix(r)}.>"),
        allow_responses=True,
    )


def backend_user(region: str, backend: str, password: str | None = None) -> NatsUser:
    """Back-end `backend` of `region`: commands as itself, documents of joint cases, and only
    its own durable on the region's feed."""
    r, b = subjects.region_code(region), subjects.backend_name(backend)
    feed, durable = subjects.feed_stream_name(r), subjects.feed_consumer_name(b)
    return NatsUser(
        backend_user_name(r, b), password or f"tongban-dev-backend-{r}-{b}",
        f"region {r}: back-end {b}", inbox_prefix=subjects.inbox_prefix(r, b),
        publish=(
            subjects.command_subject(r, b), f"{subjects.PREFIX}.doc.*",
            f"{JS_API}.CONSUMER.INFO.{feed}.{durable}",
            f"{JS_API}.CONSUMER.MSG.NEXT.{feed}.{durable}",
            f"{JS_ACK}.{feed}.{durable}.>",
        ),
        subscribe=(f"{subjects.inbox_prefix(r, b)}.>",),
    )


@dataclass(frozen=True)
class Site:
    """What the generated file serves: the regions, and the back-ends each of them runs."""

    regions: tuple[str, ...]
    backends: tuple[str, ...] = ("pension",)
    server_name: str = "tongban-nats-1"
    listen: str = "0.0.0.0:4222"
    http: str = "0.0.0.0:8222"
    store_dir: str = "/data/jetstream"

    def __post_init__(self) -> None:
        codes = tuple(dict.fromkeys(subjects.region_code(r) for r in self.regions))
        if not codes:
            raise ValueError("a site needs at least one region")
        object.__setattr__(self, "regions", codes)
        names = tuple(dict.fromkeys(subjects.backend_name(b) for b in self.backends))
        object.__setattr__(self, "backends", names)

    def users(self) -> list[NatsUser]:
        found = [admin_user()]
        for region in self.regions:
            found.append(node_user(region))
            found.extend(backend_user(region, b) for b in self.backends)
        return found


HEADER = """\
# NATS for a tongban site (docker-compose.yml mounts it at /etc/nats/nats.conf).
#
# GENERATED from the subject grammar (regions/wire/subjects.py, through
# regions/adapters/brokers/nats_conf.py) by
#   {command}
# tests/integration/test_deployment.py checks this file is exactly that output. Change the code
# and regenerate; never edit by hand.
#
# - JetStream fsyncs every write before acknowledging it (`sync_interval: always`): the server
#   default fsyncs only every 2 minutes and loses acknowledged writes on an OS crash.
# - One account, TONGBAN: an admin for `tongban nats provision` (the whole account), a user per
#   region node and a user per back-end of a region. A node may publish only what the grammar
#   lets its region send (its events `tb.v1.evt.*.<self>`, its feed and dead letters), and read,
#   pull and ack only its own inbox consumer. A back-end may send commands only on its own
#   subject `tb.v1.cmd.<region>.<backend>` (the node takes the principal from it), ask any
#   region for documents (the owner authorises), and read, pull and ack only its own durable on
#   its region's feed. Nobody but the admin may create, update or delete a consumer.
# - Replies: each user subscribes only under its own inbox prefix (`_INBOX_<region>` for a node,
#   `_INBOX_<region>_<backend>` for a back-end; clients connect with nats-py `inbox_prefix`), so
#   no user reads another's command replies, pull deliveries or publish acks. No user holds the
#   shared `_INBOX` namespace. Nodes answer requests they received (`allow_responses`), and only
#   on a reply subject under the asker's own prefix.
# - Passwords are development defaults. In production use bcrypt hashes (`nats server passwd`),
#   nkeys or JWTs, and R3 streams on a 3-server cluster (`tongban nats provision --replicas 3`).
# - Multi-site: give each site's server its own JetStream `domain` and join the sites with a
#   leafnode (README, "Deploying").
"""


def render(site: Site) -> str:
    """The whole configuration file for `site`."""
    command = (f"tongban nats config --regions {','.join(site.regions)} "
               + " ".join(f"--backend {b}" for b in site.backends))
    lines = [HEADER.format(command=command), f"server_name: {site.server_name}", f"listen: {_q(site.listen)}",
             f"http: {_q(site.http)}", "", "jetstream {", f"  store_dir: {_q(site.store_dir)}",
             "  sync_interval: always", "}", "", "accounts {", "  TONGBAN: {",
             "    jetstream: enabled", "    users: ["]
    for user in site.users():
        lines.extend(_user(user))
    lines.extend(["    ]", "  }", "}", ""])
    return "\n".join(lines)


def _user(user: NatsUser) -> list[str]:
    head = f"      {{ user: {user.name}, password: {_q(user.password)}"
    if not user.restricted:
        return [f"      # {user.comment}", head + " }"]
    out = [f"      # {user.comment} (replies under {user.inbox_prefix}.)", head + ","]
    out.append("        permissions: {")
    out.extend(_allow("publish", user.publish))
    out.extend(_allow("subscribe", user.subscribe))
    if user.allow_responses:
        out.append("          allow_responses: true")
    out.append("        } }")
    return out


def _allow(what: str, patterns: Sequence[str]) -> list[str]:
    out = [f"          {what}: {{ allow: ["]
    out.extend(f"            {_q(p)}," for p in patterns[:-1])
    out.append(f"            {_q(patterns[-1])} ] }}")
    return out


def _q(text: str) -> str:
    """A quoted string (JSON quoting, which NATS's configuration syntax accepts)."""
    return json.dumps(text, ensure_ascii=False)


def site(regions: Iterable[str], backends: Iterable[str] = ("pension",)) -> Site:
    return Site(tuple(regions), tuple(backends))
