"""Every change to the catalogue reaches the next storefront read, though the read before it was answered from the
answer cache: a product unpublished, renamed or deleted; a category moved (PATCH and PUT of its parent), unpublished
or deleted; a category assignment added or removed. Each test reads twice (the second read a cache hit), makes one
change through the API, and reads the truth."""

from __future__ import annotations

from typing import Any

import pytest

from segment_service.core.fastlane import FastLane
from tests.answers.support import ASSIGNMENTS, ITEMS, MATCH, TREES, Shop, cached, missed

SUBTREE = {"withSubcategories": "true"}
ASKED = ["p-tools", "p-hammer", "p-sledge", "p-pot", "p-loose"]
#: The outline of c1's tree: segment s holds the category hammers.
TREE: list[Any] = [("tools", False, [("hammers", True, [("sledges", True, [])])])]


@pytest.fixture
def world(shop: Shop, item_path: bool) -> Shop:
    """tools (p-tools) > hammers (p-hammer) > sledges (p-sledge); garden > pots (p-pot); p-loose in no category.
    Segment s holds the category hammers and the product p-loose; c1 is its member."""
    for category, parent in [("tools", None), ("hammers", "tools"), ("sledges", "hammers")]:
        shop.category(category, parent)
    for category, parent in [("garden", None), ("pots", "garden")]:
        shop.category(category, parent)
    for product, category in [
        ("p-tools", "tools"),
        ("p-hammer", "hammers"),
        ("p-sledge", "sledges"),
        ("p-pot", "pots"),
    ]:
        shop.product(product)
        shop.assign(category, product)
    shop.product("p-loose")
    shop.create_customer("c1")
    shop.segment("s")
    shop.put_item("s", "hammers", "CATEGORY")
    shop.put_item("s", "p-loose")
    shop.member("s", "c1")
    shop.whole_set = item_path
    return shop


def node_ids(outline: list[Any]) -> set[str]:
    ids: set[str] = set()
    for node, _, below in outline:
        ids |= {node, *node_ids(below)}
    return ids


