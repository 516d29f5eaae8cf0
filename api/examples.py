"""The OpenAPI document's examples of successful answers (issue 13: "with examples on every
operation"); problem examples are `api.problems.example`, request bodies' are on their models.

Why built rather than written out: the case answers are the real serialisers
(`api.case_json`, `projections.joint`, `projections.reconciliation`, the catalogue and the
sample materials file) applied to one example pension transfer — 鄂尔多斯 (150600, 转入地)
takes the application, 榆林 (610800, 转出地) transfers out — so an example has exactly the
fields the API sends. `tests/unit/test_openapi_examples.py` checks each against its schema and
that its case numbers, region codes, statuses and event names are real.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from pathlib import Path
from typing import Any

from fastapi.encoders import jsonable_encoder

from api.case_json import applicant_case, staff_case
from domain.catalogue import load_catalogue
from domain.catalogue.materials import load_materials, materials_guide
from projections.cases import CaseView, Deadline, Step
from projections.joint import agreement
from projections.reconciliation import reconcile
from projections.views import QueueEntry
from projections.wording import event_text, status_text

HOME, ORIGIN = "150600", "610800"
#: 鄂尔多斯's case number of the example transfer (and of a single-region approval).
NUMBER = "150600-20261205-N3DS061BH1"
APPLICATION_NUMBER = "150600-20261205-MHACW7FZRZ"
CONSULTATION_NUMBER = "150600-20261205-MCJQ68XG1S"
QUERY_CODE = "KNGHWDKJXR"
MASKED = "1201**********0292"
SHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
BEIJING = dt.timezone(dt.timedelta(hours=8))


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 12, day, hour, minute, tzinfo=BEIJING)


def _step(when: dt.datetime, region: str, actor: str, type_: str) -> Step:
    return Step(when, region, actor, type_, event_text(type_) or type_,
                received_from="" if region == HOME else region)


#: The destination's side at 鄂尔多斯 while 榆林's info sheet is on its way.
DESTINATION = CaseView(
    case_id="c2a4f0de-5b1e-5d3a-9a47-2f0d7c1e8b61", case_number=NUMBER,
    process="pension_transfer", region=HOME, role="destination", item_id="b1-7",
    mode="joint", applicant_masked=MASKED, status="awaiting_transfer",
    status_text=status_text("awaiting_transfer", "destination"), holder=ORIGIN,
    next_action="等待榆林市办理，无需您操作。",
    deadlines=(Deadline("transfer_out", at(18, 23, 59), "15 个工作日（国务院办公厅 2026 年节假日安排）",
                        provisional=False),),
    peers=(ORIGIN,), amount_stated=420000,
    milestones=(("asked", at(5, 9, 31)), ("sheets_arrived", at(8, 15, 2))),
    opened_at=at(5, 9, 30), submitted_at=at(5, 9, 30),
    timeline=(_step(at(5, 9, 30), HOME, "applicant", "ApplicationSubmitted"),
              _step(at(5, 9, 31), HOME, "window W0451", "IntakeAccepted"),
              _step(at(5, 9, 31), HOME, "system", "ContactLetterIssued"),
              _step(at(8, 15, 2), ORIGIN, "department D0300", "InfoSheetIssued")),
    position=1287)

#: The same side once the funds arrived and reconciled: the transfer completed.
COMPLETED = dataclasses.replace(
    DESTINATION, status="completed", status_text=status_text("completed", "destination"),
    terminal=True, holder="", next_action="办理已结束，无需再做什么。", deadlines=(),
    amount_received=420000, amount_credited=420000, finished_at=at(9, 10, 15),
    milestones=(*DESTINATION.milestones, ("funds_arrived", at(9, 10, 14)),
                ("reconciled", at(9, 10, 15)), ("completed", at(9, 10, 15))))


def ok(example: Any, status: int = 200, description: str = "done",
       media_type: str = "application/json") -> dict[int | str, dict[str, Any]]:
    """An operation's success answer with its example, for `responses=`."""
    return {status: {"description": description, "content": {media_type: {"example": example}}}}


def step(status: str, *events: str, number: str = NUMBER) -> dict[int | str, dict[str, Any]]:
    """A staff step's answer: the case's status after it and the events it recorded."""
    return ok({"case_number": number, "status": status, "events": list(events)})


HEALTH = ok({"alive": True, "region": HOME, "worker": "active"})
READY: dict[str, Any] = {"ready": True, "region": HOME,
         "checks": {"store": "ok", "broker": "ok", "worker": "active"}, "not_ready": [],
         "inbox_lag": {ORIGIN: 0},
         "projections": {"cases": {"position": 1287, "head": 1287, "lag": 0}},
         "unreadable": {"count": 0, "recent": []}, "warnings": [],
         "calendar": {"horizon_days": 120, "official_days_missing": 0, "first_missing": None,
                      "warning": ""}}
