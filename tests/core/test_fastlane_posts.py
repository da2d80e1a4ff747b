"""Read-only POSTs in the fast lane (`POST /segments/match`, `POST /coupons/{code}/validation`): the same answer as
the routed handler for every body, the body converted as the route converts it, and everything the lane does not
read or convert handed over to the route with the body intact."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from litestar.testing import TestClient
from tests.coupons.helpers import ORDER, CouponApi
from tests.factories import Api, Tokens, assign_item

from segment_service.app import create_served_app
from segment_service.core.fastlane import FastLane
from segment_service.settings import Settings

MATCH = "/segments/match"
GOOD_MATCH = {"siteCode": "main", "items": [{"id": "p1"}, {"id": "p2"}], "segmentIds": ["s1"]}


def both(
    client: Any, lane: FastLane, url: str, content: bytes | Iterator[bytes], headers: dict[str, str]
) -> tuple[httpx.Response, bool]:
    """POST the same bytes through the lane and past it; assert the same answer; the answer and whether the lane
    gave it."""
    chunks = None if isinstance(content, bytes) else list(content)
    before = lane.answered
    fast = client.post(url, content=content if chunks is None else iter(chunks), headers=headers)
    answered = lane.answered > before
    lane.enabled = False
    try:
        slow = client.post(url, content=content if chunks is None else iter(chunks), headers=headers)
    finally:
        lane.enabled = True
    assert (fast.status_code, fast.content) == (slow.status_code, slow.content)
    for name in ("content-type", "content-length", "retry-after", "www-authenticate"):
        assert fast.headers.get(name) == slow.headers.get(name), name
    return fast, answered


@pytest.fixture
def shop(api: Api, database_url: str) -> Api:
    api.create_segment(id="s1", validity=None)
    assign_item(database_url, api.tenant, "s1", "p1")
    return api


@pytest.fixture
def coupons(client: TestClient[FastLane], tokens: Tokens, tenant: str) -> CouponApi:
    return CouponApi(client, tokens, tenant)


def _auth(token: str | None) -> dict[str, str]:
    return {"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})}


def test_a_match_is_answered_by_the_lane_as_by_the_route(shop: Api, app: FastLane) -> None:
    response, answered = both(shop.client, app, shop.url(MATCH), json.dumps(GOOD_MATCH).encode(), _auth(shop.token))
    assert answered
    assert [item["id"] for item in response.json()] == ["p1"]


@pytest.mark.parametrize(
    ("content", "lane_answers"),
    [
        # What the lane converts, exactly as the route does: extra spaces, the site under either name, no site.
        (b'  {"siteCode": "main", "items": [{"id": "p1"}], "segmentIds": ["s1"]}\n', True),
        (b'{"site": "main", "items": [{"id": "p1"}], "segmentIds": ["s1"]}', True),
        (b'{"items": [{"id": "p1"}], "segmentIds": ["s1"]}', True),
        (b'{"items": [], "segmentIds": []}', True),
        (b'{"items": [{"id": "p1"}], "segmentIds": ["s1"], "segmentIds": ["nope"]}', True),  # the last one counts
        # What the route refuses: the lane hands it over, and the route's own 400 comes back.
        (b'{"items": [{"id": 5}], "segmentIds": ["s1"]}', False),
        (b'{"items": "p1", "segmentIds": ["s1"]}', False),
        (b'{"segmentIds": ["s1"]}', False),
        (b'{"items": [{"id": "p1"}], "segmentIds": ["s1"], "unknown": 1}', None),
        (b"{", False),
        (b"null", False),
        (b"[]", False),
        (b'"text"', False),
        (b"\xff\xfe", False),
        (b'{"items": [{"id": "p1"}], "segmentIds": [' + b'"s",' * 5000 + b'"s"]}', None),
    ],
)
def test_every_match_body_gets_the_routes_answer(
    shop: Api, app: FastLane, content: bytes, lane_answers: bool | None
) -> None:
    response, answered = both(shop.client, app, shop.url(MATCH), content, _auth(shop.token))
    if lane_answers is not None:
        assert answered is lane_answers, response.text
    if not answered:
        assert response.status_code in (200, 400), response.text


def test_bodies_the_lane_does_not_read_go_to_the_route_intact(shop: Api, app: FastLane) -> None:
    good = json.dumps(GOOD_MATCH).encode()
    # Chunked (no length announced): the route reads it, and answers it as a whole body.
    response, answered = both(shop.client, app, shop.url(MATCH), iter([good[:10], good[10:]]), _auth(shop.token))
    assert (response.status_code, answered) == (200, False)
    # No body at all.
    response, answered = both(shop.client, app, shop.url(MATCH), b"", _auth(shop.token))
    assert (response.status_code, answered) == (400, False)


@pytest.mark.parametrize("who", ["nobody", "garbage", "customer", "other tenant"])
def test_callers_the_route_refuses_are_refused_by_the_lane(shop: Api, app: FastLane, who: str) -> None:
    token = {
        "nobody": None,
        "garbage": "garbage",
        "customer": shop.tokens.customer(shop.tenant, "c1"),
        "other tenant": shop.tokens.service("t" + "0" * 12),
    }[who]
    response, answered = both(shop.client, app, shop.url(MATCH), json.dumps(GOOD_MATCH).encode(), _auth(token))
    assert answered
    assert response.status_code in (401, 403), response.text


def test_a_body_over_the_limit_is_the_routes_413(settings: Settings, shop: Api) -> None:
    body = json.dumps(GOOD_MATCH).encode()
    lane = create_served_app(dataclasses.replace(settings, max_body_bytes=len(body) - 1))
    with TestClient(lane, raise_server_exceptions=False) as client:
        response, answered = both(client, lane, shop.url(MATCH), body, _auth(shop.token))
        assert (response.status_code, answered) == (413, False)
        response, answered = both(client, lane, shop.url(MATCH), body[:-1] + b" ", _auth(shop.token))
        assert response.status_code == 413  # one byte over with the space the route would strip: still over


def test_a_validation_is_answered_by_the_lane_as_by_the_route(coupons: CouponApi, app: FastLane) -> None:
    code = coupons.create()
    customer = coupons.customer_token("C1")
    url = coupons.url(f"/coupons/{code}/validation")
    response, answered = both(coupons.client, app, url, json.dumps(ORDER).encode(), _auth(customer))
    assert (response.status_code, response.content, answered) == (200, b"", True)
    for content, status in [
        (json.dumps({**ORDER, "orderTotal": {"amount": "1090", "currency": "USD"}}).encode(), None),
        (json.dumps({"orderTotal": ORDER["orderTotal"]}).encode(), None),
        (b"{", 400),
        (json.dumps({**ORDER, "discount": "five"}).encode(), 400),
    ]:
        response, _ = both(coupons.client, app, url, content, _auth(customer))
        if status is not None:
            assert response.status_code == status, response.text
    missing = coupons.url("/coupons/NO-SUCH-CODE/validation")
    response, answered = both(coupons.client, app, missing, json.dumps(ORDER).encode(), _auth(customer))
    assert (response.status_code, answered) == (404, True)