class TestProducts:
    def test_unpublished_then_published_again(self, world: Shop, app: FastLane) -> None:
        hidden = {"hideUnpublishedProducts": "true"}
        assert cached(app, ASSIGNMENTS, lambda: world.assigned("hammers", **hidden)) == ["p-hammer"]
        assert cached(app, ASSIGNMENTS, lambda: world.assigned("hammers")) == ["p-hammer"]
        by_segment = {**SUBTREE, **hidden, "segmentsIds": "s"}
        assert sorted(cached(app, ASSIGNMENTS, lambda: world.assigned("tools", **by_segment))) == [
            "p-hammer",
            "p-sledge",
        ]
        world.patch_product("p-hammer", published=False)
        assert missed(app, ASSIGNMENTS, lambda: world.assigned("hammers", **hidden)) == []
        assert missed(app, ASSIGNMENTS, lambda: world.assigned("hammers")) == ["p-hammer"]
        assert missed(app, ASSIGNMENTS, lambda: world.assigned("tools", **by_segment)) == ["p-sledge"]
        world.patch_product("p-hammer", published=True)
        assert missed(app, ASSIGNMENTS, lambda: world.assigned("hammers", **hidden)) == ["p-hammer"]

    def test_renamed_in_a_category_assignment(self, world: Shop, app: FastLane) -> None:
        def names() -> list[Any]:
            response = world.assignments_response("hammers")
            assert response.status_code == 200, response.text
            return [doc["ref"]["localizedName"] for doc in response.json()]

        assert cached(app, ASSIGNMENTS, names) == [{"en": "Product p-hammer"}]
        world.patch_product("p-hammer", name={"en": "Claw hammer"})
        assert missed(app, ASSIGNMENTS, names) == [{"en": "Claw hammer"}]

    def test_renamed_in_my_items(self, world: Shop, app: FastLane) -> None:
        def loose() -> dict[str, Any]:
            (item,) = [d["item"] for d in world.items("c1") if d["item"]["id"] == "p-loose"]
            assert isinstance(item, dict)
            return item

        assert cached(app, ITEMS, loose) == {"id": "p-loose", "code": "code-p-loose", "name": {"en": "Product p-loose"}}
        world.patch_product("p-loose", name={"en": "Loose"}, code="LOOSE")
        assert loose() == {"id": "p-loose", "code": "LOOSE", "name": {"en": "Loose"}}

    def test_category_renamed_in_my_items(self, world: Shop, app: FastLane) -> None:
        def hammers() -> dict[str, Any]:
            (item,) = [d["item"] for d in world.items("c1") if d["item"]["id"] == "hammers"]
            assert isinstance(item, dict)
            return item

        assert cached(app, ITEMS, hammers)["name"] == {"en": "Category hammers"}
        world.patch_category("hammers", localizedName={"en": "Hammers!"})
        assert hammers()["name"] == {"en": "Hammers!"}

    def test_deleted(self, world: Shop, app: FastLane) -> None:
        assert cached(app, ASSIGNMENTS, lambda: world.assigned("hammers")) == ["p-hammer"]
        assert sorted(cached(app, ASSIGNMENTS, lambda: world.assigned("tools", **SUBTREE, segmentsIds="s"))) == [
            "p-hammer",
            "p-sledge",
        ]
        assert cached(app, MATCH, lambda: world.match(ASKED, ["s"])) == ["p-hammer", "p-sledge", "p-loose"]
        assert cached(app, ITEMS, lambda: world.item_ids("c1")) == [("s", "hammers"), ("s", "p-loose")]

        world.delete_product("p-hammer")
        assert missed(app, ASSIGNMENTS, lambda: world.assigned("hammers")) == []
        assert missed(app, ASSIGNMENTS, lambda: world.assigned("tools", **SUBTREE, segmentsIds="s")) == ["p-sledge"]
        assert missed(app, MATCH, lambda: world.match(ASKED, ["s"])) == ["p-sledge", "p-loose"]
        assert world.item_ids("c1") == [("s", "hammers"), ("s", "p-loose")]

        world.delete_product("p-loose")  # a segment's item: it leaves the segment
        assert missed(app, ITEMS, lambda: world.item_ids("c1")) == [("s", "hammers")]
        assert missed(app, MATCH, lambda: world.match(ASKED, ["s"])) == ["p-sledge"]

    def test_created_again_after_deletion(self, world: Shop, app: FastLane) -> None:
        assert cached(app, MATCH, lambda: world.match(ASKED, ["s"])) == ["p-hammer", "p-sledge", "p-loose"]
        world.delete_product("p-sledge")
        assert missed(app, MATCH, lambda: world.match(ASKED, ["s"])) == ["p-hammer", "p-loose"]
        world.product("p-sledge")
        assert missed(app, MATCH, lambda: world.match(ASKED, ["s"])) == ["p-hammer", "p-loose"]
        world.assign("sledges", "p-sledge")
        assert missed(app, MATCH, lambda: world.match(ASKED, ["s"])) == ["p-hammer", "p-sledge", "p-loose"]


