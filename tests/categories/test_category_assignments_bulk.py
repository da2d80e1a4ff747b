"""Bulk writes over HTTP: POST /categories/{categoryId}/assignments/bulk and
PUT /categories/{categoryId}/assignments/references/bulk."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from tests.categories.assignment_helpers import Categories, assignment_rows, category_not_found, error
from tests.factories import AUTH_FAILURES, Tokens

POST_BULK = "/categories/c1/assignments/bulk"
PUT_BULK = "/categories/c1/assignments/references/bulk"
PRODUCT_MISSING = "Product '{}' does not exist in this tenant; create it first (POST /product/{{tenant}}/products)."


@pytest.fixture
def categories(client: TestClient[Litestar], tokens: Tokens, tenant: str, database_url: str) -> Categories:
    categories = Categories(client, tokens, tenant, database_url)
    categories.add_category("c1")
    return categories


def ids(response_body: list[dict[str, Any]]) -> list[str]:
    return [r["assignmentId"] for r in response_body]


class TestAssignResourcesBulk:
    @pytest.mark.parametrize("case", AUTH_FAILURES)
    def test_refused(self, categories: Categories, case: str) -> None:
        categories.add_product("p1")
        categories.refused(case, "POST", POST_BULK, json=[{"ref": {"id": "p1", "type": "PRODUCT"}}])
        assert assignment_rows(categories.database_url, categories.tenant) == []

    def test_spec_example(self, categories: Categories) -> None:
        categories.add_product("1639265")
        categories.add_product("1639266")
        response = categories.request(
            "POST",
            POST_BULK,
            json=[{"ref": {"id": "1639265", "type": "PRODUCT"}}, {"ref": {"id": "1639266", "type": "PRODUCT"}}],
        )
        assert response.status_code == 207, response.text
        body = response.json()
        assert body == [
            {
                "assignmentId": body[0]["assignmentId"],
                "productId": "1639265",
                "index": 0,
                "code": 201,
                "status": "CREATED",
            },
            {
                "assignmentId": body[1]["assignmentId"],
                "productId": "1639266",
                "index": 1,
                "code": 201,
                "status": "CREATED",
            },
        ]
        assert sorted(a["id"] for a in categories.assignments("c1")) == sorted(ids(body))

    def test_bad_items_fail_alone(self, categories: Categories) -> None:
        categories.add_product("p1")
        existing = categories.assign("c1", categories.add_product("p2"))
        response = categories.request(
            "POST",
            POST_BULK,
            json=[
                {"ref": {"id": "p2", "type": "PRODUCT"}},
                {"ref": {"id": "ghost", "type": "PRODUCT"}},
                {"ref": {"id": "p1"}},
                {"ref": {"id": "p1", "type": "PRODUCT"}},
                {"ref": {"id": "p1", "type": "PRODUCT"}},
            ],
        )
        assert response.status_code == 207
        body = response.json()
        created = body[3]["assignmentId"]
        assert body == [
            {
                "assignmentId": existing,
                "productId": "p2",
                "index": 0,
                "code": 409,
                "status": "CONFLICT",
                "message": f"Product 'p2' is already assigned to category 'c1' (assignment '{existing}'); PUT "
                "/categories/c1/assignments/references/p2 keeps it without an error.",
            },
            {
                "productId": "ghost",
                "index": 1,
                "code": 400,
                "status": "BAD_REQUEST",
                "message": PRODUCT_MISSING.format("ghost"),
            },
            {
                "productId": "p1",
                "index": 2,
                "code": 400,
                "status": "BAD_REQUEST",
                "message": "Validation problem with request body: Object missing required field `type` - at `$.ref`.",
            },
            {"assignmentId": created, "productId": "p1", "index": 3, "code": 201, "status": "CREATED"},
            {
                "assignmentId": created,
                "productId": "p1",
                "index": 4,
                "code": 409,
                "status": "CONFLICT",
                "message": f"Product 'p1' is already assigned to category 'c1' (assignment '{created}'); PUT "
                "/categories/c1/assignments/references/p1 keeps it without an error.",
            },
        ]
        assert assignment_rows(categories.database_url, categories.tenant) == [("c1", "p1"), ("c1", "p2")]

    def test_201_items_is_400_and_nothing_stored(self, categories: Categories) -> None:
        categories.add_product("p1")
        response = categories.request("POST", POST_BULK, json=[{"ref": {"id": "p1", "type": "PRODUCT"}}] * 201)
        assert response.status_code == 400
        assert response.json() == error(400, "A bulk request may hold at most 200 items; this one holds 201.")
        assert assignment_rows(categories.database_url, categories.tenant) == []

    def test_empty_is_400(self, categories: Categories) -> None:
        response = categories.request("POST", POST_BULK, json=[])
        assert response.status_code == 400
        assert response.json() == error(400, "A bulk request must hold at least 1 item; this one holds 0.")

    def test_not_an_array_is_400(self, categories: Categories) -> None:
        response = categories.request("POST", POST_BULK, json={"ref": {"id": "p1", "type": "PRODUCT"}})
        assert response.status_code == 400
        assert response.json() == error(400, "Validation problem with request body: Expected `array`, got `object`.")

    def test_malformed_json(self, categories: Categories) -> None:
        response = categories.request("POST", POST_BULK, content=b"[{", headers={"Content-Type": "application/json"})
        assert (response.status_code, response.json()) == (400, error(400, "Input data was truncated"))

    def test_unknown_category_is_404(self, categories: Categories) -> None:
        response = categories.request(
            "POST", "/categories/nope/assignments/bulk", json=[{"ref": {"id": "p1", "type": "PRODUCT"}}]
        )
        assert (response.status_code, response.json()) == (404, category_not_found("nope"))


class TestUpsertResourcesBulk:
    @pytest.mark.parametrize("case", AUTH_FAILURES)
    def test_refused(self, categories: Categories, case: str) -> None:
        categories.add_product("p1")
        categories.refused(case, "PUT", PUT_BULK, json=[{"ref": {"id": "p1"}}])
        assert assignment_rows(categories.database_url, categories.tenant) == []

    def test_creates_and_keeps(self, categories: Categories) -> None:
        kept = categories.assign("c1", categories.add_product("p1"))
        categories.add_product("p2")
        response = categories.request(
            "PUT", PUT_BULK, json=[{"ref": {"id": "p1"}}, {"ref": {"id": "p2"}}, {"ref": {"id": "ghost"}}, {"ref": {}}]
        )
        assert response.status_code == 207
        body = response.json()
        assert body == [
            {"assignmentId": kept, "productId": "p1", "index": 0, "code": 204, "status": "NO_CONTENT"},
            {"assignmentId": body[1]["assignmentId"], "productId": "p2", "index": 1, "code": 201, "status": "CREATED"},
            {
                "productId": "ghost",
                "index": 2,
                "code": 400,
                "status": "BAD_REQUEST",
                "message": PRODUCT_MISSING.format("ghost"),
            },
            {
                "index": 3,
                "code": 400,
                "status": "BAD_REQUEST",
                "message": "Validation problem with request body: Object missing required field `id` - at `$.ref`.",
            },
        ]
        assert assignment_rows(categories.database_url, categories.tenant) == [("c1", "p1"), ("c1", "p2")]

    def test_201_items_is_400(self, categories: Categories) -> None:
        response = categories.request("PUT", PUT_BULK, json=[{"ref": {"id": "p1"}}] * 201)
        assert response.status_code == 400
        assert response.json() == error(400, "A bulk request may hold at most 200 items; this one holds 201.")

    def test_unknown_category_is_404(self, categories: Categories) -> None:
        response = categories.request(
            "PUT", "/categories/nope/assignments/references/bulk", json=[{"ref": {"id": "p1"}}]
        )
        assert (response.status_code, response.json()) == (404, category_not_found("nope"))
