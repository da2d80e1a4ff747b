"""Reads over HTTP: GET /categories/{categoryId}/assignments and GET /assignments/references/{referenceId}."""

from __future__ import annotations

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from tests.categories.assignment_helpers import Categories, category_not_found, error, forbidden
from tests.factories import AUTH_FAILURES, ISO_MILLIS, PAGE_BOUNDS, Tokens

READ_FAILURES = tuple(case for case in AUTH_FAILURES if case != "missing scope")


@pytest.fixture
def categories(client: TestClient[Litestar], tokens: Tokens, tenant: str, database_url: str) -> Categories:
    return Categories(client, tokens, tenant, database_url)


@pytest.fixture
def tree(categories: Categories) -> Categories:
    """root > (a > a1 (unpublished) > a11, b); products p1-p5 (p5 unpublished), assigned all over the tree."""
    categories.add_category("root")
    categories.add_category("a", "root")
    categories.add_category("a1", "a", published=False)
    categories.add_category("a11", "a1")
    categories.add_category("b", "root")
    for n in range(1, 6):
        categories.add_product(
            f"p{n}", {"en": f"Bar {n}", "de": f"Riegel {n}"} if n != 3 else {"en": "Twix"}, published=n != 5
        )
    for category, product in [
        ("root", "p1"),
        ("a", "p2"),
        ("a", "p5"),
        ("a1", "p3"),
        ("a11", "p4"),
        ("b", "p1"),
        ("b", "p3"),
    ]:
        categories.assign(category, product)
    return categories


def pairs(docs: list[dict[str, object]]) -> list[tuple[object, object]]:
    return [(d["categoryId"], d["ref"]["id"]) for d in docs]  # type: ignore[index]