class TestCategories:
    def test_moved_by_patch(self, world: Shop, app: FastLane) -> None:
        assert cached(app, TREES, lambda: world.outline("c1")) == TREE
        assert sorted(cached(app, ASSIGNMENTS, lambda: world.assigned("tools", **SUBTREE))) == [
            "p-hammer",
            "p-sledge",
            "p-tools",
        ]
        assert cached(app, ASSIGNMENTS, lambda: world.assigned("garden", **SUBTREE)) == ["p-pot"]
        assert cached(app, ASSIGNMENTS, lambda: world.assigned("sledges", segmentsIds="s")) == ["p-sledge"]
        assert cached(app, MATCH, lambda: world.match(ASKED, ["s"])) == ["p-hammer", "p-sledge", "p-loose"]

        world.patch_category("sledges", parentId="garden")
        assert missed(app, TREES, lambda: world.outline("c1")) == [("tools", False, [("hammers", True, [])])]
        assert sorted(missed(app, ASSIGNMENTS, lambda: world.assigned("tools", **SUBTREE))) == ["p-hammer", "p-tools"]
        assert sorted(missed(app, ASSIGNMENTS, lambda: world.assigned("garden", **SUBTREE))) == ["p-pot", "p-sledge"]
        assert missed(app, ASSIGNMENTS, lambda: world.assigned("sledges", segmentsIds="s")) == []
        assert missed(app, MATCH, lambda: world.match(ASKED, ["s"])) == ["p-hammer", "p-loose"]

    def test_moved_by_put(self, world: Shop, app: FastLane) -> None:
        assert cached(app, TREES, lambda: world.outline("c1")) == TREE
        assert cached(app, MATCH, lambda: world.match(ASKED, ["s"])) == ["p-hammer", "p-sledge", "p-loose"]
        body = {"localizedName": {"en": "Category garden"}, "published": True, "parentId": "hammers"}
        world.ok("PUT", "/category/{tenant}/categories/garden", 204, json=body)
        assert missed(app, TREES, lambda: world.outline("c1")) == [
            ("tools", False, [("hammers", True, [("garden", True, [("pots", True, [])]), ("sledges", True, [])])])
        ]
        assert missed(app, MATCH, lambda: world.match(ASKED, ["s"])) == ["p-hammer", "p-sledge", "p-pot", "p-loose"]

    def test_moved_to_the_root(self, world: Shop, app: FastLane) -> None:
        assert cached(app, TREES, lambda: world.outline("c1")) == TREE
        world.patch_category("hammers", parentId=None)
        assert missed(app, TREES, lambda: world.outline("c1")) == [("hammers", True, [("sledges", True, [])])]

    def test_unpublished_then_published_again(self, world: Shop, app: FastLane) -> None:
        assert cached(app, TREES, lambda: world.outline("c1")) == TREE
        assert sorted(cached(app, ASSIGNMENTS, lambda: world.assigned("tools", **SUBTREE))) == [
            "p-hammer",
            "p-sledge",
            "p-tools",
        ]
        assert cached(app, ASSIGNMENTS, lambda: world.assigned("sledges")) == ["p-sledge"]

        world.patch_category("sledges", published=False)
        assert missed(app, TREES, lambda: world.outline("c1")) == [("tools", False, [("hammers", True, [])])]
        assert sorted(missed(app, ASSIGNMENTS, lambda: world.assigned("tools", **SUBTREE))) == ["p-hammer", "p-tools"]
        assert world.assignments_response("sledges").status_code == 404
        assert world.assigned("sledges", showUnpublished="true") == ["p-sledge"]

        world.patch_category("hammers", published=False)  # the segment's own category: it and all below it go
        assert not {"hammers", "sledges"} & node_ids(missed(app, TREES, lambda: world.outline("c1")))

        world.patch_category("hammers", published=True)
        world.patch_category("sledges", published=True)
        assert missed(app, TREES, lambda: world.outline("c1")) == TREE
        assert world.assigned("sledges") == ["p-sledge"]

    def test_deleted(self, world: Shop, app: FastLane) -> None:
        assert cached(app, TREES, lambda: world.outline("c1")) == TREE
        assert cached(app, ITEMS, lambda: world.item_ids("c1")) == [("s", "hammers"), ("s", "p-loose")]
        world.ok("DELETE", "/category/{tenant}/categories/sledges", 204)
        assert missed(app, TREES, lambda: world.outline("c1")) == [("tools", False, [("hammers", True, [])])]
        assert world.item_ids("c1") == [("s", "hammers"), ("s", "p-loose")]
        world.ok("DELETE", "/category/{tenant}/categories/hammers", 204)  # the segment's item: it leaves the segment
        assert missed(app, TREES, lambda: world.outline("c1")) == []
        assert missed(app, ITEMS, lambda: world.item_ids("c1")) == [("s", "p-loose")]

    def test_an_empty_category_deleted(self, world: Shop, app: FastLane) -> None:
        """A category in no segment and with no products: its deletion is its own event alone."""
        world.category("mallets", "hammers")
        hammers: list[Any] = [("hammers", True, [("mallets", True, []), ("sledges", True, [])])]
        with_mallets = [("tools", False, hammers)]
        assert cached(app, TREES, lambda: world.outline("c1")) == with_mallets
        assert cached(app, ASSIGNMENTS, lambda: world.assigned("mallets", showUnpublished="true")) == []
        world.ok("DELETE", "/category/{tenant}/categories/mallets", 204)
        assert missed(app, TREES, lambda: world.outline("c1")) == TREE
        assert world.assignments_response("mallets", showUnpublished="true").status_code == 404

    def test_created_under_an_assigned_category(self, world: Shop, app: FastLane) -> None:
        assert cached(app, TREES, lambda: world.outline("c1")) == TREE
        world.category("mallets", "hammers")
        assert missed(app, TREES, lambda: world.outline("c1")) == [
            ("tools", False, [("hammers", True, [("mallets", True, []), ("sledges", True, [])])])
        ]


