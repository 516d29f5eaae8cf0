"""Personal data on the staff API: the case's documents (scans of ID cards, certificates — the
personal data a node holds unmasked; the ID number itself is kept only as a keyed hash and a
masked form), each read of them audit-logged, and the audit log for supervisors.

Who may do what (`tests/integration/test_staff_records.py` checks it):

    endpoint                                       window  department  supervisor  other region
    POST /staff/materials (scan at the window)       ✓        ✓           403          403
    GET  /staff/cases/{number}/materials (list)      ✓        ✓           ✓            403
    GET  /staff/cases/{number}/materials/{doc_id}    ✓        ✓           403          403
    GET  /staff/audit                                403      403         ✓            403

Why like this: the list shows titles and kinds only (what the case page needs); the bytes are
the unmasked data, for the roles that handle the case, and only with a stated purpose. Before
the bytes leave, `regions.core.audit` records who read which document of which case, when and
why, in the region's event store; if that write fails the answer is 503 and nothing is shown.
Supervisors (and the operator: `tongban audit list`) read the log; staff who read cannot.

(No `from __future__ import annotations`: FastAPI evaluates the dependency annotations.)
"""


import dataclasses
import logging
import uuid
from collections.abc import Callable, Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response

from api import examples
from api.problems import Problem, documented, example
from api.staff import Grant
from regions.adapters.blobs.base import BlobNotFound, MaterialRefused
from regions.core import audit
from regions.core.sides import side_id
from regions.core.store import Stream

log = logging.getLogger("tongban.audit")
MAX_SCAN = 20 * 1024 * 1024


def materials_in(payload: Any) -> Iterator[dict[str, Any]]:
    """Every material reference inside an event payload (top level or nested)."""
    if isinstance(payload, dict):
        if {"doc_id", "sha256", "size", "kind", "title"} <= payload.keys():
            yield payload
            return
        for value in payload.values():
            yield from materials_in(value)
    elif isinstance(payload, list):
        for value in payload:
            yield from materials_in(value)


def case_materials(app: Any, case_id: str, region: str) -> list[dict[str, Any]]:
    """The documents this region's side of the case refers to, first mention first."""
    stream = app.repository.get(side_id(case_id, region)) if case_id else None
    if not isinstance(stream, Stream):
        return []
    found: dict[str, dict[str, Any]] = {}
    for _type, _schema, payload in stream.entries:
        for ref in materials_in(payload):
            found.setdefault(str(ref["doc_id"]), {
                k: ref[k] for k in ("doc_id", "sha256", "media_type", "size", "title", "kind")
                if k in ref})
    return list(found.values())


