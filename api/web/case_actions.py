"""What an applicant does on a case after applying, each on a page of its own (GOV.UK: one
thing per page): withdraw (撤回) and rate the handling (好差评).

Who: the browser that opened the case with its query code (the case page's cookie); a
withdrawal also asks for the last four characters of the ID number. The writes go through the
same command service as the JSON API (`api.applicants`), so the rules and refusals are the
protocol's; a refusal's code is worded here for people, next to the field it concerns.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api import applicants
from projections.cases import CaseView
from regions.core.commands import CommandResult

#: An action's page: (request, case, status, field errors, values given) → the page.
Page = Callable[..., HTMLResponse]
#: What an action does with the form sent: (request, number, case, driver, values) → the answer.
Act = Callable[[Request, str, CaseView, Any, dict[str, str]], Awaitable[Response]]
#: The five levels of the national 好差评 system, best first.
SCORES = ((5, "非常满意"), (4, "满意"), (3, "基本满意"), (2, "不满意"), (1, "非常不满意"))
#: Refusals of a rating in the applicant's words, with the field each concerns.
RATING_REFUSALS = {
    "already_rated": ("rated_region", "您已经评价过这个地区对本办件的办理，每个地区只能评价一次"),
    "not_completed": ("score", "办件办结后才能评价"),
    "unknown_rated_region": ("rated_region", "这个地区没有参与办理本办件，不能评价"),
    "invalid_score": ("score", "请选择评价"),
    "rate_elsewhere": ("rated_region", "请在受理您申请的地区评价"),
}


def withdrawable(view: CaseView) -> bool:
    """The applicant may ask to withdraw at the region that took the application, until it
    ends (the protocol refuses one that comes too late, and the page says why)."""
    return bool(view.applicant_masked) and not view.terminal and view.status != "withdrawing"


def rateable(view: CaseView) -> bool:
    """Rated through the region that took the application, once the case has ended."""
    return bool(view.applicant_masked) and view.terminal


def case_actions(context: Any, refused: Callable[..., HTMLResponse],
                 read_form: Callable[[Request], Any],
                 opened: Callable[[Request, str], CaseView | None],
                 helpers: dict[str, Any]) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    region_name = helpers["region_name"]
    item_name_of = helpers["item_name_of"]

    def back_to_lookup(number: str) -> RedirectResponse:
        return RedirectResponse(f"/cases?number={number[:40]}", status_code=303)

    def client_of(request: Request) -> str:
        return request.client.host if request.client else "?"

    def refusal_text(result: CommandResult) -> str:
        return result.error.message if result.error else ""

    def page_of(template: str, title: str,
                extra: Callable[[CaseView], dict[str, Any]] = lambda view: {}) -> Page:
        """An action's page: blank, or again with the values given and what is wrong with them
        (a fresh idempotency key unless the form carried one)."""
        def page(request: Request, view: CaseView, status: int = 200,
                 field_errors: dict[str, str] | None = None,
                 values: dict[str, str] | None = None) -> HTMLResponse:
            return refused(request, template, status, field_errors or {}, title=title,
                           view=view, item_name=item_name_of(view), values=values or {},
                           key=(values or {}).get("key") or uuid.uuid4().hex, **extra(view))
        return page

    def action_routes(action: str, allowed: Callable[[CaseView], bool], page: Page,
                      act: Act) -> None:
        """GET /cases/{number}/<action>: the action's page, while the action is open to the
        case; POST: `act` on the case, the node's driver and the form's values. Both only for
        a case this browser opened (else back to the lookup)."""
        async def form(request: Request, number: str) -> Response:
            view = opened(request, number)
            if view is None:
                return back_to_lookup(number)
            if not allowed(view):
                return RedirectResponse(f"/cases/{number}", status_code=303)
            return page(request, view)

        async def send(request: Request, number: str) -> Response:
            view = opened(request, number)
            driver = context.status.driver if context.status is not None else None
            if view is None or driver is None:
                return back_to_lookup(number)
            return await act(request, number, view, driver, await read_form(request))

        for method, endpoint, name in (("GET", form, f"{action}_form"), ("POST", send, action)):
            router.add_api_route(f"/cases/{{number}}/{action}", endpoint, methods=[method],
                                 response_class=HTMLResponse, response_model=None, name=name)

    # ------------------------------------------------------------------ withdraw (撤回)

    withdraw_page = page_of("withdraw.html", "撤回申请")

    async def withdraw(request: Request, number: str, view: CaseView, driver: Any,
                       values: dict[str, str]) -> Response:
        given = values.get("id_last4", "").strip()
        keys = (f"withdraw:{number}", client_of(request))
        problems: dict[str, str] = {}
        if not given:
            problems["id_last4"] = "请输入身份证号码后四位"
        elif context.throttle.blocked(*keys):
            problems["id_last4"] = "尝试次数过多，请 15 分钟后再试"
        elif not applicants.last_four_matches(view.applicant_masked, given):
            context.throttle.failed(*keys)
            problems["id_last4"] = "身份证号码后四位不正确"
        if problems:
            return withdraw_page(request, view, 422, problems, values)
        result = await applicants.withdraw(
            driver, context.service(), case_id=view.case_id, masked=view.applicant_masked,
            reason=values.get("reason", ""), request_id=values.get("key") or uuid.uuid4().hex)
        if not result.ok:
            return refused(request, "message.html", 409, {}, title="这个办件现在不能撤回",
                           message=f"未能撤回：{refusal_text(result)}",
                           back_href=f"/cases/{number}", back_text="返回办件进度")
        return RedirectResponse(f"/cases/{number}", status_code=303)

    action_routes("withdraw", withdrawable, withdraw_page, withdraw)

    # ------------------------------------------------------------------ rate (好差评)

    def rating_choices(view: CaseView) -> dict[str, Any]:
        regions = [(view.region, f"{region_name(view.region)}（受理地）")]
        regions += [(peer, region_name(peer)) for peer in view.peers]
        return {"scores": SCORES, "regions": regions}

    rating_page = page_of("rate.html", "评价办理情况", rating_choices)

    async def rate(request: Request, number: str, view: CaseView, driver: Any,
                   values: dict[str, str]) -> Response:
        score = values.get("score", "")
        rated_region = values.get("rated_region", "") or view.region
        if score not in {str(s) for s, _ in SCORES}:
            return rating_page(request, view, 422, {"score": "请选择评价"}, values)
        if rated_region not in (view.region, *view.peers):
            return rating_page(request, view, 422, {"rated_region": "请选择要评价的地区"}, values)
        result = await applicants.rate(
            driver, context.service(), case_id=view.case_id, masked=view.applicant_masked,
            score=int(score), comment=values.get("comment", ""),
            rated_region="" if rated_region == view.region else rated_region,
            request_id=values.get("key") or uuid.uuid4().hex)
        if not result.ok:
            code = result.error.code if result.error else ""
            field, text = RATING_REFUSALS.get(code, ("score", f"未能评价：{refusal_text(result)}"))
            return rating_page(request, view, 409 if code in RATING_REFUSALS else 422,
                               {field: text}, values)
        return RedirectResponse(f"/cases/{number}?done=rated", status_code=303)

    action_routes("rate", rateable, rating_page, rate)
    return router
