"""The JSON API's contract without a running node: catalogue answers, problem+json for every
refusal, an OpenAPI document listing the applicant and supervisor operations."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api import problems
from api.rest import rest_router
from api.web import WebContext


@pytest.fixture(scope="module")
def client() -> TestClient:
    app = FastAPI(openapi_url="/openapi.json")
    problems.install(app)
    app.include_router(rest_router(WebContext("150600")))
    return TestClient(app, raise_server_exceptions=False)


def is_problem(answer: Any, status: int) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = answer.json()
    assert body["status"] == status and body["title"] and body["detail"] and body["code"]
    return body


def test_search_finds_the_pension_transfer(client: TestClient) -> None:
    found = client.get("/api/v1/items", params={"q": "养老保险关系转移"}).json()
    assert {"id": "b1-7", "name": "企业职工基本养老保险关系转移接续", "modes": ["joint"],
            "process": "pension_transfer", "batch": 1} in found


def test_a_guide_says_not_configured_without_a_materials_file(client: TestClient) -> None:
    guide = client.get("/api/v1/items/b1-7").json()
    assert guide["process"] == "pension_transfer" and guide["guide"]["configured"] is False


def test_an_unknown_item_is_a_problem_naming_the_field(client: TestClient) -> None:
    body = is_problem(client.get("/api/v1/items/b9-99"), 404)
    assert body["field"] == "item_id" and body["code"] == "unknown_item"


def test_an_anonymous_empty_post_is_a_4xx_problem(client: TestClient) -> None:
    body = is_problem(client.post("/api/v1/applications"), 422)
    assert {e["field"] for e in body["errors"]} == {"header.idempotency-key", "body"}


def test_a_bad_field_is_named_by_its_path(client: TestClient) -> None:
    answer = client.post("/api/v1/applications", headers={"Idempotency-Key": "k" * 10},
                         json={"item_id": "b1-7", "applicant_id": "x" * 18, "origin": "61"})
    body = is_problem(answer, 422)
    assert "origin" in {e["field"] for e in body["errors"]}


def test_without_a_running_node_an_application_is_refused_not_crashed(client: TestClient) -> None:
    answer = client.post("/api/v1/applications", headers={"Idempotency-Key": "k" * 10},
                         json={"item_id": "b1-7", "applicant_id": "120101197601310292",
                               "origin": "610800"})
    assert is_problem(answer, 503)["code"] == "unavailable"


def test_a_wrong_query_code_is_refused(client: TestClient) -> None:
    answer = client.get("/api/v1/cases/150600-20261205-0123456789",
                        headers={"X-Query-Code": "0000000000"})
    assert is_problem(answer, 403)["field"] == "X-Query-Code"


def test_openapi_lists_applicant_and_supervisor_operations(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    tags = {tag for path in spec["paths"].values() for op in path.values()
            for tag in op.get("tags", [])}
    assert {"anyone", "applicants", "supervisors"} <= tags


@pytest.mark.parametrize("item_id", ["b1-7", "b1-8", "b1-9", "b1-10", "b1-11", "b2-16", "b2-60"])
def test_every_transfer_an_applicant_can_start_alone_passes_the_item_check(
        client: TestClient, item_id: str) -> None:
    """Each pension item has its own process since the per-item specs: the online door takes
    every transfer item whose application needs only the 转出地 (refused here only because no
    node runs)."""
    answer = client.post("/api/v1/applications", headers={"Idempotency-Key": "k" * 10},
                         json={"item_id": item_id, "applicant_id": "120101197601310292",
                               "origin": "610800"})
    assert is_problem(answer, 503)["code"] == "unavailable"


def test_a_veterans_transfer_is_not_applied_for_online_it_names_a_military_agency(
        client: TestClient) -> None:
    answer = client.post("/api/v1/applications", headers={"Idempotency-Key": "k" * 10},
                         json={"item_id": "b1-12", "applicant_id": "120101197601310292",
                               "origin": "610800"})
    assert is_problem(answer, 422)["code"] == "wrong_process"


@pytest.mark.parametrize("number", [
    "150600-20261305-0123456789", "１５０６００-20261205-0123456789", "150600-20261205-012345678９",
    "150600-20261205-01234%0A6789", "%00", "None", "x" * 5_000])
def test_a_hostile_case_number_is_a_4xx_problem_wherever_it_is_read(client: TestClient,
                                                                    number: str) -> None:
    """A line feed inside, digits of other scripts, a date that is none, overlong text: the
    domain's `InvalidValue`, answered as a 4xx problem — never a 500."""
    headers = {"X-Query-Code": "X" * 10, "Idempotency-Key": "k" * 10}
    answer = client.get(f"/api/v1/cases/{number}", headers=headers)
    assert len(is_problem(answer, 422)["detail"]) < 300


@pytest.mark.parametrize("applicant_id", [None, 110105194912310021, "1" * 5_000, ["x"]])
def test_an_applicant_id_of_the_wrong_shape_is_a_4xx_problem_naming_it(
        client: TestClient, applicant_id: object) -> None:
    answer = client.post("/api/v1/applications", headers={"Idempotency-Key": "k" * 10},
                         json={"item_id": "b1-7", "applicant_id": applicant_id,
                               "origin": "610800"})
    body = is_problem(answer, 422)
    assert "applicant_id" in {e["field"] for e in body["errors"]}
