"""The authorisation matrix of the HTTP API (issue 13), on a running node: every identity —
anonymous, the operator, an applicant with their query code, window, department and supervisor
staff, each of this region and of the other — against every operation the node's
`/openapi.json` lists, asserting exactly who is refused (401 or 403) and that every refusal is
logged by the node.

The operations come from the running node's OpenAPI document, so an endpoint added without a
row in `WHO` fails the test (and a row whose endpoint went away fails it too). Requests carry
the operation's own OpenAPI example as their body: an allowed identity then reaches the handler
(whatever the case's rules answer there — 200, 404, 409, 422 — is not a refusal), and the
applicant's checks, which run in the handler, are really exercised.

Who "operator" is on HTTP: nobody with a credential — the operator's tools are the CLI (tokens,
audit, reports) and /healthz, /readyz, /metrics, which answer everyone (they sit on the
operator's network in a deployment). "other" for an applicant is the query code of another
person's case (at the other region): it opens nothing here.
"""

from __future__ import annotations

import collections
import random
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from simulations.workload import draw_applicant
from tests.browser.site import Site, quick_start
from tests.integration.test_staff_api import issue

HOME, AWAY = "150600", "610800"
STAFF = ("window", "department", "supervisor")
ANYONE = "anyone"
APPLICANT = "applicant"  # the query code of the case (or consultation) in the path

#: Who is let through each operation; everybody else is refused (401 without a staff token,
#: 403 otherwise). Staff rows name the roles of this region allowed.
WHO: dict[str, str | tuple[str, ...]] = {
    "GET /healthz": ANYONE, "GET /readyz": ANYONE, "GET /metrics": ANYONE,
    "GET /api/v1/items": ANYONE, "GET /api/v1/items/{item_id}": ANYONE,
    "POST /api/v1/applications": ANYONE, "POST /api/v1/consultations": ANYONE,
    "GET /api/v1/supervision": ANYONE,  # the region's figures are public (the dashboard's too)
    "GET /api/v1/cases/{case_number}": APPLICANT,
    "POST /api/v1/cases/{case_number}/withdraw": APPLICANT,
    "POST /api/v1/cases/{case_number}/rating": APPLICANT,
    "POST /api/v1/cases/{case_number}/supplement": APPLICANT,
    "GET /api/v1/consultations/{number}": APPLICANT,
    "GET /api/v1/staff/queue": STAFF,
    "GET /api/v1/staff/cases/{case_number}": STAFF,
    "GET /api/v1/staff/cases/{case_number}/materials": STAFF,
    "GET /api/v1/staff/consultations": STAFF,
    "POST /api/v1/staff/cases/{case_number}/accept": ("window", "department"),
    "POST /api/v1/staff/cases/{case_number}/reject": ("window", "department"),
    "POST /api/v1/staff/cases/{case_number}/request-supplement": ("window", "department"),
    "POST /api/v1/staff/materials": ("window", "department"),
    "GET /api/v1/staff/cases/{case_number}/materials/{doc_id}": ("window", "department"),
    "POST /api/v1/staff/consultations/{number}/reply": ("window", "department"),
    "POST /api/v1/staff/proxy-applications": ("window",),
    "POST /api/v1/staff/cases/{case_number}/forward": ("window",),
    "POST /api/v1/staff/cases/{case_number}/hand-over": ("window",),
    **{f"POST /api/v1/staff/cases/{{case_number}}/{step}": ("department",) for step in (
        "approve", "refuse-transfer-out", "info-sheet", "correct-info-sheet", "remit-funds",
        "funds-received", "return-excess", "resolve-attention", "escalate", "close",
        "close-follow-up", "confirm-originals", "approve-application", "deny-application",
        "send-result")},
    "GET /api/v1/staff/audit": ("supervisor",),
    "GET /api/v1/supervision/complaints": ("supervisor",),
    "GET /api/v1/supervision/joint-cases": ("supervisor",),
    "GET /api/v1/supervision/joint-cases/{case_number}": ("supervisor",),
    "GET /api/v1/supervision/reconciliation": ("supervisor",),
    "GET /api/v1/supervision/report": ("supervisor",),
}

IDENTITIES = [("anonymous", "-"), ("operator", "-"), (APPLICANT, "own"), (APPLICANT, "other"),
              *((role, region) for role in STAFF for region in ("own", "other"))]
