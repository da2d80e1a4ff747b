"""What the category-assignment tests share: a client of `/category/{tenant}`, categories written straight into the
tables (with their closure rows), products made through `POST /product/{tenant}/products`, and the Category
Service's error bodies (`{code, status, message, resourceId?, details: [text]}`)."""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

from litestar import Litestar
from litestar.testing import TestClient
from tests.factories import Api, ErrorFamily, Tokens, assert_refused, run_sql

MANAGE = ("category.category_manage",)
READ_UNPUBLISHED = ("category.category_read_unpublished",)
#: Real scopes that grant none of the category writes.
NOT_MANAGE = ("category.category_read_unpublished", "product.product_manage")


def error(status: int, message: str, *, field: str | None = None, resource_id: str | None = None) -> dict[str, Any]:
    """A whole Category Service error body: `details` repeats the message, prefixed by the field it names."""
    body: dict[str, Any] = {"code": status, "status": HTTPStatus(status).phrase, "message": message}
    if resource_id is not None:
        body["resourceId"] = resource_id
    body["details"] = [message if field is None else f"{field}: {message}"]
    return body


def category_not_found(category_id: str) -> dict[str, Any]:
    return error(404, f"Category with id '{category_id}' not found.", resource_id=category_id)


def product_missing(product_id: str) -> dict[str, Any]:
    return error(
        400,
        f"Product '{product_id}' does not exist in this tenant; create it first (POST /product/{{tenant}}/products).",
        field="ref.id",
    )


def forbidden(scope: str) -> dict[str, Any]:
    return error(403, f"Required scope(s): {scope}.")


class Categories(Api):
    """A client of one tenant's Category Service, with a service token holding every scope."""

    prefix = "/category"
    error_family = ErrorFamily.CODE_DETAILS

    def __init__(self, client: TestClient[Litestar], tokens: Tokens, tenant: str, database_url: str) -> None:
        super().__init__(client, tokens, tenant)
        self.database_url = database_url

    def add_category(
        self,
        category_id: str,
        parent_id: str | None = None,
        *,
        published: bool = True,
        position: int | None = None,
        name: dict[str, str] | None = None,
        code: str | None = None,
    ) -> str:
        """A category and its closure rows (itself at depth 0, then every ancestor), straight in the tables: the tests
        use ids the Category API reserves (`root`)."""
        run_sql(
            self.database_url,
            "INSERT INTO categories (tenant, id, parent_id, code, localized_name, published, position)"
            " VALUES ($1, $2, $3, $7, $4::jsonb, $5, $6)",
            self.tenant,
            category_id,
            parent_id,
            json.dumps(name or {"en": f"Category {category_id}"}),
            published,
            position,
            code,
        )
        run_sql(
            self.database_url,
            "INSERT INTO category_closure (tenant, ancestor_id, descendant_id, depth)"
            " SELECT $1, $2, $2, 0"
            " UNION ALL SELECT tenant, ancestor_id, $2, depth + 1 FROM category_closure"
            " WHERE tenant = $1 AND descendant_id = $3",
            self.tenant,
            category_id,
            parent_id,
        )
        return category_id

    def add_product(self, product_id: str, name: dict[str, str] | None = None, *, published: bool = True) -> str:
        """A product, through the Product API."""
        body = {
            "id": product_id,
            "code": f"code-{product_id}",
            "name": name or {"en": f"Product {product_id}"},
            "published": published,
        }
        response = self.client.post(
            f"/product/{self.tenant}/products", json=body, headers={"Authorization": f"Bearer {self.token}"}
        )
        assert response.status_code == 201, response.text
        return product_id

    def assign(self, category_id: str, product_id: str) -> str:
        """POST an assignment; its id."""
        response = self.request(
            "POST", f"/categories/{category_id}/assignments", json={"ref": {"id": product_id, "type": "PRODUCT"}}
        )
        assert response.status_code == 201, response.text
        assignment_id: str = response.json()["id"]
        return assignment_id

    def assignments(self, category_id: str, **params: Any) -> list[dict[str, Any]]:
        """GET a category's assignments (200 expected)."""
        response = self.request("GET", f"/categories/{category_id}/assignments", params=params)
        assert response.status_code == 200, response.text
        body: list[dict[str, Any]] = response.json()
        return body

    def refused(
        self,
        case: str,
        method: str,
        path: str,
        *,
        required: tuple[str, ...] = MANAGE,
        valid_scopes: tuple[str, ...] = NOT_MANAGE,
        **kwargs: Any,
    ) -> None:
        """Send a request that `case` makes fail, and assert its status and whole body."""
        assert_refused(self, case, method, path, required=required, valid_scopes=valid_scopes, **kwargs)


def assignment_rows(database_url: str, tenant: str) -> list[tuple[str, str]]:
    """Every (category, product) pair of the tenant, sorted."""
    rows = run_sql(
        database_url, "SELECT category_id, product_id FROM category_assignments WHERE tenant = $1 ORDER BY 1, 2", tenant
    )
    return [(r["category_id"], r["product_id"]) for r in rows]
