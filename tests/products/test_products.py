"""Single-product operations over HTTP: POST /products, GET/PUT/DELETE /products/{productId}.

PATCH is in test_products_patch.py, lists and search in test_products_list.py, who sees unpublished products in
test_products_visibility.py, the look-ups other services use in test_products_lookup.py.
"""

from __future__ import annotations

import re
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
#: Refusals of a read: it needs a token of the tenant, but no scope.
READ_FAILURES = tuple(case for case in AUTH_FAILURES if case != "missing scope")
#: `requestBodies.productCreateBody`, example "BASIC Product Creation - simple", verbatim.
SPEC_SIMPLE = {
    "name": "Smartphone X2",
    "code": "BASIC001",
    "description": "The world best camera and camcorder in a waterproof smartphone.",
    "published": False,
    "taxClasses": {"EN": "STANDARD"},
    "productType": "BASIC",
}


@pytest.fixture
def products(client: TestClient[Litestar], tokens: Tokens, tenant: str) -> Products:
    return Products(client, tokens, tenant)


def product_error(
    status: int, message: str, *, field: str | None = None, type: str = "invalid_value"
) -> dict[str, Any]:
    """A whole Product Service error body; `details` only when one field is at fault."""
    body: dict[str, Any] = {"code": status, "status": HTTPStatus(status).phrase, "message": message}
    if field is not None:
        body["details"] = [{"field": field, "type": type, "message": message}]
    return body


def create(products: Products, **body: Any) -> str:
    response = products.request("POST", "", json={"name": {"en": "Phone"}, "code": f"C-{body.get('id', 'x')}", **body})
    assert response.status_code == 201, response.text
    product_id: str = response.json()["id"]
    return product_id


def get(products: Products, product_id: str, **kwargs: Any) -> dict[str, Any]:
    response = products.request("GET", f"/{product_id}", **kwargs)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def not_found(product_id: str) -> dict[str, Any]:
    return product_error(404, f"The product with id {product_id} has not been found.")


def bad_body(message: str, field: str | None = None) -> dict[str, Any]:
    where = f" (at '{field}')" if field and "missing" not in message else ""
    return product_error(400, f"Validation problem with request body: {message}{where}.", field=field)