class TestListCategoryAssignments:
    @pytest.mark.parametrize("case", READ_FAILURES)
    def test_refused(self, categories: Categories, case: str) -> None:
        categories.add_category("c1")
        categories.refused(case, "GET", "/categories/c1/assignments")

    @pytest.mark.parametrize("kind", ["customer", "anonymous"])
    def test_storefront_tokens_read_published_categories(self, tree: Categories, kind: str) -> None:
        token = tree.tokens.customer(tree.tenant, "x") if kind == "customer" else tree.tokens.anonymous(tree.tenant)
        response = tree.request("GET", "/categories/b/assignments", token=token)
        assert response.status_code == 200
        assert pairs(response.json()) == [("b", "p1"), ("b", "p3")]

    def test_show_unpublished_needs_the_scope(self, tree: Categories) -> None:
        response = tree.request(
            "GET",
            "/categories/a/assignments",
            token=tree.tokens.anonymous(tree.tenant),
            params={"showUnpublished": "true"},
        )
        assert response.status_code == 403
        assert response.json() == forbidden("category.category_read_unpublished")

    def test_whole_documents_in_category_then_product_order(self, tree: Categories) -> None:
        docs = tree.assignments("a")
        assert docs == [
            {
                "id": docs[0]["id"],
                "categoryId": "a",
                "ref": {"id": "p2", "type": "PRODUCT", "localizedName": {"en": "Bar 2", "de": "Riegel 2"}},
            },
            {
                "id": docs[1]["id"],
                "categoryId": "a",
                "ref": {"id": "p5", "type": "PRODUCT", "localizedName": {"en": "Bar 5", "de": "Riegel 5"}},
            },
        ]

    def test_with_subcategories_leaves_out_unpublished_ones(self, tree: Categories) -> None:
        assert pairs(tree.assignments("root", withSubcategories="true")) == [
            ("a", "p2"),
            ("a", "p5"),
            ("a11", "p4"),
            ("b", "p1"),
            ("b", "p3"),
            ("root", "p1"),
        ]

    def test_with_subcategories_and_show_unpublished(self, tree: Categories) -> None:
        assert pairs(tree.assignments("a", withSubcategories="true", showUnpublished="true")) == [
            ("a", "p2"),
            ("a", "p5"),
            ("a1", "p3"),
            ("a11", "p4"),
        ]

    def test_unpublished_category_is_404_unless_shown(self, tree: Categories) -> None:
        response = tree.request("GET", "/categories/a1/assignments")
        assert (response.status_code, response.json()) == (404, category_not_found("a1"))
        assert pairs(tree.assignments("a1", showUnpublished="true")) == [("a1", "p3")]

    def test_hide_unpublished_products(self, tree: Categories) -> None:
        assert pairs(tree.assignments("a", hideUnpublishedProducts="true")) == [("a", "p2")]

    def test_ref_id_filter(self, tree: Categories) -> None:
        assert pairs(tree.assignments("root", withSubcategories="true", **{"ref.id": "p1"})) == [
            ("b", "p1"),
            ("root", "p1"),
        ]

    def test_ref_localized_name_filter_matches_any_language_ignoring_case(self, tree: Categories) -> None:
        assert pairs(tree.assignments("b", **{"ref.localizedName": "twi"})) == [("b", "p3")]
        assert pairs(tree.assignments("a", **{"ref.localizedName": "RIEGEL 5"})) == [("a", "p5")]

    def test_accept_language_narrows_the_name(self, tree: Categories) -> None:
        response = tree.request("GET", "/categories/a/assignments", headers={"Accept-Language": "de"})
        assert [d["ref"]["localizedName"] for d in response.json()] == [{"de": "Riegel 2"}, {"de": "Riegel 5"}]

    def test_paging_sort_and_total(self, tree: Categories) -> None:
        response = tree.request(
            "GET",
            "/categories/root/assignments",
            headers={"X-Total-Count": "true"},
            params={"withSubcategories": "true", "pageSize": "2", "pageNumber": "2", "sort": "ref.id:DESC"},
        )
        assert response.status_code == 200
        assert response.headers["X-Total-Count"] == "6"
        assert pairs(response.json()) == [("b", "p3"), ("a", "p2")]

    def test_sort_by_localized_name_in_the_accepted_language(self, tree: Categories) -> None:
        response = tree.request(
            "GET",
            "/categories/b/assignments",
            headers={"Accept-Language": "en"},
            params={"sort": "ref.localizedName:DESC"},
        )
        assert pairs(response.json()) == [("b", "p3"), ("b", "p1")]  # "Twix" after "Bar 1"

    def test_deleted_product_is_gone_from_the_list(self, tree: Categories) -> None:
        tree.client.delete(f"/product/{tree.tenant}/products/p3", headers={"Authorization": f"Bearer {tree.token}"})
        assert pairs(tree.assignments("b")) == [("b", "p1")]

    def test_unknown_category_is_404(self, categories: Categories) -> None:
        response = categories.request("GET", "/categories/nope/assignments")
        assert (response.status_code, response.json()) == (404, category_not_found("nope"))

    @pytest.mark.parametrize(
        ("params", "message", "field"),
        [
            ({"pageSize": "0"}, f"Invalid pageSize '0': expected {PAGE_BOUNDS['pageSize']}.", "pageSize"),
            ({"pageNumber": "x"}, "Invalid pageNumber 'x': expected an integer from 1 to 10000000.", "pageNumber"),
            (
                {"assignmentType": "CATEGORY"},
                "Invalid assignmentType 'CATEGORY': the only assignment type is PRODUCT.",
                "assignmentType",
            ),
        ],
    )
    def test_bad_parameters(self, tree: Categories, params: dict[str, str], message: str, field: str) -> None:
        response = tree.request("GET", "/categories/a/assignments", params=params)
        assert (response.status_code, response.json()) == (400, error(400, message, field=field))

    def test_unknown_sort_field(self, tree: Categories) -> None:
        response = tree.request("GET", "/categories/a/assignments", params={"sort": "price:ASC"})
        assert response.status_code == 400
        message = response.json()["message"]
        assert message.startswith("Invalid sort: Unknown field 'price'; known fields: categoryId, id, ref.id, ")
        assert response.json() == error(400, message, field="sort")

    def test_bad_boolean(self, tree: Categories) -> None:
        response = tree.request("GET", "/categories/a/assignments", params={"withSubcategories": "maybe"})
        assert response.status_code == 400
        assert response.json()["details"][0].startswith(
            "withSubcategories: Invalid query parameter 'withSubcategories'"
        )


