"""Answers never cross the lines they must not cross: a customer's two legal-entity contexts get two answers, two
tenants with the same segment, product, category and customer ids get only their own (no hit across tenants), a
write in one tenant leaves the other's kept answers as they are, and a category's assignments kept for one caller
are not handed to a caller who may not ask for them."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import pytest
from litestar.testing import TestClient

from segment_service.core.fastlane import FastLane
from tests.answers.support import ASSIGNMENTS, ITEMS, MATCH, TREES, Shop, cached, hit, missed
from tests.factories import Tokens


@pytest.fixture
def contexts(shop: Shop, item_path: bool) -> Shop:
    """c1 is a contact of L1 and L2. Segment b2c (c1 B2C) holds p0; l1 (c1 in L1) holds p1 and the category k1; l2
    (c1 in L2) holds p2 and the category k2."""
    for category in ("k1", "k2"):
        shop.category(category)
    for product in ("p0", "p1", "p2"):
        shop.product(product)
    shop.create_customer("c1")
    for legal_entity in ("L1", "L2"):
        shop.create_legal_entity(legal_entity)
        shop.create_contact(legal_entity, "c1")
    segments: list[tuple[str, list[tuple[str, str]], str | None]] = [
        ("b2c", [("PRODUCT", "p0")], None),
        ("l1", [("PRODUCT", "p1"), ("CATEGORY", "k1")], "L1"),
        ("l2", [("PRODUCT", "p2"), ("CATEGORY", "k2")], "L2"),
    ]
    for segment, items, context in segments:
        shop.segment(segment)
        for item_type, item_id in items:
            shop.put_item(segment, item_id, item_type)
        shop.member(segment, "c1", context)
    shop.whole_set = item_path
    return shop


L1_ITEMS = [("b2c", "p0"), ("l1", "k1"), ("l1", "p1")]
L2_ITEMS = [("b2c", "p0"), ("l2", "k2"), ("l2", "p2")]


class TestLegalEntities:
    def test_two_contexts_two_answers(self, contexts: Shop, app: FastLane) -> None:
        assert cached(app, ITEMS, lambda: contexts.item_ids("c1", "L1")) == L1_ITEMS
        assert missed(app, ITEMS, lambda: contexts.item_ids("c1", "L2")) == L2_ITEMS
        assert hit(app, ITEMS, lambda: contexts.item_ids("c1", "L2")) == L2_ITEMS
        assert hit(app, ITEMS, lambda: contexts.item_ids("c1", "L1")) == L1_ITEMS
        assert cached(app, TREES, lambda: contexts.outline("c1", "L1")) == [("k1", True, [])]
        assert missed(app, TREES, lambda: contexts.outline("c1", "L2")) == [("k2", True, [])]
        assert hit(app, TREES, lambda: contexts.outline("c1", "L1")) == [("k1", True, [])]

    def test_the_parameter_names_the_context(self, contexts: Shop, app: FastLane) -> None:
        assert cached(app, ITEMS, lambda: contexts.item_ids("c1", "L1")) == L1_ITEMS
        assert contexts.item_ids("c1", "L1", legalEntityId="L2") == L2_ITEMS
        assert contexts.item_ids("c1", "L2", legalEntityId="L1") == L1_ITEMS
        assert contexts.outline("c1", "L1", legalEntityId="L2") == [("k2", True, [])]

    def test_no_context_sees_every_membership(self, contexts: Shop, app: FastLane) -> None:
        assert cached(app, ITEMS, lambda: contexts.item_ids("c1", "L1")) == L1_ITEMS
        assert missed(app, ITEMS, lambda: contexts.item_ids("c1")) == sorted({*L1_ITEMS, *L2_ITEMS})

    def test_a_change_in_one_context_leaves_the_other_kept(self, contexts: Shop, app: FastLane) -> None:
        assert cached(app, ITEMS, lambda: contexts.item_ids("c1", "L1")) == L1_ITEMS
        assert cached(app, ITEMS, lambda: contexts.item_ids("c1", "L2")) == L2_ITEMS
        contexts.delete_item("l1", "p1")
        assert missed(app, ITEMS, lambda: contexts.item_ids("c1", "L1")) == [("b2c", "p0"), ("l1", "k1")]
        assert hit(app, ITEMS, lambda: contexts.item_ids("c1", "L2")) == L2_ITEMS

    def test_a_membership_of_one_context_removed(self, contexts: Shop, app: FastLane) -> None:
        assert cached(app, ITEMS, lambda: contexts.item_ids("c1", "L1")) == L1_ITEMS
        assert cached(app, ITEMS, lambda: contexts.item_ids("c1", "L2")) == L2_ITEMS
        contexts.unmember("l1", "c1", "L1")
        assert missed(app, ITEMS, lambda: contexts.item_ids("c1", "L1")) == [("b2c", "p0")]
        assert hit(app, ITEMS, lambda: contexts.item_ids("c1", "L2")) == L2_ITEMS

    def test_no_longer_a_contact(self, contexts: Shop, app: FastLane) -> None:
        """Removing the contact takes its memberships in that context; naming the context is then refused (checked
        before the cache), never answered with the kept answer."""
        assert cached(app, ITEMS, lambda: contexts.item_ids("c1", "L1")) == L1_ITEMS
        assert cached(app, ITEMS, lambda: contexts.item_ids("c1", "L2", legalEntityId="L1")) == L1_ITEMS
        assert cached(app, TREES, lambda: contexts.outline("c1", "L1")) == [("k1", True, [])]
        (contact,) = [
            doc["id"]
            for doc in contexts.ok("GET", "/customer-management/{tenant}/contact-assignments", 200).json()
            if doc["legalEntity"]["id"] == "L1"
        ]
        contexts.ok("DELETE", f"/customer-management/{{tenant}}/contact-assignments/{contact}", 204)
        assert missed(app, ITEMS, lambda: contexts.item_ids("c1", "L1")) == [("b2c", "p0")]
        assert missed(app, TREES, lambda: contexts.outline("c1", "L1")) == []
        assert contexts.items_response("c1", "L2", legalEntityId="L1").status_code == 403
        assert contexts.trees_response("c1", "L2", legalEntityId="L1").status_code == 403
        assert cached(app, ITEMS, lambda: contexts.item_ids("c1", "L2")) == L2_ITEMS


def build_tenant(shop: Shop, product: str, category: str) -> None:
    """The same writes in every tenant but for the segment's product and category, so that the versions agree too:
    categories ka and kb, products p1 p2 pa, pa in `category`; segment s holds `product` and `category`, customer c1
    is its member."""
    shop.category("ka")
    shop.category("kb")
    for product_id in ("p1", "p2", "pa"):
        shop.product(product_id)
    shop.assign(category, "pa")
    shop.create_customer("c1")
    shop.segment("s")
    shop.put_item("s", product)
    shop.put_item("s", category, "CATEGORY")
    shop.member("s", "c1")


class TestTenants:
    @pytest.fixture
    def tenants(self, client: TestClient[FastLane], tokens: Tokens, tenant: str, item_path: bool) -> tuple[Shop, Shop]:
        first, second = Shop(client, tokens, tenant), Shop(client, tokens, "o" + tenant[1:])
        first.whole_set = second.whole_set = item_path
        build_tenant(first, "p1", "ka")
        build_tenant(second, "p2", "kb")
        return first, second

    def test_the_same_ids_in_two_tenants(self, tenants: tuple[Shop, Shop], app: FastLane) -> None:
        a, b = tenants
        reads: list[tuple[str, Callable[[Shop], Any], Any, Any]] = [
            (ITEMS, lambda s: s.item_ids("c1"), [("s", "ka"), ("s", "p1")], [("s", "kb"), ("s", "p2")]),
            (TREES, lambda s: s.outline("c1"), [("ka", True, [])], [("kb", True, [])]),
            (MATCH, lambda s: s.match(["p1", "p2", "pa"], ["s"]), ["p1", "pa"], ["p2", "pa"]),
            (ASSIGNMENTS, lambda s: s.assigned("ka", segmentsIds="s"), ["pa"], []),
            (ASSIGNMENTS, lambda s: s.assigned("kb"), [], ["pa"]),
        ]
        for kind, read, in_a, in_b in reads:
            assert cached(app, kind, partial(read, a)) == in_a, kind
            assert missed(app, kind, partial(read, b)) == in_b, kind
            assert hit(app, kind, partial(read, b)) == in_b, kind
            assert hit(app, kind, partial(read, a)) == in_a, kind

    def test_a_write_in_one_tenant_leaves_the_other(self, tenants: tuple[Shop, Shop], app: FastLane) -> None:
        a, b = tenants
        assert cached(app, ITEMS, lambda: b.item_ids("c1")) == [("s", "kb"), ("s", "p2")]
        assert cached(app, MATCH, lambda: b.match(["p1", "p2", "pa"], ["s"])) == ["p2", "pa"]
        assert cached(app, ASSIGNMENTS, lambda: b.assigned("kb", segmentsIds="s")) == ["pa"]
        assert cached(app, TREES, lambda: b.outline("c1")) == [("kb", True, [])]

        a.put_item("s", "p2")  # the segment s of tenant a
        a.assign("kb", "p1")  # a's catalogue
        a.patch_category("kb", published=False)
        assert a.item_ids("c1") == [("s", "ka"), ("s", "p1"), ("s", "p2")]
        assert a.match(["p1", "p2", "pa"], ["s"]) == ["p1", "p2", "pa"]

        assert hit(app, ITEMS, lambda: b.item_ids("c1")) == [("s", "kb"), ("s", "p2")]
        assert hit(app, MATCH, lambda: b.match(["p1", "p2", "pa"], ["s"])) == ["p2", "pa"]
        assert hit(app, ASSIGNMENTS, lambda: b.assigned("kb", segmentsIds="s")) == ["pa"]
        assert hit(app, TREES, lambda: b.outline("c1")) == [("kb", True, [])]


class TestCallers:
    def test_any_caller_gets_the_same_assignments(self, shop: Shop, app: FastLane) -> None:
        shop.category("k")
        shop.product("p")
        shop.assign("k", "p")
        anonymous, customer = shop.tokens.anonymous(shop.tenant), shop.customer_token("c1")
        assert cached(app, ASSIGNMENTS, lambda: shop.assigned("k")) == ["p"]
        assert hit(app, ASSIGNMENTS, lambda: shop.assigned("k", anonymous)) == ["p"]
        assert hit(app, ASSIGNMENTS, lambda: shop.assigned("k", customer)) == ["p"]

    def test_a_kept_unpublished_answer_is_not_handed_to_a_storefront_caller(self, shop: Shop, app: FastLane) -> None:
        shop.category("k", published=False)
        shop.product("p")
        shop.assign("k", "p")
        assert cached(app, ASSIGNMENTS, lambda: shop.assigned("k", showUnpublished="true")) == ["p"]
        for token in (shop.tokens.anonymous(shop.tenant), shop.customer_token("c1")):
            response = shop.assignments_response("k", token, showUnpublished="true")
            assert response.status_code == 403, response.text
            assert shop.assignments_response("k", token).status_code == 404


class TestShapes:
    def test_fields_and_languages_make_other_answers(self, contexts: Shop, app: FastLane) -> None:
        """What the route does to an answer (fields, languages) is part of its key."""
        whole = cached(app, ITEMS, lambda: contexts.items("c1", "L1"))
        assert [doc["item"]["id"] for doc in whole] == ["p0", "k1", "p1"]
        narrow = contexts.items("c1", "L1", fields="item.id")
        assert narrow == [{"item": {"id": "p0"}}, {"item": {"id": "k1"}}, {"item": {"id": "p1"}}]
        assert hit(app, ITEMS, lambda: contexts.items("c1", "L1")) == whole
        assert hit(app, ITEMS, lambda: contexts.items("c1", "L1", fields="item.id")) == narrow

        contexts.patch_category("k1", localizedName={"en": "English", "de": "Deutsch"})
        assert cached(app, TREES, lambda: contexts.trees("c1", "L1"))[0]["name"] == {"en": "English", "de": "Deutsch"}
        german = missed(app, TREES, lambda: contexts.trees_response("c1", "L1", headers={"Accept-Language": "de"}))
        assert german.json()[0]["name"] == {"de": "Deutsch"}

        contexts.assign("k1", "p1")
        full = cached(app, ASSIGNMENTS, lambda: contexts.assignments_response("k1").json())
        assert [doc["ref"]["id"] for doc in full] == ["p1"]
        assert "localizedName" in full[0]["ref"]
        narrow_assignments = missed(app, ASSIGNMENTS, lambda: contexts.assignments_response("k1", fields="ref.id"))
        assert narrow_assignments.json() == [{"id": full[0]["id"], "ref": {"id": "p1"}}]
