"""Every change to a segment, its items and its members reaches the next storefront read, though the read before
it was answered from the answer cache: items added, updated and deleted; a segment's status, site code, deletion and
re-creation; a validity window that ends or starts while an answer is kept; memberships written through the API and
made by a rule. Each test reads twice (the second read a cache hit), makes one change through the API, and reads
the truth."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from segment_service.core.fastlane import FastLane
from tests.answers.support import (
    ASSIGNMENTS,
    ITEMS,
    MATCH,
    TREES,
    Shop,
    cached,
    hit,
    iso,
    missed,
    sleep_past,
    whole_seconds_ahead,
)
from tests.rules.helpers import attr

ASKED = ["p1", "p2", "p3", "p-sledge", "p-garden"]


@pytest.fixture
def world(shop: Shop, item_path: bool) -> Shop:
    """tools > hammers > sledges (p-sledge); garden (p-garden); products p1-p3. Segment s (site main) holds p1 and
    has customer c1 (B2C); c2 is a customer of no segment."""
    for category, parent in [("tools", None), ("hammers", "tools"), ("sledges", "hammers"), ("garden", None)]:
        shop.category(category, parent)
    for product in ("p1", "p2", "p3", "p-sledge", "p-garden"):
        shop.product(product)
    shop.assign("sledges", "p-sledge")
    shop.assign("garden", "p-garden")
    shop.create_customer("c1")
    shop.create_customer("c2")
    shop.segment("s")
    shop.put_item("s", "p1")
    shop.member("s", "c1")
    shop.whole_set = item_path
    return shop


#: The outline of the customer's tree when segment s holds the category hammers.
HAMMERS_TREE: list[Any] = [("tools", False, [("hammers", True, [("sledges", True, [])])])]


class TestItemAssignments:
    def test_an_added_product_reaches_items_and_match(self, world: Shop, app: FastLane) -> None:
        assert cached(app, ITEMS, lambda: world.item_ids("c1")) == [("s", "p1")]
        assert cached(app, MATCH, lambda: world.match(ASKED, ["s"])) == ["p1"]
        assert world.put_item("s", "p2") == 201
        assert missed(app, ITEMS, lambda: world.item_ids("c1")) == [("s", "p1"), ("s", "p2")]
        assert missed(app, MATCH, lambda: world.match(ASKED, ["s"])) == ["p1", "p2"]

    def test_an_updated_item_reaches_items(self, world: Shop, app: FastLane) -> None:
        before = cached(app, ITEMS, lambda: world.items("c1"))
        assert "mixins" not in before[0]
        assert before[0]["metadata"]["version"] == 1
        mixins = {"segmentAttributes": {"membershipStatus": "PREMIUM"}}
        assert world.put_item("s", "p1", body={"mixins": mixins}) == 204
        after = missed(app, ITEMS, lambda: world.items("c1"))
        assert after[0]["mixins"] == mixins
        assert after[0]["metadata"]["version"] == 2
        assert cached(app, MATCH, lambda: world.match(ASKED, ["s"])) == ["p1"]

    def test_a_deleted_product_item_leaves_items_and_match(self, world: Shop, app: FastLane) -> None:
        world.put_item("s", "p2")
        assert cached(app, ITEMS, lambda: world.item_ids("c1")) == [("s", "p1"), ("s", "p2")]
        assert cached(app, MATCH, lambda: world.match(ASKED, ["s"])) == ["p1", "p2"]
        world.delete_item("s", "p1")
        assert missed(app, ITEMS, lambda: world.item_ids("c1")) == [("s", "p2")]
        assert missed(app, MATCH, lambda: world.match(ASKED, ["s"])) == ["p2"]

    def test_a_category_item_added_then_deleted(self, world: Shop, app: FastLane) -> None:
        """A CATEGORY item opens its subtree: match, the category's assignments by segment and the tree follow."""
        assert cached(app, ASSIGNMENTS, lambda: world.assigned("sledges", segmentsIds="s")) == []
        subtree = {"withSubcategories": "true", "segmentsIds": "s"}
        assert cached(app, ASSIGNMENTS, lambda: world.assigned("tools", **subtree)) == []
        assert cached(app, MATCH, lambda: world.match(ASKED, ["s"])) == ["p1"]
        assert cached(app, TREES, lambda: world.outline("c1")) == []

        assert world.put_item("s", "hammers", "CATEGORY") == 201
        assert missed(app, ASSIGNMENTS, lambda: world.assigned("sledges", segmentsIds="s")) == ["p-sledge"]
        assert missed(app, ASSIGNMENTS, lambda: world.assigned("tools", **subtree)) == ["p-sledge"]
        assert missed(app, MATCH, lambda: world.match(ASKED, ["s"])) == ["p1", "p-sledge"]
        assert missed(app, TREES, lambda: world.outline("c1")) == HAMMERS_TREE
        assert missed(app, ITEMS, lambda: world.item_ids("c1")) == [("s", "hammers"), ("s", "p1")]
        # and kept again
        assert hit(app, ASSIGNMENTS, lambda: world.assigned("sledges", segmentsIds="s")) == ["p-sledge"]
        assert hit(app, TREES, lambda: world.outline("c1")) == HAMMERS_TREE

        world.delete_item("s", "hammers", "CATEGORY")
        assert missed(app, ASSIGNMENTS, lambda: world.assigned("sledges", segmentsIds="s")) == []
        assert missed(app, ASSIGNMENTS, lambda: world.assigned("tools", **subtree)) == []
        assert missed(app, MATCH, lambda: world.match(ASKED, ["s"])) == ["p1"]
        assert missed(app, TREES, lambda: world.outline("c1")) == []

    def test_an_item_of_another_segment_changes_no_answer_of_mine(self, world: Shop, app: FastLane) -> None:
        world.segment("elsewhere")
        assert cached(app, ITEMS, lambda: world.item_ids("c1")) == [("s", "p1")]
        world.put_item("elsewhere", "p2")
        assert hit(app, ITEMS, lambda: world.item_ids("c1")) == [("s", "p1")]


