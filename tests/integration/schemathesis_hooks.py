"""Schemathesis hooks for `test_schemathesis.py` (loaded through `SCHEMATHESIS_HOOKS`).

Why: with one token and made-up case numbers, most staff and supervisor operations only ever
answered 401/403 or 404 — the fuzzer never reached their handlers. Here every request carries
the credential its operation admits (the authorisation matrix's table: a department token for
the department's steps, a supervisor's for the supervision views, a window token otherwise),
and three staff requests in four (every applicant's) name a real case (or consultation) with
its query code, so the examples, the coverage phase and the fuzzer reach the case's rules with
generated bodies.
Who is refused is the matrix's business (`test_authorisation_matrix.py`), not this run's.

The PDF scans are sent as the bytes of their example (schemathesis has no serializer for
application/pdf; the octet-stream one sends bytes and text alike).
"""

from __future__ import annotations

import itertools
import json
import os
from typing import Any

import schemathesis

from tests.integration.test_authorisation_matrix import APPLICANT, STAFF, WHO

schemathesis.serializer.alias("application/pdf", "application/octet-stream")

TOKENS: dict[str, str] = json.loads(os.environ.get("TONGBAN_ST_TOKENS", "{}"))
#: path parameter → (a real value, its query code)
REAL: dict[str, tuple[str, str]] = {
    "case_number": (os.environ.get("TONGBAN_ST_CASE", ""), os.environ.get("TONGBAN_ST_CODE", "")),
    "number": (os.environ.get("TONGBAN_ST_CONSULTATION", ""),
               os.environ.get("TONGBAN_ST_CONSULTATION_CODE", "")),
}
_turn = itertools.count()


def role_for(operation: str) -> str:
    """The staff role the operation admits (window where several do)."""
    rule = WHO.get(operation, STAFF)
    if isinstance(rule, str):
        return "window"
    return "window" if "window" in rule else rule[0]


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    operation = f"{case.operation.method.upper()} {case.operation.path}"
    case.headers = {**(case.headers or {}), "Authorization": f"Bearer {TOKENS[role_for(operation)]}"}
    applicant = WHO.get(operation) == APPLICANT
    # A quarter of the staff requests keep the generated number (404, 422). The applicant's
    # always name the real case with its code: ten wrong codes from one address shut that
    # address out for 15 minutes (429), and the matrix checks the wrong codes.
    if next(_turn) % 4 == 3 and not applicant:
        return
    for name, (value, code) in REAL.items():
        if value and name in (case.path_parameters or {}):
            case.path_parameters[name] = value
            if applicant:
                case.headers["X-Query-Code"] = code


@schemathesis.hook
def after_call(context: Any, case: Any, response: Any) -> None:
    """One line per request sent (its status), so the test can report how many the run made
    and how many reached a handler's answer."""
    counter = os.environ.get("TONGBAN_ST_COUNTER")
    if counter:
        with open(counter, "a", encoding="ascii") as out:
            out.write(f"{response.status_code}\n")
