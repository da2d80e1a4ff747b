"""The OpenAPI security of every operation is derived from the scopes its route declares (core/openapi.py)."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar
from litestar.handlers import HTTPRouteHandler

from segment_service.app import create_app
from segment_service.settings import Settings


@pytest.fixture(scope="module")
def app() -> Litestar:
    # Only the routes are read: no database is opened.
    return create_app(Settings(database_url="postgresql://unused", signing_key="x" * 32))


def operations(app: Litestar) -> dict[str, dict[str, Any]]:
    document = app.openapi_schema.to_schema()
    return {op["operationId"]: op for item in document["paths"].values() for op in item.values()}


def test_every_operation_documents_the_scopes_of_its_route(app: Litestar) -> None:
    documented = operations(app)
    checked = 0
    for route in app.routes:
        for handler in getattr(route, "route_handlers", ()):
            if not isinstance(handler, HTTPRouteHandler) or handler.operation_id not in documented:
                continue
            scopes = handler.opt.get("declared_scopes", handler.opt.get("scopes"))
            security = documented[handler.operation_id].get("security")
            if scopes is None or handler.operation_id == "GET-category-tree-retrieve-category-assignments":
                assert security is None, handler.operation_id
            else:
                assert security == [{"OAuth2": list(scopes)}], handler.operation_id
            checked += 1
    assert checked == len(documented)


@pytest.mark.parametrize(
    ("operation_id", "security"),
    [
        ("POST-customer-segment-create-segment", [{"OAuth2": ["customersegment.segment_manage"]}]),
        (
            "GET-customer-segment-retrieve-segments",
            [{"OAuth2": ["customersegment.segment_read", "customersegment.segment_read_own"]}],
        ),
        # Guard and document differ: any token reads categories, category.yml declares read_unpublished.
        ("GET-category-tree-retrieve-category-tree", [{"OAuth2": ["category.category_read_unpublished"]}]),
        ("GET-coupon-retrieve-coupon", [{"OAuth2": ["coupon.coupon_redeem_on_behalf"]}]),
        # Any valid token: OAuth2 without a scope.
        ("GET-customer-validate-token", [{"OAuth2": []}]),
        ("GET-customer-retrieve-customer-profile", [{"OAuth2": ["customer.customer_read_own"]}]),
        # No token at all, and the one read whose spec declares `security: []`.
        ("POST-oauth-request-client-credentials", None),
        ("GET-category-tree-retrieve-category-assignments", None),
    ],
)
def test_security_as_the_specs_declare_it(app: Litestar, operation_id: str, security: Any) -> None:
    assert operations(app)[operation_id].get("security") == security
