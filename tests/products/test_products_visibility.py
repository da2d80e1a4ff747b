"""Who sees which products: reads need a token of the tenant but no scope, and only
product.product_read_unpublished shows unpublished products (product.yml, "Additional scope information")."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.testing import TestClient
from tests.factories import Tokens
from tests.products.helpers import Products

MANAGE = ("product.product_manage",)
READ_UNPUBLISHED = ("product.product_read_unpublished",)
EVERYTHING = ["draft", "pub"]
PUBLISHED = ["pub"]


@pytest.fixture
def products(client: TestClient[Litestar], tokens: Tokens, tenant: str) -> Products:
    """A published product "pub" and an unpublished one, "draft"."""
    api = Products(client, tokens, tenant)
    for body in (
        {"id": "pub", "code": "PUB", "name": "Published", "published": True},
        {"id": "draft", "code": "DRAFT", "name": "Draft"},
    ):
        response = api.request("POST", "", json=body)
        assert response.status_code == 201, response.text
    return api


def token_of(products: Products, who: str) -> str:
    tokens, tenant = products.tokens, products.tenant
    return {
        "every scope": lambda: tokens.service(tenant),
        "read_unpublished": lambda: tokens.service(tenant, READ_UNPUBLISHED),
        "manage only": lambda: tokens.service(tenant, MANAGE),
        "no scope": lambda: tokens.service(tenant, ()),
        "anonymous": lambda: tokens.anonymous(tenant),
        "customer": lambda: tokens.customer(tenant, "c1"),
    }[who]()


def ids(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [doc["id"] for doc in response.json()]


SEES: list[tuple[str, list[str]]] = [
    ("every scope", EVERYTHING),
    ("read_unpublished", EVERYTHING),
    ("manage only", PUBLISHED),
    ("no scope", PUBLISHED),
    ("anonymous", PUBLISHED),
    ("customer", PUBLISHED),
]


@pytest.mark.parametrize(("who", "visible"), SEES)
def test_lists_and_searches(products: Products, who: str, visible: list[str]) -> None:
    token = token_of(products, who)
    assert ids(products.request("GET", "", token=token)) == visible
    assert ids(products.request("POST", "/search", token=token)) == visible
    # The storefront's fetch of its segments' products by id.
    assert ids(products.request("POST", "/search", token=token, json={"q": "id:(pub,draft)"})) == visible
    response = products.request(
        "GET", "", token=token, params={"q": "published:false"}, headers={"X-Total-Count": "true"}
    )
    assert ids(response) == [p for p in visible if p == "draft"]
    assert response.headers["X-Total-Count"] == str(len(visible) - 1)


@pytest.mark.parametrize(("who", "visible"), SEES)
def test_retrieve(products: Products, who: str, visible: list[str]) -> None:
    token = token_of(products, who)
    assert products.request("GET", "/pub", token=token).json()["id"] == "pub"
    response = products.request("GET", "/draft", token=token)
    if "draft" in visible:
        assert response.status_code == 200
        return
    # Unpublished products do not exist for such a caller: the same 404 as an unknown id.
    assert response.status_code == 404
    expected: dict[str, Any] = {
        "code": 404,
        "status": "Not Found",
        "message": "The product with id draft has not been found.",
    }
    assert response.json() == expected


def test_no_product_of_another_tenant_is_listed(products: Products, tokens: Tokens) -> None:
    other = Products(products.client, tokens, "o" + products.tenant[1:])
    response = other.request("POST", "", json={"id": "theirs", "code": "PUB", "name": "x", "published": True})
    assert response.status_code == 201, response.text
    assert ids(products.request("GET", "", params={"q": "id:(pub,theirs)"})) == ["pub"]
    assert ids(other.request("GET", "")) == ["theirs"]
