"""Adversarial tests of the storefront reads for a named customer (`customerId` with segment_read,
docs/behaviour.md#storefront-my-items-my-category-tree-match): a service token gets exactly what the customer's own
token gets, for many customers, contexts and sites, with the answer versions read from the database or kept on the
host, and with the answer cache warm on either side of a membership change."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from litestar.testing import TestClient
from tests.answers.support import Shop, served
from tests.factories import Tokens

from segment_service.core.fastlane import FastLane
from segment_service.core.scopes import Scope
from segment_service.settings import Settings

ITEMS = "/customer-segment/{tenant}/segments/items"
TREES = "/customer-segment/{tenant}/segments/items/category-trees"


@pytest.fixture(scope="module", params=["database", "host"])
def versions_app(request: pytest.FixtureRequest, settings: Settings) -> Iterator[tuple[FastLane, TestClient[FastLane]]]:
    with served(settings, answer_versions=request.param) as pair:
        yield pair


@pytest.fixture
def shop(versions_app: tuple[FastLane, TestClient[FastLane]], database_url: str, tenant: str) -> Shop:
    app, client = versions_app
    return Shop(client, Tokens(app.state.tokens, database_url), tenant)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


@pytest.fixture
def world(shop: Shop) -> Shop:
    """c1: a contact of L1 and L2, B2C and B2B memberships; c2: only B2C, in active, inactive, expired and future
    segments of two sites; c3: a customer in no segment; L3: a legal entity c1 is no contact of."""
    now = datetime.now(UTC)
    for category in ("k1", "k2", "k3"):
        shop.category(category)
    shop.category("k1a", "k1")
    for product in ("p0", "p1", "p2", "p3", "p4", "p5", "p6"):
        shop.product(product)
    for customer in ("c1", "c2", "c3"):
        shop.create_customer(customer)
    for legal_entity in ("L1", "L2", "L3"):
        shop.create_legal_entity(legal_entity)
    shop.create_contact("L1", "c1")
    shop.create_contact("L2", "c1")
    segments: list[tuple[str, dict[str, Any], list[tuple[str, str]], list[tuple[str, str | None]]]] = [
        ("b2c", {}, [("PRODUCT", "p0"), ("CATEGORY", "k3")], [("c1", None), ("c2", None)]),
        ("l1", {}, [("PRODUCT", "p1"), ("CATEGORY", "k1")], [("c1", "L1")]),
        ("l2", {}, [("PRODUCT", "p2"), ("CATEGORY", "k2")], [("c1", "L2")]),
        ("off", {"status": "INACTIVE"}, [("PRODUCT", "p3")], [("c1", None), ("c2", None)]),
        (
            "past",
            {"validity": {"from": _iso(now - timedelta(days=9)), "to": _iso(now - timedelta(days=1))}},
            [("PRODUCT", "p4")],
            [("c2", None)],
        ),
        ("future", {"validity": {"from": _iso(now + timedelta(days=1))}}, [("PRODUCT", "p5")], [("c2", None)]),
        ("other-site", {"siteCode": "other"}, [("PRODUCT", "p6")], [("c2", None), ("c1", "L1")]),
    ]
    for segment, overrides, items, members in segments:
        shop.segment(segment, **overrides)
        for item_type, item_id in items:
            shop.put_item(segment, item_id, item_type)
        for customer, context in members:
            shop.member(segment, customer, context)
    return shop


def as_customer(shop: Shop, path: str, customer: str, token_context: str | None, **params: Any) -> httpx.Response:
    return shop.call("GET", path, token=shop.customer_token(customer, token_context), params=params)


def as_service(shop: Shop, path: str, customer: str, context: str | None, **params: Any) -> httpx.Response:
    query = {"customerId": customer, **({"legalEntityId": context} if context else {}), **params}
    return shop.call("GET", path, params=query)


def same(customer_answer: httpx.Response, service_answer: httpx.Response) -> None:
    assert (service_answer.status_code, service_answer.json()) == (
        customer_answer.status_code,
        customer_answer.json(),
    )
    if customer_answer.status_code == 200:
        assert service_answer.headers.get("x-total-count") == customer_answer.headers.get("x-total-count")


CASES: list[tuple[str, str | None]] = [
    ("c1", None),
    ("c1", "L1"),
    ("c1", "L2"),
    ("c2", None),
    ("c3", None),
    ("nobody", None),
]
PARAMS: list[dict[str, Any]] = [
    {},
    {"siteCode": "main"},
    {"siteCode": "other"},
    {"sort": "segmentId,type,item.id"},
    {"q": "type:PRODUCT"},
    {"pageSize": 2, "pageNumber": 2},
    {"fields": "segmentId,item.id"},
]


def test_the_service_read_equals_the_customers_own_for_every_customer_context_and_query(world: Shop) -> None:
    for customer, context in CASES:
        for params in PARAMS:
            # The token's own context, and the context named by the parameter.
            mine = as_customer(world, ITEMS, customer, context, **params)
            named = world.call(
                "GET",
                ITEMS,
                token=world.customer_token(customer),
                params={**params, **({"legalEntityId": context} if context else {})},
            )
            for answer in (mine, named):
                same(answer, as_service(world, ITEMS, customer, context, **params))
                assert answer.status_code == 200
            tree_params = {k: v for k, v in params.items() if k == "siteCode"}
            same(
                as_customer(world, TREES, customer, context, **tree_params),
                as_service(world, TREES, customer, context, **tree_params),
            )
    # Inactive, expired and future segments are nobody's storefront.
    c2 = [d["segmentId"] for d in as_service(world, ITEMS, "c2", None).json()]
    assert sorted(set(c2)) == ["b2c", "other-site"]


def test_a_legal_entity_the_customer_is_no_contact_of_is_refused_alike(world: Shop) -> None:
    for path in (ITEMS, TREES):
        mine = world.call("GET", path, token=world.customer_token("c1"), params={"legalEntityId": "L3"})
        assert mine.status_code == 403, mine.text
        same(mine, as_service(world, path, "c1", "L3"))
        # A legal entity that does not exist at all.
        same(
            world.call("GET", path, token=world.customer_token("c1"), params={"legalEntityId": "nope"}),
            as_service(world, path, "c1", "nope"),
        )


def test_another_tenants_customer_is_nobody_here(world: Shop) -> None:
    other = Shop(world.client, world.tokens, world.tenant + "x")
    other.segment("b2c")
    other.product("q0")
    other.put_item("b2c", "q0")
    other.create_customer("z1")
    other.member("b2c", "z1")
    assert [d["item"]["id"] for d in as_service(other, ITEMS, "z1", None).json()] == ["q0"]
    assert as_service(world, ITEMS, "z1", None).json() == []
    assert as_service(world, TREES, "z1", None).json() == []


def test_a_membership_change_is_seen_by_both_callers_whichever_read_first(world: Shop) -> None:
    def customer_read() -> httpx.Response:
        return as_customer(world, ITEMS, "c3", None)

    def service_read() -> httpx.Response:
        return as_service(world, ITEMS, "c3", None)

    for first_reader in ("customer", "service", "customer", "service"):
        reads = (customer_read, service_read) if first_reader == "customer" else (service_read, customer_read)
        before = [r().json() for r in reads for _ in range(2)]  # warm, then kept
        assert all(b == before[0] for b in before)
        if before[0]:
            world.unmember("b2c", "c3")
            expected: list[str] = []
        else:
            world.member("b2c", "c3")
            expected = ["k3", "p0"]
        for read in reads:
            assert sorted(d["item"]["id"] for d in read().json()) == expected
        trees = [
            as_service(world, TREES, "c3", None).json(),
            as_customer(world, TREES, "c3", None).json(),
        ]
        assert trees[0] == trees[1]
        assert [n["id"] for n in trees[0]] == (["k3"] if expected else [])


def test_segment_changes_are_seen_by_both_callers(world: Shop) -> None:
    for _ in range(2):  # warm, then kept, on both sides
        as_service(world, ITEMS, "c2", None)
        as_customer(world, ITEMS, "c2", None)
    world.patch_segment("off", "/status", "ACTIVE")
    world.put_item("b2c", "p6")
    svc = as_service(world, ITEMS, "c2", None).json()
    assert svc == as_customer(world, ITEMS, "c2", None).json()
    assert ("off", "p3") in [(d["segmentId"], d["item"]["id"]) for d in svc]
    assert ("b2c", "p6") in [(d["segmentId"], d["item"]["id"]) for d in svc]


def test_a_customer_token_naming_another_customer_and_a_guest_are_refused(world: Shop) -> None:
    guest = world.tokens.anonymous(world.tenant)
    for path in (ITEMS, TREES):
        for token in (world.customer_token("c2"), guest):
            answer = world.call("GET", path, token=token, params={"customerId": "c1"})
            assert answer.status_code == 403, answer.text
            assert answer.json()["code"] == 403
        # Its own id changes nothing.
        own = world.call("GET", path, token=world.customer_token("c2"), params={"customerId": "c2"})
        same(as_customer(world, path, "c2", None), own)
    # A service token without segment_read.
    manage_only = world.tokens.service(world.tenant, scopes=(Scope.SEGMENT_MANAGE.value,))
    assert world.call("GET", ITEMS, token=manage_only, params={"customerId": "c1"}).status_code == 403
    # The tree for a service token without a customer: 400.
    assert world.call("GET", TREES).status_code == 400


@pytest.mark.parametrize("customer", ["", " ", "c1\x00", "%", "c1' OR '1'='1", "x" * 5000])
def test_odd_customer_ids_never_500(world: Shop, customer: str) -> None:
    for path in (ITEMS, TREES):
        answer = world.call("GET", path, params={"customerId": customer})
        assert answer.status_code in (200, 400), answer.text
        if answer.status_code == 200:
            assert answer.json() == []
