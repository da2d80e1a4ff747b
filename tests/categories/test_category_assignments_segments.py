"""`segmentsIds` on GET /categories/{categoryId}/assignments: only products of categories that one of the segments
makes visible (the category, or a category above it, is a CATEGORY item of the segment)."""

from __future__ import annotations

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from tests.categories.assignment_helpers import Categories
from tests.factories import Api, Tokens, assign_item, segment_body

GOLDEN = "628cd20c6e8b2432b6346ca6"


@pytest.fixture
def shop(client: TestClient[Litestar], tokens: Tokens, tenant: str, database_url: str) -> Categories:
    """root > (x > x1 > x11, y); p1-p5 assigned one per category; segment S1 has x1, S2 has y, S3 has product p2."""
    shop = Categories(client, tokens, tenant, database_url)
    segments = Api(client, tokens, tenant)
    for category, parent in [("root", None), ("x", "root"), ("x1", "x"), ("x11", "x1"), ("y", "root")]:
        shop.add_category(category, parent)
    for n, category in enumerate(["root", "x", "x1", "x11", "y"], start=1):
        shop.add_product(f"p{n}")
        shop.assign(category, f"p{n}")
    for segment_id in ("S1", "S2", "S3"):
        segments.create_segment(id=segment_id)
    assign_item(database_url, tenant, "S1", "x1", "CATEGORY")
    assign_item(database_url, tenant, "S2", "y", "CATEGORY")
    assign_item(database_url, tenant, "S3", "p2", "PRODUCT")
    return shop


def pairs(docs: list[dict[str, object]]) -> list[tuple[object, object]]:
    return [(d["categoryId"], d["ref"]["id"]) for d in docs]  # type: ignore[index]


class TestSegmentsIds:
    @pytest.mark.parametrize(
        ("category", "expected"),
        [
            ("x1", [("x1", "p3")]),  # assigned to S1
            ("x11", [("x11", "p4")]),  # below an assigned category
            ("x", []),  # above it: not segment content
            ("root", []),
            ("y", []),  # assigned, but to another segment
        ],
    )
    def test_one_category(self, shop: Categories, category: str, expected: list[tuple[str, str]]) -> None:
        assert pairs(shop.assignments(category, segmentsIds="S1")) == expected

    def test_subtree_judges_each_category(self, shop: Categories) -> None:
        docs = shop.assignments("root", segmentsIds="S1", withSubcategories="true")
        assert pairs(docs) == [("x1", "p3"), ("x11", "p4")]
        docs = shop.assignments("root", segmentsIds="S2, S1", withSubcategories="true")
        assert pairs(docs) == [("x1", "p3"), ("x11", "p4"), ("y", "p5")]
        docs = shop.assignments("x11", segmentsIds="S1", withSubcategories="true")
        assert pairs(docs) == [("x11", "p4")]

    def test_product_items_do_not_open_their_categories(self, shop: Categories) -> None:
        assert shop.assignments("x", segmentsIds="S3") == []

    @pytest.mark.parametrize("segments_ids", ["", " , ", "nope", "s1"])
    def test_no_or_unknown_segments_match_nothing(self, shop: Categories, segments_ids: str) -> None:
        assert shop.assignments("root", segmentsIds=segments_ids, withSubcategories="true") == []

    def test_without_the_parameter_nothing_is_filtered(self, shop: Categories) -> None:
        assert len(shop.assignments("root", withSubcategories="true")) == 5

    def test_total_counts_only_matching_assignments(self, shop: Categories) -> None:
        response = shop.request(
            "GET",
            "/categories/root/assignments",
            headers={"X-Total-Count": "true"},
            params={"segmentsIds": "S1,S2", "withSubcategories": "true", "pageSize": "1"},
        )
        assert response.status_code == 200
        assert response.headers["X-Total-Count"] == "3"
        assert pairs(response.json()) == [("x1", "p3")]

    def test_another_tenants_segment_assignments_count_for_nothing(
        self,
        shop: Categories,
        client: TestClient[Litestar],
        tokens: Tokens,
        database_url: str,
    ) -> None:
        other = "o" + shop.tenant[1:]
        Api(client, tokens, other).create_segment(id="S9")
        assign_item(database_url, other, "S9", "x", "CATEGORY")
        assert shop.assignments("x", segmentsIds="S9") == []

    def test_unknown_category_is_still_404(self, shop: Categories) -> None:
        response = shop.request("GET", "/categories/nope/assignments", params={"segmentsIds": "S1"})
        assert response.status_code == 404


def test_seed_request_with_a_customer_token(
    client: TestClient[Litestar], tokens: Tokens, tenant: str, database_url: str
) -> None:
    """The storefront request of the segments tutorial, verbatim: a category assigned to the Golden Segment."""
    shop = Categories(client, tokens, tenant, database_url)
    segments = Api(client, tokens, tenant)
    shop.add_category("tools")
    shop.add_category("hammers", "tools")
    for product, category in [("p-hammer", "hammers"), ("p-saw", "tools")]:
        shop.add_product(product, {"en": product, "de": f"{product}-de"})
        shop.assign(category, product)
    segments.create_segment(**segment_body(id=GOLDEN, validity={"from": "2020-01-01T00:00:00.000Z"}))
    response = segments.request("PUT", f"/segments/{GOLDEN}/items/CATEGORY/hammers", json={})
    assert response.status_code == 201, response.text

    response = client.get(
        f"/category/{tenant}/categories/hammers/assignments?assignmentType=PRODUCT&segmentsIds={GOLDEN}"
        "&pageNumber=1&pageSize=60",
        headers={
            "Authorization": f"Bearer {tokens.customer(tenant, 'c1')}",
            "Accept-Language": "en",
            "X-Total-Count": "true",
            "X-Version": "v2",
        },
    )
    assert response.status_code == 200, response.text
    assert response.headers["X-Total-Count"] == "1"
    [doc] = response.json()
    assert doc["categoryId"] == "hammers"
    assert doc["ref"] == {"id": "p-hammer", "type": "PRODUCT", "localizedName": {"en": "p-hammer"}}
    response = client.get(
        f"/category/{tenant}/categories/tools/assignments?segmentsIds={GOLDEN}",
        headers={"Authorization": f"Bearer {tokens.customer(tenant, 'c1')}"},
    )
    assert (response.status_code, response.json()) == (200, [])
