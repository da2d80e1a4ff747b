"""Fields the specs' response schemas require are always sent: `media` on every category read (category.yml's
`Category`), `code` on every node of a segments' category tree (customer-segment.yml's `CategoryTreeResponse`)."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from tests.categories.category_helpers import Categories
from tests.factories import Api, Tokens, assign_customer


@pytest.fixture
def categories(client: TestClient[Litestar], tokens: Tokens, tenant: str) -> Categories:
    """tools (code TOOLS) > plain (no code), and product p1 assigned to plain."""
    api = Categories(client, tokens, tenant)
    api.create(id="tools", code="TOOLS")
    api.create(id="plain", parentId="tools")
    product = client.post(
        f"/product/{tenant}/products",
        headers={"Authorization": f"Bearer {api.token}"},
        json={"id": "p1", "code": "p1", "name": {"en": "P1"}, "published": True},
    )
    assert product.status_code == 201, product.text
    assigned = api.request("POST", "/categories/plain/assignments", json={"ref": {"id": "p1", "type": "PRODUCT"}})
    assert assigned.status_code == 201, assigned.text
    return api


def _documents(categories: Categories, method: str, path: str, **kwargs: Any) -> list[dict[str, Any]]:
    response = categories.request(method, path, **kwargs)
    assert response.status_code == 200, response.text
    body = response.json()
    return body if isinstance(body, list) else [body]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/categories/plain", None),
        ("GET", "/categories", None),
        ("POST", "/categories/search", {"q": "id:plain"}),
        ("GET", "/categories/plain/parents", None),
        ("GET", "/categories/tools/subcategories", None),
        ("GET", "/assignments/references/p1", None),
    ],
)
def test_every_category_read_has_media(
    categories: Categories, method: str, path: str, body: dict[str, Any] | None
) -> None:
    documents = _documents(categories, method, path, json=body)
    assert documents
    assert all(document["media"] == [] for document in documents), documents


def test_a_fields_projection_may_leave_media_out(categories: Categories) -> None:
    assert _documents(categories, "GET", "/categories/plain", params={"fields": "code"}) == [{"id": "plain"}]


def test_category_trees_have_no_media(categories: Categories) -> None:
    """The `CategoryTree` schema has no media: trees stay as they are."""
    [tree] = _documents(categories, "GET", "/category-trees/tools")
    assert "media" not in tree
    assert "media" not in tree["subcategories"][0]


def test_segment_category_tree_nodes_always_have_a_code(
    categories: Categories, client: TestClient[Litestar], tokens: Tokens, tenant: str, database_url: str
) -> None:
    """A category created without a code shows its id as `code` in a segments' tree (docs/behaviour.md), while its
    own reads still leave `code` out."""
    segments = Api(client, tokens, tenant)
    segments.create_segment(id="gold", validity=None)
    assigned = segments.request("PUT", "/segments/gold/items/CATEGORY/plain", json={})
    assert assigned.status_code == 201, assigned.text
    assign_customer(database_url, tenant, "gold", "c1")
    response = client.get(
        f"/customer-segment/{tenant}/segments/items/category-trees",
        headers={"Authorization": f"Bearer {tokens.customer(tenant, 'c1')}"},
    )
    assert response.status_code == 200, response.text
    [root] = response.json()
    assert (root["id"], root["code"]) == ("tools", "TOOLS")
    [plain] = root["subcategories"]
    assert (plain["id"], plain["code"], plain["isSegmentAssigned"]) == ("plain", "plain", True)
    assert "code" not in categories.get_json("/categories/plain")
