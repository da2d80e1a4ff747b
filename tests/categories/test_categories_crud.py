"""Single-category operations over HTTP: POST /categories, GET and DELETE /categories/{categoryId}.

PUT and PATCH are in test_categories_update.py, lists and search in test_categories_list.py, parents and
subcategories in test_categories_hierarchy.py, trees in test_category_trees_*.py.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from tests.categories.category_helpers import (
    MANAGE,
    PUBLISH,
    READ_FAILURES,
    READ_UNPUBLISHED,
    UNPUBLISHED_FORBIDDEN,
    Categories,
    assert_error,
    bad_body,
    error,
    forbidden,
    not_found,
)
from tests.factories import AUTH_FAILURES, ISO_MILLIS, Tokens, assert_refused, run_sql

#: `CategoryCreateRequest` example "Regular category create", without its parent.
SPEC_EXAMPLE: dict[str, Any] = {
    "localizedName": {"en": "Floor Care", "de": "Bodenpflege"},
    "localizedDescription": {"en": "Floor Care", "de": "Bodenpflege"},
    "localizedSlug": {"en": "Floor-Care", "de": "Bodenpflege"},
    "ecn": ["1234"],
    "code": "FC",
    "validity": {"from": "2022-11-01T00:00:00.000Z", "to": "2032-11-01T00:00:00Z"},
    "position": 3,
    "published": False,
    "mixins": {"categoryCustomAttributes": {"color": "blue"}},
    "metadata": {"mixins": {"categoryCustomAttributes": "https://example.com/cca.json"}},
}


@pytest.fixture
def categories(client: TestClient[Litestar], tokens: Tokens, tenant: str) -> Categories:
    return Categories(client, tokens, tenant)


class TestCreateCategory:
    @pytest.mark.parametrize("case", AUTH_FAILURES)
    def test_refused_and_nothing_stored(self, categories: Categories, case: str) -> None:
        assert_refused(
            categories,
            case,
            "POST",
            "/categories",
            valid_scopes=(READ_UNPUBLISHED,),
            required=MANAGE,
            json={"id": "nope", "localizedName": {"en": "x"}, "published": False},
        )
        assert categories.request("GET", "/categories/nope?showUnpublished=true").status_code == 404

    @pytest.mark.parametrize("kind", ["customer", "anonymous"])
    def test_storefront_tokens_cannot_create(self, categories: Categories, kind: str) -> None:
        response = categories.request(
            "POST",
            "/categories",
            token=categories.storefront(kind),
            json={"localizedName": {"en": "x"}, "published": False},
        )
        assert_error(response, forbidden("Required scope(s): category.category_manage."))

    def test_spec_example_is_stored_with_a_generated_id(self, categories: Categories) -> None:
        response = categories.request("POST", "/categories", json=SPEC_EXAMPLE)
        assert response.status_code == 201, response.text
        category_id = response.json()["id"]
        assert response.json() == {"id": category_id}
        assert re.fullmatch(r"[0-9a-f]{24}", category_id)
        document = categories.get_json(f"/categories/{category_id}?showUnpublished=true")
        assert document == {
            "id": category_id,
            "type": "STANDARD",
            "localizedName": {"en": "Floor Care", "de": "Bodenpflege"},
            "name": "Floor Care",
            "localizedDescription": {"en": "Floor Care", "de": "Bodenpflege"},
            "description": "Floor Care",
            "localizedSlug": {"en": "Floor-Care", "de": "Bodenpflege"},
            "code": "FC",
            "ecn": ["1234"],
            "validity": {"from": "2022-11-01T00:00:00.000Z", "to": "2032-11-01T00:00:00.000Z"},
            "position": 3,
            "published": False,
            "mixins": {"categoryCustomAttributes": {"color": "blue"}},
            "metadata": {
                "version": 1,
                "createdAt": ISO_MILLIS,
                "modifiedAt": ISO_MILLIS,
                "mixins": {"categoryCustomAttributes": "https://example.com/cca.json"},
            },
            "media": [],  # required by the spec's Category schema
        }

    def test_minimal_category_and_custom_id(self, categories: Categories) -> None:
        categories.create(id="shoes-1_A", localizedName={"de": "Schuhe"})
        assert categories.get_json("/categories/shoes-1_A") == {
            "id": "shoes-1_A",
            "type": "STANDARD",
            "localizedName": {"de": "Schuhe"},
            "name": "Schuhe",  # no default-language (en) text: the first translation
            "position": 0,
            "published": True,
            "metadata": {"version": 1, "createdAt": ISO_MILLIS, "modifiedAt": ISO_MILLIS},
            "media": [],
        }

    @pytest.mark.parametrize("parent", [None, "root"])
    def test_root_spellings(self, categories: Categories, parent: str | None) -> None:
        categories.create(id="r", parentId=parent)
        assert "parentId" not in categories.get_json("/categories/r")
        assert categories.ids("/categories?showRoots=true") == ["r"]

    def test_child_has_its_parent(self, categories: Categories) -> None:
        categories.create(id="a")
        categories.create(id="b", parentId="a")
        assert categories.get_json("/categories/b")["parentId"] == "a"

    def test_unknown_parent_is_400(self, categories: Categories) -> None:
        response = categories.request(
            "POST", "/categories", json={"id": "b", "parentId": "nope", "localizedName": {"en": "B"}, "published": True}
        )
        assert_error(response, error(400, "The parent category nope does not exist.", field="parentId"))

    def test_own_parent_is_400(self, categories: Categories) -> None:
        response = categories.request(
            "POST", "/categories", json={"id": "b", "parentId": "b", "localizedName": {"en": "B"}, "published": True}
        )
        assert_error(response, error(400, "A category cannot be its own parent (parentId b).", field="parentId"))

    @pytest.mark.parametrize(
        ("body", "expected"),
        [
            ({"published": True}, bad_body("Object missing required field `localizedName`", "localizedName")),
            ({"localizedName": {"en": "x"}}, bad_body("Object missing required field `published`", "published")),
            ({"localizedName": "Shoes", "published": True}, bad_body("Expected `object`, got `str`", "localizedName")),
            (
                {"localizedName": {}, "published": True},
                error(
                    400,
                    "Validation problem with request body: localizedName needs at least one language.",
                    field="localizedName",
                ),
            ),
            (
                {"localizedName": {"e n": "x"}, "published": True},
                error(
                    400,
                    "Invalid language 'e n' in localizedName: keys of a localized map are language tags such as 'en'.",
                    field="localizedName",
                ),
            ),
            ({"localizedName": {"en": "x"}, "published": "yes"}, bad_body("Expected `bool`, got `str`", "published")),
            (
                {"localizedName": {"en": "x"}, "published": True, "position": -1},
                bad_body("Expected `int` >= 0", "position"),
            ),
            (
                {"localizedName": {"en": "x"}, "published": True, "type": "OTHER"},
                bad_body("Invalid enum value 'OTHER'", "type"),
            ),
            (
                {"localizedName": {"en": "x"}, "published": True, "type": "CLASSIFICATION"},
                error(400, "A category of type CLASSIFICATION needs a code.", field="code"),
            ),
            (
                {"localizedName": {"en": "x"}, "published": True, "localizedSlug": {"de": "Bodenpflege-für-alle"}},
                error(
                    400,
                    "Invalid localizedSlug.de 'Bodenpflege-für-alle': a slug may not contain diacritics.",
                    field="localizedSlug",
                ),
            ),
            (
                {
                    "localizedName": {"en": "x"},
                    "published": True,
                    "validity": {"from": "2030-01-01T00:00:00Z", "to": "2020-01-01T00:00:00Z"},
                },
                error(400, "Invalid validity: 'to' lies before 'from'.", field="validity"),
            ),
            (
                {"localizedName": {"en": "x"}, "published": True, "ecn": "1234"},
                bad_body("Expected `array | null`, got `str`", "ecn"),
            ),
        ],
    )
    def test_invalid_bodies(self, categories: Categories, body: dict[str, Any], expected: dict[str, Any]) -> None:
        assert_error(categories.request("POST", "/categories", json=body), expected)

    def test_malformed_json(self, categories: Categories) -> None:
        response = categories.request(
            "POST", "/categories", content=b'{"localizedName": ', headers={"Content-Type": "application/json"}
        )
        assert_error(response, error(400, "Input data was truncated"))

    @pytest.mark.parametrize("category_id", ["a b", "x" * 67, "root", "search", "ä"])
    def test_invalid_custom_ids(self, categories: Categories, category_id: str) -> None:
        response = categories.request(
            "POST", "/categories", json={"id": category_id, "localizedName": {"en": "x"}, "published": True}
        )
        assert response.status_code == 400
        assert response.json()["details"][0].startswith(f"id: Invalid id '{category_id[:80]}'")

    def test_taken_id_is_409(self, categories: Categories) -> None:
        categories.create(id="a")
        response = categories.request(
            "POST", "/categories", json={"id": "a", "localizedName": {"en": "x"}, "published": True}
        )
        assert_error(response, error(409, "A category with id 'a' already exists.", resource_id="a"))

    def test_taken_ecn_is_409(self, categories: Categories) -> None:
        categories.create(id="a", ecn=["E1", "E2"])
        response = categories.request(
            "POST",
            "/categories",
            json={"id": "b", "ecn": ["E3", "E2"], "localizedName": {"en": "x"}, "published": True},
        )
        assert_error(
            response,
            error(409, "Duplicated ECN value - given ECN is already assigned to another category.", resource_id="b"),
        )
        assert categories.request("GET", "/categories/b").status_code == 404

    def test_ecn_sent_twice_is_kept_once(self, categories: Categories) -> None:
        categories.create(id="a", ecn=["E1", "E1", "E2"])
        assert categories.get_json("/categories/a")["ecn"] == ["E1", "E2"]

    def test_taken_code_is_409_regardless_of_case(self, categories: Categories) -> None:
        categories.create(id="a", code="Shoes")
        response = categories.request(
            "POST", "/categories", json={"id": "b", "code": "SHOES", "localizedName": {"en": "x"}, "published": True}
        )
        assert_error(
            response,
            error(
                409,
                "A category with code 'SHOES' already exists; category codes are unique (regardless of case).",
                resource_id="b",
            ),
        )

    def test_codes_and_ecns_are_per_tenant(
        self, categories: Categories, client: TestClient[Litestar], tokens: Tokens
    ) -> None:
        categories.create(id="a", code="C", ecn=["E"])
        other = Categories(client, tokens, "o" + categories.tenant[1:])
        other.create(id="a", code="C", ecn=["E"])

    def test_content_language_limits_the_languages(self, categories: Categories) -> None:
        body = {"localizedName": {"en": "Shoes", "de": "Schuhe"}, "published": True}
        response = categories.request("POST", "/categories", json=body, headers={"Content-Language": "en"})
        assert_error(
            response,
            error(
                400,
                "Invalid localizedName: Content-Language is 'en', so it may only hold "
                "'en'; send Content-Language: * to write several languages.",
                field="localizedName",
            ),
        )
        response = categories.request("POST", "/categories", json=body, headers={"Content-Language": "*"})
        assert response.status_code == 201

    def test_publishing_on_create_needs_the_publish_scope(self, categories: Categories) -> None:
        token = categories.without(PUBLISH)
        body = {"id": "a", "localizedName": {"en": "x"}, "published": True}
        response = categories.request("POST", "/categories", json=body, token=token)
        assert_error(response, forbidden("Publishing a category requires the scope category.category_publish."))
        body["published"] = False
        assert categories.request("POST", "/categories", json=body, token=token).status_code == 201

    def test_publish_parameter_must_match(self, categories: Categories) -> None:
        body = {"id": "a", "localizedName": {"en": "x"}, "published": False}
        response = categories.request("POST", "/categories?publish=true", json=body)
        assert_error(
            response,
            error(
                400,
                "The publish query parameter (true) must match the category's published value (false).",
                field="publish",
            ),
        )
        assert categories.request("POST", "/categories?publish=false", json=body).status_code == 201


class TestGetCategory:
    @pytest.mark.parametrize("case", READ_FAILURES)
    def test_refused(self, categories: Categories, case: str) -> None:
        categories.create(id="a")
        assert_refused(categories, case, "GET", "/categories/a", valid_scopes=(), required=())

    @pytest.mark.parametrize("kind", ["customer", "anonymous"])
    def test_storefront_tokens_read_published_ones(self, categories: Categories, kind: str) -> None:
        categories.create(id="a")
        categories.create(id="u", published=False)
        token = categories.storefront(kind)
        assert categories.get_json("/categories/a", token=token)["id"] == "a"
        assert_error(categories.request("GET", "/categories/u", token=token), not_found("u"))
        response = categories.request("GET", "/categories/u?showUnpublished=true", token=token)
        assert_error(response, UNPUBLISHED_FORBIDDEN)

    def test_unpublished_needs_show_unpublished(self, categories: Categories) -> None:
        categories.create(id="u", published=False)
        assert_error(categories.request("GET", "/categories/u"), not_found("u"))
        assert categories.get_json("/categories/u?showUnpublished=true")["published"] is False

    def test_unknown_category_is_404(self, categories: Categories) -> None:
        assert_error(categories.request("GET", "/categories/nope"), not_found("nope"))

    def test_another_tenants_category_is_not_found(
        self, categories: Categories, client: TestClient[Litestar], tokens: Tokens
    ) -> None:
        Categories(client, tokens, "o" + categories.tenant[1:]).create(id="a")
        assert_error(categories.request("GET", "/categories/a"), not_found("a"))

    def test_accept_language_and_fields(self, categories: Categories) -> None:
        categories.create(id="a", localizedName={"en": "Shoes", "de": "Schuhe"}, code="S")
        document = categories.get_json("/categories/a", headers={"Accept-Language": "de"})
        assert document["localizedName"] == {"de": "Schuhe"}
        assert document["name"] == "Shoes"  # the deprecated field keeps the default language
        assert categories.get_json("/categories/a?fields=code") == {"id": "a", "code": "S"}
        # Any well-formed language is accepted (no tenant language configuration): nothing to show is an empty map.
        assert categories.get_json("/categories/a", headers={"Accept-Language": "ru"})["localizedName"] == {
            "en": "Shoes"
        }

    def test_invalid_show_unpublished(self, categories: Categories) -> None:
        response = categories.request("GET", "/categories/a?showUnpublished=maybe")
        assert response.status_code == 400
        assert response.json()["details"][0].startswith("showUnpublished: Invalid query parameter 'showUnpublished'")


class TestDeleteCategory:
    @pytest.mark.parametrize("case", AUTH_FAILURES)
    def test_refused_and_nothing_deleted(self, categories: Categories, case: str) -> None:
        categories.create(id="a")
        assert_refused(categories, case, "DELETE", "/categories/a", valid_scopes=(READ_UNPUBLISHED,), required=MANAGE)
        assert categories.request("GET", "/categories/a").status_code == 200

    def test_unknown_category_is_404(self, categories: Categories) -> None:
        assert_error(categories.request("DELETE", "/categories/nope"), not_found("nope"))

    def test_deletes_a_leaf_with_its_ecns(self, categories: Categories, database_url: str) -> None:
        categories.create(id="a", ecn=["E"])
        assert categories.request("DELETE", "/categories/a").status_code == 204
        assert_error(categories.request("GET", "/categories/a"), not_found("a"))
        categories.create(id="b", ecn=["E"])  # the ECN is free again
        rows = run_sql(
            database_url,
            "SELECT count(*) AS n FROM category_closure WHERE tenant = $1 AND "
            "(ancestor_id = 'a' OR descendant_id = 'a')",
            categories.tenant,
        )
        assert rows[0]["n"] == 0

    def test_with_subcategories_deletes_the_subtree(self, categories: Categories) -> None:
        categories.create(id="r")
        categories.create(id="a", parentId="r")
        categories.create(id="b", parentId="a")
        categories.create(id="c", parentId="b")
        categories.create(id="s", parentId="r")
        assert categories.request("DELETE", "/categories/a?withSubcategories=true").status_code == 204
        assert categories.ids("/categories") == ["r", "s"]
        assert categories.ids("/categories/r/subcategories") == ["s"]

    def test_without_subcategories_children_become_roots(self, categories: Categories) -> None:
        categories.create(id="r")
        categories.create(id="a", parentId="r")
        categories.create(id="b", parentId="a")
        categories.create(id="c", parentId="b")
        categories.create(id="d", parentId="a")
        assert categories.request("DELETE", "/categories/a").status_code == 204
        assert categories.ids("/categories?showRoots=true") == ["b", "d", "r"]
        assert categories.ids("/categories/c/parents") == ["b"]
        assert categories.ids("/categories/b/subcategories") == ["c"]
        assert categories.ids("/categories/r/subcategories") == []
        child = categories.get_json("/categories/b")
        assert "parentId" not in child
        assert child["metadata"]["version"] == 2

    def test_storefront_tokens_cannot_delete(self, categories: Categories) -> None:
        categories.create(id="a")
        response = categories.request("DELETE", "/categories/a", token=categories.storefront("anonymous"))
        assert_error(response, forbidden("Required scope(s): category.category_manage."))
