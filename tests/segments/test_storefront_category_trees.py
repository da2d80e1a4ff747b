"""GET /segments/items/category-trees (operation 22): the category tree of the customer's active segments."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from tests.categories.assignment_helpers import Categories
from tests.factories import AUTH_FAILURES, Api, Tokens, assert_refused, assign_customer, assign_item, make_contact
from tests.segments.storefront_helpers import PAST

PATH = "/segments/items/category-trees"


@pytest.fixture
def shop(client: TestClient[Litestar], tokens: Tokens, tenant: str, database_url: str) -> Categories:
    """tools(0) > (saws(0), hammers(1) > sledges(2)); garden(1) > (hoses (unpublished) > hose-reels, pots);
    lonely. Segment `gold` (c1 a member) has hammers and hoses and pots."""
    shop = Categories(client, tokens, tenant, database_url)
    for category, parent, position, published in [
        ("tools", None, 0, True),
        ("saws", "tools", 0, True),
        ("hammers", "tools", 1, True),
        ("sledges", "hammers", 2, True),
        ("garden", None, 1, True),
        ("hoses", "garden", 0, False),
        ("hose-reels", "hoses", 0, True),
        ("pots", "garden", 1, True),
        ("lonely", None, 2, True),
    ]:
        shop.add_category(
            category,
            parent,
            position=position,
            published=published,
            code=category.upper(),
            name={"en": category.title(), "de": f"{category}-de"},
        )
    segments = Api(client, tokens, tenant)
    segments.create_segment(id="gold", validity=None)
    for category in ("hammers", "hoses", "pots"):
        assign_item(database_url, tenant, "gold", category, "CATEGORY")
    assign_item(database_url, tenant, "gold", "lonely", "PRODUCT")  # a product id that happens to name a category
    assign_customer(database_url, tenant, "gold", "c1")
    return shop


def outline(forest: list[dict[str, Any]]) -> list[Any]:
    """(id, isSegmentAssigned, [children]) of every node."""
    return [(n["id"], n["isSegmentAssigned"], outline(n.get("subcategories", []))) for n in forest]


def tree(shop: Categories, token: str, **params: Any) -> list[dict[str, Any]]:
    response = shop.client.get(
        f"/customer-segment/{shop.tenant}{PATH}", params=params, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200, response.text
    body: list[dict[str, Any]] = response.json()
    return body


class TestTree:
    def test_assigned_categories_their_paths_and_what_lies_below(self, shop: Categories) -> None:
        assert outline(tree(shop, shop.tokens.customer(shop.tenant, "c1"))) == [
            ("tools", False, [("hammers", True, [("sledges", True, [])])]),
            ("garden", False, [("pots", True, [])]),  # hoses is unpublished: it and its subtree are left out
        ]

    def test_node_shape_in_the_accepted_language(self, shop: Categories, database_url: str) -> None:
        response = shop.client.get(
            f"/customer-segment/{shop.tenant}{PATH}?siteCode=main",
            headers={"Authorization": f"Bearer {shop.tokens.customer(shop.tenant, 'c1')}", "Accept-Language": "de"},
        )
        [tools, _garden] = response.json()
        assert {k: v for k, v in tools.items() if k != "subcategories"} == {
            "id": "tools",
            "code": "TOOLS",
            "name": {"de": "tools-de"},
            "position": 0,
            "published": True,
            "isSegmentAssigned": False,
        }
        hammers = tools["subcategories"][0]
        assert hammers["parentId"] == "tools"
        assert hammers["name"] == {"de": "hammers-de"}
        assert hammers["isSegmentAssigned"] is True

    def test_every_language_without_accept_language(self, shop: Categories) -> None:
        [tools, _] = tree(shop, shop.tokens.customer(shop.tenant, "c1"))
        assert tools["name"] == {"en": "Tools", "de": "tools-de"}

    def test_an_assigned_ancestor_makes_the_whole_subtree_content(self, shop: Categories, database_url: str) -> None:
        assign_item(database_url, shop.tenant, "gold", "tools", "CATEGORY")
        assert outline(tree(shop, shop.tokens.customer(shop.tenant, "c1")))[0] == (
            "tools",
            True,
            [("saws", True, []), ("hammers", True, [("sledges", True, [])])],
        )

    def test_deep_tree(self, shop: Categories, database_url: str) -> None:
        parent = None
        for level in range(60):
            parent = shop.add_category(f"deep{level}", parent, position=0)
        assign_item(database_url, shop.tenant, "gold", "deep40", "CATEGORY")
        forest = tree(shop, shop.tokens.customer(shop.tenant, "c1"))
        node, flags = next(n for n in forest if n["id"] == "deep0"), []
        while True:
            flags.append(node["isSegmentAssigned"])
            if not node.get("subcategories"):
                break
            [node] = node["subcategories"]
        assert flags == [False] * 40 + [True] * 20

    @pytest.mark.parametrize(
        ("status", "validity", "site"),
        [("INACTIVE", None, "main"), ("ACTIVE", PAST, "main"), ("ACTIVE", None, "other")],
    )
    def test_only_active_segments_of_the_site(
        self, shop: Categories, database_url: str, status: str, validity: dict[str, str] | None, site: str
    ) -> None:
        Api(shop.client, shop.tokens, shop.tenant).create_segment(
            id="s2", status=status, validity=validity, siteCode=site
        )
        assign_item(database_url, shop.tenant, "s2", "saws", "CATEGORY")
        assign_customer(database_url, shop.tenant, "s2", "c1")
        ids = {
            n["id"] for n in tree(shop, shop.tokens.customer(shop.tenant, "c1"), siteCode="main")[0]["subcategories"]
        }
        assert ids == {"hammers"}

    def test_site_code_and_legal_entity_context(self, shop: Categories, database_url: str) -> None:
        Api(shop.client, shop.tokens, shop.tenant).create_segment(id="b2b", validity=None, siteCode="eu")
        assign_item(database_url, shop.tenant, "b2b", "lonely", "CATEGORY")
        make_contact(database_url, shop.tenant, "acme", "c1")
        make_contact(database_url, shop.tenant, "globex", "c1")
        assign_customer(database_url, shop.tenant, "b2b", "c1", "acme")
        acme = shop.tokens.customer(shop.tenant, "c1", legal_entity_id="acme")
        assert [n["id"] for n in tree(shop, acme)] == ["tools", "garden", "lonely"]
        assert [n["id"] for n in tree(shop, acme, siteCode="eu")] == ["lonely"]
        assert [n["id"] for n in tree(shop, acme, legalEntityId="globex")] == ["tools", "garden"]
        response = shop.client.get(
            f"/customer-segment/{shop.tenant}{PATH}?legalEntityId=initech", headers={"Authorization": f"Bearer {acme}"}
        )
        assert response.status_code == 403

    def test_other_customers_and_tenants(self, shop: Categories, database_url: str) -> None:
        assert tree(shop, shop.tokens.customer(shop.tenant, "c2")) == []
        other = "o" + shop.tenant[1:]
        Api(shop.client, shop.tokens, other).create_segment(id="gold", validity=None)
        assign_item(database_url, other, "gold", "saws", "CATEGORY")
        assign_customer(database_url, other, "gold", "c1")
        assert "saws" not in str(tree(shop, shop.tokens.customer(shop.tenant, "c1")))


class TestServiceTokenForACustomer:
    """`customerId` with segment_read: the customer's own tree (an extension the console uses)."""

    def test_the_same_tree_as_the_customers_own_token(self, shop: Categories) -> None:
        own = tree(shop, shop.tokens.customer(shop.tenant, "c1"))
        service = shop.tokens.service(shop.tenant)
        assert tree(shop, service, customerId="c1") == own
        assert tree(shop, service, customerId="c2") == []

    def test_without_a_customer_a_service_token_is_400_in_words(self, shop: Categories) -> None:
        response = shop.client.get(
            f"/customer-segment/{shop.tenant}{PATH}",
            headers={"Authorization": f"Bearer {shop.tokens.service(shop.tenant)}"},
        )
        assert response.status_code == 400
        assert "customerId" in response.json()["message"]

    def test_a_customer_token_may_name_only_itself(self, shop: Categories) -> None:
        response = shop.client.get(
            f"/customer-segment/{shop.tenant}{PATH}",
            params={"customerId": "c2"},
            headers={"Authorization": f"Bearer {shop.tokens.customer(shop.tenant, 'c1')}"},
        )
        assert response.status_code == 403


class TestRefusals:
    @pytest.mark.parametrize("case", AUTH_FAILURES)
    def test_refused(self, api: Api, case: str) -> None:
        assert_refused(
            api,
            case,
            "GET",
            PATH,
            valid_scopes=("customer.customer_read",),
            required=("customersegment.segment_read", "customersegment.segment_read_own"),
        )

    def test_guest_token_is_403(self, api: Api) -> None:
        response = api.request("GET", PATH, token=api.tokens.anonymous(api.tenant))
        assert response.status_code == 403


def test_seed_request(shop: Categories) -> None:
    """The tutorial's storefront request, verbatim."""
    response = shop.client.get(
        f"/customer-segment/{shop.tenant}/segments/items/category-trees?siteCode=main",
        headers={"Authorization": f"Bearer {shop.tokens.customer(shop.tenant, 'c1')}", "Accept-Language": "en"},
    )
    assert response.status_code == 200
    assert [n["name"] for n in response.json()] == [{"en": "Tools"}, {"en": "Garden"}]
