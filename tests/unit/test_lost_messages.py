"""`checkers.lost_messages` reads each out-link's last link_seq from its newest stored version
(not by rebuilding the link from every message it sent): the same figure as the aggregate's,
and a message sent after the run and never applied is counted."""

from __future__ import annotations

import datetime as dt

from regions.core.store import OutLink
from simulations import checkers
from simulations.runner import run


def test_the_newest_version_is_the_links_last_seq_and_an_unapplied_message_is_lost() -> None:
    result = run(seed=2, cases=12, faults=())
    world = result.world
    assert checkers.lost_messages(world) == 0
    links = 0
    for origin, sim in world.regions.items():
        app = sim.region.node.app
        for destination in world.regions:
            if destination == origin:
                continue
            newest = app.recorder.select_events(OutLink.id_for(origin, destination),
                                                desc=True, limit=1)
            if newest:
                links += 1
                link = app.repository.get(OutLink.id_for(origin, destination))
                assert newest[0].originator_version - 1 == link.last_seq
    assert links, "the run sent no message"
    origin, sim = next((o, s) for o, s in world.regions.items()
                       if any(s.region.node.app.recorder.select_events(
                           OutLink.id_for(o, d), desc=True, limit=1) for d in world.regions))
    app = sim.region.node.app
    destination = next(d for d in world.regions if d != origin and app.recorder.select_events(
        OutLink.id_for(origin, d), desc=True, limit=1))
    link = app.repository.get(OutLink.id_for(origin, destination))
    link.send({"never": "relayed"}, dt.datetime(2030, 1, 1, tzinfo=dt.UTC))
    app.save(link)
    assert checkers.lost_messages(world) == 1
