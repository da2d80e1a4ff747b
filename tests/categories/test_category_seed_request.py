"""The storefront's category request with every parameter the spec names, through the real API end to end."""

from __future__ import annotations

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from tests.categories.category_helpers import Categories
from tests.factories import Tokens


@pytest.fixture
def api(client: TestClient[Litestar], tokens: Tokens, tenant: str) -> Categories:
    return Categories(client, tokens, tenant)


def test_every_parameter_but_segments_ids_at_once(api: Categories) -> None:
    api.create(id="food", localizedName={"en": "Food", "de": "Essen"})
    api.create(id="sweets", parentId="food", localizedName={"en": "Sweets"})
    headers = {"Authorization": f"Bearer {api.token}"}
    for product_id, name, published in (("twix", "Twix", True), ("mars", "Mars", True), ("hidden", "Twix old", False)):
        body = {"id": product_id, "code": product_id, "name": {"en": name}, "published": published}
        assert api.client.post(f"/product/{api.tenant}/products", json=body, headers=headers).status_code == 201
    for category_id, product_id in (("sweets", "twix"), ("sweets", "mars"), ("food", "hidden")):
        response = api.request(
            "POST", f"/categories/{category_id}/assignments", json={"ref": {"id": product_id, "type": "PRODUCT"}}
        )
        assert response.status_code == 201, response.text
    params = {
        "assignmentType": "PRODUCT",
        "ref.localizedName": "Twix",
        "showUnpublished": "false",
        "withSubcategories": "true",
        "hideUnpublishedProducts": "true",
        "pageNumber": "1",
        "pageSize": "10",
        "sort": "ref.id:ASC",
    }
    customer = api.tokens.customer(api.tenant, "c1")
    response = api.request(
        "GET",
        "/categories/food/assignments",
        token=customer,
        params=params,
        headers={"Accept-Language": "en", "X-Total-Count": "true"},
    )
    assert response.status_code == 200, response.text
    assert [(a["categoryId"], a["ref"]["id"], a["ref"]["localizedName"]) for a in response.json()] == [
        ("sweets", "twix", {"en": "Twix"})
    ]
    assert response.headers["X-Total-Count"] == "1"
    by_id = api.request(
        "GET", "/categories/food/assignments", token=customer, params={"withSubcategories": "true", "ref.id": "mars"}
    )
    assert [a["ref"]["id"] for a in by_id.json()] == ["mars"]


def test_an_unpublished_category_with_published_children_is_404_without_show_unpublished(api: Categories) -> None:
    api.create(id="hidden", published=False, localizedName={"en": "Hidden"})
    api.create(id="child", parentId="hidden", localizedName={"en": "Child"})
    body = {"id": "p1", "code": "p1", "name": {"en": "P1"}, "published": True}
    headers = {"Authorization": f"Bearer {api.token}"}
    assert api.client.post(f"/product/{api.tenant}/products", json=body, headers=headers).status_code == 201
    assert (
        api.request("POST", "/categories/child/assignments", json={"ref": {"id": "p1", "type": "PRODUCT"}}).status_code
        == 201
    )
    guest = api.tokens.anonymous(api.tenant)
    response = api.request("GET", "/categories/hidden/assignments", token=guest, params={"withSubcategories": "true"})
    assert response.status_code == 404
    shown = api.request(
        "GET", "/categories/hidden/assignments", params={"withSubcategories": "true", "showUnpublished": "true"}
    )
    assert [a["ref"]["id"] for a in shown.json()] == ["p1"]