READINESS = {**ok(READY, description="every check passes"),
             503: {"description": "not ready: the checks that fail are named (a standby "
                                  "answers `worker: standby`)",
                   "content": {"application/json": {"example": {
                       **READY, "ready": False, "checks": {**READY["checks"],
                                                           "worker": "standby"},
                       "not_ready": ["worker"]}}}}}
METRICS = ok("# HELP tongban_published_total Link messages published to peers.\n"
             "# TYPE tongban_published_total counter\n"
             'tongban_published_total{region="150600"} 2417.0\n'
             "# HELP tongban_projection_lag_events Events the case views are behind.\n"
             "# TYPE tongban_projection_lag_events gauge\n"
             'tongban_projection_lag_events{region="150600"} 0.0\n',
             description="Prometheus text format", media_type="text/plain")


@functools.cache
def item_guide() -> dict[str, Any]:
    """b1-7 from the catalogue, with its guide from the sample materials file."""
    catalogue = load_catalogue()
    sample = Path(__file__).parent.parent / "domain" / "catalogue" / "materials.sample.json"
    return {**catalogue.get("b1-7").to_dict(include_raw=False),
            "guide": materials_guide(load_materials(sample, catalogue), "b1-7", HOME)}


APPLIED = ok({"case_number": NUMBER, "query_code": QUERY_CODE, "status": "submitted"}, 201,
             "the case is open: keep the case number and the query code (shown once)")
APPLICANT_CASE = ok(applicant_case(DESTINATION))
WITHDRAWN = ok({"case_number": NUMBER, "status": "withdrawing"})
SUPERVISION = ok({"received": 318, "completed": 264, "open": 49, "overdue": 3,
                  "needs_attention": 2, "on_time_rate": 0.962, "median_days": 12.0,
                  "p90_days": 31.5, "by_process": {"pension_transfer": 211,
                                                   "medical_insurance_transfer": 107},
                  "monthly_on_time": [["2026-10", 0.95], ["2026-11", 0.97]]})
QUEUE = ok([jsonable_encoder(dataclasses.asdict(QueueEntry(
    NUMBER, "pension_transfer", "destination", "awaiting_transfer",
    status_text("awaiting_transfer", "destination"), at(18, 23, 59), False, False)))])
STAFF_CASE = ok(staff_case(COMPLETED))
DOCUMENT = {"doc_id": f"sha256:{SHA}", "sha256": SHA, "media_type": "application/pdf",
            "size": 184320, "title": "居民身份证", "kind": "id_card"}
SCANNED = ok(DOCUMENT, 201, "stored: name it in `materials` of a registration")
DOCUMENTS = ok([{k: v for k, v in DOCUMENT.items() if k != "sha256"}])
#: A scan's bytes as the document shows them (a one-page PDF; a JPEG is binary from its first
#: byte, so its example is a placeholder the store refuses — the answer shows why).
PDF_TEXT = "%PDF-1.4\n1 0 obj <</Type /Catalog>> endobj\ntrailer <</Root 1 0 R>>\n%%EOF\n"
SCAN_BODIES = {"application/pdf": PDF_TEXT, "image/jpeg": "(JPEG bytes, FF D8 FF …)"}
DOCUMENT_BYTES: dict[int | str, dict[str, Any]] = {200: {
    "description": "the bytes, in the media type they were scanned as",
    "content": {media: {"schema": {"type": "string", "format": "binary"},
                        "example": SCAN_BODIES.get(media, "(the scanned bytes)")}
                for media in ("application/pdf", "application/ofd", "image/jpeg", "image/png",
                              "image/tiff")}}}
AUDIT = ok([{"position": 42, "at": "2026-12-05T02:14:09+00:00", "region": HOME,
             "staff_id": "D0733", "role": "department", "case_number": APPLICATION_NUMBER,
             "field": "materials/sha256:9f86d081… (id_card)", "purpose": "核对申请人身份"}])
PROXY_REGISTERED = ok({"case_number": APPLICATION_NUMBER, "query_code": "7K3M9Q2XDA",
                       "status": "submitted"}, 201, "registered: give the applicant the receipt")
JOINT_CASES = ok([{"case_number": NUMBER, "process": "pension_transfer",
                   "role": "destination", "status": DESTINATION.status,
                   "status_text": DESTINATION.status_text, "peers": [ORIGIN],
                   "state": "running", "disagreements": [], "attention": []}])


@functools.cache
def joint_case() -> dict[str, Any]:
    data: dict[str, Any] = jsonable_encoder(dataclasses.asdict(agreement([COMPLETED])))
    return data


@functools.cache
def reconciliation() -> dict[str, Any]:
    from projections.report import quarter_period

    data: dict[str, Any] = jsonable_encoder(dataclasses.asdict(reconcile(
        [COMPLETED], HOME, *quarter_period("2026Q4"))))
    return {**data, "period": "2026Q4"}

