"""GET /category-trees, POST /category-trees/search, GET /category-trees/{categoryId} and
POST /category-trees/{rootCategoryId}/rebuild over HTTP."""

from __future__ import annotations

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from tests.categories.category_helpers import (
    MANAGE,
    READ_FAILURES,
    READ_UNPUBLISHED,
    UNPUBLISHED_FORBIDDEN,
    Categories,
    assert_error,
    bad_body,
    error,
    not_found,
    shape,
)
from tests.factories import AUTH_FAILURES, Tokens, assert_refused, run_sql


@pytest.fixture
def categories(client: TestClient[Litestar], tokens: Tokens, tenant: str) -> Categories:
    """Two trees: r (position 1) with a (position 2), s (position 1) -> t and the unpublished u -> v; and
    q (position 0) -> w. The unpublished root x holds y."""
    api = Categories(client, tokens, tenant)
    api.create(id="r", position=1, localizedName={"en": "Root", "de": "Wurzel"}, code="R", ecn=["E1"])
    api.create(id="a", parentId="r", position=2)
    api.create(id="s", parentId="r", position=1)
    api.create(id="t", parentId="s")
    api.create(id="u", parentId="r", position=3, published=False)
    api.create(id="v", parentId="u")
    api.create(id="q", position=0)
    api.create(id="w", parentId="q")
    api.create(id="x", position=5, published=False)
    api.create(id="y", parentId="x")
    return api


PUBLISHED_FOREST = [("q", [("w", [])]), ("r", [("s", [("t", [])]), ("a", [])])]
WHOLE_FOREST = [("q", [("w", [])]), ("r", [("s", [("t", [])]), ("a", []), ("u", [("v", [])])]), ("x", [("y", [])])]


class TestCategoryTrees:
    @pytest.mark.parametrize("case", READ_FAILURES)
    def test_refused(self, categories: Categories, case: str) -> None:
        assert_refused(categories, case, "GET", "/category-trees", valid_scopes=(), required=())

    @pytest.mark.parametrize("kind", ["customer", "anonymous"])
    def test_storefront_tokens_read_published_trees(self, categories: Categories, kind: str) -> None:
        token = categories.storefront(kind)
        assert shape(categories.get_json("/category-trees", token=token)) == PUBLISHED_FOREST
        response = categories.request("GET", "/category-trees?showUnpublished=true", token=token)
        assert_error(response, UNPUBLISHED_FORBIDDEN)

    def test_whole_forest(self, categories: Categories) -> None:
        assert shape(categories.get_json("/category-trees")) == PUBLISHED_FOREST
        assert shape(categories.get_json("/category-trees?showUnpublished=true")) == WHOLE_FOREST

    def test_nodes(self, categories: Categories) -> None:
        (_, root) = categories.get_json("/category-trees")
        assert root == {
            "id": "r",
            "localizedName": {"en": "Root", "de": "Wurzel"},
            "name": "Root",
            "code": "R",
            "position": 1,
            "published": True,
            "ecn": ["E1"],
            "subcategories": [
                {
                    "id": "s",
                    "localizedName": {"en": "s"},
                    "name": "s",
                    "position": 1,
                    "published": True,
                    "subcategories": [
                        {
                            "id": "t",
                            "localizedName": {"en": "t"},
                            "name": "t",
                            "position": 0,
                            "published": True,
                            "subcategories": [],
                        }
                    ],
                },
                {
                    "id": "a",
                    "localizedName": {"en": "a"},
                    "name": "a",
                    "position": 2,
                    "published": True,
                    "subcategories": [],
                },
            ],
        }
        (_, root) = categories.get_json("/category-trees", headers={"Accept-Language": "de"})
        assert root["localizedName"] == {"de": "Wurzel"}

    @pytest.mark.parametrize("query", ["categoryIds=t&categoryIds=nope", "categoryIds=t,nope", "categoryIds=r"])
    def test_category_ids(self, categories: Categories, query: str) -> None:
        assert shape(categories.get_json(f"/category-trees?{query}")) == [PUBLISHED_FOREST[1]]

    def test_category_ids_in_several_trees(self, categories: Categories) -> None:
        assert shape(categories.get_json("/category-trees?categoryIds=w&categoryIds=v")) == PUBLISHED_FOREST
        assert shape(categories.get_json("/category-trees?categoryIds=y")) == []
        assert shape(categories.get_json("/category-trees?categoryIds=y&showUnpublished=true")) == [WHOLE_FOREST[2]]

    def test_empty_tenant(self, client: TestClient[Litestar], tokens: Tokens, tenant: str) -> None:
        assert Categories(client, tokens, tenant).get_json("/category-trees") == []

    def test_invalid_show_unpublished(self, categories: Categories) -> None:
        response = categories.request("GET", "/category-trees?showUnpublished=2x")
        assert response.status_code == 400
        assert response.json()["details"][0].startswith("showUnpublished: Invalid query parameter")