class TestListCategoriesByReference:
    @pytest.mark.parametrize("case", READ_FAILURES)
    def test_refused(self, categories: Categories, case: str) -> None:
        categories.refused(case, "GET", "/assignments/references/p1")

    def test_show_unpublished_needs_the_scope(self, tree: Categories) -> None:
        response = tree.request(
            "GET",
            "/assignments/references/p3",
            token=tree.tokens.anonymous(tree.tenant),
            params={"showUnpublished": "true"},
        )
        assert (response.status_code, response.json()) == (403, forbidden("category.category_read_unpublished"))

    def test_whole_categories_of_the_product(self, tree: Categories) -> None:
        response = tree.request("GET", "/assignments/references/p3", params={"expandSupercategoriesIds": "true"})
        assert response.status_code == 200
        # The same document as GET /categories/b (with the spec's media list), plus the ancestors asked for.
        assert response.json() == [
            {
                "id": "b",
                "type": "STANDARD",
                "parentId": "root",
                "localizedName": {"en": "Category b"},
                "name": "Category b",
                "position": 0,
                "published": True,
                "supercategoriesIds": ["root"],
                "metadata": {"version": 1, "createdAt": ISO_MILLIS, "modifiedAt": ISO_MILLIS},
                "media": [],
            }
        ]
        assert {k: v for k, v in response.json()[0].items() if k != "supercategoriesIds"} == (
            tree.request("GET", "/categories/b").json()
        )

    def test_show_unpublished_and_supercategories_root_first(self, tree: Categories) -> None:
        response = tree.request(
            "GET",
            "/assignments/references/p4",
            headers={"X-Total-Count": "true"},
            params={"showUnpublished": "true", "expandSupercategoriesIds": "true"},
        )
        assert response.headers["X-Total-Count"] == "1"
        assert [(c["id"], c["supercategoriesIds"]) for c in response.json()] == [("a11", ["root", "a", "a1"])]

    def test_paging_and_sort(self, tree: Categories) -> None:
        response = tree.request("GET", "/assignments/references/p1", params={"sort": "id:DESC", "pageSize": "1"})
        assert [c["id"] for c in response.json()] == ["root"]
        assert "supercategoriesIds" not in response.json()[0]

    def test_only_unpublished_categories_give_an_empty_page(self, tree: Categories) -> None:
        assert [c["id"] for c in tree.request("GET", "/assignments/references/p3").json()] == ["b"]
        tree.request("DELETE", "/categories/b/assignments/references/p3")
        response = tree.request("GET", "/assignments/references/p3")
        assert (response.status_code, response.json()) == (200, [])

    def test_product_in_no_category_is_404(self, categories: Categories) -> None:
        response = categories.request("GET", "/assignments/references/p9")
        assert response.status_code == 404
        assert response.json() == error(
            404, "Categories for assignment reference with id 'p9' not found.", resource_id="p9"
        )

    def test_bad_parameters(self, tree: Categories) -> None:
        response = tree.request("GET", "/assignments/references/p1", params={"pageSize": "0"})
        assert response.json() == error(
            400, f"Invalid pageSize '0': expected {PAGE_BOUNDS['pageSize']}.", field="pageSize"
        )
        response = tree.request("GET", "/assignments/references/p1", params={"sort": "nope"})
        assert response.status_code == 400
        assert response.json()["message"].startswith("Invalid sort: Unknown field 'nope'")
