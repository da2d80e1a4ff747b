"""PUT and PATCH /categories/{categoryId} over HTTP: upsert, merge, versions, publishing scopes and moves."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from tests.categories.category_helpers import (
    MANAGE,
    PUBLISH,
    READ_UNPUBLISHED,
    UNPUBLISH,
    Categories,
    assert_error,
    bad_body,
    error,
    forbidden,
    not_found,
)
from tests.factories import AUTH_FAILURES, Tokens, assert_refused, run_sql

CHANGED = error(409, "The resource you are attempting to access has changed.")


@pytest.fixture
def categories(client: TestClient[Litestar], tokens: Tokens, tenant: str) -> Categories:
    return Categories(client, tokens, tenant)


def body(**fields: Any) -> dict[str, Any]:
    return {"localizedName": {"en": "x"}, "published": True, **fields}


def closure(categories: Categories, database_url: str) -> set[tuple[str, str, int]]:
    rows = run_sql(
        database_url,
        "SELECT ancestor_id, descendant_id, depth FROM category_closure WHERE tenant = $1",
        categories.tenant,
    )
    return {(r["ancestor_id"], r["descendant_id"], r["depth"]) for r in rows}


def expected_closure(parents: dict[str, str | None]) -> set[tuple[str, str, int]]:
    """The closure rows a parent map implies."""
    rows = set()
    for node in parents:
        current: str | None = node
        depth = 0
        while current is not None:
            rows.add((current, node, depth))
            current, depth = parents[current], depth + 1
    return rows


class TestUpsertCategory:
    @pytest.mark.parametrize("case", AUTH_FAILURES)
    def test_refused_and_nothing_stored(self, categories: Categories, case: str) -> None:
        assert_refused(
            categories,
            case,
            "PUT",
            "/categories/a",
            valid_scopes=(READ_UNPUBLISHED,),
            required=MANAGE,
            json=body(published=False),
        )
        assert categories.request("GET", "/categories/a?showUnpublished=true").status_code == 404

    def test_creates_then_replaces(self, categories: Categories) -> None:
        response = categories.request("PUT", "/categories/a", json=body(code="A", ecn=["E"], position=4))
        assert (response.status_code, response.json()) == (201, {"id": "a"})
        response = categories.request("PUT", "/categories/a", json=body(localizedName={"de": "y"}))
        assert (response.status_code, response.content) == (204, b"")
        document = categories.get_json("/categories/a")
        assert (document["localizedName"], document["position"], document["metadata"]["version"]) == ({"de": "y"}, 0, 2)
        assert "code" not in document  # a full replacement
        assert "ecn" not in document
        categories.create(id="b", ecn=["E"])  # the ECN was released

    def test_version_is_an_optimistic_lock(self, categories: Categories) -> None:
        categories.create(id="a")
        assert_error(
            categories.request("PUT", "/categories/a", json=body(metadata={"version": 5})),
            CHANGED | {"resourceId": "a"},
        )
        assert categories.request("PUT", "/categories/a", json=body(metadata={"version": 1})).status_code == 204
        assert categories.get_json("/categories/a")["metadata"]["version"] == 2

    def test_missing_required_fields(self, categories: Categories) -> None:
        response = categories.request("PUT", "/categories/a", json={"localizedName": {"en": "x"}})
        assert_error(response, bad_body("Object missing required field `published`", "published"))

    def test_ecn_of_another_category_is_409(self, categories: Categories) -> None:
        categories.create(id="a", ecn=["E"])
        categories.create(id="b")
        response = categories.request("PUT", "/categories/b", json=body(ecn=["E"]))
        assert_error(
            response,
            error(409, "Duplicated ECN value - given ECN is already assigned to another category.", resource_id="b"),
        )
        assert "ecn" not in categories.get_json("/categories/b")

    def test_keeps_its_own_ecn_and_type(self, categories: Categories) -> None:
        categories.create(id="a", ecn=["E"], type="CLASSIFICATION", code="K")
        assert categories.request("PUT", "/categories/a", json=body(ecn=["E"], code="K")).status_code == 204
        assert categories.get_json("/categories/a")["type"] == "CLASSIFICATION"
        response = categories.request("PUT", "/categories/a", json=body())
        assert_error(response, error(400, "A category of type CLASSIFICATION needs a code.", field="code"))

    def test_invalid_id_in_the_path(self, categories: Categories) -> None:
        response = categories.request("PUT", "/categories/root", json=body())
        assert_error(
            response,
            error(
                400,
                "Invalid categoryId 'root': it is reserved by the API's paths (categoryTree, root, search).",
                field="categoryId",
            ),
        )

    def test_publishing_and_unpublishing_need_their_scopes(self, categories: Categories) -> None:
        categories.create(id="a", published=False)
        response = categories.request("PUT", "/categories/a", json=body(), token=categories.without(PUBLISH))
        assert_error(response, forbidden("Publishing a category requires the scope category.category_publish."))
        assert categories.request("PUT", "/categories/a?publish=true", json=body()).status_code == 204
        response = categories.request(
            "PUT", "/categories/a", json=body(published=False), token=categories.without(UNPUBLISH)
        )
        assert_error(response, forbidden("Unpublishing a category requires the scope category.category_unpublish."))
        # Keeping the state needs neither.
        token = categories.without(PUBLISH, UNPUBLISH)
        assert categories.request("PUT", "/categories/a", json=body(), token=token).status_code == 204

    def test_publish_parameter_must_match(self, categories: Categories) -> None:
        response = categories.request("PUT", "/categories/a?publish=false", json=body())
        assert_error(
            response,
            error(
                400,
                "The publish query parameter (false) must match the category's published value (true).",
                field="publish",
            ),
        )

    def test_moves_keep_the_closure_exact(self, categories: Categories, database_url: str) -> None:
        for node, parent in (("r", None), ("a", "r"), ("b", "a"), ("c", "b"), ("s", None)):
            categories.create(id=node, parentId=parent)
        assert categories.request("PUT", "/categories/a", json=body(parentId="s")).status_code == 204
        assert closure(categories, database_url) == expected_closure(
            {"r": None, "s": None, "a": "s", "b": "a", "c": "b"}
        )
        assert categories.ids("/categories/c/parents") == ["s", "a", "b"]
        assert categories.request("PUT", "/categories/a", json=body(parentId="root")).status_code == 204
        assert closure(categories, database_url) == expected_closure(
            {"r": None, "s": None, "a": None, "b": "a", "c": "b"}
        )

    @pytest.mark.parametrize("parent", ["a", "c"])
    def test_a_move_below_itself_is_400(self, categories: Categories, database_url: str, parent: str) -> None:
        for node, up in (("a", None), ("b", "a"), ("c", "b")):
            categories.create(id=node, parentId=up)
        response = categories.request("PUT", "/categories/a", json=body(parentId=parent))
        expected = (
            error(400, "A category cannot be its own parent (parentId a).", field="parentId")
            if parent == "a"
            else error(400, "Category c lies below category a, so it cannot become its parent.", field="parentId")
        )
        assert_error(response, expected)
        assert closure(categories, database_url) == expected_closure({"a": None, "b": "a", "c": "b"})

    def test_creating_below_a_parent(self, categories: Categories, database_url: str) -> None:
        categories.create(id="r")
        assert categories.request("PUT", "/categories/a", json=body(parentId="r")).status_code == 201
        assert closure(categories, database_url) == expected_closure({"r": None, "a": "r"})
        response = categories.request("PUT", "/categories/b", json=body(parentId="nope"))
        assert_error(response, error(400, "The parent category nope does not exist.", field="parentId"))


class TestPatchCategory:
    @pytest.mark.parametrize("case", AUTH_FAILURES)
    def test_refused_and_nothing_changed(self, categories: Categories, case: str) -> None:
        categories.create(id="a")
        assert_refused(
            categories,
            case,
            "PATCH",
            "/categories/a",
            valid_scopes=(READ_UNPUBLISHED,),
            required=MANAGE,
            json={"position": 5, "metadata": {"version": 1}},
        )
        assert categories.get_json("/categories/a")["position"] == 0

    def test_merges_the_sent_fields(self, categories: Categories) -> None:
        categories.create(
            id="a", localizedName={"en": "Shoes", "de": "Schuhe"}, code="A", ecn=["E"], mixins={"m": {"x": 1, "y": 2}}
        )
        response = categories.request(
            "PATCH",
            "/categories/a",
            json={
                "localizedName": {"de": None, "fr": "Chaussures"},
                "localizedSlug": {"en": "Floor-Care"},
                "position": 3,
                "code": None,
                "mixins": {"m": {"y": None}},
                "metadata": {"version": 1},
            },
        )
        assert (response.status_code, response.content) == (204, b"")
        document = categories.get_json("/categories/a")
        assert document["localizedName"] == {"en": "Shoes", "fr": "Chaussures"}
        assert document["localizedSlug"] == {"en": "Floor-Care"}
        assert (document["position"], document["ecn"], document["mixins"]) == (3, ["E"], {"m": {"x": 1}})
        assert "code" not in document
        assert document["metadata"]["version"] == 2

    def test_metadata_version_is_required(self, categories: Categories) -> None:
        categories.create(id="a")
        response = categories.request("PATCH", "/categories/a", json={"position": 1})
        assert_error(response, bad_body("Object missing required field `metadata`", "metadata"))
        response = categories.request("PATCH", "/categories/a", json={"position": 1, "metadata": {}})
        assert_error(
            response,
            error(
                400,
                "Validation problem with request body: Object missing required field `version` (at 'metadata').",
                field="metadata.version",
            ),
        )

    def test_version_conflict(self, categories: Categories) -> None:
        categories.create(id="a")
        response = categories.request("PATCH", "/categories/a", json={"position": 1, "metadata": {"version": 2}})
        assert_error(response, CHANGED | {"resourceId": "a"})

    def test_unknown_category_is_404(self, categories: Categories) -> None:
        response = categories.request("PATCH", "/categories/nope", json={"metadata": {"version": 1}})
        assert_error(response, not_found("nope"))

    def test_wrong_types_and_plain_strings(self, categories: Categories) -> None:
        categories.create(id="a")
        response = categories.request("PATCH", "/categories/a", json={"localizedName": "x", "metadata": {"version": 1}})
        assert_error(response, bad_body("Expected `object | null`, got `str`", "localizedName"))
        response = categories.request(
            "PATCH", "/categories/a", json={"localizedName": None, "metadata": {"version": 1}}
        )
        assert response.status_code == 400
        assert response.json()["message"].startswith(
            "Validation problem with the patched category: Object missing required field `localizedName`"
        )

    def test_publishing_needs_its_scope(self, categories: Categories) -> None:
        categories.create(id="a", published=False)
        patch = {"published": True, "metadata": {"version": 1}}
        response = categories.request("PATCH", "/categories/a", json=patch, token=categories.without(PUBLISH))
        assert_error(response, forbidden("Publishing a category requires the scope category.category_publish."))
        response = categories.request("PATCH", "/categories/a?publish=false", json=patch)
        assert response.status_code == 400
        assert categories.request("PATCH", "/categories/a?publish=true", json=patch).status_code == 204
        patch = {"published": False, "metadata": {"version": 2}}
        response = categories.request("PATCH", "/categories/a", json=patch, token=categories.without(UNPUBLISH))
        assert_error(response, forbidden("Unpublishing a category requires the scope category.category_unpublish."))

    def test_moves(self, categories: Categories, database_url: str) -> None:
        for node, parent in (("r", None), ("a", "r"), ("b", "a"), ("s", None)):
            categories.create(id=node, parentId=parent)
        response = categories.request("PATCH", "/categories/a", json={"parentId": "s", "metadata": {"version": 1}})
        assert response.status_code == 204
        assert closure(categories, database_url) == expected_closure({"r": None, "s": None, "a": "s", "b": "a"})
        response = categories.request("PATCH", "/categories/s", json={"parentId": "b", "metadata": {"version": 1}})
        assert_error(
            response, error(400, "Category b lies below category s, so it cannot become its parent.", field="parentId")
        )
        response = categories.request("PATCH", "/categories/a", json={"parentId": None, "metadata": {"version": 2}})
        assert response.status_code == 204
        assert closure(categories, database_url) == expected_closure({"r": None, "s": None, "a": None, "b": "a"})
        # Fields left out of a patch keep the parent.
        response = categories.request("PATCH", "/categories/b", json={"position": 2, "metadata": {"version": 1}})
        assert response.status_code == 204
        assert categories.get_json("/categories/b")["parentId"] == "a"