QUERY = {"title": "居民身份证", "purpose": "核对申请人身份", "quarter": "2026Q4"}
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
CHINESE = re.compile(r"[\u4e00-\u9fff]")
REFUSED = re.compile(r"refused (GET|POST) (\S+): (40[13]) ")


@dataclass
class Node:
    site: Site
    url: str
    tokens: dict[tuple[str, str], str]
    other_code: str  # the query code of a case at the other region
    spec: dict[str, Any]


@pytest.fixture(scope="module")
def node(nats_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    workdir = tmp_path_factory.mktemp("matrix")
    file = workdir / "staff.json"
    tokens = {(role, side): issue(file, HOME if side == "own" else AWAY, role,
                                  f"{role[0].upper()}{n:04d}")
              for n, (role, side) in enumerate((r, s) for r in STAFF for s in ("own", "other"))}
    with quick_start(nats_server.url, workdir, backends=False,
                     env={"TONGBAN_STAFF_TOKENS": str(file)}) as site:
        away = httpx.post(f"{site.urls[AWAY]}/api/v1/applications",
                          headers={"Idempotency-Key": "matrix-away-1"},
                          json={"item_id": "b1-7", "origin": HOME, "applicant_id":
                                draw_applicant(random.Random(99)).citizen.number})
        assert away.status_code == 201, away.text
        url = site.urls[HOME]
        yield Node(site, url, tokens, away.json()["query_code"],
                   httpx.get(f"{url}/openapi.json").json())


def operations(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f"{method.upper()} {path}": op for path, item in spec["paths"].items()
            for method, op in item.items()}


def test_every_operation_has_a_row_and_every_row_an_operation(node: Node) -> None:
    listed = set(operations(node.spec))
    assert sorted(listed - set(WHO)) == [], "operations without a row in the matrix"
    assert sorted(set(WHO) - listed) == [], "rows for operations the node no longer has"


def example_body(spec: dict[str, Any], op: dict[str, Any]) -> tuple[dict[str, str], Any]:
    """(extra headers, body) from the operation's OpenAPI example; PDF bytes for a scan."""
    content = op.get("requestBody", {}).get("content", {})
    if not content:
        return {}, None
    if "application/json" not in content:
        return {"Content-Type": "application/pdf"}, PDF
    media = content["application/json"]
    if "example" in media:
        return {}, media["example"]
    schema = media["schema"]
    refs = [schema] if "$ref" in schema else [s for s in schema.get("anyOf", []) if "$ref" in s]
    named = spec["components"]["schemas"][refs[0]["$ref"].rsplit("/", 1)[-1]]
    assert named.get("examples"), f"{op['summary']}: no example body in the OpenAPI document"
    return {}, named["examples"][0]


def expected(rule: str | tuple[str, ...], role: str, region: str) -> int | None:
    """The refusal `role` of `region` must get (None: let through)."""
    if rule == ANYONE:
        return None
    if rule == APPLICANT:
        return None if (role, region) == (APPLICANT, "own") else 403
    if role not in STAFF:
        return 401
    return None if region == "own" and role in rule else 403


@pytest.mark.parametrize(("role", "region"), IDENTITIES)
def test_exactly_who_is_refused_and_every_refusal_is_logged(node: Node, role: str,
                                                            region: str) -> None:
    # A case and a consultation of this identity's own (each identity's failed codes count
    # against its own case and, from its own loopback address, its own client: the throttle
    # stays out of the way).
    n = IDENTITIES.index((role, region))
    person = draw_applicant(random.Random(100 + n)).citizen.number
    client_address = f"127.0.0.{10 + n}"
    http = httpx.Client(transport=httpx.HTTPTransport(local_address=client_address),
                        base_url=node.url, timeout=30)
    applied = http.post("/api/v1/applications", json={
        "item_id": "b1-7", "origin": AWAY, "applicant_id": person},
        headers={"Idempotency-Key": f"matrix-{role}-{region}"})
    assert applied.status_code == 201, applied.text
    asked = http.post("/api/v1/consultations", json={
        "kind": "consult", "subject": "材料", "text": "需要带什么？"},
        headers={"Idempotency-Key": f"matrix-consult-{role}-{region}"})
    assert asked.status_code == 201, asked.text
    case, consultation = applied.json(), asked.json()
    codes = {case["case_number"]: case["query_code"],
             consultation["number"]: consultation["query_code"]}
    values = {"case_number": case["case_number"], "number": consultation["number"],
              "item_id": "b1-7", "doc_id": "doc-0"}
    log = node.site.workdir / f"node-{HOME}.log"
    seen_before = log.stat().st_size

    wrong: list[str] = []
    english: list[str] = []
    refusals: collections.Counter[tuple[str, str, str]] = collections.Counter()
    for name, op in sorted(operations(node.spec).items()):
        method, template = name.split(" ", 1)
        path = template.format(**{k: v for k, v in values.items() if "{" + k + "}" in template})
        headers, body = example_body(node.spec, op)
        headers["Idempotency-Key"] = f"matrix-{uuid.uuid4().hex[:16]}"
        if role == APPLICANT:
            target = values["number"] if "{number}" in template else values["case_number"]
            headers["X-Query-Code"] = codes[target] if region == "own" else node.other_code
            if name.endswith("/withdraw") and region == "own":
                body = {**body, "id_last4": person[-4:]}  # the applicant knows their ID
        elif role in STAFF:
            headers["Authorization"] = f"Bearer {node.tokens[(role, region)]}"
        params = {p["name"]: QUERY[p["name"]] for p in op.get("parameters", [])
                  if p["in"] == "query" and p.get("required")}
        answer = http.request(method, path, headers=headers, params=params,
                              **({"content": body} if isinstance(body, bytes) else
                                 {"json": body} if body is not None else {}))
        want, got = expected(WHO[name], role, region), answer.status_code
        refused = got in (401, 403)
        if got >= 500 or (want is None and refused) or (want is not None and got != want):
            wrong.append(f"{name}: {got} (wanted {want or 'not refused'}) {answer.text[:160]}")
        if refused:
            assert answer.headers["content-type"].startswith("application/problem+json")
            refusals[(method, path, str(got))] += 1
        if answer.headers["content-type"].startswith("application/problem+json") and \
                not CHINESE.search(answer.json()["detail"]):
            english.append(f"{name}: {got} {answer.json()['detail'][:120]}")
    assert wrong == [], f"{role} of {region}:\n" + "\n".join(wrong)
    assert english == [], f"{role} of {region}: problems without a Chinese detail (issue 13: " \
        "an English title, a Chinese detail):\n" + "\n".join(english)

    with log.open(encoding="utf-8", errors="replace") as lines:
        lines.seek(seen_before)
        logged = collections.Counter(m.groups() for m in REFUSED.finditer(lines.read()))
    assert logged == refusals, "every refusal logged once, nothing else"


def test_a_refusal_names_who_was_refused(node: Node) -> None:
    """The log line says which staff member of which region was turned away."""
    for who, path in ((("window", "other"), "queue"), (("window", "own"), "audit")):
        answer = httpx.get(f"{node.url}/api/v1/staff/{path}",
                           headers={"Authorization": f"Bearer {node.tokens[who]}"})
        assert answer.status_code == 403
    text = (node.site.workdir / f"node-{HOME}.log").read_text(errors="replace")
    away_window = re.search(r"refused GET /api/v1/staff/queue: 403 forbidden_region "
                            rf"\(window W\d{{4}}@{AWAY}\)", text)
    own_window = re.search(r"refused GET /api/v1/staff/audit: 403 forbidden_role "
                           rf"\(window W\d{{4}}@{HOME}\)", text)
    assert away_window and own_window, text[-2000:]


def test_the_log_has_no_token_in_it(node: Node) -> None:
    text = (node.site.workdir / f"node-{HOME}.log").read_text(errors="replace")
    assert "tbs_" not in text and not any(t in text for t in node.tokens.values())


#: The staff pages (server-rendered, not in the OpenAPI document) and who gets each: a staff
#: cookie (`tbs`, the token) of this region and an allowed role. Without a cookie a page sends
#: the browser to the sign-in form (303 to /staff), which is not a refusal; another region's
#: token or a role that may not is refused (403) and logged, like the API's. Signing in (POST
#: /staff, the identity's own token or, without one, a made-up one) lets in this region's
#: staff and refuses everyone else (401, logged); signing out sends anyone to the form.
PAGES: dict[str, str | tuple[str, ...]] = {
    "GET /staff": ANYONE, "POST /staff": STAFF, "POST /staff/logout": ANYONE,
    "GET /staff/queue": STAFF, "GET /staff/cases/{number}": STAFF,
    "GET /staff/supervision": ("supervisor",),
    "POST /staff/cases/{number}/accept": ("window", "department"),
    "POST /staff/cases/{number}/reject": ("window", "department"),
    "POST /staff/cases/{number}/supplement": ("window", "department"),
    "POST /staff/cases/{number}/escalate": ("department",),
    "POST /staff/cases/{number}/close": ("department",),
}
PAGE_FORMS = {"reject": {"reason": "材料不齐"}, "supplement": {"missing": "居民身份证"},
              "escalate": {"reason": "转出地逾期未出具信息表，请督办"},
              "close": {"reason": "申请人确认无需转移"}}


def page_wanted(name: str, rule: str | tuple[str, ...], role: str, region: str) -> str:
    """What `role` of `region` must get: shown, sign in (303 to /staff), 401 or 403."""
    if name == "POST /staff/logout":
        return "sign in"
    if name == "POST /staff":
        return "shown" if role in STAFF and region == "own" else "401"
    if rule == ANYONE:
        return "shown"
    if role not in STAFF:
        return "sign in"
    return "shown" if region == "own" and role in rule else "403"


def staff_pages() -> set[str]:
    """Every route under /staff the node serves (from its own router list; a router included
    in another is walked into: the pages' routers have no prefix of their own)."""
    from api.node import api_routers
    from api.web import WebContext

    def walk(routes: list[Any]) -> Iterator[Any]:
        for route in routes:
            inner = getattr(route, "original_router", None)
            yield from walk(inner.routes) if inner is not None else (route,)

    return {f"{method} {route.path}" for router in api_routers(WebContext(HOME))
            for route in walk(router.routes) if getattr(route, "path", "").startswith("/staff")
            for method in getattr(route, "methods", ()) if method != "HEAD"}


def test_every_staff_page_has_a_row() -> None:
    assert sorted(staff_pages() - set(PAGES)) == [], "staff pages without a row"
    assert sorted(set(PAGES) - staff_pages()) == [], "rows for pages the node no longer has"


@pytest.mark.parametrize(("role", "region"), IDENTITIES)
def test_exactly_who_sees_each_staff_page_and_every_refusal_is_logged(
        node: Node, role: str, region: str) -> None:
    n = IDENTITIES.index((role, region))
    http = httpx.Client(base_url=node.url, timeout=30, follow_redirects=False)
    applied = http.post("/api/v1/applications", json={
        "item_id": "b1-7", "origin": AWAY,
        "applicant_id": draw_applicant(random.Random(200 + n)).citizen.number},
        headers={"Idempotency-Key": f"pages-{role}-{region}"})
    assert applied.status_code == 201, applied.text
    number = applied.json()["case_number"]
    log = node.site.workdir / f"node-{HOME}.log"
    seen_before = log.stat().st_size

    wrong: list[str] = []
    refusals: collections.Counter[tuple[str, str, str]] = collections.Counter()
    for name, rule in sorted(PAGES.items()):
        method, template = name.split(" ", 1)
        path = template.format(number=number)
        token = node.tokens[(role, region)] if role in STAFF else "tbs_not-a-token"
        form = {"token": token} if name == "POST /staff" else \
            PAGE_FORMS.get(path.rsplit("/", 1)[-1], {})
        http.cookies.clear()
        answer = http.request(method, path, data=form,
                              cookies={"tbs": token} if role in STAFF else {})
        got, to_sign_in = answer.status_code, answer.headers.get("location") == "/staff"
        want = page_wanted(name, rule, role, region)
        seen = ("sign in" if got == 303 and to_sign_in else "500" if got >= 500 else
                str(got) if got in (401, 403) else "shown")
        if seen != want:
            wrong.append(f"{name}: {got} {answer.headers.get('location', '')} (wanted {want})")
        if seen == "shown" and region == "other" and number in answer.text:
            wrong.append(f"{name}: another region's staff sees the case")
        if got in (401, 403):
            refusals[(method, path, str(got))] += 1
    assert wrong == [], f"{role} of {region}:\n" + "\n".join(wrong)

    with log.open(encoding="utf-8", errors="replace") as lines:
        lines.seek(seen_before)
        logged = collections.Counter(m.groups() for m in REFUSED.finditer(lines.read()))
    assert logged == refusals, "every page refusal logged once, nothing else"
