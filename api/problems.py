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


def install(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def on_problem(request: Request, exc: Problem) -> JSONResponse:
        if exc.status in (401, 403):
            log.warning("refused %s %s: %d %s (%s) from %s", request.method, request.url.path,
                        exc.status, exc.code, exc.who or "no staff token",
                        request.client.host if request.client else "?")
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
RESPONSES: dict[int | str, dict[str, object]] = {
    status: {"description": meaning,
             "content": {MEDIA_TYPE: {"schema": PROBLEM_SCHEMA}}}
    for status, meaning in (
        (400, "unreadable request"), (401, "no valid staff token"),
        (403, "not allowed (role, region or query code)"), (404, "not known here"),
        (409, "refused by the case's rules"), (422, "a field is invalid (named in `field`)"),
        (429, "too many attempts"), (500, "unexpected error"),
        (503, "this node is not the active worker"))}
