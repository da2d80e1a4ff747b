"""POST /segments/match (operation 11): which products a set of active segments holds."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from tests.categories.assignment_helpers import Categories
from tests.factories import AUTH_FAILURES, Api, Tokens, assert_refused, assign_item, segment_error
from tests.segments.storefront_helpers import PAST

ALL = ["p-direct", "p-sledge", "p-tools", "p-saw", "p-inactive", "p-other-site", "p-expired", "p-nothing"]


@pytest.fixture
def shop(client: TestClient[Litestar], tokens: Tokens, tenant: str, database_url: str) -> Api:
    """tools > (hammers > sledges, saws). Segment s1 (active, main) holds p-direct and the category hammers;
    inactive, expired and other-site segments hold the rest."""
    categories = Categories(client, tokens, tenant, database_url)
    for category, parent in [("tools", None), ("hammers", "tools"), ("sledges", "hammers"), ("saws", "tools")]:
        categories.add_category(category, parent)
    for product, category in [
        ("p-sledge", "sledges"),
        ("p-tools", "tools"),
        ("p-saw", "saws"),
        ("p-inactive", "saws"),
        ("p-expired", "saws"),
    ]:
        categories.add_product(product)
        categories.assign(category, product)
    api = Api(client, tokens, tenant)
    segments: list[tuple[str, dict[str, Any]]] = [
        ("s1", {}),
        ("inactive", {"status": "INACTIVE"}),
        ("expired", {"validity": PAST}),
        ("elsewhere", {"siteCode": "other"}),
    ]
    for segment_id, overrides in segments:
        api.create_segment(**{"id": segment_id, "validity": None, **overrides})
    assign_item(database_url, tenant, "s1", "p-direct")
    assign_item(database_url, tenant, "s1", "hammers", "CATEGORY")
    assign_item(database_url, tenant, "inactive", "p-inactive")
    assign_item(database_url, tenant, "inactive", "saws", "CATEGORY")
    assign_item(database_url, tenant, "expired", "p-expired")
    assign_item(database_url, tenant, "elsewhere", "p-other-site")
    return api


def match(api: Api, body: Any, token: str | None = None) -> list[str]:
    response = api.request("POST", "/segments/match", json=body, token=token)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()]


def body(items: list[str], segment_ids: list[str], **site: str) -> dict[str, Any]:
    return {**(site or {"siteCode": "main"}), "items": [{"id": i} for i in items], "segmentIds": segment_ids}


class TestMatch:
    def test_direct_and_through_a_category_or_a_category_above(self, shop: Api) -> None:
        segments = ["s1", "inactive", "expired", "elsewhere", "unknown"]
        assert match(shop, body(ALL, segments)) == ["p-direct", "p-sledge"]

    def test_the_answer_keeps_the_asked_order_once_per_product(self, shop: Api) -> None:
        assert match(shop, body(["p-sledge", "p-nothing", "p-direct", "p-sledge"], ["s1"])) == ["p-sledge", "p-direct"]

    def test_site_is_the_segments_site(self, shop: Api) -> None:
        assert match(shop, body(ALL, ["elsewhere", "s1"], site="other")) == ["p-other-site"]
        assert match(shop, body(ALL, ["s1"], site="main", siteCode="main")) == ["p-direct", "p-sledge"]

    def test_only_the_given_segments(self, shop: Api) -> None:
        assert match(shop, body(ALL, ["inactive"])) == []
        assert match(shop, body(ALL, [])) == []
        assert match(shop, body([], ["s1"])) == []

    def test_the_exact_response(self, shop: Api) -> None:
        response = shop.request("POST", "/segments/match", json=body(["p-direct"], ["s1"]))
        assert (response.status_code, response.json()) == (200, [{"id": "p-direct"}])

    def test_a_segment_that_becomes_active_counts(self, shop: Api) -> None:
        response = shop.request(
            "PATCH", "/segments/inactive", json=[{"op": "replace", "path": "/status", "value": "ACTIVE"}]
        )
        assert response.status_code == 204
        assert match(shop, body(ALL, ["inactive"])) == ["p-saw", "p-inactive", "p-expired"]  # all three in saws

    def test_another_tenants_assignments_count_for_nothing(self, shop: Api, database_url: str) -> None:
        other = Api(shop.client, shop.tokens, "o" + shop.tenant[1:])
        other.create_segment(id="s9", validity=None)
        assign_item(database_url, other.tenant, "s9", "p-saw")
        assert match(shop, body(ALL, ["s9"])) == []
        assert match(other, body(ALL, ["s1"])) == []


class TestRefusals:
    @pytest.mark.parametrize("case", AUTH_FAILURES)
    def test_refused(self, api: Api, case: str) -> None:
        assert_refused(
            api,
            case,
            "POST",
            "/segments/match",
            json=body(["p"], ["s"]),
            valid_scopes=("customersegment.segment_read",),
            required=("customersegment.segment_manage",),
        )

    def test_customer_token_is_403(self, api: Api) -> None:
        response = api.request(
            "POST", "/segments/match", json=body(["p"], ["s"]), token=api.tokens.customer(api.tenant, "c1")
        )
        assert response.status_code == 403

    @pytest.mark.parametrize(
        ("payload", "field"),
        [
            ({"items": [{"id": "p"}], "segmentIds": ["s"]}, "site"),
            ({"site": "", "items": [{"id": "p"}], "segmentIds": ["s"]}, "site"),
            ({"site": "a", "siteCode": "b", "items": [{"id": "p"}], "segmentIds": ["s"]}, "site"),
            (body([f"p{n}" for n in range(1001)], ["s"]), "items"),
            (body(["p"], [f"s{n}" for n in range(201)]), "segmentIds"),
        ],
    )
    def test_rule_violations_are_400_naming_the_field(self, api: Api, payload: dict[str, Any], field: str) -> None:
        response = api.request("POST", "/segments/match", json=payload)
        assert response.status_code == 400, response.text
        error = response.json()
        assert error["details"]["field"] == field
        assert error == segment_error(400, error["message"], field=field, type=error["details"]["type"])

    @pytest.mark.parametrize(
        "payload",
        [
            {"siteCode": "main", "segmentIds": ["s"]},  # no items
            {"siteCode": "main", "items": [{"id": "p"}]},  # no segmentIds
            {"siteCode": "main", "items": ["p"], "segmentIds": ["s"]},  # items are objects
            {"siteCode": "main", "items": [{"id": ""}], "segmentIds": ["s"]},
            {"siteCode": "main", "items": [{}], "segmentIds": ["s"]},
            {"siteCode": "main", "items": [{"id": "p"}], "segmentIds": "s"},
            [],
            "not json",
        ],
    )
    def test_malformed_bodies_are_400(self, api: Api, payload: Any) -> None:
        if isinstance(payload, str):
            response = api.request(
                "POST", "/segments/match", content=payload, headers={"Content-Type": "application/json"}
            )
        else:
            response = api.request("POST", "/segments/match", json=payload)
        assert response.status_code == 400, response.text
        assert response.json()["code"] == 400
