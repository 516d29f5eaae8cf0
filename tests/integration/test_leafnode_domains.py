"""Two sites, two JetStream domains joined by a leafnode: a joint case completes across them.

鄂尔多斯 (150600) is homed on the hub site (domain `hub`), 榆林 (610800) on the leaf site
(domain `leaf`). Each node talks only to its own site's server. The hub is provisioned with
`provision_site`, the leaf with `tongban nats provision --remote`, so each event is stored on
its publisher's site (`TB_OUT_<dest>`) and sourced by the destination's `TB_EVT_<dest>` over the
leafnode, which denies `tb.v1.evt.>` (`regions.adapters.brokers.domains.LEAFNODE_DENY`).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import nats
import pytest

from regions.adapters.brokers.domains import LEAFNODE_DENY, provision_site
from regions.adapters.brokers.nats_server import NatsServer, free_port
from regions.adapters.stores.sql import SqliteStore
from regions.wire import subjects
from tests.integration import realworld as rw
from tests.services.nats_server import pinned_binary

pytestmark = pytest.mark.timeout(90)

HUB_REGION, LEAF_REGION = "150600", "610800"  # destination 鄂尔多斯 ← origin 榆林


@pytest.fixture
def sites(tmp_path: Path) -> Iterator[tuple[NatsServer, NatsServer]]:
    binary = pinned_binary()
    leaf_port = free_port()
    deny = json.dumps(list(LEAFNODE_DENY))
    hub = NatsServer(workdir=tmp_path / "hub", binary=binary, name="hub-1", domain="hub",
                     extra_config=f'leafnodes {{ listen: "127.0.0.1:{leaf_port}" }}')
    leaf = NatsServer(workdir=tmp_path / "leaf", binary=binary, name="leaf-1", domain="leaf",
                      extra_config=(
                          f'leafnodes {{ remotes: [ {{ url: "nats-leaf://127.0.0.1:{leaf_port}",'
                          f" deny_imports: {deny}, deny_exports: {deny} }} ] }}"))
    try:
        hub.start()
        leaf.start()
        deadline = time.monotonic() + 10
        while _leafnodes(hub) < 1:
            assert time.monotonic() < deadline, f"leafnode never connected: {leaf.log_tail()}"
            time.sleep(0.05)
        yield hub, leaf
    finally:
        leaf.stop()
        hub.stop()


def _leafnodes(server: NatsServer) -> int:
    with urllib.request.urlopen(f"{server.monitor_url}/leafz", timeout=2) as r:
        return int(json.load(r).get("leafnodes", 0))


async def _stream_messages(url: str, stream: str) -> list[tuple[str, dict[str, str]]]:
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        info = await js.stream_info(stream)
        found = []
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            msg = await js.get_msg(stream, seq)
            found.append((msg.subject, dict(msg.headers or {})))
        return found
    finally:
        await nc.close()


def test_a_pension_transfer_completes_between_regions_homed_on_two_jetstream_domains(
    sites: tuple[NatsServer, NatsServer], tmp_path: Path,
) -> None:
    hub, leaf = sites
    asyncio.run(provision_site([HUB_REGION], hub.url, {"leaf": [LEAF_REGION]}))
    cli = subprocess.run(
        [sys.executable, "-m", "api", "nats", "provision", "--nats-url", leaf.url,
         "--regions", LEAF_REGION, "--remote", f"hub={HUB_REGION}"],
        capture_output=True, text=True, timeout=60, check=False)
    assert cli.returncode == 0, cli.stderr

    async def scenario() -> tuple[rw.CaseRun, dict[str, str], list[str]]:
        store = SqliteStore(tmp_path / "stores")
        try:
            async with rw.running_nodes(
                store, hub.url, (HUB_REGION, LEAF_REGION), provisioned=True,
                urls={HUB_REGION: hub.url, LEAF_REGION: leaf.url},
            ) as nodes:
                run = await rw.pension_transfer(nodes, HUB_REGION, LEAF_REGION, seed=21)
                await rw.until_all_ended(nodes, [run])
                await nodes.wait_links_converged()
                evidence = await nodes.collect({run.case_id: run})
                violations = [str(v) for v in nodes.judge(evidence)]
            ends = {code: found.summaries[run.case_id].status for code, found in evidence.items()}
            return run, ends, violations
        finally:
            store.close()

    run, ends, violations = asyncio.run(scenario())
    assert violations == []
    assert (ends[HUB_REGION], ends[LEAF_REGION]) == run.expected == ("completed", "transferred_out")

    # Every event reached the other domain by sourcing, none by capture across the leafnode.
    for home, other, dest in ((leaf, hub, LEAF_REGION), (hub, leaf, HUB_REGION)):
        inbound = asyncio.run(_stream_messages(home.url, subjects.event_stream_name(dest)))
        held = asyncio.run(_stream_messages(other.url, subjects.outbound_stream_name(dest)))
        assert inbound and held
        sourced_from = {h.get("Nats-Stream-Source", "").split(":")[0] for _, h in inbound}
        assert sourced_from == {subjects.outbound_stream_name(dest)}
        assert {s for s, _ in held} <= {s for s, _ in inbound}
