"""Who may issue which command: the rule the command service applies before anything is decided.

A command from outside the node arrives with a **principal** the transport vouches for — on NATS
`backend:<name>`, taken from the subject `tb.v1.cmd.<region>.<name>` that only that back-end's
user may publish on (`regions.runtime.commands`); never read from the request body. The
command's `actor` is who acted, as recorded on the events (责任追溯). `check` refuses, before
any idempotency record or event exists:

- **System commands.** The steps the deciders take by themselves — their automatic policies and
  timers (`SYSTEM_COMMANDS`) — are the node's alone. A back-end that could send `Lapse`,
  `Reconcile` or `CompleteTransfer` could end or complete a case the protocol has not brought
  there. (`forbidden_command`, field `command.type`)
- **A system actor.** `{"kind": "system"}` is the node's own policies and timers; nobody outside
  may act as them. (`forbidden_actor`, field `command.actor.kind`)
- **Another back-end.** A `backend` actor must be the principal itself: back-end `pension` acts
  as `backend:pension`, never as `backend:audit`. (`forbidden_actor`, field `command.actor.id`)

That the actor acts for *this* region is the admission's rule (`regions.core.admission`:
`wrong_region`, `command.actor.region`), checked right after this one. Staff and applicants
remain actors a back-end may record (the window system says which clerk accepted; the
accountable principal — the back-end — is kept with the command's outcome).

`SYSTEM_COMMANDS` is the list of command types the deciders issue in `policy` and `timers`
(found by reading every protocol; `tests/unit/test_authority.py` re-derives it from the source
and fails when a new policy command is not listed). `RefuseMoveOut` is not in it: the permit
timer issues it, and so does the origin's officer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from domain.deadlines import Escalate, FlagDeadlineMissed, RecheckDeadlines
from domain.kernel import Command, DomainError
from domain.protocols.casework_events import ExpireWaiting, Lapse
from domain.protocols.household_events import ExpirePermit, SendMoveOutRequest
from domain.protocols.transfer_commands import (
    CloseCase,
    CompleteTransfer,
    InstructProceed,
    Reconcile,
    ReturnFunds,
    SendContactLetters,
    TakeOverRelationship,
)

#: Commands the deciders issue by themselves (`policy`, `timers`) and nobody else may.
SYSTEM_COMMANDS: Final[frozenset[type[Command]]] = frozenset({
    # every protocol's timers: deadlines flagged and escalated, waiting limits lapsed
    FlagDeadlineMissed, Escalate, Lapse, ExpireWaiting,
    # the calendar recheck at start-up: provisional deadlines reckoned again (later only)
    RecheckDeadlines,
    # household moves: the destination's policy and the permit's timer
    SendMoveOutRequest, ExpirePermit,
    # transfers: the destination's policy drives the case once the people have decided
    SendContactLetters, InstructProceed, Reconcile, TakeOverRelationship, CompleteTransfer,
    ReturnFunds, CloseCase,
})

#: code -> (meaning, HTTP status, field); the command service adds them to its table of codes.
CODES: Final[Mapping[str, tuple[str, int, str]]] = {
    "forbidden_command": ("the node takes this step by itself (a policy or a timer); no "
                          "principal may command it", 403, "command.type"),
    "forbidden_actor": ("the actor is not one this principal may record: never the system, "
                        "never another back-end", 403, "command.actor.kind, command.actor.id"),
}


class Forbidden(DomainError):
    """The principal may not issue this command (or not with this actor); `field` names why."""

    def __init__(self, message: str, *, code: str, field: str) -> None:
        assert code in CODES, code
        super().__init__(message, code=code)
        self.field = field


def backend_principal(name: str) -> str:
    """The principal of back-end `name` (the transport supplies the name)."""
    return f"backend:{name}"


def check(principal: str, command: Command) -> None:
    """`Forbidden` unless `principal` may issue `command` with its actor."""
    if type(command) in SYSTEM_COMMANDS:
        raise Forbidden(f"{type(command).__name__} is a step the node takes by itself",
                        code="forbidden_command", field="command.type")
    actor = command.actor
    if actor.kind == "system":
        raise Forbidden("a command from outside cannot act as the system (责任追溯: name the "
                        "back-end, the staff member or the applicant)",
                        code="forbidden_actor", field="command.actor.kind")
    kind, _, name = principal.partition(":")
    if actor.kind == "backend" and (kind != "backend" or actor.id != name):
        raise Forbidden(f"principal {principal} cannot act as back-end {actor.id!r}",
                        code="forbidden_actor", field="command.actor.id")
