"""The OpenAPI document describes the product operations with product.yml's operationIds, scopes and error bodies."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

PRODUCTS = "/product/{tenant}/products"
PRODUCT = "/product/{tenant}/products/{productId}"
#: The operations of product.yml this project implements, with their operationIds.
OPERATIONS = {
    ("post", PRODUCTS): "POST-product-create-product",
    ("get", PRODUCTS): "GET-product-list-products",
    ("post", f"{PRODUCTS}/search"): "POST-product-search-products",
    ("get", PRODUCT): "GET-product-retrieve-product",
    ("put", PRODUCT): "PUT-product-update-product",
    ("patch", PRODUCT): "PATCH-product-update-product",
    ("delete", PRODUCT): "DELETE-product-remove-product",
}


@pytest.fixture(scope="module")
def document(client: TestClient[Litestar]) -> dict[str, Any]:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def test_every_product_operation_has_its_operation_id(document: dict[str, Any]) -> None:
    found = {
        (method, path): operation["operationId"]
        for path, item in document["paths"].items()
        if path.startswith("/product/")
        for method, operation in item.items()
    }
    assert found == OPERATIONS


@pytest.mark.parametrize(
    ("method", "path", "scopes", "codes"),
    [
        ("post", PRODUCTS, ["product.product_manage", "product.product_publish"], {"201", "400", "401", "403", "409"}),
        ("get", PRODUCTS, ["product.product_read_unpublished"], {"200", "400", "401", "403"}),
        ("post", f"{PRODUCTS}/search", ["product.product_read_unpublished"], {"200", "400", "401", "403"}),
        ("get", PRODUCT, ["product.product_read_unpublished"], {"200", "400", "401", "403", "404"}),
        (
            "put",
            PRODUCT,
            ["product.product_manage", "product.product_publish", "product.product_unpublish"],
            {"201", "204", "400", "401", "403", "409"},
        ),
        (
            "patch",
            PRODUCT,
            ["product.product_manage", "product.product_publish", "product.product_unpublish"],
            {"204", "400", "401", "403", "404", "409"},
        ),
        ("delete", PRODUCT, ["product.product_manage"], {"204", "400", "401", "403"}),
    ],
)
def test_scopes_and_responses_as_product_yml_declares(
    document: dict[str, Any], method: str, path: str, scopes: list[str], codes: set[str]
) -> None:
    operation = document["paths"][path][method]
    assert operation["security"] == [{"OAuth2": scopes}]
    assert set(operation["responses"]) == codes
    for code, response in operation["responses"].items():
        if code.startswith("4") and code != "401":
            schema = response["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/ProductError"}, (method, path, code)


def test_shapes(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    assert set(schemas["ProductResponse"]["properties"]) == {
        "id",
        "code",
        "name",
        "description",
        "published",
        "mixins",
        "metadata",
    }
    assert set(schemas["ProductMetadataGet"]["properties"]) == {"version", "createdAt", "modifiedAt", "mixins"}
    assert set(schemas["ProductUpdate"]["required"]) == {"name", "code"}
    assert not schemas["ProductPartialUpdate"].get("required")
    assert set(schemas["ProductError"]["properties"]) == {"code", "status", "message", "details"}
    put = document["paths"][PRODUCT]["put"]
    assert "partial" in [parameter["name"] for parameter in put["parameters"]]
