"""Multi-site provisioning: one JetStream domain per site, sites joined by leafnodes.

Why streams are sourced rather than shared: a site must keep accepting its own regions' events
while the link to another site is down. So every event is first stored on the publisher's own
domain, and the destination's domain pulls it over the leafnode when it can:

- a region homed here gets `TB_EVT_<r>` (local publishers write straight into it) which also
  *sources* `TB_OUT_<r>` from every other domain (`$JS.<domain>.API`);
- a region homed on another domain gets `TB_OUT_<r>` here, holding `tb.v1.evt.<r>.*` published
  on this site until `<r>`'s domain has sourced it.

Nodes need no setting for this: a node publishes and consumes on its own site's server as on a
single server. Sourced messages keep their subject and `Nats-Msg-Id`; the inbox dedups by origin
identity anyway. The leafnode between sites must not carry `tb.v1.evt.>` (`LEAFNODE_DENY`):
otherwise a stream on one domain also captures the other domain's publishes directly, and each
event lands twice (once captured, once sourced; deduplicated only within the window).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from regions.adapters.brokers.nats import DEFAULT_CONNECT_TIMEOUT, NatsBroker
from regions.adapters.brokers.provision import (
    DEFAULT_DUPLICATE_WINDOW,
    Backend,
    Provisioned,
    provision,
)
from regions.adapters.brokers.retention import STREAMS, Retention
from regions.core.ports import StreamInfo, check_provisioning
from regions.wire import subjects

#: Subjects the leafnode between two sites must deny both ways (`deny_imports`/`deny_exports`).
LEAFNODE_DENY = (f"{subjects.PREFIX}.evt.>",)

_DOMAIN = re.compile(r"[A-Za-z0-9_-]{1,64}")


@dataclass(frozen=True)
class Site:
    """What one site holds after `provision_site`."""

    home: list[Provisioned]
    outbound: list[StreamInfo]


def parse_remote(values: Iterable[str]) -> dict[str, list[str]]:
    """`["leaf=150600,610800", …]` (the CLI's `--remote`) as `{domain: [codes]}`."""
    remote: dict[str, list[str]] = {}
    for value in values:
        domain, sep, codes = value.partition("=")
        if not sep:
            raise ValueError(f"--remote must be DOMAIN=CODES (e.g. leaf=150600,610800), "
                             f"got {value!r}")
        remote.setdefault(domain.strip(), []).extend(
            c.strip() for c in codes.split(",") if c.strip())
    return remote


def check_site(home: Iterable[str], remote: Mapping[str, Iterable[str]]) -> tuple[
        list[str], dict[str, list[str]]]:
    """Validated codes and domains: every region is homed on exactly one domain."""
    codes = list(dict.fromkeys(subjects.region_code(r) for r in home))
    if not codes:
        raise ValueError("a site needs at least one region of its own")
    seen = dict.fromkeys(codes, "this site")
    checked: dict[str, list[str]] = {}
    for domain, regions in remote.items():
        if not _DOMAIN.fullmatch(domain):
            raise ValueError(f"JetStream domain must be 1-64 of [A-Za-z0-9_-], got {domain!r}")
        checked[domain] = []
        for code in dict.fromkeys(subjects.region_code(r) for r in regions):
            if code in seen:
                raise ValueError(f"region {code} is homed on both {seen[code]} and {domain}")
            seen[code] = domain
            checked[domain].append(code)
        if not checked[domain]:
            raise ValueError(f"remote domain {domain} lists no regions")
    return codes, checked


async def provision_site(
    home: Iterable[str], url: str, remote: Mapping[str, Iterable[str]], replicas: int = 1, *,
    duplicate_window: float = DEFAULT_DUPLICATE_WINDOW,
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT, backends: Iterable[Backend | str] = (),
    retention: Retention = STREAMS,
) -> Site:
    """Provision this site's own regions as `provision` does, source their `TB_OUT_` streams from
    every remote domain, and hold this site's traffic to remote regions in `TB_OUT_` streams.
    Idempotent; a remote stream that does not exist yet is sourced once it appears.
    """
    codes, domains = check_site(home, remote)
    check_provisioning(duplicate_window=duplicate_window, replicas=replicas)
    done = await provision(codes, url, replicas, duplicate_window=duplicate_window,
                           connect_timeout=connect_timeout, backends=backends,
                           streams=retention, dead_letters=retention)
    broker = await NatsBroker.connect(url, name="tongban-provision-site",
                                      connect_timeout=connect_timeout)
    try:
        for code in codes:
            await broker.ensure_sources(code, list(domains))
        outbound = [await broker.ensure_outbound_stream(
            code, duplicate_window=duplicate_window, replicas=replicas, retention=retention)
            for regions in domains.values() for code in regions]
        return Site(done, outbound)
    finally:
        await broker.close()
