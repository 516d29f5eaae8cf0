"""补正 on a page: the applicant uploads each material the handling region asked for, one file
field per missing kind, into the region's content-addressed blob store, and the case goes back
to the clerk (`ProvideSupplement` through the one command service).

Why each file is checked before any command: the blob store refuses a file too large, of a type
the region does not take, or whose bytes are not what it claims; the page names the field and
the rule (which types, how big), and nothing is recorded until every missing kind has a file.
Stored blobs that no command ends up naming are harmless: content-addressed, one copy each.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api import applicants
from api.web.uploads import TooLarge, Upload, read_multipart
from projections.cases import CaseView
from regions.adapters.blobs.base import BlobStore, MaterialLimits, MaterialRefused

TYPE_NAMES = {"application/pdf": "PDF", "application/ofd": "OFD", "image/jpeg": "JPEG",
              "image/png": "PNG", "image/tiff": "TIFF"}


def accepted_types(limits: MaterialLimits) -> str:
    return "、".join(sorted(TYPE_NAMES.get(t, t) for t in limits.media_types))


def megabytes(limits: MaterialLimits) -> str:
    return f"{limits.max_bytes / 1024 / 1024:g} MB"


def refusal_text(kind: str, refused: MaterialRefused, limits: MaterialLimits) -> str:
    """The blob store's refusal of one file, for the applicant."""
    return {
        "empty_document": f"{kind}的文件是空的，请重新选择",
        "document_too_large": f"{kind}的文件太大：每个文件不超过 {megabytes(limits)}",
        "media_type_not_allowed": f"{kind}的文件格式不能接受：请上传 {accepted_types(limits)} 格式的扫描件",
        "media_type_mismatch": f"{kind}的文件内容与它的格式不符，请重新扫描或导出",
    }.get(refused.code, f"{kind}的文件不能接受：{refused}")


def needs_supplement(view: CaseView) -> bool:
    return bool(view.applicant_masked) and view.status == "supplement_requested" \
        and bool(view.supplement)


def supplement_page(context: Any, refused: Callable[..., HTMLResponse],
                    opened: Callable[[Request, str], CaseView | None],
                    helpers: dict[str, Any]) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    item_name_of = helpers["item_name_of"]

    def blobs() -> BlobStore | None:
        driver = context.status.driver if context.status is not None else None
        return driver.region.blobs if driver is not None else None

    def show(request: Request, view: CaseView, store: BlobStore, status: int = 200,
             field_errors: dict[str, str] | None = None, key: str = "") -> HTMLResponse:
        return refused(request, "supplement.html", status, field_errors or {}, title="补正材料",
                       view=view, item_name=item_name_of(view), kinds=list(view.supplement),
                       types=accepted_types(store.limits), size=megabytes(store.limits),
                       local=helpers["local"], key=key or uuid.uuid4().hex)

    @router.get("/cases/{number}/supplement", response_class=HTMLResponse, response_model=None)
    async def supplement_form(request: Request, number: str) -> Response:
        view = opened(request, number)
        store = blobs()
        if view is None or store is None:
            return RedirectResponse(f"/cases?number={number[:40]}", status_code=303)
        if not needs_supplement(view):
            return RedirectResponse(f"/cases/{number}", status_code=303)
        return show(request, view, store)

    @router.post("/cases/{number}/supplement", response_class=HTMLResponse, response_model=None)
    async def supplement(request: Request, number: str) -> Response:
        view = opened(request, number)
        store = blobs()
        driver = context.status.driver if context.status is not None else None
        if view is None or store is None or driver is None:
            return RedirectResponse(f"/cases?number={number[:40]}", status_code=303)
        if not needs_supplement(view):
            return RedirectResponse(f"/cases/{number}", status_code=303)
        kinds = list(view.supplement)
        cap = store.limits.max_bytes * len(kinds) + 64 * 1024
        try:
            fields, files = await read_multipart(request, cap)
        except TooLarge:
            return show(request, view, store, 413, {
                "file-0": f"文件太大：每个文件不超过 {megabytes(store.limits)}"})
        problems: dict[str, str] = {}
        chosen: list[tuple[str, Upload]] = []
        for index, kind in enumerate(kinds):
            upload = files.get(f"file-{index}")
            if upload is None:
                problems[f"file-{index}"] = f"请选择{kind}的文件"
            else:
                chosen.append((kind, upload))
        materials = []
        if not problems:
            for index, (kind, upload) in enumerate(chosen):
                try:
                    materials.append(await asyncio.to_thread(
                        store.put, upload.data, upload.media_type, upload.filename or kind,
                        kind=kind))
                except MaterialRefused as exc:
                    problems[f"file-{index}"] = refusal_text(kind, exc, store.limits)
        key = fields.get("key", "")
        if problems:
            return show(request, view, store, 422, problems, key)
        result = await applicants.supplement(
            driver, context.service(), case_id=view.case_id, masked=view.applicant_masked,
            materials=tuple(materials), request_id=key or uuid.uuid4().hex)
        if not result.ok:
            text = result.error.message if result.error else ""
            return show(request, view, store, 409, {"file-0": f"未能提交补正材料：{text}"}, key)
        return RedirectResponse(f"/cases/{number}?done=supplied", status_code=303)

    return router
