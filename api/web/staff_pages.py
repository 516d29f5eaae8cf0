"""The staff pages: sign in with a staff token, the region's work queue with due dates and
overdue marks, the supervisors' dashboard with the cases behind its figures, a case with the
intake decision (受理 / 不予受理 / 要求补正, every missing
material at once: 一次性告知) and, for the department on a transfer that needs attention, 督办
(escalate to the supervisors) and 结案 (close with the reason), the staff API's `escalate` and
`close`.

The token goes into an HttpOnly, SameSite=Strict cookie scoped to /staff (a cross-site form
cannot carry it); the decisions go through the same command service as the staff API, with the
token's staff member as the actor.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.problems import log_refusal
from api.staff import Grant, TokenFile
from api.staff_api import DECIDERS, ROLE_NAMES
from domain.kernel import Actor, Command
from domain.protocols import PROTOCOLS
from domain.protocols.casework_events import EscalateAttention
from domain.protocols.intake import AcceptIntake, RejectIntake, RequestSupplement
from domain.protocols.transfer_commands import CloseTransfer
from regions.core.commands import CommandRequest

COOKIE = "tbs"
DEPARTMENT = frozenset({"department"})
#: The processes staff may escalate and close (`EscalateAttention`, `CloseTransfer`): those
#: whose terminal pairs have the staff close (the transfers).
TRANSFERS = frozenset(p for p, spec in PROTOCOLS.items()
                      if ("closed", "released") in spec.allowed_terminal_pairs)


def staff_pages(context: Any, page: Callable[..., HTMLResponse],
                read_form: Callable[[Request], Any], helpers: dict[str, Any],
                supervision_values: Callable[[bool], dict[str, Any] | None]) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    def holder(request: Request) -> Grant | None:
        """The cookie's valid token, whichever region it is of."""
        token = request.cookies.get(COOKIE, "")
        file = context.status.config.staff_tokens if context.status is not None else None
        if not token or file is None:
            return None
        return TokenFile(file).check(token, dt.datetime.now(dt.UTC))

    def signed_in(request: Request) -> Grant | None:
        grant = holder(request)
        return grant if grant is not None and grant.region == context.region else None

    def to_login() -> RedirectResponse:
        return RedirectResponse("/staff", status_code=303)

    def refused(request: Request, who: Grant, code: str, title: str, text: str) -> Response:
        log_refusal(request, 403, code, who.who)
        return page(request, "message.html", 403, title=title, message=text,
                    back_href="/staff", back_text="返回工作人员登录")

    def admitted(request: Request, roles: frozenset[str] | None = None) -> Grant | Response:
        """This region's staff member of one of `roles` (None: any role), else the answer:
        the sign-in form without a token, a logged 403 for another region's or a role that
        may not (cookies are per host, not per port: a colleague signed in at the other
        region's node on the same host brings that token here)."""
        who = holder(request)
        if who is None:
            return to_login()
        if who.region != context.region:
            return refused(request, who, "forbidden_region", "不能办理其他地区的业务",
                           "您的令牌属于其他地区，请到本地区的节点登录。")
        if roles is not None and who.role not in roles:
            return refused(request, who, "forbidden_role", "该角色不能办理这一步",
                           "您的角色只能查看，不能办理。")
        return who

    @router.get("/staff", response_class=HTMLResponse, response_model=None)
    async def login_form(request: Request) -> Response:
        who = signed_in(request)
        if who is not None:
            return RedirectResponse(home(who), status_code=303)
        return page(request, "staff_login.html", title="工作人员登录")

    @router.post("/staff", response_class=HTMLResponse, response_model=None)
    async def login(request: Request) -> Response:
        token = (await read_form(request)).get("token", "").strip()
        file = context.status.config.staff_tokens if context.status is not None else None
        grant = TokenFile(file).check(token, dt.datetime.now(dt.UTC)) if file and token else None
        if grant is None or grant.region != context.region:
            log_refusal(request, 401, "unauthenticated" if grant is None else "forbidden_region",
                        grant.who if grant is not None else "")
            problem = {"token": "令牌无效、已过期、已撤销，或不属于本地区"}
            return page(request, "staff_login.html", 401, title="工作人员登录",
                        errors=[{"field": "token", "message": problem["token"]}],
                        field_errors=problem)
        answer = RedirectResponse(home(grant), status_code=303)
        answer.set_cookie(COOKIE, token, httponly=True, samesite="strict", path="/staff",
                          max_age=8 * 3600)
        return answer

    @router.post("/staff/logout", response_model=None)
    async def logout() -> Response:
        answer = to_login()
        answer.delete_cookie(COOKIE, path="/staff")
        return answer

    def home(who: Grant) -> str:
        """A supervisor's work is the dashboard; everyone else's the queue."""
        return "/staff/supervision" if who.role == "supervisor" else "/staff/queue"

    @router.get("/staff/supervision", response_class=HTMLResponse, response_model=None)
    async def supervision(request: Request) -> Response:
        who = admitted(request)
        if not isinstance(who, Grant):
            return who
        if who.role != "supervisor":
            log_refusal(request, 403, "forbidden_role", who.who)
            return page(request, "message.html", 403, title="只有监督人员可以查看",
                        message="办件明细只向本地区的监督人员显示；统计数字见监督页。",
                        back_href="/supervision", back_text="查看监督页")
        values = supervision_values(True)
        if values is None:
            return page(request, "message.html", 503, title="暂无数据", message="本节点尚未开始运行。")
        return page(request, "supervision.html", who=_who(who), **values)

    @router.get("/staff/queue", response_class=HTMLResponse, response_model=None)
    async def queue(request: Request) -> Response:
        who = admitted(request)
        if not isinstance(who, Grant):
            return who
        views = context.views()
        return page(request, "staff_queue.html", title="待办事项", who=_who(who),
                    entries=views.queue() if views is not None else [], **helpers)

    def case_page(request: Request, who: Grant, number: str, status: int = 200,
                  outcome: str = "") -> Response:
        views = context.views()
        view = views.case(number) if views is not None else None
        if view is None:
            return page(request, "message.html", 404, title="没有这个办件",
                        message="本地没有这个办件的记录。")
        return page(request, "staff_case.html", status, title=f"办件 {number}", view=view,
                    can_decide=who.role in DECIDERS, key=uuid.uuid4().hex, outcome=outcome,
                    can_resolve=(who.role == "department" and view.needs_attention
                                 and not view.terminal and view.process in TRANSFERS),
                    **helpers)

    @router.get("/staff/cases/{number}", response_class=HTMLResponse, response_model=None)
    async def case(request: Request, number: str) -> Response:
        who = admitted(request)
        return who if not isinstance(who, Grant) else case_page(request, who, number)

    async def decide(request: Request, number: str, make: Callable[[Actor, dict[str, str]],
                     Command | str], roles: frozenset[str] = DECIDERS) -> Response:
        who = admitted(request, roles)
        if not isinstance(who, Grant):
            return who
        values = await read_form(request)
        views = context.views()
        view = views.case(number) if views is not None else None
        driver = context.status.driver if context.status is not None else None
        if view is None or driver is None:  # no case here: case_page answers 404
            return case_page(request, who, number, 503, "本节点暂不受理操作，请稍后再试。")
        command = make(Actor("staff", who.staff_id, who.region, ROLE_NAMES[who.role]), values)
        if isinstance(command, str):
            return case_page(request, who, number, 422, command)
        key = values.get("key") or uuid.uuid4().hex
        result = await driver.db(context.service().handle, CommandRequest(
            command_id=f"staff:{who.staff_id}:{key[:80]}", principal=f"staff:{who.staff_id}",
            command=command, case_id=view.case_id), driver.now())
        if not result.ok:
            message = result.error.message if result.error else "未能办理"
            return case_page(request, who, number, 409, f"未能办理：{message}")
        return RedirectResponse(f"/staff/cases/{number}", status_code=303)

    @router.post("/staff/cases/{number}/accept", response_model=None)
    async def accept(request: Request, number: str) -> Response:
        return await decide(request, number, lambda actor, _: AcceptIntake(actor=actor))

    @router.post("/staff/cases/{number}/reject", response_model=None)
    async def reject(request: Request, number: str) -> Response:
        def rejection(actor: Actor, values: dict[str, str]) -> Command | str:
            reason = values.get("reason", "").strip()
            return RejectIntake(actor=actor, reason=reason) if len(reason) >= 2 \
                else "请填写不予受理的理由。"
        return await decide(request, number, rejection)

    @router.post("/staff/cases/{number}/supplement", response_model=None)
    async def request_supplement(request: Request, number: str) -> Response:
        def asking(actor: Actor, values: dict[str, str]) -> Command | str:
            listed = values.get("missing", "").replace("，", "、").replace(",", "、")
            kinds = list(dict.fromkeys(k.strip() for k in listed.replace("\n", "、").split("、")
                                       if k.strip()))
            if not kinds:
                return "请列出缺少的材料（一次性告知，用顿号分开）。"
            return RequestSupplement(actor=actor, missing_kinds=tuple(kinds),
                                     note=values.get("note", "").strip())
        return await decide(request, number, asking)

    def with_reason(command: Callable[..., Command], missing: str) -> Callable[
            [Actor, dict[str, str]], Command | str]:
        def make(actor: Actor, values: dict[str, str]) -> Command | str:
            reason = values.get("reason", "").strip()
            return command(actor=actor, reason=reason) if len(reason) >= 2 else missing
        return make

    @router.post("/staff/cases/{number}/escalate", response_model=None)
    async def escalate(request: Request, number: str) -> Response:
        return await decide(request, number, with_reason(EscalateAttention, "请填写督办的理由。"),
                            DEPARTMENT)

    @router.post("/staff/cases/{number}/close", response_model=None)
    async def close(request: Request, number: str) -> Response:
        return await decide(request, number, with_reason(CloseTransfer, "请填写结案的理由。"),
                            DEPARTMENT)

    return router


def _who(grant: Grant) -> dict[str, str]:
    return {"staff_id": grant.staff_id, "role_name": ROLE_NAMES[grant.role]}