class TestSegmentChanges:
    def test_status_inactive_then_active_again(self, world: Shop, app: FastLane) -> None:
        world.put_item("s", "hammers", "CATEGORY")
        assert cached(app, ITEMS, lambda: world.item_ids("c1")) == [("s", "hammers"), ("s", "p1")]
        assert cached(app, MATCH, lambda: world.match(ASKED, ["s"])) == ["p1", "p-sledge"]
        assert cached(app, TREES, lambda: world.outline("c1")) == HAMMERS_TREE

        world.patch_segment("s", "/status", "INACTIVE")
        assert missed(app, ITEMS, lambda: world.item_ids("c1")) == []
        assert missed(app, MATCH, lambda: world.match(ASKED, ["s"])) == []
        assert missed(app, TREES, lambda: world.outline("c1")) == []
        assert hit(app, ITEMS, lambda: world.item_ids("c1")) == []

        world.patch_segment("s", "/status", "ACTIVE")
        assert missed(app, ITEMS, lambda: world.item_ids("c1")) == [("s", "hammers"), ("s", "p1")]
        assert missed(app, MATCH, lambda: world.match(ASKED, ["s"])) == ["p1", "p-sledge"]
        assert missed(app, TREES, lambda: world.outline("c1")) == HAMMERS_TREE

    def test_site_code_changed(self, world: Shop, app: FastLane) -> None:
        assert cached(app, ITEMS, lambda: world.item_ids("c1", siteCode="main")) == [("s", "p1")]
        assert cached(app, ITEMS, lambda: world.item_ids("c1", siteCode="other")) == []
        assert cached(app, MATCH, lambda: world.match(ASKED, ["s"], "main")) == ["p1"]
        assert cached(app, MATCH, lambda: world.match(ASKED, ["s"], "other")) == []

        world.patch_segment("s", "/siteCode", "other")
        assert world.item_ids("c1", siteCode="main") == []
        assert world.item_ids("c1", siteCode="other") == [("s", "p1")]
        assert world.match(ASKED, ["s"], "main") == []
        assert world.match(ASKED, ["s"], "other") == ["p1"]

    def test_deleted_and_recreated_with_the_same_id_and_other_items(self, world: Shop, app: FastLane) -> None:
        world.put_item("s", "hammers", "CATEGORY")
        assert cached(app, ITEMS, lambda: world.item_ids("c1")) == [("s", "hammers"), ("s", "p1")]
        assert cached(app, MATCH, lambda: world.match(ASKED, ["s"])) == ["p1", "p-sledge"]
        assert cached(app, TREES, lambda: world.outline("c1")) == HAMMERS_TREE
        assert cached(app, ASSIGNMENTS, lambda: world.assigned("sledges", segmentsIds="s")) == ["p-sledge"]

        world.delete_segment("s")
        assert world.item_ids("c1") == []
        assert world.match(ASKED, ["s"]) == []
        assert world.outline("c1") == []
        assert world.assigned("sledges", segmentsIds="s") == []

        world.segment("s")
        world.put_item("s", "p2")
        world.put_item("s", "garden", "CATEGORY")
        world.member("s", "c1")
        assert world.item_ids("c1") == [("s", "garden"), ("s", "p2")]
        assert world.match(ASKED, ["s"]) == ["p2", "p-garden"]
        assert world.outline("c1") == [("garden", True, [])]
        assert world.assigned("sledges", segmentsIds="s") == []
        assert world.assigned("garden", segmentsIds="s") == ["p-garden"]

    def test_validity_ends_while_cached(self, world: Shop, app: FastLane) -> None:
        end = whole_seconds_ahead(1.5)
        world.segment("brief", validity={"from": iso(end - timedelta(days=1)), "to": iso(end)})
        world.put_item("brief", "p2")
        world.put_item("brief", "garden", "CATEGORY")
        world.member("brief", "c1")
        assert cached(app, ITEMS, lambda: world.item_ids("c1")) == [("brief", "garden"), ("brief", "p2"), ("s", "p1")]
        assert cached(app, MATCH, lambda: world.match(ASKED, ["s", "brief"])) == ["p1", "p2", "p-garden"]
        assert cached(app, TREES, lambda: world.outline("c1")) == [("garden", True, [])]
        sleep_past(end)
        assert missed(app, ITEMS, lambda: world.item_ids("c1")) == [("s", "p1")]
        assert missed(app, MATCH, lambda: world.match(ASKED, ["s", "brief"])) == ["p1"]
        assert missed(app, TREES, lambda: world.outline("c1")) == []

    def test_validity_starts_while_cached(self, world: Shop, app: FastLane) -> None:
        start = whole_seconds_ahead(1.5)
        world.segment("soon", validity={"from": iso(start)})
        world.put_item("soon", "p2")
        world.put_item("soon", "garden", "CATEGORY")
        world.member("soon", "c1")
        assert cached(app, ITEMS, lambda: world.item_ids("c1")) == [("s", "p1")]
        assert cached(app, MATCH, lambda: world.match(ASKED, ["s", "soon"])) == ["p1"]
        assert cached(app, TREES, lambda: world.outline("c1")) == []
        sleep_past(start)
        assert missed(app, ITEMS, lambda: world.item_ids("c1")) == [("s", "p1"), ("soon", "garden"), ("soon", "p2")]
        assert missed(app, MATCH, lambda: world.match(ASKED, ["s", "soon"])) == ["p1", "p2", "p-garden"]
        assert missed(app, TREES, lambda: world.outline("c1")) == [("garden", True, [])]


