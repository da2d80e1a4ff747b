"""Single assignment writes over HTTP: POST /categories/{id}/assignments, PUT and DELETE
/categories/{id}/assignments/references/{referenceId}, DELETE /categories/{id}/assignments[/{assignmentId}],
DELETE /assignments/references/{referenceId}, and what a product delete does to its assignments."""

from __future__ import annotations

import re

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from tests.categories.assignment_helpers import (
    Categories,
    assignment_rows,
    category_not_found,
    error,
    product_missing,
)
from tests.factories import AUTH_FAILURES, Tokens


@pytest.fixture
def categories(client: TestClient[Litestar], tokens: Tokens, tenant: str, database_url: str) -> Categories:
    return Categories(client, tokens, tenant, database_url)


def bad_body(message: str, field: str | None = None) -> dict[str, object]:
    where = f" (at '{field}')" if field and "missing" not in message else ""
    return error(400, f"Validation problem with request body: {message}{where}.", field=field)


class TestAssignResource:
    @pytest.mark.parametrize("case", AUTH_FAILURES)
    def test_refused_and_nothing_stored(self, categories: Categories, case: str) -> None:
        categories.add_category("c1")
        categories.add_product("p1")
        categories.refused(case, "POST", "/categories/c1/assignments", json={"ref": {"id": "p1", "type": "PRODUCT"}})
        assert assignment_rows(categories.database_url, categories.tenant) == []

    @pytest.mark.parametrize("kind", ["customer", "anonymous"])
    def test_storefront_tokens_cannot_assign(self, categories: Categories, kind: str) -> None:
        categories.add_category("c1")
        token = (
            categories.tokens.customer(categories.tenant, "x")
            if kind == "customer"
            else categories.tokens.anonymous(categories.tenant)
        )
        response = categories.request(
            "POST", "/categories/c1/assignments", token=token, json={"ref": {"id": "p1", "type": "PRODUCT"}}
        )
        assert response.status_code == 403
        assert response.json() == error(403, "Required scope(s): category.category_manage.")

    def test_spec_example_assigns_and_the_list_shows_it(self, categories: Categories) -> None:
        categories.add_category("c1")
        categories.add_product("1639265", {"en": "Bread", "de": "Brot"})
        response = categories.request(
            "POST", "/categories/c1/assignments", json={"ref": {"id": "1639265", "type": "PRODUCT"}}
        )
        assert response.status_code == 201, response.text
        assignment_id = response.json()["id"]
        assert response.json() == {"id": assignment_id}
        assert re.fullmatch(r"[0-9a-f]{24}", assignment_id)
        assert categories.assignments("c1") == [
            {
                "id": assignment_id,
                "categoryId": "c1",
                "ref": {"id": "1639265", "type": "PRODUCT", "localizedName": {"en": "Bread", "de": "Brot"}},
            },
        ]

    def test_lowercase_type_is_accepted_and_stored_as_product(self, categories: Categories) -> None:
        categories.add_category("c1")
        categories.add_product("p1")
        categories.request("POST", "/categories/c1/assignments", json={"ref": {"id": "p1", "type": "product"}})
        assert categories.assignments("c1")[0]["ref"]["type"] == "PRODUCT"

    def test_an_unpublished_category_takes_assignments(self, categories: Categories) -> None:
        categories.add_category("c1", published=False)
        categories.add_product("p1")
        categories.assign("c1", "p1")
        assert assignment_rows(categories.database_url, categories.tenant) == [("c1", "p1")]

    def test_duplicate_is_409_naming_the_existing_assignment(self, categories: Categories) -> None:
        categories.add_category("c1")
        categories.add_product("p1")
        first = categories.assign("c1", "p1")
        response = categories.request(
            "POST", "/categories/c1/assignments", json={"ref": {"id": "p1", "type": "PRODUCT"}}
        )
        assert response.status_code == 409
        assert response.json() == error(
            409,
            f"Product 'p1' is already assigned to category 'c1' (assignment '{first}'); PUT "
            "/categories/c1/assignments/references/p1 keeps it without an error.",
            resource_id=first,
        )

    def test_unknown_category_is_404(self, categories: Categories) -> None:
        categories.add_product("p1")
        response = categories.request(
            "POST", "/categories/nope/assignments", json={"ref": {"id": "p1", "type": "PRODUCT"}}
        )
        assert response.status_code == 404
        assert response.json() == category_not_found("nope")

    def test_unknown_product_is_400_naming_it(self, categories: Categories) -> None:
        categories.add_category("c1")
        response = categories.request(
            "POST", "/categories/c1/assignments", json={"ref": {"id": "ghost", "type": "PRODUCT"}}
        )
        assert response.status_code == 400
        assert response.json() == product_missing("ghost")

    def test_product_of_another_tenant_does_not_count(
        self, categories: Categories, client: TestClient[Litestar], tokens: Tokens, database_url: str
    ) -> None:
        other = Categories(client, tokens, "o" + categories.tenant[1:], database_url)
        other.add_product("p1")
        categories.add_category("c1")
        response = categories.request(
            "POST", "/categories/c1/assignments", json={"ref": {"id": "p1", "type": "PRODUCT"}}
        )
        assert response.json() == product_missing("p1")

    def test_other_type_is_400(self, categories: Categories) -> None:
        categories.add_category("c1")
        response = categories.request(
            "POST", "/categories/c1/assignments", json={"ref": {"id": "p1", "type": "CATEGORY"}}
        )
        assert response.status_code == 400
        assert response.json() == error(
            400, "Invalid ref.type 'CATEGORY': the only assignment type is PRODUCT.", field="ref.type"
        )

    @pytest.mark.parametrize(
        ("body", "expected"),
        [
            ({}, bad_body("Object missing required field `ref`", "ref")),
            ({"ref": {"type": "PRODUCT"}}, bad_body("Object missing required field `id` (at 'ref')", "ref.id")),
            ({"ref": {"id": "p1"}}, bad_body("Object missing required field `type` (at 'ref')", "ref.type")),
            ({"ref": {"id": 5, "type": "PRODUCT"}}, bad_body("Expected `str`, got `int`", "ref.id")),
            ({"ref": {"id": "", "type": "PRODUCT"}}, bad_body("Expected `str` of length >= 1", "ref.id")),
            ({"ref": "p1"}, bad_body("Expected `object`, got `str`", "ref")),
        ],
    )
    def test_invalid_bodies(self, categories: Categories, body: dict[str, object], expected: dict[str, object]) -> None:
        categories.add_category("c1")
        response = categories.request("POST", "/categories/c1/assignments", json=body)
        assert response.status_code == 400
        assert response.json() == expected

    def test_malformed_json(self, categories: Categories) -> None:
        categories.add_category("c1")
        response = categories.request(
            "POST", "/categories/c1/assignments", content=b'{"ref": ', headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 400
        assert response.json() == error(400, "Input data was truncated")


class TestUpsertResource:
    @pytest.mark.parametrize("case", AUTH_FAILURES)
    def test_refused(self, categories: Categories, case: str) -> None:
        categories.add_category("c1")
        categories.add_product("p1")
        categories.refused(case, "PUT", "/categories/c1/assignments/references/p1")
        assert assignment_rows(categories.database_url, categories.tenant) == []

    def test_creates_then_keeps(self, categories: Categories) -> None:
        categories.add_category("c1")
        categories.add_product("p1")
        created = categories.request("PUT", "/categories/c1/assignments/references/p1")
        assert created.status_code == 201, created.text
        assignment_id = created.json()["id"]
        assert created.json() == {"id": assignment_id}
        again = categories.request("PUT", "/categories/c1/assignments/references/p1")
        assert (again.status_code, again.content) == (204, b"")
        assert [a["id"] for a in categories.assignments("c1")] == [assignment_id]

    def test_keeps_an_assignment_made_by_post(self, categories: Categories) -> None:
        categories.add_category("c1")
        categories.add_product("p1")
        assignment_id = categories.assign("c1", "p1")
        assert categories.request("PUT", "/categories/c1/assignments/references/p1").status_code == 204
        assert [a["id"] for a in categories.assignments("c1")] == [assignment_id]

    def test_unknown_category_is_404(self, categories: Categories) -> None:
        categories.add_product("p1")
        response = categories.request("PUT", "/categories/nope/assignments/references/p1")
        assert (response.status_code, response.json()) == (404, category_not_found("nope"))

    def test_unknown_product_is_400(self, categories: Categories) -> None:
        categories.add_category("c1")
        response = categories.request("PUT", "/categories/c1/assignments/references/ghost")
        assert (response.status_code, response.json()) == (400, product_missing("ghost"))


class TestRemoveAssignmentByReference:
    @pytest.mark.parametrize("case", AUTH_FAILURES)
    def test_refused_and_kept(self, categories: Categories, case: str) -> None:
        categories.add_category("c1")
        categories.assign("c1", categories.add_product("p1"))
        categories.refused(case, "DELETE", "/categories/c1/assignments/references/p1")
        assert assignment_rows(categories.database_url, categories.tenant) == [("c1", "p1")]

    def test_removes_only_that_product_from_that_category(self, categories: Categories) -> None:
        categories.add_category("c1")
        categories.add_category("c2")
        for product in ("p1", "p2"):
            categories.add_product(product)
            categories.assign("c1", product)
            categories.assign("c2", product)
        response = categories.request("DELETE", "/categories/c1/assignments/references/p1")
        assert (response.status_code, response.content) == (204, b"")
        assert assignment_rows(categories.database_url, categories.tenant) == [("c1", "p2"), ("c2", "p1"), ("c2", "p2")]

    def test_product_not_in_category_is_204(self, categories: Categories) -> None:
        categories.add_category("c1")
        assert categories.request("DELETE", "/categories/c1/assignments/references/ghost").status_code == 204

    def test_unknown_category_is_404(self, categories: Categories) -> None:
        response = categories.request("DELETE", "/categories/nope/assignments/references/p1")
        assert (response.status_code, response.json()) == (404, category_not_found("nope"))


class TestRemoveAssignment:
    @pytest.mark.parametrize("case", AUTH_FAILURES)
    def test_refused_and_kept(self, categories: Categories, case: str) -> None:
        categories.add_category("c1")
        assignment_id = categories.assign("c1", categories.add_product("p1"))
        categories.refused(case, "DELETE", f"/categories/c1/assignments/{assignment_id}")
        assert assignment_rows(categories.database_url, categories.tenant) == [("c1", "p1")]

    def test_removes_it(self, categories: Categories) -> None:
        categories.add_category("c1")
        first = categories.assign("c1", categories.add_product("p1"))
        categories.assign("c1", categories.add_product("p2"))
        response = categories.request("DELETE", f"/categories/c1/assignments/{first}")
        assert (response.status_code, response.content) == (204, b"")
        assert assignment_rows(categories.database_url, categories.tenant) == [("c1", "p2")]

    def test_an_assignment_of_another_category_is_left_alone(self, categories: Categories) -> None:
        categories.add_category("c1")
        categories.add_category("c2")
        assignment_id = categories.assign("c2", categories.add_product("p1"))
        assert categories.request("DELETE", f"/categories/c1/assignments/{assignment_id}").status_code == 204
        assert assignment_rows(categories.database_url, categories.tenant) == [("c2", "p1")]

    def test_unknown_category_is_404(self, categories: Categories) -> None:
        response = categories.request("DELETE", "/categories/nope/assignments/a1")
        assert (response.status_code, response.json()) == (404, category_not_found("nope"))


class TestRemoveAllCategoryAssignments:
    @pytest.mark.parametrize("case", AUTH_FAILURES)
    def test_refused_and_kept(self, categories: Categories, case: str) -> None:
        categories.add_category("c1")
        categories.assign("c1", categories.add_product("p1"))
        categories.refused(case, "DELETE", "/categories/c1/assignments", params={"assignmentType": "PRODUCT"})
        assert assignment_rows(categories.database_url, categories.tenant) == [("c1", "p1")]

    @pytest.mark.parametrize("params", [{"assignmentType": "PRODUCT"}, {}])
    def test_removes_every_assignment_of_the_category_only(
        self, categories: Categories, params: dict[str, str]
    ) -> None:
        categories.add_category("c1")
        categories.add_category("c2")
        for product in ("p1", "p2"):
            categories.assign("c1", categories.add_product(product))
        categories.assign("c2", "p1")
        response = categories.request("DELETE", "/categories/c1/assignments", params=params)
        assert (response.status_code, response.content) == (204, b"")
        assert assignment_rows(categories.database_url, categories.tenant) == [("c2", "p1")]

    def test_other_type_is_400(self, categories: Categories) -> None:
        categories.add_category("c1")
        response = categories.request("DELETE", "/categories/c1/assignments", params={"assignmentType": "CATEGORY"})
        assert response.status_code == 400
        assert response.json() == error(
            400, "Invalid assignmentType 'CATEGORY': the only assignment type is PRODUCT.", field="assignmentType"
        )

    def test_unknown_category_is_404(self, categories: Categories) -> None:
        response = categories.request("DELETE", "/categories/nope/assignments")
        assert (response.status_code, response.json()) == (404, category_not_found("nope"))


class TestRemoveAllAssignmentsOfReference:
    @pytest.mark.parametrize("case", AUTH_FAILURES)
    def test_refused_and_kept(self, categories: Categories, case: str) -> None:
        categories.add_category("c1")
        categories.assign("c1", categories.add_product("p1"))
        categories.refused(case, "DELETE", "/assignments/references/p1")
        assert assignment_rows(categories.database_url, categories.tenant) == [("c1", "p1")]

    def test_removes_the_product_from_every_category(self, categories: Categories) -> None:
        for category in ("c1", "c2"):
            categories.add_category(category)
        for product in ("p1", "p2"):
            categories.add_product(product)
            categories.assign("c1", product)
            categories.assign("c2", product)
        response = categories.request("DELETE", "/assignments/references/p1")
        assert (response.status_code, response.content) == (204, b"")
        assert assignment_rows(categories.database_url, categories.tenant) == [("c1", "p2"), ("c2", "p2")]

    def test_product_in_no_category_is_404(self, categories: Categories) -> None:
        response = categories.request("DELETE", "/assignments/references/p1")
        assert response.status_code == 404
        assert response.json() == error(
            404, "Reference id 'p1' not found: the product is assigned to no category.", resource_id="p1"
        )


class TestCascades:
    def test_deleting_a_product_removes_its_assignments(self, categories: Categories) -> None:
        categories.add_category("c1")
        categories.add_category("c2")
        for product in ("p1", "p2"):
            categories.assign("c1", categories.add_product(product))
        categories.assign("c2", "p1")
        response = categories.client.delete(
            f"/product/{categories.tenant}/products/p1", headers={"Authorization": f"Bearer {categories.token}"}
        )
        assert response.status_code == 204
        assert assignment_rows(categories.database_url, categories.tenant) == [("c1", "p2")]

    def test_deleting_a_category_removes_its_assignments(self, categories: Categories) -> None:
        categories.add_category("c1")
        categories.add_category("c2")
        categories.assign("c1", categories.add_product("p1"))
        categories.assign("c2", "p1")
        from tests.factories import run_sql

        run_sql(categories.database_url, "DELETE FROM categories WHERE tenant = $1 AND id = 'c1'", categories.tenant)
        assert assignment_rows(categories.database_url, categories.tenant) == [("c2", "p1")]
