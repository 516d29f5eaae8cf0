"""The simulator answers a re-send request the way the node's driver does (`NodeDriver.
publish_resent`): under fresh `Nats-Msg-Id`s (`regions.wire.link.resent`). Why: under the
original id the broker discards the re-send as a duplicate for its whole dedup window when it
had stored the original and then lost it — the simulator would test a node that does not
exist, and a re-send the driver gets through would be one the simulator never delivers."""

from __future__ import annotations

from regions.adapters.brokers.memory import MemoryBroker
from regions.core.ports import MSG_ID_HEADER
from simulations.runner import run

REGIONS = ("150900", "140200", "130700")


def test_resends_go_out_under_their_own_message_ids(monkeypatch) -> None:
    published: list[str] = []
    real = MemoryBroker.publish_now

    def publish_now(self, out):  # type: ignore[no-untyped-def]
        published.append(out.headers.get(MSG_ID_HEADER, ""))
        return real(self, out)

    monkeypatch.setattr(MemoryBroker, "publish_now", publish_now)
    asked = 0
    for seed in range(1, 6):  # until a dropped last message made a receiver ask (seed 2 did)
        result = run(seed, 40, REGIONS, ("drop",))
        assert result.violations == []
        asked += result.world.resend_requests
        if asked:
            break
    assert asked > 0
    resent = [i for i in published if "~r" in i]
    assert resent, "no re-send went out under a re-send id"
    assert all(i.split("~r")[0] for i in resent)  # the original's id, tagged
