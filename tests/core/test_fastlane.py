"""The fast lane answers exactly what the routed handler answers, and hands over everything it does not answer."""

from __future__ import annotations

from typing import Any

import pytest
from tests.factories import Api, Tokens
from tests.segments.storefront_helpers import build_shop

from segment_service.core.fastlane import FastLane, FastRoute

ITEMS = "/segments/items"


@pytest.fixture
def shop(api: Api, database_url: str) -> Api:
    build_shop(api, database_url)
    return api


def both(api: Api, app: FastLane, path: str, *, token: str | None,
         params: dict[str, str] | None = None, headers: dict[str, str] | None = None) -> tuple[Any, bool]:
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


@pytest.mark.parametrize(("params", "headers"), [
    ({}, {}),
    ({"q": "type:PRODUCT", "onlyActive": "true"}, {"Accept-Language": "en", "X-Total-Count": "true"}),
    ({"siteCode": "main", "pageSize": "2", "pageNumber": "2", "sort": "item.id:DESC"}, {"X-Total-Count": "true"}),
    ({"fields": "item.id,type", "legalEntityId": "acme"}, {"Accept-Language": "de-CH, en;q=0.5"}),
    ({"onlyActive": "false"}, {}),
])
def test_customer_reads_are_answered_by_the_fast_lane_as_by_the_route(
    shop: Api, app: FastLane, params: dict[str, str],
    headers: dict[str, str],
) -> None:
    for token in (shop.tokens.customer(shop.tenant, "c1"), shop.tokens.customer(shop.tenant, "c1", "acme"),
                  shop.token):
        body, answered = both(shop, app, ITEMS, token=token, params=params, headers=headers)
        assert answered
        assert isinstance(body, list)


@pytest.mark.parametrize(("token_kind", "params", "headers"), [
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
])
def test_everything_else_goes_to_the_route(
    shop: Api, app: FastLane, tokens: Tokens, token_kind: str,
    params: dict[str, str], headers: dict[str, str],
) -> None:
    token = {
        "none": None, "garbage": "garbage", "other tenant": tokens.customer("o" + shop.tenant[1:], "c1"),
        "no scope": tokens.service(shop.tenant, ("customersegment.segment_manage",)),
        "customer": tokens.customer(shop.tenant, "c1"),
    }[token_kind]
    _, answered = both(shop, app, ITEMS, token=token, params=params, headers=headers)
    assert not answered


def test_repeated_parameters_and_headers_go_to_the_route(shop: Api, app: FastLane) -> None:
    token = shop.tokens.customer(shop.tenant, "c1")
    before = app.answered
    response = shop.client.get(shop.url(ITEMS) + "?siteCode=main&siteCode=other",
                               headers={"Authorization": f"Bearer {token}"})
    assert response.status_code in (200, 400)
    assert app.answered == before


def test_a_url_over_the_limit_is_the_routes_414(shop: Api, app: FastLane) -> None:
    response = shop.client.get(shop.url(ITEMS) + "?q=" + "x" * 11_000,
                               headers={"Authorization": f"Bearer {shop.tokens.customer(shop.tenant, 'c1')}"})
    assert response.status_code == 414


def test_routes_match_whole_paths_only() -> None:
    route = FastRoute("GET", "/a/{tenant}/items", (), frozenset(), handler=_never)
    assert route.match(["a", "t1", "items"]) == {"tenant": "t1"}
    assert route.match(["a", "", "items"]) is None
    assert route.match(["b", "t1", "items"]) is None


async def _never(_: Any) -> Any:
    raise AssertionError("not called")
