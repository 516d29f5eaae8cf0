"""RFC 9457 problem details for every error the HTTP server answers (`application/problem+json`):
an English `title`, a Chinese `detail` for the person, a stable `code`, and the `field` at fault
(for validation errors, `errors` lists each field path). No input yields a 5xx: handlers map
every validation failure to 4xx, and anything unexpected is logged and answered as a problem.

Every refusal of who is asking (401: no valid staff token; 403: another region's token, a role
that may not, a wrong query code) is logged here, once, with the method, the path, the code and
who was refused (`Problem.who`: the staff member and their region when the token was valid),
so a probing client or a colleague of another region leaves a trace (issue 13).
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

log = logging.getLogger("tongban.http")
MEDIA_TYPE = "application/problem+json"


class Problem(Exception):
    def __init__(self, status: int, title: str, detail: str, *, code: str,
                 field: str = "", who: str = "") -> None:
        super().__init__(title)
        self.status, self.title, self.detail, self.code, self.field = (
            status, title, detail, code, field)
        self.who = who  # the refused staff member ("S0001@150600"), for the log line


def invalid_field(exc: Exception, field: str) -> Problem:
    """The one answer for a value the domain refuses while a command is being built."""
    return Problem(422, "Invalid field", "字段不正确：" + str(exc), code="invalid_value",
                   field=field)


def refused(status: int, code: str, message: str, field: str = "") -> Problem:
    """The command service's refusal (a stable code of its one error table) as a problem: the
    Chinese detail says it was not done and carries the code and the domain's own words, which
    name the state or value at fault."""
    return Problem(status, "Refused", f"未能办理（{code}）：{message}", code=code, field=field)


def problem(status: int, title: str, detail: str, code: str, field: str = "",
            **extra: object) -> JSONResponse:
    body: dict[str, object] = {"type": f"https://tongban.example/problems/{code}",
                               "title": title, "status": status, "detail": detail, "code": code}
    if field:
        body["field"] = field
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE)


def _path(location: tuple[object, ...]) -> str:
    parts = [str(p) for p in location if p not in ("body",)]
    return ".".join(parts) or "body"


def log_refusal(request: Request, status: int, code: str, who: str = "") -> None:
    """The one log line of a refused identity (the API's problems and the staff pages)."""
    log.warning("refused %s %s: %d %s (%s) from %s", request.method, request.url.path, status,
                code, who or "no staff token", request.client.host if request.client else "?")


def install(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def on_problem(request: Request, exc: Problem) -> JSONResponse:
        if exc.status in (401, 403):
            log_refusal(request, exc.status, exc.code, exc.who)
        return problem(exc.status, exc.title, exc.detail, exc.code, exc.field)

    @app.exception_handler(RequestValidationError)
    async def on_invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"field": _path(tuple(e.get("loc", ()))), "message": str(e.get("msg", ""))}
                  for e in exc.errors()]
        first = errors[0]["field"] if errors else "body"
        return problem(422, "Invalid request", "请求内容不正确，请检查标出的字段",
                       "invalid_request", first, errors=errors)

    @app.exception_handler(HTTPException)
    async def on_http(request: Request, exc: HTTPException) -> JSONResponse:
        return problem(exc.status_code, str(exc.detail), "请求无法处理", f"http_{exc.status_code}")

    @app.exception_handler(Exception)
    async def on_error(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return problem(500, "Internal error", "服务器内部错误，请稍后重试", "internal_error")


#: Documented on every route: what any operation may answer with, as problem+json.
PROBLEM_SCHEMA = {"type": "object", "required": ["type", "title", "status", "detail", "code"],
                  "properties": {"type": {"type": "string"}, "title": {"type": "string"},
                                 "status": {"type": "integer"}, "detail": {"type": "string"},
                                 "code": {"type": "string"}, "field": {"type": "string"},
                                 "errors": {"type": "array", "items": {"type": "object"}}}}
def example(status: int, title: str, detail: str, code: str, field: str = "",
            **extra: object) -> dict[str, object]:
    """A problem body exactly as `problem` writes it, for the OpenAPI document."""
    body: dict[str, object] = {"type": f"https://tongban.example/problems/{code}",
                               "title": title, "status": status, "detail": detail, "code": code}
    if field:
        body["field"] = field
    return {**body, **extra}


def documented(status: int, description: str, *examples: dict[str, object]
               ) -> dict[int | str, dict[str, object]]:
    """One status of an operation's `responses`: problem+json with its own examples (a route's
    entry replaces the router's for that status whole, so it must carry them)."""
    media: dict[str, object] = {"schema": PROBLEM_SCHEMA}
    if len(examples) == 1:
        media["example"] = examples[0]
    else:
        media["examples"] = {str(e["code"]): {"summary": str(e["title"]), "value": e}
                             for e in examples}
    return {status: {"description": description, "content": {MEDIA_TYPE: media}}}


#: What any operation may answer with, as problem+json, each with the server's own example
#: (routes replace a status with a more particular one through `documented`).
RESPONSES: dict[int | str, dict[str, object]] = {
    **documented(400, "unreadable request", example(
        400, "Bad Request", "请求无法处理", "http_400")),
    **documented(401, "no valid staff token", example(
        401, "Not authenticated", "需要有效的工作人员令牌", "unauthenticated", "Authorization")),
    **documented(403, "not allowed (role, region or query code)", example(
        403, "Other region", "不能办理其他地区的业务", "forbidden_region", "Authorization")),
    **documented(404, "not known here", example(
        404, "Unknown case", "本地没有这个办件", "unknown_case", "case_number")),
    **documented(409, "refused by the case's rules", example(
        409, "Refused", "未能办理（intake_decided）：intake is already accepted",
        "intake_decided", "command.type")),
    **documented(422, "a field is invalid (named in `field`)", example(
        422, "Invalid request", "请求内容不正确，请检查标出的字段", "invalid_request",
        "Idempotency-Key", errors=[{"field": "header.Idempotency-Key",
                                    "message": "Field required"}])),
    **documented(429, "too many attempts", example(
        429, "Too many attempts", "尝试次数过多，请 15 分钟后再试", "rate_limited")),
    **documented(500, "unexpected error", example(
        500, "Internal error", "服务器内部错误，请稍后重试", "internal_error")),
    **documented(503, "this node is not the active worker", example(
        503, "Not the active worker", "本节点暂不受理操作", "unavailable")),
}
