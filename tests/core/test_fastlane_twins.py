"""The fast lane's answers get what every route gets (request ids, metrics, CORS, the route's guards with its scopes
and kinds), and a fast route that does not match its routed twin stops the app from starting."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from typing import Any

import pytest
from litestar import Litestar, Response, get, post
from litestar.testing import TestClient
from tests.factories import Api, Tokens
from tests.segments.storefront_helpers import build_shop

from segment_service.app import create_served_app
from segment_service.core.auth import Caller, TokenKind
from segment_service.core.deps import Listing, listing_dependency
from segment_service.core.fastlane import FastLane, FastLaneMismatch, FastRequest, FastResponse, FastRoute, FastRun
from segment_service.core.http import json_body, json_response
from segment_service.coupons.models import RedemptionCreation
from segment_service.segments.storefront_models import Match
from segment_service.segments.storefront_routes import FAST_ROUTES as STOREFRONT_FAST_ROUTES
from segment_service.settings import Settings

SHOP = "https://shop.example.com"
ITEMS_TEMPLATE = "/customer-segment/{tenant}/segments/items"


def requests_counted(client: TestClient[Any], route: str, status: int) -> float:
    """The request counter of `GET route` answered with `status`, from `/metrics`."""
    text = client.get("/metrics").text
    pattern = (
        r'^segment_service_http_requests_total\{method="GET",route="' + re.escape(route) + r'",status="'
        rf'{status}"\}} (\S+)$'
    )
    found = re.search(pattern, text, re.MULTILINE)
    return 0.0 if found is None else float(found.group(1))


def test_a_fast_answer_echoes_the_request_id_and_is_counted(api: Api, app: FastLane, database_url: str) -> None:
    build_shop(api, database_url)
    before_count, before_answered = requests_counted(api.client, ITEMS_TEMPLATE, 200), app.answered
    response = api.request(
        "GET", "/segments/items", token=api.tokens.customer(api.tenant, "c1"), headers={"X-Request-ID": "fast-1"}
    )
    assert response.status_code == 200
    assert app.answered == before_answered + 1, "the fast lane answered"
    assert response.headers["x-request-id"] == "fast-1"
    assert requests_counted(api.client, ITEMS_TEMPLATE, 200) == before_count + 1


@pytest.fixture
def cors_lane(settings: Settings) -> Iterator[tuple[FastLane, TestClient[FastLane]]]:
    lane = create_served_app(dataclasses.replace(settings, cors_origins=(SHOP,)))
    with TestClient(lane) as client:
        yield lane, client


def test_fast_answers_and_their_errors_carry_the_cors_headers(
    cors_lane: tuple[FastLane, TestClient[FastLane]], tokens: Tokens
) -> None:
    lane, cors_client = cors_lane
    for token, status in ((tokens.customer("t1", "c1"), 200), (tokens.anonymous("t1"), 403)):
        before = lane.answered
        response = cors_client.get(
            "/customer-segment/t1/segments/items", headers={"Authorization": f"Bearer {token}", "Origin": SHOP}
        )
        assert response.status_code == status
        assert lane.answered == before + 1, "the fast lane answered"
        assert response.headers["access-control-allow-origin"] == SHOP
        assert response.headers["access-control-expose-headers"] == "Retry-After, X-Request-ID, X-Total-Count"
        assert response.headers["vary"] == "Origin"


CUSTOMERS_ONLY = {"scopes": ("customersegment.segment_read_own",), "kinds": (TokenKind.CUSTOMER,)}


@get("/customer-segment/{tenant:str}/probe", opt=CUSTOMERS_ONLY, sync_to_thread=False)
def probe(caller: Caller, q: str | None = None) -> Response[Any]:
    return json_response({"routed": caller.subject, "q": q})


def parse_probe(request: FastRequest) -> FastRun:
    async def run(caller: Caller) -> FastResponse:
        return FastResponse(json_body({"routed": caller.subject, "q": request.query.get("q")}))

    return run


@post("/customer-segment/{tenant:str}/probe-write", opt=CUSTOMERS_ONLY, sync_to_thread=False)
def probe_write(caller: Caller) -> Response[Any]:
    return json_response({})


@post("/customer-segment/{tenant:str}/probe-post", opt=CUSTOMERS_ONLY, sync_to_thread=False)
def probe_post(caller: Caller, data: Match) -> Response[Any]:
    return json_response({})


@get(
    "/customer-segment/{tenant:str}/probe-paged",
    opt=CUSTOMERS_ONLY,
    dependencies={"listing": listing_dependency(16)},
    sync_to_thread=False,
)
def probe_paged(listing: Listing) -> Response[Any]:
    return json_response({})


@get("/customer-segment/{tenant:str}/probe-number/{n:int}", opt=CUSTOMERS_ONLY, sync_to_thread=False)
def probe_number(n: int) -> Response[Any]:
    return json_response({})


@pytest.fixture
def probe_app(settings: Settings) -> Litestar:
    """An app of its own with the probes registered."""
    app = create_served_app(settings).app
    for handler in (probe, probe_write, probe_post, probe_paged, probe_number):
        app.register(handler)
    return app


@pytest.fixture
def probe_lane(probe_app: Litestar) -> Iterator[tuple[FastLane, TestClient[FastLane]]]:
    """A lane for `probe` in front of `probe_app`, and its client (which runs the app's lifespan)."""
    lane = FastLane(probe_app, [FastRoute(probe, frozenset({"q"}), frozenset(), parse_probe)])
    with TestClient(lane, raise_server_exceptions=False) as client:
        yield lane, client


def test_the_routes_scopes_and_kinds_are_the_lanes(
    probe_lane: tuple[FastLane, TestClient[FastLane]], tokens: Tokens, api: Api
) -> None:
    """The lane authenticates with the route's own guards and `opt`: a service token holding the scope is refused
    for its kind, a guest for its scopes, as the route refuses them; a customer is answered."""
    lane, client = probe_lane
    callers = {
        "customer": (tokens.customer(api.tenant, "c1"), 200),
        "service": (tokens.service(api.tenant, ("customersegment.segment_read_own",)), 403),
        "guest": (tokens.anonymous(api.tenant), 403),
        "other tenant": (tokens.customer("t" + api.tenant, "c1"), 403),
        "none": (None, 401),
    }
    for name, (token, status) in callers.items():
        headers = {} if token is None else {"Authorization": f"Bearer {token}"}
        answers = []
        for enabled in (True, False):
            lane.enabled = enabled
            before = lane.answered
            response = client.get(f"/customer-segment/{api.tenant}/probe", params={"q": "x"}, headers=headers)
            assert lane.answered == before + enabled, name
            answers.append((response.status_code, response.json()))
        assert answers[0] == answers[1], name
        assert answers[0][0] == status, (name, answers[0])


@get("/customer-segment/{tenant:str}/never-registered", opt=CUSTOMERS_ONLY, sync_to_thread=False)
def never_registered() -> Response[Any]:
    return json_response({})


@pytest.mark.parametrize(
    ("route", "message"),
    [
        (
            dataclasses.replace(STOREFRONT_FAST_ROUTES[0], query=STOREFRONT_FAST_ROUTES[0].query - {"q"}),
            "the route reads query",
        ),
        (
            dataclasses.replace(STOREFRONT_FAST_ROUTES[0], headers=frozenset({"accept-language"})),
            "the route reads query",
        ),
        (FastRoute(never_registered, frozenset(), frozenset(), parse_probe), "registered 0 times"),
        (FastRoute(probe_write, frozenset(), frozenset(), parse_probe), "the lane answers GET, and POST with a body"),
        (FastRoute(probe_write, frozenset(), frozenset(), parse_probe, body=Match), "the route's body is None"),
        (FastRoute(probe_post, frozenset(), frozenset(), parse_probe), "the lane answers GET, and POST with a body"),
        (FastRoute(probe_post, frozenset(), frozenset(), parse_probe, body=RedemptionCreation), "the route's body is"),
        (
            FastRoute(
                probe_paged,
                frozenset({"pageNumber", "pageSize", "sort"}),
                frozenset({"x-total-count"}),
                parse_probe,
            ),
            "the app-wide page size",
        ),
        (FastRoute(probe_number, frozenset(), frozenset(), parse_probe), "passes path parameters as text"),
    ],
)
def test_a_fast_route_unlike_its_twin_stops_the_start(probe_app: Litestar, route: FastRoute, message: str) -> None:
    with pytest.raises(FastLaneMismatch, match=message):
        FastLane(probe_app, [route])
