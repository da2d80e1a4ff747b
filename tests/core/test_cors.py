"""CORS for storefronts in browsers (SEGMENT_SERVICE_CORS_ORIGINS): off by default; when on, preflights work on
every route and every answer carries the headers, the fast lane's answers as the framework's."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator

import httpx
import pytest
from litestar.routes import HTTPRoute
from litestar.testing import TestClient
from tests.categories.assignment_helpers import Categories
from tests.factories import Api, Tokens, assign_customer, assign_item

from segment_service.app import create_served_app
from segment_service.core.fastlane import FastLane
from segment_service.settings import Settings

SHOP = "https://shop.example.com"
EVERY_METHOD = "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT"


@pytest.fixture(scope="module")
def cors_app(settings: Settings) -> FastLane:
    return create_served_app(dataclasses.replace(settings, cors_origins=(SHOP, "https://*.shops.example.com")))


@pytest.fixture(scope="module")
def cors_client(cors_app: FastLane) -> Iterator[TestClient[FastLane]]:
    with TestClient(cors_app, raise_server_exceptions=False) as client:
        yield client


def cors_headers(response: httpx.Response) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k.startswith("access-control-") or k == "vary"}


class TestSetting:
    def test_comma_separated_origins(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("SEGMENT_SERVICE_CORS_ORIGINS", f" {SHOP}, http://localhost:3000 ,,")
        assert Settings.from_env().cors_origins == (SHOP, "http://localhost:3000")

    def test_empty_is_off(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("SEGMENT_SERVICE_CORS_ORIGINS", "")
        assert Settings.from_env().cors_origins == ()

    @pytest.mark.parametrize("value", [f"{SHOP}/", "shop.example.com", f"{SHOP}/path", "ftp://x"])
    def test_what_is_no_origin_is_refused_naming_the_variable(
        self, monkeypatch: pytest.MonkeyPatch, value: str
    ) -> None:
        monkeypatch.setenv("SEGMENT_SERVICE_CORS_ORIGINS", f"{SHOP},{value}")
        with pytest.raises(
            ValueError,
            match=re.escape(
                f"SEGMENT_SERVICE_CORS_ORIGINS has {value!r}, which is not an origin; allowed: scheme://host[:port] "
                "without a path or trailing slash (e.g. https://shop.example.com), or *"
            ),
        ):
            Settings.from_env()


def test_off_by_default(client: TestClient[FastLane], tenant: str) -> None:
    answer = client.get("/health", headers={"Origin": SHOP})
    assert (answer.status_code, cors_headers(answer)) == (200, {})
    preflight = client.options(
        f"/customer-segment/{tenant}/segments", headers={"Origin": SHOP, "Access-Control-Request-Method": "POST"}
    )
    assert (preflight.status_code, cors_headers(preflight), preflight.headers["allow"]) == (
        204,
        {},
        "GET, OPTIONS, POST",
    )


def test_preflight_on_every_route(cors_client: TestClient[FastLane], cors_app: FastLane) -> None:
    checked = 0
    for route in cors_app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        path = re.sub(r"\{[^}]+\}", "x1", route.path_format)
        for method in {m for handler in route.route_handlers for m in handler.http_methods} - {"OPTIONS"}:
            response = cors_client.options(
                path,
                headers={
                    "Origin": "https://eu.shops.example.com",
                    "Access-Control-Request-Method": method,
                    "Access-Control-Request-Headers": "authorization, content-type, x-total-count",
                },
            )
            assert (response.status_code, cors_headers(response)) == (
                204,
                {
                    "access-control-allow-origin": "https://eu.shops.example.com",
                    "access-control-allow-methods": EVERY_METHOD,
                    "access-control-allow-headers": "Accept, Accept-Language, Content-Language, Content-Type, "
                    "authorization, content-type, x-total-count",
                    "access-control-max-age": "600",
                    "vary": "Origin",
                },
            ), (method, path)
            checked += 1
    assert checked > 80


def test_preflight_from_another_origin_is_refused(cors_client: TestClient[FastLane], tenant: str) -> None:
    response = cors_client.options(
        f"/customer-segment/{tenant}/segments/items",
        headers={"Origin": "https://evil.example.com", "Access-Control-Request-Method": "GET"},
    )
    assert (response.status_code, response.text) == (400, "Disallowed CORS Origin")
    assert "access-control-allow-origin" not in response.headers


@pytest.fixture
def catalog(api: Api, database_url: str) -> Api:
    """tools > hammers (in segment gold, c1 a member), p1 in hammers."""
    categories = Categories(api.client, api.tokens, api.tenant, database_url)
    categories.add_category("tools", code="tools")
    categories.add_category("hammers", "tools", code="hammers")
    categories.add_product("p1")
    categories.assign("hammers", "p1")
    api.create_segment(id="gold", validity=None)
    assign_item(database_url, api.tenant, "gold", "hammers", "CATEGORY")
    assign_item(database_url, api.tenant, "gold", "p1", "PRODUCT")
    assign_customer(database_url, api.tenant, "gold", "c1")
    return api


FAST_PATHS = [
    "/customer-segment/{t}/segments/items",
    "/customer-segment/{t}/segments/items/category-trees",
    "/category/{t}/categories/hammers/assignments",
]


@pytest.mark.parametrize("path", FAST_PATHS)
@pytest.mark.parametrize("origin", [SHOP, "https://evil.example.com"])
def test_fast_lane_answers_carry_what_the_framework_adds(
    catalog: Api, cors_client: TestClient[FastLane], cors_app: FastLane, tokens: Tokens, path: str, origin: str
) -> None:
    url = path.replace("{t}", catalog.tenant)
    headers = {
        "Authorization": f"Bearer {tokens.customer(catalog.tenant, 'c1')}",
        "Origin": origin,
        "X-Total-Count": "true",
    }
    before = cors_app.answered
    fast = cors_client.get(url, headers=headers)
    assert cors_app.answered == before + 1  # the fast lane answered
    cors_app.enabled = False
    try:
        routed = cors_client.get(url, headers=headers)
    finally:
        cors_app.enabled = True
    assert (fast.status_code, fast.json()) == (routed.status_code, routed.json())
    assert fast.json()
    expected = {
        "access-control-allow-headers": "*",
        "access-control-allow-methods": "*",
        "access-control-expose-headers": "Retry-After, X-Request-ID, X-Total-Count",
    }
    if origin == SHOP:
        expected |= {"access-control-allow-origin": SHOP, "vary": "Origin"}
    assert cors_headers(fast) == cors_headers(routed) == expected


def test_errors_and_other_answers_carry_the_headers(cors_client: TestClient[FastLane], tenant: str) -> None:
    response = cors_client.get(f"/customer-segment/{tenant}/segments/items", headers={"Origin": SHOP})
    assert (response.status_code, response.headers["access-control-allow-origin"]) == (401, SHOP)
    response = cors_client.post("/oauth/token", headers={"Origin": SHOP}, data={"grant_type": "client_credentials"})
    assert (response.status_code, response.headers["access-control-allow-origin"]) == (401, SHOP)


def test_without_origin_nothing_is_added(catalog: Api, cors_client: TestClient[FastLane], tokens: Tokens) -> None:
    response = cors_client.get(
        f"/customer-segment/{catalog.tenant}/segments/items",
        headers={"Authorization": f"Bearer {tokens.customer(catalog.tenant, 'c1')}"},
    )
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers
    assert "vary" not in response.headers


def test_every_origin(settings: Settings, tenant: str) -> None:
    app = create_served_app(dataclasses.replace(settings, cors_origins=("*",)))
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/health", headers={"Origin": "https://anything.example.org"})
        assert (response.status_code, response.headers["access-control-allow-origin"]) == (200, "*")
        preflight = client.options(
            f"/customer-segment/{tenant}/segments/items",
            headers={"Origin": "https://anything.example.org", "Access-Control-Request-Method": "GET"},
        )
        assert (preflight.status_code, preflight.headers["access-control-allow-origin"]) == (204, "*")
