"""Products, categories and item assignments for the segment item assignment tests."""

from __future__ import annotations

from typing import Any

import httpx
from tests.factories import Api, run_sql, segment_error

MANAGE = ("customersegment.segment_manage",)
READ = ("customersegment.segment_read", "customersegment.segment_read_own")
ALWAYS = {"from": "2020-01-01T00:00:00.000Z", "to": "2100-01-01T00:00:00.000Z"}


def add_product(api: Api, product_id: str, name: dict[str, str] | None = None) -> str:
    """A product, through the Product API (code `code-<id>`)."""
    body = {
        "id": product_id,
        "code": f"code-{product_id}",
        "name": name or {"en": f"Product {product_id}"},
        "published": True,
    }
    response = api.client.post(
        f"/product/{api.tenant}/products", json=body, headers={"Authorization": f"Bearer {api.token}"}
    )
    assert response.status_code == 201, response.text
    return product_id


def add_products(database_url: str, api: Api, ids: list[str]) -> None:
    """Many products at once, straight in the table (the Product API makes one per request)."""
    run_sql(
        database_url,
        "INSERT INTO products (tenant, id, code, name, created_at, modified_at)"
        " SELECT $1, i, 'code-' || i, jsonb_build_object('en', 'Product ' || i), now(), now()"
        " FROM unnest($2::text[]) AS i",
        api.tenant,
        ids,
    )


def add_category(
    database_url: str, api: Api, category_id: str, parent_id: str | None = None, name: dict[str, str] | None = None
) -> str:
    """A published category (code `cat-<id>`), through the Category API."""
    body: dict[str, Any] = {
        "id": category_id,
        "code": f"cat-{category_id}",
        "localizedName": name or {"en": f"Category {category_id}"},
        "published": True,
    }
    if parent_id is not None:
        body["parentId"] = parent_id
    response = api.client.post(
        f"/category/{api.tenant}/categories", json=body, headers={"Authorization": f"Bearer {api.token}"}
    )
    assert response.status_code == 201, response.text
    return category_id


def put_item(
    api: Api, segment_id: str, item_type: str, item_id: str, body: Any = None, **kwargs: Any
) -> httpx.Response:
    return api.request(
        "PUT", f"/segments/{segment_id}/items/{item_type}/{item_id}", json={} if body is None else body, **kwargs
    )


def get_item(api: Api, segment_id: str, item_type: str, item_id: str, **kwargs: Any) -> dict[str, Any]:
    response = api.request("GET", f"/segments/{segment_id}/items/{item_type}/{item_id}", **kwargs)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def listed(api: Api, segment_id: str, **params: str) -> list[str]:
    response = api.request("GET", f"/segments/{segment_id}/items", params=params)
    assert response.status_code == 200, response.text
    return [f"{d['type']}:{d['item']['id']}" for d in response.json()]


def segment_not_found(segment_id: str) -> dict[str, Any]:
    return segment_error(404, f"The resource with id {segment_id} has not been found.", resource_id=segment_id)


def missing_item(kind: str, item_id: str) -> dict[str, Any]:
    return segment_error(
        400,
        f"The {kind} {item_id} does not exist in this tenant.",
        field="id",
        type="invalid_reference",
        resource_id=item_id,
    )


def bad_type(raw: str) -> dict[str, Any]:
    return segment_error(
        400, f"Invalid type '{raw}': expected PRODUCT or CATEGORY.", field="type", type="invalid_value"
    )
