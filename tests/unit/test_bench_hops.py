"""The bench's hop table (simulations/bench/hops.py) splits each event's propagation into its hops.

Why: the table is read to decide which hop holds the tail; spans that did not add up to the
propagation the bench reports, or events joined across the wrong workers, would point there.
"""

from __future__ import annotations

from simulations.bench import hops
from simulations.bench.figures import propagation

EVENT = "side-1:3"


def _reports(stamps: dict[str, float]) -> dict[str, dict]:
    """The origin sent EVENT to the destination, stamped at each hop (seconds)."""
    sender = {k: stamps[k] for k in ("read", "publish", "published") if k in stamps}
    receiver = {k: stamps[k] for k in ("fetched", "deciding", "acked") if k in stamps}
    return {
        "origin": {"sent": {EVENT: stamps["committed"]}, "received": {}, "hops": {EVENT: sender},
                   "gc_pauses": [(1, 0.05, 0.04)]},
        "destination": {"sent": {}, "received": {EVENT: stamps["received"]},
                        "hops": {EVENT: receiver}, "gc_pauses": []},
    }


def test_the_hops_of_an_event_add_up_to_its_propagation() -> None:
    stamps = {"committed": 10.000, "read": 10.002, "publish": 10.003, "published": 10.013,
              "fetched": 10.020, "deciding": 10.026, "received": 10.040, "acked": 10.041}
    reports = _reports(stamps)
    table = hops.table(reports)
    path = [span for span in table if "->" in span and not span.endswith("->acked")]
    assert path == ["committed->read", "read->publish", "publish->published",
                    "published->fetched", "fetched->deciding", "deciding->received"]
    total = sum(table[span]["p50_ms"] for span in path)
    [expected] = propagation(reports["origin"]["sent"], reports["destination"]["received"])
    assert round(total, 2) == round(expected * 1000, 2)
    assert table["fetched->deciding"]["p50_ms"] == 6.0
    assert table["received->acked"]["p50_ms"] == 1.0
    assert table["gc_origin_gen1"] == {"count": 1, "max_ms": 50.0, "total_ms": 50.0,
                                       "cpu_total_ms": 40.0}


def test_an_event_missing_a_hop_is_left_out_of_the_table() -> None:
    stamps = {"committed": 1.0, "read": 1.001, "publish": 1.002, "published": 1.01,
              "deciding": 1.02, "received": 1.03, "acked": 1.031}  # never seen fetched
    table = hops.table(_reports(stamps))
    assert not [span for span in table if "->" in span]


def test_the_msg_id_names_the_event() -> None:
    assert hops._event_of({"Nats-Msg-Id": f"{EVENT}:610800"}) == EVENT


def test_a_batched_message_names_each_event_it_carries() -> None:
    from regions.core.messages import LinkMessage
    from regions.wire import link
    from tests.unit.test_link_batch_setting import five_events

    events: list[LinkMessage] = five_events()
    packet = link.encode_many(events)[0]
    assert hops._events_of(packet.out.data, packet.out.headers) == [e.event_id for e in events]
    single = link.encode_many(events[:1])[0]
    assert hops._events_of(single.out.data, single.out.headers) == [events[0].event_id]
