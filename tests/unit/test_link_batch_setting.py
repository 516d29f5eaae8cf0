"""`link_batch` (`TONGBAN_LINK_BATCH`): how many events a node packs into one link message. Why a
setting: contract 4.0.0 packs a link's consecutive events into one message, and a peer still on
an older node reads only single events (it quarantines a batch and asks again, for ever) — so
while a deployment upgrades region by region, the upgraded nodes run with 1."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest
from pydantic import ValidationError
from test_batched_inbox import A, B, make, new_case, say, sent

from regions.adapters.stores.memory import MemoryStore
from regions.core.config import RegionConfig
from regions.core.inbox_state import Packed
from regions.core.messages import LinkMessage
from regions.core.ports import Outgoing
from regions.runtime.driver import NodeDriver
from regions.wire import link


class Recorder:
    """A broker that keeps what it is asked to publish."""

    def __init__(self) -> None:
        self.published: list[Outgoing] = []

    async def publish_many(self, outs: Sequence[Outgoing]) -> list[object]:
        self.published.extend(outs)
        return [object() for _ in outs]


def five_events() -> list[LinkMessage]:
    origin = make(A, B, MemoryStore())
    case = new_case()
    say(origin, [(case, f"line {i}") for i in range(5)])
    return sent(origin)


def test_with_one_event_per_message_every_message_is_the_single_form_an_older_inbox_reads(
        ) -> None:
    events = five_events()
    packets = link.encode_many(events, most=1)
    assert len(packets) == 5
    assert [link.decode(p.out.data).link_seq for p in packets] == [e.link_seq for e in events]
    assert len(link.encode_many(events)) == 1  # the default packs them


def test_the_node_packs_as_its_setting_says() -> None:
    events = five_events()
    region = make(A, B, MemoryStore())
    region.config = region.config.model_copy(update={"link_batch": 2})
    broker = Recorder()
    driver = NodeDriver(region, broker)  # type: ignore[arg-type]
    try:
        asyncio.run(driver.publish_links(list(events)))
    finally:
        driver.close()
    sizes = [len(decoded.members) if isinstance(decoded := link.decode_all(out.data), Packed)
             else 1 for out in broker.published]
    assert sizes == [2, 2, 1]


@pytest.mark.parametrize("value", ["0", "65", "many"])
def test_a_link_batch_outside_one_to_sixty_four_is_refused_at_start(
        value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TONGBAN_LINK_BATCH", value)
    with pytest.raises(ValidationError, match="link_batch"):
        RegionConfig(region=A)


def test_the_settings_bound_is_the_codecs() -> None:
    bound = next(m.le for m in RegionConfig.model_fields["link_batch"].metadata
                 if hasattr(m, "le"))
    assert bound == link.MAX_BATCH
    assert RegionConfig(region=A).link_batch == link.MAX_BATCH
