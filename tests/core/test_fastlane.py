"""The fast lane answers exactly what the routed handler answers, and hands over everything it does not answer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import pytest
from litestar.testing import TestClient
from tests.categories.assignment_helpers import Categories
from tests.factories import Api, Tokens, assign_customer, assign_item
from tests.segments.storefront_helpers import build_shop

from segment_service.core.auth import Caller
from segment_service.core.fastlane import FastLane, FastResponse, FastRoute, bind
from segment_service.segments.routes import FAST_ROUTES as SEGMENT_FAST_ROUTES
from segment_service.segments.storefront_routes import FAST_ROUTES as STOREFRONT_FAST_ROUTES

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


def token_of(kind: str, shop: Api, tokens: Tokens) -> str | None:
    return {
        "none": None,
        "garbage": "garbage",
        "other tenant": tokens.customer("o" + shop.tenant[1:], "c1"),
        "no scope": tokens.service(shop.tenant, ("customersegment.segment_manage",)),
        "customer": tokens.customer(shop.tenant, "c1"),
    }[kind]


@pytest.mark.parametrize(
    ("token_kind", "params", "headers"),
    [
        ("none", {}, {}),
        ("garbage", {}, {}),
        ("other tenant", {}, {}),
        ("no scope", {}, {}),
        ("customer", {"legalEntityId": "initech"}, {}),  # 403: not a contact
        ("customer", {"q": "nope:1"}, {}),
    ],
)
def test_errors_after_parsing_are_answered_by_the_lane_as_by_the_route(
    shop: Api,
    app: FastLane,
    tokens: Tokens,
    token_kind: str,
    params: dict[str, str],
    headers: dict[str, str],
) -> None:
    """The guards and the body run once: their errors are answered by the app's exception handler, in the lane."""
    body, answered = both(shop, app, ITEMS, token=token_of(token_kind, shop, tokens), params=params, headers=headers)
    assert answered
    assert body["code"] in (400, 401, 403) if "code" in body else body["fault"]


@pytest.mark.parametrize(
    "params",
    [
        {"pageSize": "0"},
        {"onlyActive": "yes"},  # not a boolean the lane reads: the route decides
        {"onlyActive": "1"},
        {"unknown": "1"},  # a parameter the lane does not know
        {"q": ""},  # blank values
        {"q": "type:PRODUCT item.id:p1"},  # `+` in the query string
    ],
)
def test_what_the_lane_does_not_parse_goes_to_the_route(
    shop: Api, app: FastLane, tokens: Tokens, params: dict[str, str]
) -> None:
    _, answered = both(shop, app, ITEMS, token=token_of("customer", shop, tokens), params=params)
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


def test_routes_match_whole_paths_only(app: FastLane) -> None:
    route = bind(app.app, STOREFRONT_FAST_ROUTES[0])
    assert route.match(["customer-segment", "t1", "segments", "items"]) == {"tenant": "t1"}
    assert route.match(["customer-segment", "", "segments", "items"]) is None
    assert route.match(["customer-segment", "t1", "segments", "other"]) is None


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
        # Errors of the guards and the body: answered in the lane, as the route answers them.
        ("tools", {"showUnpublished": "true"}, {}, True),  # 403 without category_read_unpublished
        ("saws", {}, {}, True),  # unpublished: 404
        ("nope", {}, {}, True),
        ("tools", {"assignmentType": "CATEGORY"}, {}, True),
        # What the lane does not parse: the route's answer.
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


def lane_with_body(app: FastLane, body: Callable[[Caller], Awaitable[FastResponse]]) -> FastLane:
    """A lane of its own for `GET /segments/items` whose body is `body`. No lifespan of its own: the app's state
    (tokens) is the served client's; a customer token without a session (a service token's API client is
    looked up) needs no database."""
    routed = STOREFRONT_FAST_ROUTES[0]
    return FastLane(app.app, [FastRoute(routed.twin, routed.query, routed.headers, lambda _: body)])


def test_a_statement_timeout_is_answered_with_the_routes_400(app: FastLane, tokens: Tokens) -> None:
    runs = 0

    async def times_out(_: Caller) -> FastResponse:
        nonlocal runs
        runs += 1
        raise asyncpg.QueryCanceledError("canceling statement due to statement timeout")

    lane = lane_with_body(app, times_out)
    client = TestClient(lane, raise_server_exceptions=False)
    response = client.get(
        "/customer-segment/t1/segments/items", headers={"Authorization": f"Bearer {tokens.customer('t1', 'c1')}"}
    )
    assert response.status_code == 400
    assert response.json() == {
        "code": 400,
        "status": "Bad Request",
        "message": "The request was stopped after the statement timeout; narrow the query down (for example a "
        "simpler regular expression).",
    }
    assert (lane.answered, runs) == (1, 1)


def test_an_unexpected_error_is_the_routes_500_and_runs_once(app: FastLane, tokens: Tokens) -> None:
    runs = 0

    async def fails(_: Caller) -> FastResponse:
        nonlocal runs
        runs += 1
        raise RuntimeError("a bug")

    lane = lane_with_body(app, fails)
    client = TestClient(lane, raise_server_exceptions=False)
    response = client.get(
        "/customer-segment/t1/segments/items", headers={"Authorization": f"Bearer {tokens.customer('t1', 'c1')}"}
    )
    assert (response.status_code, response.json()["code"], runs) == (500, 500, 1)


@pytest.mark.parametrize(
    ("token_kind", "params", "headers"),
    [
        ("service", {}, {}),
        ("service", {"fields": "id,name"}, {"Accept-Language": "de"}),
        ("customer", {}, {}),  # a member of gold: its own active segment
        ("customer", {"legalEntityId": "initech"}, {}),  # 403: not a contact
        ("none", {}, {}),
        ("other tenant", {}, {}),
        ("no scope", {}, {}),
    ],
)
def test_a_segment_is_answered_by_the_fast_lane_as_by_the_route(
    shop: Api, app: FastLane, tokens: Tokens, token_kind: str, params: dict[str, str], headers: dict[str, str]
) -> None:
    token = shop.token if token_kind == "service" else token_of(token_kind, shop, tokens)
    for segment_id in ("gold", "inactive", "nope"):
        _, answered = both(shop, app, f"/segments/{segment_id}", token=token, params=params, headers=headers)
        assert answered


def test_a_literal_route_beside_a_parameter_keeps_its_paths(app: FastLane) -> None:
    """`GET /segments/items` is the storefront's, never the segment `items`, whichever fast route comes first."""
    segment = bind(app.app, SEGMENT_FAST_ROUTES[0])
    assert segment.match(["customer-segment", "t1", "segments", "gold"]) == {"tenant": "t1", "segmentId": "gold"}
    for literal in ("items", "search", "match", "bulk"):
        assert segment.match(["customer-segment", "t1", "segments", literal]) is None
    lane = FastLane(app.app, [*SEGMENT_FAST_ROUTES, *STOREFRONT_FAST_ROUTES])
    scope: Any = {"type": "http", "method": "GET", "path": "/customer-segment/t1/segments/items", "headers": []}
    parsed = lane._parse(scope)
    assert parsed is not None
    assert parsed[0].path == "/customer-segment/{tenant}/segments/items"
