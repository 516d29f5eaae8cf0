"""`tongban links received|restored`: restoring a region's store from a backup while its peers
kept theirs (why and the whole procedure: docs/operations.md, "Restoring a region from a
backup"; the core in `regions.core.link_restore`).

1. At each peer, `tongban links received --region PEER --origin RESTORED` prints how far PEER
   recorded RESTORED's link (after PEER's inbox has taken what waits in its stream).
2. At the restored region, its node stopped, `tongban links restored --region RESTORED
   --recorded PEER=N …` (once for every peer) steps each link over the numbers the peers
   recorded after the backup, so that the node numbers on after them (it holds the region's
   worker lock: refused while a node runs). It prints, per link, the numbers the store no
   longer has.
3. At each peer, `tongban links received --region PEER --origin RESTORED --after HELD` lists
   the events PEER recorded in that range: the cases to reconcile by hand.

The store flags and the peers are the node's (`--store`, `--dsn`, `--schema`, `--sqlite-dir`,
`--peers`, or their `TONGBAN_*` variables). A peer (`--origin`, `--recorded`) is one of the
region's peers, which the commands need: a mistyped code is refused before the store is
touched. Exit codes: 0 done, 1 a node holds the region or the database cannot be reached, 2 bad
input.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import sys
from typing import Annotated, Any

import typer

from api.cli.quarantine import (
    Dsn,
    Region,
    Schema,
    SqliteDir,
    Store,
    _config,
    _fail,
    _holding_worker_lock,
    _open_store,
)
from regions.core import link_restore

app = typer.Typer(help="Links after a restore from a backup: received, restored.",
                  no_args_is_help=True)

#: The commands' names as their errors sign them (`quarantine._fail`).
RECEIVED, RESTORED = "links received", "links restored"
AsJson = Annotated[bool, typer.Option("--json", help="JSON instead of text.")]
Peers = Annotated[str | None, typer.Option(help="Comma-separated peer regions, as the node "
                                                "runs with (TONGBAN_PEERS).")]


@app.command("received")
def received_command(
        origin: Annotated[str, typer.Option(help="The region whose link is read (the restored "
                                                 "one).")],
        after: Annotated[int | None, typer.Option(help="List what was recorded after this "
                                                       "link_seq (the restored store's last).")]
        = None,
        region: Region = None, store: Store = None, dsn: Dsn = None, schema: Schema = None,
        sqlite_dir: SqliteDir = None, peers: Peers = None, as_json: AsJson = False) -> None:
    """How far this region recorded ORIGIN's link; with --after, what it recorded past it."""
    config = _config(RECEIVED, region, store, dsn, schema, sqlite_dir, peers)
    if after is not None and after < 0:
        _fail(RECEIVED, f"--after {after}: a link_seq is never negative")
    _peer(RECEIVED, "--origin", origin, config)
    opened = _open_store(RECEIVED, config)
    try:
        app_ = opened.open(config.region)
        recorded = link_restore.recorded_positions(app_, config.region, [origin])[origin]
        page = (link_restore.ReceivedPage([], None) if after is None else
                link_restore.received_after(app_, config.region, origin, after))
    finally:
        opened.close()
    cut = (None if page.next_after is None else
           f"list cut at {len(page)} event(s): more were recorded after link_seq "
           f"{page.next_after}; list them with --after {page.next_after}")
    if cut:  # on stderr as well: the list may be going to a file
        print(f"tongban {RECEIVED}: {cut}", file=sys.stderr)
    if as_json:
        print(json.dumps({"region": config.region, "origin": origin, "recorded": recorded,
                          "after": after, "received": [
                              {"link_seq": r.link_seq, "event": r.ref, "type": r.type,
                               "at": r.at.isoformat()} for r in page],
                          "next_after": page.next_after}, ensure_ascii=False))
        return
    print(f"{config.region} recorded {origin}'s link up to link_seq {recorded}")
    if after is None:  # what step 2 takes, to be copied whole rather than retyped
        print(f"at {origin}: tongban links restored --region {origin} --recorded "
              f"{config.region}={recorded} (and every other peer's)")
    for r in page:
        print(f"{r.link_seq:>10}  {r.at.strftime('%Y-%m-%d %H:%M:%S')}  {r.type:<32} {r.ref}")
    if cut:
        print(cut)
    elif after is not None:
        print(f"{len(page)} event(s) recorded after {after}: {origin} no longer has them if it "
              f"was restored from a backup ending at {after}")