class TestCreateProduct:
    @pytest.mark.parametrize("case", AUTH_FAILURES)
    def test_refused_and_nothing_stored(self, products: Products, case: str) -> None:
        assert_refused(
            products,
            case,
            "POST",
            "",
            valid_scopes=READ_UNPUBLISHED,
            required=MANAGE,
            json={"id": "nope", "name": "Phone", "code": "P"},
        )
        assert products.request("GET", "/nope").status_code == 404

    @pytest.mark.parametrize("kind", ["customer", "anonymous"])
    def test_storefront_tokens_cannot_create(self, products: Products, kind: str) -> None:
        token = (
            products.tokens.customer(products.tenant, "c1")
            if kind == "customer"
            else products.tokens.anonymous(products.tenant)
        )
        response = products.request("POST", "", token=token, json={"name": "Phone", "code": "P"})
        assert response.status_code == 403
        assert response.json() == product_error(403, "Required scope(s): product.product_manage.")

    def test_spec_example_is_stored_with_a_generated_id(self, products: Products) -> None:
        response = products.request("POST", "", json=SPEC_SIMPLE)
        assert response.status_code == 201, response.text
        product_id = response.json()["id"]
        assert response.json() == {"id": product_id}
        assert re.fullmatch(r"[0-9a-f]{24}", product_id)
        document = get(products, product_id)
        # Plain strings without Content-Language are in the default language; fields outside the subset are not kept.
        assert document == {
            "id": product_id,
            "code": "BASIC001",
            "name": {"en": "Smartphone X2"},
            "description": {"en": "The world best camera and camcorder in a waterproof smartphone."},
            "published": False,
            "metadata": {"version": 1, "createdAt": ISO_MILLIS, "modifiedAt": ISO_MILLIS},
        }
        assert list(document) == ["id", "code", "name", "description", "published", "metadata"]

    def test_custom_id_mixins_and_metadata_mixins(self, products: Products) -> None:
        body = {
            "id": "phone-1_A",
            "code": "PHONE1",
            "name": {"en": "Phone", "de": "Telefon"},
            "published": True,
            "mixins": {"productCustomAttributes": {"minOrderQuantity": 2, "unit": {"value": 133, "unitCode": "GRM"}}},
            "metadata": {"version": 7, "mixins": {"productCustomAttributes": "https://example.com/pca.json"}},
        }
        response = products.request("POST", "", json=body)
        assert response.status_code == 201, response.text
        assert response.json() == {"id": "phone-1_A"}
        assert get(products, "phone-1_A") == {
            "id": "phone-1_A",
            "code": "PHONE1",
            "name": {"en": "Phone", "de": "Telefon"},
            "published": True,
            "mixins": body["mixins"],
            # A version sent on create is ignored: every product starts at 1.
            "metadata": {
                "version": 1,
                "createdAt": ISO_MILLIS,
                "modifiedAt": ISO_MILLIS,
                "mixins": {"productCustomAttributes": "https://example.com/pca.json"},
            },
        }

    def test_content_language_names_the_language_of_plain_strings(self, products: Products) -> None:
        response = products.request(
            "POST",
            "",
            headers={"Content-Language": "de"},
            json={"id": "p", "code": "P", "name": "Telefon", "description": "Gut"},
        )
        assert response.status_code == 201, response.text
        document = get(products, "p")
        assert (document["name"], document["description"]) == ({"de": "Telefon"}, {"de": "Gut"})

    def test_content_language_star_takes_maps(self, products: Products) -> None:
        response = products.request(
            "POST", "", headers={"Content-Language": "*"}, json={"id": "p", "code": "P", "name": {"fr": "Téléphone"}}
        )
        assert response.status_code == 201, response.text
        assert get(products, "p")["name"] == {"fr": "Téléphone"}

    def test_invalid_content_language(self, products: Products) -> None:
        response = products.request(
            "POST", "", headers={"Content-Language": "not a tag"}, json={"code": "P", "name": "Phone"}
        )
        assert response.status_code == 400
        assert response.json() == product_error(
            400,
            "Invalid Content-Language 'not a tag': expected a language tag such as 'en'.",
            field="Content-Language",
            type="invalid_header",
        )

    def test_map_keys_must_be_language_tags(self, products: Products) -> None:
        response = products.request("POST", "", json={"code": "P", "name": {"english!": "Phone"}})
        assert response.status_code == 400
        assert response.json() == product_error(
            400,
            "Invalid language 'english!' in name: keys of a localized map are language tags such as 'en'.",
            field="name",
        )

    @pytest.mark.parametrize(
        ("body", "expected"),
        [
            ({"name": "Phone"}, bad_body("Object missing required field `code`", "code")),
            ({"code": "P"}, bad_body("Object missing required field `name`", "name")),
            ({"code": "", "name": "Phone"}, bad_body("Expected `str` of length >= 1", "code")),
            (
                {"code": "P", "name": {}},
                product_error(
                    400, "Validation problem with request body: name needs at least one language.", field="name"
                ),
            ),
            ({"code": "P", "name": "Phone", "published": "yes"}, bad_body("Expected `bool`, got `str`", "published")),
            ({"code": "P", "name": "Phone", "mixins": []}, bad_body("Expected `object | null`, got `array`", "mixins")),
        ],
    )
    def test_invalid_bodies(self, products: Products, body: dict[str, Any], expected: dict[str, Any]) -> None:
        response = products.request("POST", "", json=body)
        assert response.status_code == 400
        assert response.json() == expected

    @pytest.mark.parametrize("field", ["mixins", "metadata.mixins"])
    def test_mixins_nesting_is_bounded(self, products: Products, field: str) -> None:
        deep: dict[str, Any] = {}
        for _ in range(40):
            deep = {"a": deep}
        body: dict[str, Any] = {"code": "P", "name": "Phone"}
        body.update({"mixins": deep} if field == "mixins" else {"metadata": {"mixins": deep}})
        response = products.request("POST", "", json=body)
        assert response.status_code == 400
        assert response.json() == product_error(400, f"Invalid {field}: it nests deeper than 32 levels.", field=field)

    @pytest.mark.parametrize(
        ("product_id", "message"),
        [
            ("search", "Invalid id 'search': it is reserved by the API's paths (bulk, recalculate, search)."),
            ("bulk", "Invalid id 'bulk': it is reserved by the API's paths (bulk, recalculate, search)."),
            ("a b", "Invalid id 'a b': use 1 to 66 characters of letters, digits, '_' and '-'."),
            ("", "Invalid id '': use 1 to 66 characters of letters, digits, '_' and '-'."),
            ("x" * 33, f"Invalid id '{'x' * 33}': product ids are at most 32 characters long."),
        ],
    )
    def test_invalid_custom_ids(self, products: Products, product_id: str, message: str) -> None:
        response = products.request("POST", "", json={"id": product_id, "code": "P", "name": "Phone"})
        assert response.status_code == 400
        assert response.json() == product_error(400, message, field="id")

    def test_longest_custom_id(self, products: Products) -> None:
        assert create(products, id="x" * 32) == "x" * 32

    def test_taken_id_is_409(self, products: Products) -> None:
        create(products, id="p", code="P1")
        response = products.request("POST", "", json={"id": "p", "code": "P2", "name": "Other"})
        assert response.status_code == 409
        assert response.json() == product_error(
            409, "A product with id 'p' already exists.", field="id", type="conflict_resource"
        )
        assert get(products, "p")["code"] == "P1"

    def test_taken_code_is_409(self, products: Products) -> None:
        create(products, id="p", code="P1")
        response = products.request("POST", "", json={"id": "q", "code": "P1", "name": "Other"})
        assert response.status_code == 409
        assert response.json() == product_error(
            409,
            "A product with code 'P1' already exists; product codes are unique.",
            field="code",
            type="conflict_resource",
        )
        assert products.request("GET", "/q").status_code == 404

    def test_codes_are_case_sensitive_and_per_tenant(self, products: Products, tokens: Tokens) -> None:
        create(products, id="p", code="P1")
        create(products, id="q", code="p1")
        other = Products(products.client, tokens, "o" + products.tenant[1:])
        create(other, id="p", code="P1")

    def test_publishing_on_create_needs_the_publish_scope(self, products: Products) -> None:
        token = products.tokens.service(products.tenant, (*MANAGE, *READ_UNPUBLISHED, UNPUBLISH))
        response = products.request(
            "POST", "", token=token, json={"id": "p", "code": "P", "name": "x", "published": True}
        )
        assert response.status_code == 403
        assert response.json() == product_error(403, "Publishing a product requires the scope product.product_publish.")
        assert products.request("GET", "/p").status_code == 404
        # Unpublished products need product_manage alone.
        response = products.request("POST", "", token=token, json={"id": "p", "code": "P", "name": "x"})
        assert response.status_code == 201, response.text
        token = products.tokens.service(products.tenant, (*MANAGE, PUBLISH))
        response = products.request(
            "POST", "", token=token, json={"id": "q", "code": "Q", "name": "x", "published": True}
        )
        assert response.status_code == 201, response.text


