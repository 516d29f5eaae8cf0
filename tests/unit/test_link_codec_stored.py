"""The relay envelopes a stored shared event from its stored payload, without decoding it into
the event and encoding it again (regions.wire.link): the bytes are the ones the event itself
gives, for every shared event a simulated run stores."""

from __future__ import annotations

from collections.abc import Iterator

from eventsourcing.utils import get_topic

from domain.kernel import event_from_payload, event_type, to_payload
from regions.core.messages import LinkMessage
from regions.core.store import OutLink
from regions.wire import link
from simulations.bench.levers import generic_link
from simulations.runner import run


def stored_link_messages() -> Iterator[LinkMessage]:
    """Every link message a small simulated run stored as sent, as the relay reads it."""
    result = run(11, 12)
    for sim in result.world.regions.values():
        app = sim.region.node.app
        for record in app.recorder.select_notifications(start=1, limit=100_000,
                                                        topics=[get_topic(OutLink.Sent)]):
            sent = app.mapper.to_domain_event(record)
            yield LinkMessage.from_record(sent.message, sent.originator_version - 1)


def test_every_stored_shared_event_is_enveloped_as_its_event_would_be() -> None:
    types: set[str] = set()
    for item in stored_link_messages():
        assert item.schema_version == event_type(item.type).SCHEMA_VERSION
        assert link.encode(item).data == generic_link(item)
        types.add(item.type)
    assert len(types) >= 5, types


def test_a_received_message_carries_the_event_the_node_would_decode_from_its_payload() -> None:
    """The inbox's codec hands the node the event it decoded (`LinkMessage.event`), so the node
    does not decode the payload again: that event is the payload's, for every shared event a
    simulated run stores."""
    types: set[str] = set()
    for item in stored_link_messages():
        out = link.encode(item)
        received = link.decode(out.data, out.headers)
        assert isinstance(received, LinkMessage) and received == item
        assert received.event == event_from_payload(received.type, received.payload,
                                                     received.schema_version)
        # the payload as received (not encoded again) is the event's payload
        assert received.payload == to_payload(received.event)
        types.add(item.type)
    assert len(types) >= 5, types