class TestSearchCategoryTrees:
    @pytest.mark.parametrize("case", READ_FAILURES)
    def test_refused(self, categories: Categories, case: str) -> None:
        assert_refused(
            categories,
            case,
            "POST",
            "/category-trees/search",
            valid_scopes=(),
            required=(),
            json={"categoryIds": ["t"]},
        )

    def test_trees_holding_the_ids(self, categories: Categories) -> None:
        response = categories.request("POST", "/category-trees/search", json={"categoryIds": ["t", "w"]})
        assert response.status_code == 200, response.text
        assert shape(response.json()) == PUBLISHED_FOREST
        response = categories.request(
            "POST", "/category-trees/search?showUnpublished=true", json={"categoryIds": ["v"]}
        )
        assert shape(response.json()) == [WHOLE_FOREST[1]]
        response = categories.request("POST", "/category-trees/search", json={"categoryIds": []})
        assert response.json() == []

    def test_invalid_bodies(self, categories: Categories) -> None:
        response = categories.request("POST", "/category-trees/search", json={})
        assert_error(response, bad_body("Object missing required field `categoryIds`", "categoryIds"))
        response = categories.request("POST", "/category-trees/search", json={"categoryIds": "t"})
        assert_error(response, bad_body("Expected `array`, got `str`", "categoryIds"))
        response = categories.request(
            "POST", "/category-trees/search", content=b"{", headers={"Content-Type": "application/json"}
        )
        assert_error(response, error(400, "Input data was truncated"))


class TestCategoryTreeById:
    @pytest.mark.parametrize("case", READ_FAILURES)
    def test_refused(self, categories: Categories, case: str) -> None:
        assert_refused(categories, case, "GET", "/category-trees/r", valid_scopes=(), required=())

    def test_a_root(self, categories: Categories) -> None:
        assert shape([categories.get_json("/category-trees/r")]) == [PUBLISHED_FOREST[1]]
        token = categories.storefront("anonymous")
        assert shape([categories.get_json("/category-trees/r?showUnpublished=true")]) == [WHOLE_FOREST[1]]
        assert shape([categories.get_json("/category-trees/q", token=token)]) == [PUBLISHED_FOREST[0]]

    @pytest.mark.parametrize("category_id", ["s", "nope", "x"])
    def test_not_a_visible_root_is_404(self, categories: Categories, category_id: str) -> None:
        response = categories.request("GET", f"/category-trees/{category_id}")
        assert_error(
            response,
            error(
                404,
                f"Category with id {category_id} is not a root category, or does not exist.",
                resource_id=category_id,
            ),
        )


class TestRebuildCategoryTree:
    @pytest.mark.parametrize("case", AUTH_FAILURES)
    def test_refused(self, categories: Categories, case: str) -> None:
        assert_refused(
            categories, case, "POST", "/category-trees/r/rebuild", valid_scopes=(READ_UNPUBLISHED,), required=MANAGE
        )

    def test_rebuilds_lost_rows(self, categories: Categories, database_url: str) -> None:
        def rows() -> list[tuple[str, str, int]]:
            return sorted(
                (r["ancestor_id"], r["descendant_id"], r["depth"])
                for r in run_sql(database_url, "SELECT * FROM category_closure WHERE tenant = $1", categories.tenant)
            )

        before = rows()
        run_sql(
            database_url,
            "DELETE FROM category_closure WHERE tenant = $1 AND descendant_id IN ('t', 'v')",
            categories.tenant,
        )
        run_sql(
            database_url,
            "INSERT INTO category_closure (tenant, ancestor_id, descendant_id, depth) VALUES ($1, 'q', 'a', 1)",
            categories.tenant,
        )
        response = categories.request("POST", "/category-trees/r/rebuild?showUnpublished=true")
        assert response.status_code == 200, response.text
        assert shape([response.json()]) == [WHOLE_FOREST[1]]
        assert rows() == before
        assert categories.ids("/categories/t/parents") == ["r", "s"]

    def test_not_a_root_is_404(self, categories: Categories) -> None:
        assert_error(categories.request("POST", "/category-trees/s/rebuild"), not_found("s"))
        assert_error(categories.request("POST", "/category-trees/x/rebuild"), not_found("x"))

    def test_unpublished_needs_the_scope(self, categories: Categories) -> None:
        response = categories.request(
            "POST", "/category-trees/r/rebuild?showUnpublished=true", token=categories.without(READ_UNPUBLISHED)
        )
        assert_error(response, UNPUBLISHED_FORBIDDEN)


class TestWideAndDeepTrees:
    def test_wide(self, client: TestClient[Litestar], tokens: Tokens, tenant: str, database_url: str) -> None:
        api = Categories(client, tokens, tenant)
        api.create(id="top")
        run_sql(
            database_url,
            "INSERT INTO categories (tenant, id, parent_id, localized_name, published, position) "
            "SELECT $1, 'c' || n, 'top', '{\"en\": \"x\"}', true, 500 - n "
            "FROM generate_series(1, 500) AS n",
            tenant,
        )
        api.request("POST", "/category-trees/top/rebuild")
        (tree,) = api.get_json("/category-trees")
        assert [c["id"] for c in tree["subcategories"]] == [f"c{n}" for n in range(500, 0, -1)]
        assert len(api.ids("/categories/top/subcategories?depth=1&pageSize=1000")) == 500

    def test_deep(self, client: TestClient[Litestar], tokens: Tokens, tenant: str) -> None:
        api = Categories(client, tokens, tenant)
        api.create(id="l0")
        for level in range(1, 50):
            api.create(id=f"l{level}", parentId=f"l{level - 1}")
        node = api.get_json("/category-trees/l0")
        depth = 0
        while node["subcategories"]:
            (node,) = node["subcategories"]
            depth += 1
        assert (depth, node["id"]) == (49, "l49")
