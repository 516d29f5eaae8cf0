"""Group commit for the command service: many requests, the answers one at a time would give.

Why: a back-end's commands reach the node over NATS (`regions.runtime.commands`), and each in a
transaction of its own costs a database round trip and a commit; on this machine the fixed cost
of a transaction dwarfs that of a row (reference/throughput.md §3). The endpoint hands the
requests that arrived while the last batch was on the database thread to `handle_many`, which
decides them in one unit of work and saves it once.

**The answers are `CommandService.handle`'s, one after another, and so is the store.** What
makes that hold:

- Steps 1–2 (authorise, authority, admission) read nothing stored: each request is admitted, or
  answered with its refusal, exactly as `handle` does (`CommandService.refusal` is its handler).
- A request whose case, or whose `(principal, command_id)`, an earlier request of the same
  transaction already has, starts the next transaction: one at a time, it would see the earlier
  one committed (a second submit of a number sees `case_exists` or its replay; a reused id sees
  the stored outcome, and the node looks for that in the store only when its save conflicts).
  Within a transaction every request is for another case under another id, and each sees what
  the earlier ones staged of the aggregates they share (links, register entries), as in
  `RegionNode.run_batch`.
- A request the idempotency rules refuse while it is staged gets `handle`'s answer (`command_id`
  named, nothing stored), not `run_batch`'s stored-looking `Outcome`.
- If anything fails — staging raised what no command should, the save conflicted with another
  writer, the store refused a value or went away — nothing of the transaction was saved (one
  `app.save`), and each of its requests is handled again on its own by `handle`: a conflict then
  replays the stored outcome, a bad value sinks only its own request, a dead store answers each
  with `internal_error`.

**One `now` for the whole batch** is right, not a shortcut. The endpoint reads the node's clock
on the database thread when the batch starts (`CommandEndpoint._handle_many`), after every
request in it arrived, so no command is decided at a time before it was received — the same
promise one at a time gives, only with less delay. The database thread runs one call at a time,
so the node's decision times still never go backwards (an inbox hop or a timer step after the
batch reads a later clock), and a case appears once per transaction, so two commands for one
case in a batch share an instant but keep their order by version. Whatever depends on `now` —
a deadline's day count, a date's plausibility window, a permit's expiry — reads this one
instant, the one its events record as `at`, so a batch straddling midnight (China time) decides
each command wholly on the side of the boundary its batch started on: consistent with its own
record, and never earlier than its arrival. A long batch (`MAX_BATCH`, ~0.1-0.3 s) only makes
`at` precede the commit by that much, as any transaction's decision precedes its commit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING

from domain.kernel import Command, DomainError
from regions.core.outcome import Outcome

if TYPE_CHECKING:
    from regions.core.commands import CommandRequest, CommandResult, CommandService

#: One request admitted into a transaction: its place in the batch, itself, its command.
_Admitted = tuple[int, "CommandRequest", Command]


def handle_many(service: CommandService, requests: Sequence[CommandRequest],
                now: dt.datetime) -> list[CommandResult]:
    """`[service.handle(r, now) for r in requests]`, in as few transactions as that allows."""
    results: list[CommandResult | None] = [None] * len(requests)
    group: list[_Admitted] = []
    cases: set[str] = set()
    keys: set[tuple[str, str]] = set()
    for index, request in enumerate(requests):
        try:
            command = service.admitted(request, now)
            case_id = request.target_case_id
        except Exception as exc:
            results[index] = service.refusal(request, exc)
            continue
        key = (request.principal, request.command_id)
        if case_id in cases or (request.command_id and key in keys):
            _decide(service, group, results, now)
            group, cases, keys = [], set(), set()
        group.append((index, request, command))
        cases.add(case_id)
        if request.command_id:
            keys.add(key)
    _decide(service, group, results, now)
    assert all(result is not None for result in results)
    return results  # type: ignore[return-value]  # every place is filled above


def _decide(service: CommandService, group: list[_Admitted],
            results: list[CommandResult | None], now: dt.datetime) -> None:
    """Decide `group` (distinct cases and ids) in one transaction, or each on its own if it
    fails; fill in their answers."""
    from regions.core.commands import CommandResult

    if len(group) == 1:
        _one(service, group[0], results, now)
        return
    if not group:
        return
    node = service.node
    uow = node.begin(now)
    decided: list[tuple[int, Outcome]] = []
    try:
        node.prefetch([request.target_case_id for _, request, _ in group])
        for index, request, command in group:
            target = service.target(request, command)
            if isinstance(target, Outcome):  # case_exists: nothing staged
                decided.append((index, target))
                continue
            try:
                decided.append((index, node.stage(uow, target)))
            except DomainError as exc:  # the idempotency rules: `handle`'s answer, not stored
                results[index] = service.refusal(request, exc)
        node.commit(uow)
        saved = True
    except Exception:
        saved = False
    finally:
        node.abort(uow)  # before any retry: the group's ids are no longer in progress
    if not saved:
        for admitted in group:
            _one(service, admitted, results, now)
        return
    for index, outcome in decided:
        results[index] = CommandResult.decided(outcome)


def _one(service: CommandService, admitted: _Admitted, results: list[CommandResult | None],
         now: dt.datetime) -> None:
    """`handle` past admission: one request in a transaction of its own."""
    from regions.core.commands import CommandResult

    index, request, command = admitted
    try:
        outcome = service.run(request, command, now)
    except Exception as exc:
        results[index] = service.refusal(request, exc)
        return
    results[index] = CommandResult.decided(outcome)
