"""What every staff write operation shares, built once for the department's (`staff_casework`)
and the window's (`staff_window`) routers: the `Idempotency-Key` header, the role check (a 403
logged with the holder), and sending a command built from the form with the token's actor —
a value the domain refuses while the command is built answered as the one 422 naming its field.

Why one place: both routers had their own role check, key header, example helper and send
function, each a copy of the other's shape (duplicates D4); a change to how a staff form's
refusal is answered now happens once.

(No `from __future__ import annotations`: FastAPI evaluates the dependency annotations.)
"""


from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Header
from pydantic import ConfigDict

from api.problems import Problem, invalid_field
from api.staff import Grant
from domain.kernel import Actor, Command, InvalidValue

Run = Callable[[Grant, str, Command, str], Awaitable[dict[str, Any]]]
Make = Callable[[Actor], Command]
#: The command id of a staff write (scoped to the staff member by `staff_api.run`).
Key = Annotated[str, Header(alias="Idempotency-Key", min_length=8, max_length=80)]


def examples(*examples: dict[str, Any]) -> ConfigDict:
    """A form model that refuses unknown fields and shows `examples` in the OpenAPI."""
    return ConfigDict(extra="forbid", json_schema_extra={"examples": list(examples)})


def built(make: Make, by: Actor) -> Command:
    """A staff form's command; a value the domain refuses is the 422 naming its field."""
    try:
        return make(by)
    except InvalidValue as exc:
        raise invalid_field(exc, exc.field or "body") from None


@dataclass(frozen=True)
class StaffOps:
    """The staff router's token check (`grant`), its command runner and actor, bound once."""

    grant: Callable[..., Grant]
    run: Run
    actor: Callable[[Grant], Actor]

    def role(self, *allowed: str) -> Callable[..., Grant]:
        """A dependency: the token's grant when its role is one of `allowed`, else a 403
        (`Annotated[Grant, Depends(ops.role("department"))]`)."""
        grant = self.grant

        def check(who: Annotated[Grant, Depends(grant)]) -> Grant:
            if who.role not in allowed:
                raise Problem(403, "Not this role's step", "该角色不能办理这一步",
                              code="forbidden_role", field="Authorization", who=who.who)
            return who
        return check

    async def send(self, who: Grant, number: str, make: Make, key: str) -> dict[str, Any]:
        """The command `make` builds with `who` as the actor, run on case `number`."""
        return await self.run(who, number, built(make, self.actor(who)), key)
