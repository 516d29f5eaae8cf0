"""A case view (`projections.cases.CaseView`) as the JSON API answers it: the applicant's view
(any participating node, behind the query code) and the staff's (masked).

Why a module: the handlers (`api.rest`, `api.staff_api`) and the OpenAPI examples
(`api.examples`) turn a view into JSON through the same function, so an example cannot show a
field the API does not send, nor miss one it does.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from projections.cases import CaseView


def plain(value: Any) -> Any:
    """JSON values: instants as ISO 8601, the protocol's own `state` left out."""
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items() if k != "state"}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def applicant_case(view: CaseView) -> dict[str, Any]:
    """Everything the view holds but the person key, with the earliest running deadline."""
    data: dict[str, Any] = plain(dataclasses.asdict(view))
    data["deadline"] = plain(dataclasses.asdict(view.deadline)) if view.deadline else None
    data.pop("person_key", None)
    return data


def staff_case(view: CaseView) -> dict[str, Any]:
    """What a clerk needs to act: status, the masked applicant, 补正, deadline, money."""
    return {"case_number": view.case_number, "process": view.process, "role": view.role,
            "status": view.status, "status_text": view.status_text,
            "applicant_masked": view.applicant_masked, "supplement": list(view.supplement),
            "deadline": view.deadline.due_at.isoformat() if view.deadline else None,
            "overdue": list(view.overdue), "needs_attention": view.needs_attention,
            "escalated": view.escalated,
            "amounts_fen": {"stated": view.amount_stated, "received": view.amount_received,
                            "credited": view.amount_credited}}