class TestCategoryAssignments:
    def test_added_then_removed(self, world: Shop, app: FastLane) -> None:
        world.product("p-new")
        asked = [*ASKED, "p-new"]
        assert cached(app, ASSIGNMENTS, lambda: world.assigned("sledges")) == ["p-sledge"]
        assert cached(app, ASSIGNMENTS, lambda: world.assigned("sledges", segmentsIds="s")) == ["p-sledge"]
        assert sorted(cached(app, ASSIGNMENTS, lambda: world.assigned("tools", **SUBTREE))) == [
            "p-hammer",
            "p-sledge",
            "p-tools",
        ]
        assert cached(app, MATCH, lambda: world.match(asked, ["s"])) == ["p-hammer", "p-sledge", "p-loose"]

        world.assign("sledges", "p-new")
        assert missed(app, ASSIGNMENTS, lambda: world.assigned("sledges")) == ["p-new", "p-sledge"]
        assert missed(app, ASSIGNMENTS, lambda: world.assigned("sledges", segmentsIds="s")) == ["p-new", "p-sledge"]
        assert sorted(missed(app, ASSIGNMENTS, lambda: world.assigned("tools", **SUBTREE))) == [
            "p-hammer",
            "p-new",
            "p-sledge",
            "p-tools",
        ]
        assert missed(app, MATCH, lambda: world.match(asked, ["s"])) == ["p-hammer", "p-sledge", "p-loose", "p-new"]

        world.unassign("sledges", "p-new")
        assert missed(app, ASSIGNMENTS, lambda: world.assigned("sledges")) == ["p-sledge"]
        assert missed(app, MATCH, lambda: world.match(asked, ["s"])) == ["p-hammer", "p-sledge", "p-loose"]

    def test_a_category_emptied_of_its_assignments(self, world: Shop, app: FastLane) -> None:
        assert cached(app, ASSIGNMENTS, lambda: world.assigned("hammers")) == ["p-hammer"]
        world.ok("DELETE", "/category/{tenant}/categories/hammers/assignments", 204)
        assert missed(app, ASSIGNMENTS, lambda: world.assigned("hammers")) == []

    def test_a_product_taken_out_of_every_category(self, world: Shop, app: FastLane) -> None:
        assert cached(app, ASSIGNMENTS, lambda: world.assigned("hammers")) == ["p-hammer"]
        assert cached(app, MATCH, lambda: world.match(ASKED, ["s"])) == ["p-hammer", "p-sledge", "p-loose"]
        world.ok("DELETE", "/category/{tenant}/assignments/references/p-hammer", 204)
        assert missed(app, ASSIGNMENTS, lambda: world.assigned("hammers")) == []
        assert missed(app, MATCH, lambda: world.match(ASKED, ["s"])) == ["p-sledge", "p-loose"]
