"""HTML routes: the applicant's pages (事项指南, 在线申请, 办件查询), staff and supervision pages.

Why the pages call services, not the JSON API over HTTP: they run in the same process as the API,
so one call into the same service keeps one set of rules (admission, idempotency, error codes)
without a second network hop; what a page shows is what the API would answer.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter
from dataclasses import dataclass, field
from importlib import resources
from typing import Any
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from api import applicants
from api.web import charts, dashboard
from api.web.case_actions import case_actions, rateable, withdrawable
from api.web.staff_pages import staff_pages
from api.web.supplement_page import needs_supplement, supplement_page
from domain.catalogue.loader import Catalogue, load_catalogue
from domain.catalogue.materials import MaterialsBook, materials_guide
from domain.catalogue.model import BATCH_LABELS, Item
from domain.kernel import InvalidValue, UnknownItem
from domain.values import CaseNumber, RegionCode
from projections import report
from projections.cases import CaseView
from projections.views import CaseViews
from regions.core.commands import CommandService
from regions.runtime.status import NodeStatus

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
ROLE_NAMES = {"destination": "转入地（受理地）", "origin": "转出地", "single": "办理地",
              "receiving": "收件地", "handling": "办理地", "accepting": "受理地", "partner": "协办地"}
SHANGHAI = ZoneInfo("Asia/Shanghai")
COOKIE = "tbq_"


def region_name(code: str) -> str:
    try:
        return RegionCode.parse(code).name or code
    except InvalidValue:
        return code


def local(moment: dt.datetime) -> str:
    return moment.astimezone(SHANGHAI).strftime("%Y年%m月%d日 %H:%M")


def yuan(fen: int) -> str:
    return f"{fen // 100:,}.{fen % 100:02d} 元"


async def form(request: Request) -> dict[str, str]:
    """An urlencoded form, first value per field, bounded (no multipart dependency needed)."""
    body = (await request.body())[:20_000].decode("utf-8", errors="replace")
    return {k: v[0][:200] for k, v in parse_qs(body, keep_blank_values=True).items()}
_STATIC = {"tongban.css": "text/css; charset=utf-8",
           "enhance.js": "text/javascript; charset=utf-8"}


@dataclass
class WebContext:
    """What the pages read: this node's region, the catalogue and the operator's materials."""

    region: str
    catalogue: Catalogue = field(default_factory=load_catalogue)
    materials: MaterialsBook | None = None
    #: The node's status: its active driver (commands) and views; None serves the guide only.
    status: NodeStatus | None = None
    throttle: applicants.Throttle = field(default_factory=applicants.Throttle)
    _services: dict[int, CommandService] = field(default_factory=dict)

    def views(self) -> CaseViews | None:
        return self.status.views if self.status is not None else None

    def service(self) -> CommandService | None:
        driver = self.status.driver if self.status is not None else None
        if driver is None:
            return None
        if id(driver) not in self._services:
            self._services.clear()
            self._services[id(driver)] = CommandService.for_config(driver.region.node,
                                                                   driver.region.config)
        return self._services[id(driver)]

    @property
    def register_key(self) -> bytes:
        assert self.status is not None
        return self.status.config.register_key.encode()

    @property
    def peers(self) -> tuple[str, ...]:
        return tuple(p for p in self.status.config.peers if p != self.region) \
            if self.status is not None else ()

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
        values.setdefault("field_errors", {})
        values.setdefault("values", {})
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
                    can_apply=entry.process in applicants.ONLINE_TRANSFERS or "online" in entry.modes)

    def refused(request: Request, name: str, status: int, field_errors: dict[str, str],
                **values: Any) -> HTMLResponse:
        errors = [{"field": k, "message": v} for k, v in field_errors.items()]
        return page(request, name, status, errors=errors, field_errors=field_errors, **values)

    def apply_page(request: Request, entry: Item, status: int = 200,
                   field_errors: dict[str, str] | None = None,
                   values: dict[str, str] | None = None) -> HTMLResponse:
        origins = [(code, region_name(code)) for code in context.peers]
        return refused(request, "apply.html", status, field_errors or {}, title="在线申请",
                       item=entry, origins=origins, values=values or {},
                       request_id=(values or {}).get("request_id") or uuid.uuid4().hex)

    def applicable(item_id: str) -> Item | None:
        try:
            entry = context.catalogue.get(item_id)
        except UnknownItem:
            return None
        return entry if entry.process in applicants.ONLINE_TRANSFERS else None

    @router.get("/apply/{item_id}", response_class=HTMLResponse)
    async def apply_form(request: Request, item_id: str) -> HTMLResponse:
        entry = applicable(item_id)
        if entry is None:
            return message(request, "这个事项不能在这里在线申请",
                           "请到政务服务窗口办理，或通过本地业务系统申请。", 404)
        return apply_page(request, entry)

    @router.post("/apply/{item_id}", response_class=HTMLResponse)
    async def apply_submit(request: Request, item_id: str) -> HTMLResponse:
        entry = applicable(item_id)
        driver = context.status.driver if context.status is not None else None
        if entry is None or driver is None:
            return message(request, "暂时不能申请", "本节点现在不受理申请，请稍后再试。", 503)
        values = await form(request)
        problems: dict[str, str] = {}
        if not values.get("applicant_id", "").strip():
            problems["applicant_id"] = "请输入居民身份证号码"
        if values.get("origin", "") not in context.peers:
            problems["origin"] = "请选择转出地"
        if problems:
            return apply_page(request, entry, 422, problems, values)
        try:
            applied = await applicants.apply_for_transfer(
                driver, context.service(), item_id=entry.id, process=entry.process,
                applicant_id=values["applicant_id"], origin=values["origin"],
                register_key=context.register_key,
                request_id=values.get("request_id") or uuid.uuid4().hex)
        except InvalidValue as exc:
            wording = {"applicant_id": "居民身份证号码不正确，请检查后重新输入",
                       "origin": "请选择转出地"}
            name = exc.field or "applicant_id"
            return apply_page(request, entry, 422, {name: wording.get(name, str(exc))}, values)
        result = applied.result
        if not result.ok and result.error is not None:
            field_name = "origin" if "origin" in result.error.field else "applicant_id"
            return apply_page(request, entry, result.status,
                              {field_name: f"申请未被受理：{result.error.message}"}, values)
        return page(request, "applied.html", 201, title="申请已提交",
                    case_number=applied.case_number, query_code=applied.query_code)

    @router.get("/cases", response_class=HTMLResponse)
    async def lookup_form(request: Request, number: str = "") -> HTMLResponse:
        return page(request, "lookup.html", title="查询办件进度",
                    values={"case_number": number[:40]})

    @router.post("/cases", response_class=HTMLResponse, response_model=None)
    async def lookup(request: Request) -> Response:
        values = await form(request)
        number = values.get("case_number", "").strip().upper()
        code = applicants.normalise_code(values.get("query_code", ""))
        client = request.client.host if request.client else "?"
        problems: dict[str, str] = {}
        try:
            CaseNumber.parse(number)
        except InvalidValue:
            problems["case_number"] = "办件编号格式不正确"
        if not code:
            problems["query_code"] = "请输入查询码"
        if not problems and context.throttle.blocked(number, client):
            problems["query_code"] = "尝试次数过多，请 15 分钟后再试"
        if not problems and not applicants.code_matches(context.register_key, number, code):
            context.throttle.failed(number, client)
            problems["query_code"] = "办件编号或查询码不正确"
        if problems:
            return refused(request, "lookup.html", 422 if "query_code" not in problems
                           or code == "" else 403, problems, title="查询办件进度",
                           values={"case_number": number})
        answer = RedirectResponse(f"/cases/{number}", status_code=303)
        answer.set_cookie(COOKIE + number, code, max_age=3600, httponly=True, samesite="strict",
                          path=f"/cases/{number}")
        return answer

    @router.get("/cases/{number}", response_class=HTMLResponse, response_model=None)
    async def case(request: Request, number: str) -> Response:
        code = request.cookies.get(COOKIE + number, "")
        if context.status is None or not applicants.code_matches(context.register_key, number,
                                                                  code):
            return RedirectResponse(f"/cases?number={number[:40]}", status_code=303)
        views = context.views()
        view = views.case(number) if views is not None else None
        if view is None:
            return message(request, "正在同步", "本节点还没有这个办件的记录，请稍后刷新。", 404)
        return page(request, "case.html", title=f"办件 {number}", view=view,
                    item_name=item_name_of(view), can_withdraw=withdrawable(view),
                    can_rate=rateable(view), can_supplement=needs_supplement(view),
                    done=request.query_params.get("done", ""),
                    role_names=ROLE_NAMES, region_name=region_name, local=local, yuan=yuan)

    def opened(request: Request, number: str) -> CaseView | None:
        """The case's view if the browser holds its query code (the case page's cookie)."""
        code = request.cookies.get(COOKIE + number, "")
        views = context.views()
        if views is None or not applicants.code_matches(context.register_key, number, code):
            return None
        return views.case(number)

    def item_name_of(view: CaseView) -> str:
        try:
            return context.catalogue.get(view.item_id).name if view.item_id else view.process
        except UnknownItem:
            return view.process

    def supervision_values(detail: bool) -> dict[str, Any] | None:
        """The dashboard: figures for anyone; with `detail` (a supervisor signed in) also the
        cases behind them by number (overdue, 差评, joint issues, reconciliation lines), which
        the JSON API shows to supervisors only."""
        views = context.views()
        if views is None:
            return None
        figures = views.supervision()
        quarter = report.quarter_of(dt.datetime.now(dt.UTC))
        rated = dashboard.ratings(views.cases.values())
        return {
            "title": "办件监督", "detail": detail, "s": figures, "quarter": quarter,
            "rows": report.quarterly(views.cases.values(), *report.quarter_period(quarter)),
            "overdue": [e for e in views.queue() if e.overdue] if detail else [],
            "ratings": rated, "chart_ratings": charts.rating_bars(rated.by_score),
            "issues": dashboard.joint_issues(views.cases.values()) if detail else [],
            "rec": views.reconciliation(context.region, *report.quarter_period(quarter)),
            "fen": dashboard.fen_as_yuan, "region_name": region_name, "local": local,
            "percent": lambda r: "—" if r is None else f"{100 * r:.1f}%",
            "days": lambda d: "—" if d is None else f"{d:.1f} 天",
            "chart_rate": charts.on_time_rate(views.monthly_on_time()),
            "chart_days": charts.handling_days(figures.handling_days), "process_names": dashboard.PROCESS_NAMES}

    @router.get("/supervision", response_class=HTMLResponse)
    async def supervision(request: Request) -> HTMLResponse:
        values = supervision_values(detail=False)
        if values is None:
            return message(request, "暂无数据", "本节点尚未开始运行。", 503)
        return page(request, "supervision.html", **values)

    router.include_router(case_actions(context, refused, form, opened, {
        "region_name": region_name, "item_name_of": item_name_of}))
    router.include_router(supplement_page(context, refused, opened, {
        "item_name_of": item_name_of, "local": local}))
    router.include_router(staff_pages(context, page, form, {
        "role_names": ROLE_NAMES, "region_name": region_name, "local": local},
        supervision_values))

    @router.get("/static/{name}")
    async def static(name: str) -> Response:
        if name not in _STATIC:
            return Response("not found", status_code=404, media_type="text/plain")
        body = (resources.files("api.web") / "static" / name).read_bytes()
        return Response(body, media_type=_STATIC[name],
                        headers={"Cache-Control": "public, max-age=3600"})

    return router