class TestGetProduct:
    @pytest.mark.parametrize("case", READ_FAILURES)
    def test_refused(self, products: Products, case: str) -> None:
        create(products, id="p", published=True)
        assert_refused(products, case, "GET", "/p", valid_scopes=(), required=())

    def test_unknown_product_is_404(self, products: Products) -> None:
        response = products.request("GET", "/nope")
        assert response.status_code == 404
        assert response.json() == not_found("nope")

    def test_accept_language_and_fields(self, products: Products) -> None:
        create(products, id="p", name={"en": "Phone", "de": "Telefon"}, description={"en": "Good"})
        assert get(products, "p", headers={"Accept-Language": "de"})["name"] == {"de": "Telefon"}
        assert get(products, "p", headers={"Accept-Language": "fr, de;q=0.5"})["description"] == {"en": "Good"}
        assert get(products, "p", headers={"Accept-Language": "*"})["name"] == {"en": "Phone", "de": "Telefon"}
        assert get(products, "p", params={"fields": "code,metadata.version"}) == {
            "id": "p",
            "code": "C-p",
            "metadata": {"version": 1},
        }

    def test_another_tenants_product_is_not_found(self, products: Products, tokens: Tokens) -> None:
        other = Products(products.client, tokens, "o" + products.tenant[1:])
        create(other, id="p", published=True)
        response = products.request("GET", "/p")
        assert response.status_code == 404
        assert response.json() == not_found("p")


