"""The fast lane answers exactly what the routed handler answers, and hands over everything it does not answer."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest
from litestar.testing import TestClient
from tests.categories.assignment_helpers import Categories
from tests.factories import Api, Tokens, assign_customer, assign_item
from tests.segments.storefront_helpers import build_shop

from segment_service.core.fastlane import FastLane, FastRoute

ITEMS = "/segments/items"


@pytest.fixture
def shop(api: Api, database_url: str) -> Api:
    build_shop(api, database_url)
    return api


def both(
    api: Api,
    app: FastLane,
    path: str,
    *,
    token: str | None,
    params: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[Any, bool]:
    """Send the request through the served app and past the fast lane; assert the same answer; the answer, and
    whether the fast lane gave it."""
    all_headers = {**({"Authorization": f"Bearer {token}"} if token else {}), **(headers or {})}
    before = app.answered
    fast = api.client.get(api.url(path), params=params, headers=all_headers)
    answered = app.answered > before
    app.enabled = False
    try:
        slow = api.client.get(api.url(path), params=params, headers=all_headers)
    finally:
        app.enabled = True
    assert (fast.status_code, fast.json()) == (slow.status_code, slow.json())
    assert fast.headers.get("x-total-count") == slow.headers.get("x-total-count")
    assert fast.headers["content-type"] == slow.headers["content-type"]
    return fast.json(), answered


@pytest.mark.parametrize(
    ("params", "headers"),
    [
        ({}, {}),
        ({"q": "type:PRODUCT", "onlyActive": "true"}, {"Accept-Language": "en", "X-Total-Count": "true"}),
        ({"siteCode": "main", "pageSize": "2", "pageNumber": "2", "sort": "item.id:DESC"}, {"X-Total-Count": "true"}),
        ({"fields": "item.id,type", "legalEntityId": "acme"}, {"Accept-Language": "de-CH, en;q=0.5"}),
        ({"onlyActive": "false"}, {}),
    ],
)
def test_customer_reads_are_answered_by_the_fast_lane_as_by_the_route(
    shop: Api,
    app: FastLane,
    params: dict[str, str],
    headers: dict[str, str],
) -> None:
    for token in (shop.tokens.customer(shop.tenant, "c1"), shop.tokens.customer(shop.tenant, "c1", "acme"), shop.token):
        body, answered = both(shop, app, ITEMS, token=token, params=params, headers=headers)
        assert answered
        assert isinstance(body, list)


@pytest.mark.parametrize(
    ("token_kind", "params", "headers"),
    [
        ("none", {}, {}),
        ("garbage", {}, {}),
        ("other tenant", {}, {}),
        ("no scope", {}, {}),
        ("customer", {"legalEntityId": "initech"}, {}),  # 403: not a contact
        ("customer", {"q": "nope:1"}, {}),
        ("customer", {"pageSize": "0"}, {}),
        ("customer", {"onlyActive": "yes"}, {}),  # not a boolean the lane reads: the route decides
        ("customer", {"onlyActive": "1"}, {}),
        ("customer", {"unknown": "1"}, {}),  # a parameter the lane does not know
        ("customer", {"q": ""}, {}),  # blank values
        ("customer", {"q": "type:PRODUCT item.id:p1"}, {}),  # `+` in the query string
    ],
)
def test_everything_else_goes_to_the_route(
    shop: Api,
    app: FastLane,
    tokens: Tokens,
    token_kind: str,
    params: dict[str, str],
    headers: dict[str, str],
) -> None:
    token = {
        "none": None,
        "garbage": "garbage",
        "other tenant": tokens.customer("o" + shop.tenant[1:], "c1"),
        "no scope": tokens.service(shop.tenant, ("customersegment.segment_manage",)),
        "customer": tokens.customer(shop.tenant, "c1"),
    }[token_kind]
    _, answered = both(shop, app, ITEMS, token=token, params=params, headers=headers)
    assert not answered


def test_repeated_parameters_and_headers_go_to_the_route(shop: Api, app: FastLane) -> None:
    token = shop.tokens.customer(shop.tenant, "c1")
    before = app.answered
    response = shop.client.get(
        shop.url(ITEMS) + "?siteCode=main&siteCode=other", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code in (200, 400)
    assert app.answered == before


def test_a_url_over_the_limit_is_the_routes_414(shop: Api, app: FastLane) -> None:
    response = shop.client.get(
        shop.url(ITEMS) + "?q=" + "x" * 11_000,
        headers={"Authorization": f"Bearer {shop.tokens.customer(shop.tenant, 'c1')}"},
    )
    assert response.status_code == 414


def test_routes_match_whole_paths_only() -> None:
    route = FastRoute("GET", "/a/{tenant}/items", (), frozenset(), handler=_never)
    assert route.match(["a", "t1", "items"]) == {"tenant": "t1"}
    assert route.match(["a", "", "items"]) is None
    assert route.match(["b", "t1", "items"]) is None


async def _never(_: Any) -> Any:
    raise AssertionError("not called")


@pytest.fixture
def catalog(api: Api, database_url: str) -> Api:
    """tools > (hammers (in segment gold) > sledges, saws (unpublished)); c1 a member of gold; p1-p3 assigned."""
    categories = Categories(api.client, api.tokens, api.tenant, database_url)
    for category, parent, published in [
        ("tools", None, True),
        ("hammers", "tools", True),
        ("sledges", "hammers", True),
        ("saws", "tools", False),
    ]:
        categories.add_category(
            category, parent, published=published, code=category, name={"en": category, "de": f"{category}-de"}
        )
    for product, category in [("p1", "hammers"), ("p2", "sledges"), ("p3", "tools")]:
        categories.add_product(product, {"en": product, "fr": f"{product}-fr"})
        categories.assign(category, product)
    api.create_segment(id="gold", validity=None)
    assign_item(database_url, api.tenant, "gold", "hammers", "CATEGORY")
    assign_customer(database_url, api.tenant, "gold", "c1")
    return api


@pytest.mark.parametrize(
    ("params", "headers"), [({}, {}), ({"siteCode": "main"}, {"Accept-Language": "de"}), ({"siteCode": "other"}, {})]
)
def test_category_trees_both_ways(catalog: Api, app: FastLane, params: dict[str, str], headers: dict[str, str]) -> None:
    token = catalog.tokens.customer(catalog.tenant, "c1")
    body, answered = both(catalog, app, "/segments/items/category-trees", token=token, params=params, headers=headers)
    assert answered
    assert isinstance(body, list)


@pytest.mark.parametrize(
    ("category", "params", "headers", "fast"),
    [
        ("hammers", {}, {}, True),
        (
            "hammers",
            {"assignmentType": "PRODUCT", "segmentsIds": "gold", "pageNumber": "1", "pageSize": "60"},
            {"Accept-Language": "en", "X-Total-Count": "true", "X-Version": "v2"},
            True,
        ),
        ("tools", {"withSubcategories": "true", "segmentsIds": "gold,other", "sort": "ref.id:DESC"}, {}, True),
        (
            "tools",
            {"withSubcategories": "true", "fields": "ref.id", "ref.localizedName": "p"},
            {"Accept-Language": "fr"},
            True,
        ),
        ("tools", {"showUnpublished": "true"}, {}, False),  # 403 without category_read_unpublished
        ("saws", {}, {}, False),  # unpublished: 404
        ("nope", {}, {}, False),
        ("tools", {"assignmentType": "CATEGORY"}, {}, False),
        ("tools", {"segmentsIds": ""}, {}, False),  # blank: the route's answer (matches nothing)
        ("tools", {"withSubcategories": "yes"}, {}, False),
    ],
)
def test_category_assignments_both_ways(
    catalog: Api, app: FastLane, category: str, params: dict[str, str], headers: dict[str, str], fast: bool
) -> None:
    api = Api(catalog.client, catalog.tokens, catalog.tenant)
    api.url = lambda path: f"/category/{catalog.tenant}{path}"  # type: ignore[method-assign]
    token = catalog.tokens.customer(catalog.tenant, "c1")
    _, answered = both(api, app, f"/categories/{category}/assignments", token=token, params=params, headers=headers)
    assert answered is fast


def test_a_statement_timeout_is_answered_with_the_routes_400(app: FastLane, tokens: Tokens) -> None:
    """The lane answers a timeout itself (running the statement again through the route would time out again)."""

    async def times_out(_: Any) -> Any:
        raise asyncpg.QueryCanceledError("canceling statement due to statement timeout")

    lane = FastLane(
        app.app,
        [FastRoute("GET", "/customer-segment/{tenant}/segments/items", (), frozenset(), times_out)],
        max_url_bytes=10_000,
    )
    # No lifespan of its own: the app's state (tokens) is the served client's; a token without a session that is not
    # a service token (whose API client is looked up) needs no database.
    client = TestClient(lane, raise_server_exceptions=False)
    response = client.get(
        "/customer-segment/t1/segments/items", headers={"Authorization": f"Bearer {tokens.anonymous('t1')}"}
    )
    assert response.status_code == 400
    assert response.json() == {
        "code": 400,
        "status": "Bad Request",
        "message": "The request was stopped after the statement timeout; narrow the query down (for example a "
        "simpler regular expression).",
    }
    assert lane.answered == 1