class TestMemberships:
    def test_membership_added_then_removed(self, world: Shop, app: FastLane) -> None:
        world.segment("extra")
        world.put_item("extra", "p3")
        world.put_item("extra", "garden", "CATEGORY")
        assert cached(app, ITEMS, lambda: world.item_ids("c1")) == [("s", "p1")]
        assert cached(app, TREES, lambda: world.outline("c1")) == []
        assert cached(app, ITEMS, lambda: world.item_ids("c2")) == []

        world.member("extra", "c1")
        assert missed(app, ITEMS, lambda: world.item_ids("c1")) == [("extra", "garden"), ("extra", "p3"), ("s", "p1")]
        assert missed(app, TREES, lambda: world.outline("c1")) == [("garden", True, [])]
        assert hit(app, ITEMS, lambda: world.item_ids("c2")) == []

        world.unmember("extra", "c1")
        # Back to exactly the segments and versions of the first answer: that answer is still the truth.
        assert hit(app, ITEMS, lambda: world.item_ids("c1")) == [("s", "p1")]
        assert hit(app, TREES, lambda: world.outline("c1")) == []

        world.member("s", "c2")
        assert world.item_ids("c2") == [("s", "p1")]
        world.unmember("s", "c1")
        assert world.item_ids("c1") == []
        assert world.outline("c1") == []

    def test_a_rule_admits_then_drops_the_customer(self, world: Shop, app: FastLane) -> None:
        world.create_customer("ann", firstName="Bob")
        ruled = world.segment("ruled")
        world.put_item(ruled, "p3")
        world.put_item(ruled, "garden", "CATEGORY")
        world.save_rule(ruled, attr("customer.firstName", "eq", "Ann"))
        assert cached(app, ITEMS, lambda: world.item_ids("ann")) == []
        assert cached(app, TREES, lambda: world.outline("ann")) == []

        world.update_customer("ann", firstName="Ann")
        assert world.member_ids(ruled) == {"ann"}
        assert missed(app, ITEMS, lambda: world.item_ids("ann")) == [("ruled", "garden"), ("ruled", "p3")]
        assert missed(app, TREES, lambda: world.outline("ann")) == [("garden", True, [])]
        assert hit(app, ITEMS, lambda: world.item_ids("ann")) == [("ruled", "garden"), ("ruled", "p3")]

        world.update_customer("ann", firstName="Bob")
        assert world.member_ids(ruled) == set()
        assert world.item_ids("ann") == []
        assert world.outline("ann") == []

    def test_a_rule_saved_later_admits_the_customer(self, world: Shop, app: FastLane) -> None:
        """A rule's first evaluation makes memberships outside any request of the customer's."""
        world.create_customer("ann", firstName="Ann")
        ruled = world.segment("ruled")
        world.put_item(ruled, "p3")
        assert cached(app, ITEMS, lambda: world.item_ids("ann")) == []
        world.save_rule(ruled, attr("customer.firstName", "eq", "Ann"))
        assert world.item_ids("ann") == [("ruled", "p3")]