def records_routes(context: Any, router: APIRouter, grant: Callable[..., Grant]) -> None:
    """Add the documents and the audit log to the staff router (`api.staff_api`)."""

    def role(*allowed: str) -> Callable[..., Grant]:
        def check(who: Annotated[Grant, Depends(grant)]) -> Grant:
            if who.role not in allowed:
                raise Problem(403, "Not this role's data", "该角色不能查看这些数据",
                              code="forbidden_role", field="Authorization",
                              who=who.who)
            return who
        return check

    Handler = Annotated[Grant, Depends(role("window", "department"))]
    Anyone = Annotated[Grant, Depends(grant)]
    Supervisor = Annotated[Grant, Depends(role("supervisor"))]

    def driver() -> Any:
        found = context.status.driver if context.status is not None else None
        if found is None:
            raise Problem(503, "Not the active worker", "本节点暂不受理操作", code="unavailable")
        return found

    async def documents(number: str) -> list[dict[str, Any]]:
        views = context.views()
        view = views.case(number) if views is not None else None
        if view is None:
            raise Problem(404, "Unknown case", "本地没有这个办件", code="unknown_case",
                          field="case_number")
        running = driver()
        return list(await running.db(case_materials, running.region.node.app, view.case_id,
                                     context.region))

    @router.post("/materials", status_code=201,
                 summary="Scan a document at the window: store the bytes, get its reference",
                 responses={**examples.SCANNED, **documented(413, "larger than 20 MiB", example(
                     413, "Too large", "文件过大", "too_large", "body")),
                     **documented(422, "the bytes are not what the media type says, or a type "
                                  "the store does not take", example(
                                      422, "Document refused", "文件不能接收：the bytes are not "
                                      "application/pdf (they do not start like one)",
                                      "media_type_mismatch", "body"))},
                 openapi_extra={"requestBody": {"required": True, "content": {
                     media: {"schema": {"type": "string", "format": "binary"},
                             "example": examples.SCAN_BODIES[media]}
                     for media in ("application/pdf", "image/jpeg")}}})
    async def scan(request: Request, who: Handler,
                   title: Annotated[str, Query(min_length=1, max_length=100)],
                   kind: Annotated[str, Query(max_length=40)] = "") -> dict[str, Any]:
        length = int(request.headers.get("content-length") or 0)
        if length > MAX_SCAN:
            raise Problem(413, "Too large", "文件过大", code="too_large", field="body")
        data = await request.body()
        media_type = request.headers.get("content-type", "").split(";")[0].strip()
        running = driver()
        try:
            ref = await running.db(lambda: running.region.blobs.put(
                data, media_type, title.strip(), kind=kind.strip()))
        except MaterialRefused as exc:
            raise Problem(422, "Document refused", "文件不能接收：" + str(exc),
                          code=exc.code, field="body") from None
        return dataclasses.asdict(ref)

    @router.get("/cases/{case_number}/materials",
                summary="The case's documents: titles and kinds, not their content",
                responses=examples.DOCUMENTS)
    async def listing(case_number: str, who: Anyone) -> list[dict[str, Any]]:
        return [{k: v for k, v in d.items() if k != "sha256"}
                for d in await documents(case_number)]

    @router.get("/cases/{case_number}/materials/{doc_id}",
                summary="One document's bytes (unmasked personal data: audit-logged)",
                response_class=Response, responses={**examples.DOCUMENT_BYTES,
                    **documented(404, "no such document in this case", example(
                        404, "Unknown document", "这个办件没有这份材料", "unknown_document",
                        "doc_id"))})
    async def read(case_number: str, doc_id: str, who: Handler,
                   purpose: Annotated[str, Query(min_length=2, max_length=200,
                                                 description="why it is read (logged)")],
                   ) -> Response:
        found = [d for d in await documents(case_number) if d["doc_id"] == doc_id]
        if not found:
            raise Problem(404, "Unknown document", "这个办件没有这份材料", code="unknown_document",
                          field="doc_id")
        doc, running = found[0], driver()
        try:
            await running.db(lambda: audit.record(
                running.region.node.app, uuid.uuid4(), running.now(), region=context.region,
                staff_id=who.staff_id, role=who.role, case_number=case_number,
                field=f"materials/{doc_id} ({doc.get('kind') or doc['title']})",
                purpose=purpose.strip()))
        except Exception:
            log.exception("audit entry of %s reading %s not written", who.staff_id, case_number)
            raise Problem(503, "Audit log unavailable", "无法记录查阅日志，暂不能查看",
                          code="unavailable") from None
        try:
            data = await running.db(running.region.blobs.read, doc["sha256"])
        except BlobNotFound:
            raise Problem(404, "Not stored here", "本节点没有这份材料的文件",
                          code="unknown_document", field="doc_id") from None
        return Response(data, media_type=str(doc.get("media_type") or
                                             "application/octet-stream"))

    @router.get("/audit", summary="Who read which personal data, when and why (supervisors)",
                responses=examples.AUDIT)
    async def audit_log(who: Supervisor,
                        case_number: Annotated[str, Query(max_length=40)] = "",
                        staff_id: Annotated[str, Query(max_length=40)] = "",
                        after: Annotated[int, Query(ge=0, le=2**53)] = 0,
                        limit: Annotated[int, Query(ge=1, le=1000)] = 200,
                        ) -> list[dict[str, Any]]:
        running = driver()
        found = await running.db(lambda: list(audit.entries(
            running.region.node.app, case_number=case_number, staff_id=staff_id,
            after=after, limit=limit)))
        return [dataclasses.asdict(e) for e in found]
