"""HTML routes: the applicant's pages (事项指南, 在线申请, 办件查询), staff and supervision pages.

Why the pages call services, not the JSON API over HTTP: they run in the same process as the API,
so one call into the same service keeps one set of rules (admission, idempotency, error codes)
without a second network hop; what a page shows is what the API would answer.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates

from domain.catalogue.loader import Catalogue, load_catalogue
from domain.catalogue.materials import MaterialsBook, materials_guide
from domain.catalogue.model import BATCH_LABELS, Item
from domain.kernel import UnknownItem
from domain.values import RegionCode

MODE_NAMES = {"online": "全程网办", "proxy": "异地代收代办", "joint": "多地联办",
              "local": "就地办理"}
MODE_HELP = {
    "online": "全程网办：在网上提交申请，不用跑窗口。",
    "proxy": "异地代收代办：在就近的窗口交材料，由有权地区办理。",
    "joint": "多地联办：两地部门各办一段，您只需在一地提交。",
    "local": "就地办理：在您居住地的登记机关直接办理，不受户籍地限制。",
}
KIND_NAMES = {"original": "原件", "copy": "复印件", "form": "表格", "electronic": "电子材料"}
UNIT_NAMES = {"working": "个工作日", "calendar": "天", "month": "个月"}
SIDE_NAMES = {"destination": "转入地", "origin": "转出地"}
_STATIC = {"tongban.css": "text/css; charset=utf-8",
           "enhance.js": "text/javascript; charset=utf-8"}


@dataclass
class WebContext:
    """What the pages read: this node's region, the catalogue and the operator's materials."""

    region: str
    catalogue: Catalogue = field(default_factory=load_catalogue)
    materials: MaterialsBook | None = None

    @property
    def site(self) -> dict[str, str]:
        return {"region": self.region, "region_name": RegionCode(self.region).name or "本地区"}


def _templates() -> Jinja2Templates:
    folder = resources.files("api.web") / "templates"
    return Jinja2Templates(directory=str(folder))


def limit_lines(item: Item) -> list[str]:
    """Each statutory step limit as a sentence: "转入地 审核：15个工作日（自受理起）"."""
    return [f"{SIDE_NAMES[limit.side]} {limit.step}：{limit.days}{UNIT_NAMES[limit.unit]}"
            f"（自{limit.starts}起）" for limit in item.limits]


def web_router(context: WebContext) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    templates = _templates()

    def page(request: Request, name: str, status: int = 200, **values: Any) -> HTMLResponse:
        values.setdefault("errors", [])
        return templates.TemplateResponse(
            request, name, {"site": context.site, "mode_names": MODE_NAMES, **values},
            status_code=status)

    def message(request: Request, title: str, text: str, status: int) -> HTMLResponse:
        return page(request, "message.html", status, title=title, message=text)

    @router.get("/", response_class=HTMLResponse)
    async def start(request: Request) -> HTMLResponse:
        counts = Counter(item.batch for item in context.catalogue.items)
        return page(request, "start.html", title="跨省通办 办件服务",
                    total=len(context.catalogue),
                    batches=[(BATCH_LABELS[b], counts[b]) for b in sorted(counts)])

    @router.get("/items", response_class=HTMLResponse)
    async def items(request: Request, q: str = "") -> HTMLResponse:
        query = q.strip()[:50]
        found = context.catalogue.search(query) if query else list(context.catalogue.items)
        return page(request, "items.html", title="查找事项", items=found, query=query)

    @router.get("/items/{item_id}", response_class=HTMLResponse)
    async def item(request: Request, item_id: str) -> HTMLResponse:
        try:
            entry = context.catalogue.get(item_id)
        except UnknownItem:
            return message(request, "找不到这个事项", f"目录中没有编号为 {item_id[:20]} 的事项。", 404)
        where = ("网上申请，不用到窗口。" if "online" in entry.modes
                 else "到就近的政务服务窗口（异地代收）或任一参与地区的窗口申请。")
        return page(request, "item.html", title=entry.name, item=entry,
                    guide=materials_guide(context.materials, entry.id), limits=limit_lines(entry),
                    where=where, mode_help=MODE_HELP, kind_names=KIND_NAMES,
                    can_apply="online" in entry.modes)

    @router.get("/static/{name}")
    async def static(name: str) -> Response:
        if name not in _STATIC:
            return Response("not found", status_code=404, media_type="text/plain")
        body = (resources.files("api.web") / "static" / name).read_bytes()
        return Response(body, media_type=_STATIC[name],
                        headers={"Cache-Control": "public, max-age=3600"})

    return router
