"""`OPTIONS` on any path answers 204 with every method of the path in `Allow`, fast-lane paths included."""

from __future__ import annotations

import re

import pytest
from litestar import Litestar
from litestar.routes import HTTPRoute
from litestar.testing import TestClient

from segment_service.core.fastlane import FastLane


@pytest.mark.parametrize(
    ("path", "allow"),
    [
        ("/customer-segment/{t}/segments", "GET, OPTIONS, POST"),
        ("/customer-segment/{t}/segments/gold", "DELETE, GET, OPTIONS, PATCH, PUT"),
        ("/customer-segment/{t}/segments/bulk", "DELETE, OPTIONS, POST, PUT"),
        ("/customer-segment/{t}/segments/gold/customers/c1", "DELETE, GET, OPTIONS, PUT"),
        # Paths the fast lane answers GET requests of:
        ("/customer-segment/{t}/segments/items", "GET, OPTIONS"),
        ("/customer-segment/{t}/segments/items/category-trees", "GET, OPTIONS"),
        ("/category/{t}/categories/hammers/assignments", "DELETE, GET, OPTIONS, POST"),
        ("/category/{t}/categories/hammers", "DELETE, GET, OPTIONS, PATCH, PUT"),
        ("/coupon/{t}/coupons/GOLD", "DELETE, GET, OPTIONS, PATCH, PUT"),
        ("/health", "GET, OPTIONS"),
    ],
)
def test_allow_lists_every_method(client: TestClient[Litestar], tenant: str, path: str, allow: str) -> None:
    response = client.options(path.replace("{t}", tenant))
    assert (response.status_code, response.headers["allow"], response.content) == (204, allow, b"")


def _concrete(path_format: str) -> str:
    """A request path for a route's path template: every parameter filled in."""
    return re.sub(r"\{[^}]+\}", "x1", path_format)


def test_every_route_lists_the_methods_of_all_its_handlers(client: TestClient[Litestar], app: FastLane) -> None:
    checked = 0
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        expected = {"OPTIONS", *(m for handler in route.route_handlers for m in handler.http_methods)}
        response = client.options(_concrete(route.path_format))
        assert response.status_code == 204, route.path_format
        assert set(response.headers["allow"].split(", ")) == expected, route.path_format
        checked += 1
    assert checked > 40


def test_unknown_path_is_404(client: TestClient[Litestar], tenant: str) -> None:
    response = client.options(f"/customer-segment/{tenant}/nothing-here")
    assert (response.status_code, response.json()) == (
        404,
        {"code": 404, "status": "Not Found", "message": "The requested resource or path does not exist."},
    )