class TestUpsertProduct:
    @pytest.mark.parametrize("case", AUTH_FAILURES)
    def test_refused_and_nothing_stored(self, products: Products, case: str) -> None:
        assert_refused(
            products,
            case,
            "PUT",
            "/p",
            valid_scopes=READ_UNPUBLISHED,
            required=MANAGE,
            json={"name": "Phone", "code": "P"},
        )
        assert products.request("GET", "/p").status_code == 404

    def test_creates_then_replaces(self, products: Products) -> None:
        response = products.request(
            "PUT", "/p", json={"name": "Phone", "code": "P", "description": "Old", "mixins": {"a": {"b": 1}}}
        )
        assert response.status_code == 201, response.text
        assert response.json() == {"id": "p"}
        before = get(products, "p")
        assert before["metadata"]["version"] == 1
        response = products.request(
            "PUT",
            "/p",
            json={
                "name": {"en": "Phone 2"},
                "code": "P2",
                "published": True,
                "metadata": {"mixins": {"a": "https://example.com/a"}},
            },
        )
        assert response.status_code == 204, response.text
        assert response.content == b""
        # A full replacement: what the body leaves out is gone.
        assert get(products, "p") == {
            "id": "p",
            "code": "P2",
            "name": {"en": "Phone 2"},
            "published": True,
            "metadata": {
                "version": 2,
                "createdAt": before["metadata"]["createdAt"],
                "modifiedAt": ISO_MILLIS,
                "mixins": {"a": "https://example.com/a"},
            },
        }

    def test_version_is_an_optimistic_lock(self, products: Products) -> None:
        create(products, id="p")
        body = {"name": "Phone", "code": "P"}
        response = products.request("PUT", "/p", json={**body, "metadata": {"version": 2}})
        assert response.status_code == 409
        assert response.json() == product_error(409, "The resource you are attempting to access has changed.")
        assert get(products, "p")["metadata"]["version"] == 1
        assert products.request("PUT", "/p", json={**body, "metadata": {"version": 1}}).status_code == 204
        assert products.request("PUT", "/p", json=body).status_code == 204
        assert get(products, "p")["metadata"]["version"] == 3

    def test_code_of_another_product_is_409(self, products: Products) -> None:
        create(products, id="p", code="P")
        create(products, id="q", code="Q")
        for path in ("/q", "/new"):
            response = products.request("PUT", path, json={"name": "x", "code": "P"})
            assert response.status_code == 409
            assert response.json() == product_error(
                409,
                "A product with code 'P' already exists; product codes are unique.",
                field="code",
                type="conflict_resource",
            )
        assert get(products, "q")["code"] == "Q"
        assert products.request("GET", "/new").status_code == 404

    def test_partial_is_refused(self, products: Products) -> None:
        create(products, id="p")
        response = products.request("PUT", "/p", params={"partial": "true"}, json={"published": True})
        assert response.status_code == 400
        assert response.json() == product_error(
            400,
            "partial=true is not supported; send the fields to change with PATCH /products/{productId}.",
            field="partial",
            type="invalid_query_parameter",
        )
        response = products.request("PUT", "/p", params={"partial": "false"}, json={"name": "x", "code": "P"})
        assert response.status_code == 204, response.text

    def test_invalid_id_in_the_path(self, products: Products) -> None:
        response = products.request("PUT", "/recalculate", json={"name": "x", "code": "P"})
        assert response.status_code == 400
        assert response.json() == product_error(
            400, "Invalid id 'recalculate': it is reserved by the API's paths (bulk, recalculate, search).", field="id"
        )

    def test_publishing_and_unpublishing_need_their_scopes(self, products: Products) -> None:
        manage_only = products.tokens.service(products.tenant, MANAGE)
        body = {"name": "x", "code": "P"}
        assert products.request("PUT", "/p", token=manage_only, json=body).status_code == 201
        response = products.request("PUT", "/p", token=manage_only, json={**body, "published": True})
        assert response.status_code == 403
        assert response.json() == product_error(403, "Publishing a product requires the scope product.product_publish.")
        response = products.request("PUT", "/q", token=manage_only, json={"name": "x", "code": "Q", "published": True})
        assert response.status_code == 403
        assert products.request("PUT", "/p", json={**body, "published": True}).status_code == 204
        # Staying published needs no more than product_manage; leaving `published` out unpublishes.
        assert products.request("PUT", "/p", token=manage_only, json={**body, "published": True}).status_code == 204
        response = products.request("PUT", "/p", token=manage_only, json=body)
        assert response.status_code == 403
        assert response.json() == product_error(
            403, "Unpublishing a product requires the scope product.product_unpublish."
        )
        assert get(products, "p")["published"] is True
        unpublisher = products.tokens.service(products.tenant, (*MANAGE, UNPUBLISH))
        assert products.request("PUT", "/p", token=unpublisher, json=body).status_code == 204
        assert get(products, "p")["published"] is False


class TestDeleteProduct:
    @pytest.mark.parametrize("case", AUTH_FAILURES)
    def test_refused_and_nothing_deleted(self, products: Products, case: str) -> None:
        create(products, id="p")
        assert_refused(products, case, "DELETE", "/p", valid_scopes=READ_UNPUBLISHED, required=MANAGE)
        get(products, "p")

    def test_deletes_and_is_idempotent(self, products: Products) -> None:
        create(products, id="p", code="P")
        for _ in range(2):
            response = products.request("DELETE", "/p")
            assert response.status_code == 204
            assert response.content == b""
        assert products.request("GET", "/p").json() == not_found("p")
        # The code is free again.
        create(products, id="q", code="P")