@app.command("restored")
def restored_command(
        recorded: Annotated[list[str], typer.Option(help="PEER=N: the link_seq PEER recorded "
                                                         "(`links received` there); once "
                                                         "for every peer.")],
        region: Region = None, store: Store = None, dsn: Dsn = None, schema: Schema = None,
        sqlite_dir: SqliteDir = None, peers: Peers = None, as_json: AsJson = False,
        most_lost: Annotated[int, typer.Option(
            min=0, help="Refuse a link whose peer recorded more than this many numbers past "
                        "the store's last (a mistyped figure).")] = link_restore.MOST_LOST,
) -> None:
    """Declare this region's store restored from a backup: number each link on after what its
    peer recorded. Run before the restored node first starts; refused while a node runs."""
    config = _config(RESTORED, region, store, dsn, schema, sqlite_dir, peers)
    positions = _positions(recorded, config)
    done = asyncio.run(_renumber_locked(config, positions, most_lost))
    if as_json:
        print(json.dumps([{"destination": r.destination, "held": r.held,
                           "recorded": r.recorded, "lost": len(r.lost)} for r in done]))
        return
    for r in done:
        print(f"{config.region}->{r.destination}: the store held up to {r.held}, the peer "
              f"recorded {r.recorded}; " + (
                  f"{len(r.lost)} number(s) {r.lost.start}..{r.lost.stop - 1} stepped over "
                  f"(list them at {r.destination}: tongban links received --region "
                  f"{r.destination} --origin {config.region} --after {r.held})" if r.lost
                  else "nothing lost"))


def _positions(given: list[str], config: Any) -> dict[str, int]:
    """`--recorded PEER=N …` as renumber's positions, refusing bad input (exit 2): N not in
    ASCII digits (a negative figure too), a peer twice, a code no peer (`_peer`: the region
    itself among them), a peer left out. Why here though `link_restore.renumber` refuses a
    negative figure and the region itself again: it runs behind the store and the worker lock,
    so left to it a typo would exit 1 as "stop the node first" or "cannot reach PostgreSQL"
    (`test_links_cli`); its checks stay for its other callers."""
    positions: dict[str, int] = {}
    for item in given:
        peer, _, number = item.partition("=")
        if not (number.isascii() and number.isdigit()) or peer in positions \
                or _too_long(number):
            _fail(RESTORED, f"--recorded {item!r}: expected PEER=N once per peer (a region "
                            f"code and a link_seq)")
        _peer(RESTORED, "--recorded", peer, config)
        positions[peer] = int(number)
    missing = sorted(set(config.peers) - set(positions) - {config.region})
    if missing:  # its link would number again what that peer recorded after the backup
        _fail(RESTORED, f"no --recorded for {', '.join(missing)}: every peer's link must be "
                        f"renumbered (read each at the peer: tongban links received --region "
                        f"PEER --origin {config.region}; PEER=0 if it recorded nothing)")
    return positions


def _too_long(digits: str) -> bool:
    """More digits than Python reads as an int (`sys.get_int_max_str_digits`, 4,300): a pasted
    typo like any other, refused as bad input rather than left to `int`'s ValueError (exit 1,
    no message)."""
    try:
        int(digits)
    except ValueError:
        return True
    return False


def _peer(command: str, flag: str, code: str, config: Any) -> None:
    """Refuse a peer that cannot be one: not a region code, the region itself, or not among the
    node's peers — and any code while those are not given. Why here: a mistyped code would read
    as "nothing recorded", or renumber a link to no region in the store.

    The peers come from the node's own setting (`--peers`, `TONGBAN_PEERS`), the one source the
    node itself uses: it sends to and accepts from exactly those regions (`build_region`: the
    node's admission, the inbox's known senders), so the command is run with the same
    environment as the node. Not from the store: a link's records are found by an id derived
    from its two regions, so listing a store's links means reading all its records; and a
    restored store is the backup's — a peer added since has no link in it, a region dropped from
    the peers still has one."""
    if not (len(code) == 6 and code.isascii() and code.isdigit()):
        _fail(command, f"{flag} {code!r}: not a 6-digit region code")
    if code == config.region:
        _fail(command, f"{flag} {code}: the region itself, not a peer of it")
    if not config.peers:
        _fail(command, f"{flag} {code}: region {config.region}'s peers are not known here; give "
                       f"them as its node runs with (--peers, or TONGBAN_PEERS in its "
                       f"environment), so that a code that is no peer is refused")
    if code not in config.peers:
        _fail(command, f"{flag} {code}: not among region {config.region}'s peers "
                       f"({', '.join(config.peers)})")


async def _renumber_locked(config: Any, positions: dict[str, int], most_lost: int
                           ) -> list[link_restore.Renumbered]:
    def renumber(store: Any) -> list[link_restore.Renumbered]:
        try:
            return link_restore.renumber(store.open(config.region), config.region, positions,
                                         dt.datetime.now(dt.UTC), most_lost)
        except ValueError as exc:  # checked before any link changes
            _fail(RESTORED, str(exc))

    return await _holding_worker_lock(
        RESTORED, config, "its links must not send while they are renumbered", renumber)
