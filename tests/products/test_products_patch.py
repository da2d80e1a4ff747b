"""PATCH /products/{productId} over HTTP: a productPartialUpdate object, merged into the product as RFC 7396 says."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from tests.factories import AUTH_FAILURES, ISO_MILLIS, Tokens, assert_refused
from tests.products.helpers import Products

MANAGE = ("product.product_manage",)
READ_UNPUBLISHED = ("product.product_read_unpublished",)
PUBLISH, UNPUBLISH = "product.product_publish", "product.product_unpublish"


@pytest.fixture
def products(client: TestClient[Litestar], tokens: Tokens, tenant: str) -> Products:
    """A tenant with product "p": two languages, a mixin and a mixin schema link, unpublished."""
    api = Products(client, tokens, tenant)
    response = api.request(
        "POST",
        "",
        json={
            "id": "p",
            "code": "P",
            "name": {"en": "Phone", "de": "Telefon"},
            "description": {"en": "Good"},
            "mixins": {"attrs": {"size": 5, "colour": "red"}, "other": {"x": 1}},
            "metadata": {"mixins": {"attrs": "https://example.com/attrs.json"}},
        },
    )
    assert response.status_code == 201, response.text
    return api


def product_error(
    status: int, message: str, *, field: str | None = None, type: str = "invalid_value"
) -> dict[str, Any]:
    body: dict[str, Any] = {"code": status, "status": HTTPStatus(status).phrase, "message": message}
    if field is not None:
        body["details"] = [{"field": field, "type": type, "message": message}]
    return body


def get(products: Products) -> dict[str, Any]:
    response = products.request("GET", "/p")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def patch(products: Products, body: Any, **kwargs: Any) -> Any:
    return products.request("PATCH", "/p", json=body, **kwargs)


class TestPatchProduct:
    @pytest.mark.parametrize("case", AUTH_FAILURES)
    def test_refused_and_nothing_changed(self, products: Products, case: str) -> None:
        before = get(products)
        assert_refused(
            products, case, "PATCH", "/p", valid_scopes=READ_UNPUBLISHED, required=MANAGE, json={"code": "NEW"}
        )
        assert get(products) == before

    def test_spec_example_publishes(self, products: Products) -> None:
        before = get(products)
        response = patch(products, {"published": True})
        assert response.status_code == 204, response.text
        assert response.content == b""
        assert get(products) == {
            **before,
            "published": True,
            "metadata": {**before["metadata"], "version": 2, "modifiedAt": ISO_MILLIS},
        }

    def test_fields_left_out_are_kept(self, products: Products) -> None:
        before = get(products)
        assert patch(products, {"code": "P2"}).status_code == 204
        after = get(products)
        assert after["code"] == "P2"
        assert {k: v for k, v in after.items() if k not in ("code", "metadata")} == {
            k: v for k, v in before.items() if k not in ("code", "metadata")
        }
        assert after["metadata"]["mixins"] == before["metadata"]["mixins"]
        assert after["metadata"]["createdAt"] == before["metadata"]["createdAt"]

    def test_localized_maps_merge_by_language(self, products: Products) -> None:
        assert patch(products, {"name": {"fr": "Téléphone", "de": None}}).status_code == 204
        assert get(products)["name"] == {"en": "Phone", "fr": "Téléphone"}

    def test_plain_string_in_the_content_language(self, products: Products) -> None:
        assert patch(products, {"name": "Handy"}, headers={"Content-Language": "de"}).status_code == 204
        assert get(products)["name"] == {"en": "Phone", "de": "Handy"}
        # Without Content-Language a plain string is in the default language.
        assert patch(products, {"description": "Very good"}).status_code == 204
        assert get(products)["description"] == {"en": "Very good"}

    def test_mixins_merge_and_null_removes(self, products: Products) -> None:
        assert (
            patch(
                products,
                {"mixins": {"attrs": {"size": 7, "colour": None}, "other": None, "new": [1, 2]}},
            ).status_code
            == 204
        )
        assert get(products)["mixins"] == {"attrs": {"size": 7}, "new": [1, 2]}
        assert patch(products, {"mixins": None, "description": None}).status_code == 204
        document = get(products)
        assert "mixins" not in document
        assert "description" not in document

    def test_metadata_mixins_merge(self, products: Products) -> None:
        assert patch(products, {"metadata": {"mixins": {"new": "https://example.com/new.json"}}}).status_code == 204
        assert get(products)["metadata"]["mixins"] == {
            "attrs": "https://example.com/attrs.json",
            "new": "https://example.com/new.json",
        }

    def test_version_is_an_optimistic_lock(self, products: Products) -> None:
        response = patch(products, {"code": "X", "metadata": {"version": 5}})
        assert response.status_code == 409
        assert response.json() == product_error(409, "The resource you are attempting to access has changed.")
        assert get(products)["code"] == "P"
        assert patch(products, {"code": "X", "metadata": {"version": 1}}).status_code == 204
        assert get(products)["metadata"]["version"] == 2

    def test_empty_patch_counts_as_a_change(self, products: Products) -> None:
        assert patch(products, {}).status_code == 204
        assert get(products)["metadata"]["version"] == 2

    def test_merge_patch_content_type(self, products: Products) -> None:
        response = products.request(
            "PATCH", "/p", content=b'{"code": "MP"}', headers={"Content-Type": "application/merge-patch+json"}
        )
        assert response.status_code == 204, response.text
        assert get(products)["code"] == "MP"

    def test_unknown_product_is_404(self, products: Products) -> None:
        response = products.request("PATCH", "/nope", json={"code": "X"})
        assert response.status_code == 404
        assert response.json() == product_error(404, "The product with id nope has not been found.")

    def test_code_of_another_product_is_409(self, products: Products) -> None:
        assert products.request("POST", "", json={"id": "q", "code": "Q", "name": "x"}).status_code == 201
        response = patch(products, {"code": "Q"})
        assert response.status_code == 409
        assert response.json() == product_error(
            409,
            "A product with code 'Q' already exists; product codes are unique.",
            field="code",
            type="conflict_resource",
        )
        assert get(products)["code"] == "P"

    @pytest.mark.parametrize(
        ("body", "expected"),
        [
            (
                {"code": None},
                product_error(
                    400, "Validation problem with the patched product: Object missing required field `code`."
                ),
            ),
            (
                {"name": None},
                product_error(
                    400, "Validation problem with the patched product: Object missing required field `name`."
                ),
            ),
            (
                {"name": {"en": None, "de": None}},
                product_error(
                    400, "Validation problem with request body: name needs at least one language.", field="name"
                ),
            ),
            (
                {"code": ""},
                product_error(
                    400,
                    "Validation problem with request body: Expected `str` of length >= 1 (at 'code').",
                    field="code",
                ),
            ),
            (
                {"published": "yes"},
                product_error(
                    400,
                    "Validation problem with request body: Expected `bool | null`, got `str` (at 'published').",
                    field="published",
                ),
            ),
            (
                [{"op": "replace", "path": "/code", "value": "X"}],
                product_error(400, "Validation problem with request body: Expected `object`, got `array`."),
            ),
            (
                {"name": {"not a tag": "x"}},
                product_error(
                    400,
                    "Invalid language 'not a tag' in name: keys of a localized map are language tags such as 'en'.",
                    field="name",
                ),
            ),
        ],
    )
    def test_invalid_patches_change_nothing(self, products: Products, body: Any, expected: dict[str, Any]) -> None:
        before = get(products)
        response = patch(products, body)
        assert response.status_code == 400
        assert response.json() == expected
        assert get(products) == before

    def test_publishing_and_unpublishing_need_their_scopes(self, products: Products) -> None:
        manage_only = products.tokens.service(products.tenant, (*MANAGE, *READ_UNPUBLISHED))
        response = patch(products, {"published": True}, token=manage_only)
        assert response.status_code == 403
        assert response.json() == product_error(403, "Publishing a product requires the scope product.product_publish.")
        assert get(products)["published"] is False
        assert patch(products, {"published": True}).status_code == 204
        # Other changes to a published product need no more than product_manage.
        assert patch(products, {"code": "P2"}, token=manage_only).status_code == 204
        for body in ({"published": False}, {"published": None}):
            response = patch(products, body, token=manage_only)
            assert response.status_code == 403
            assert response.json() == product_error(
                403, "Unpublishing a product requires the scope product.product_unpublish."
            )
        assert get(products)["published"] is True
        unpublisher = products.tokens.service(products.tenant, (*MANAGE, UNPUBLISH))
        assert patch(products, {"published": False}, token=unpublisher).status_code == 204
        assert get(products)["published"] is False
