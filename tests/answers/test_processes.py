"""Answers are kept per process, and no process is told of a write: every process sees a committed write at its
next read, because the versions it reads first are the database's. Two apps on one database stand for two
processes: kept in B, written through A, read through B. With the cache off (`answer_cache_mb=0`) the answers are
the same and nothing is kept."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from litestar.testing import TestClient

from segment_service.core.fastlane import FastLane
from segment_service.settings import Settings
from tests.answers.support import ASSIGNMENTS, ITEMS, MATCH, TREES, Shop, answers_of, cached, hit, missed, served

Served = tuple[FastLane, TestClient[FastLane]]
ASKED = ["p1", "p2", "p-hammer", "p-sledge"]


@pytest.fixture(scope="module")
def other_app(settings: Settings, versions_app: Served) -> Iterator[Served]:
    """A second process on the same database, with an answer cache of its own and the versions where the first
    keeps them (with `host`, two apps of one process share the host's file; tests/ops/test_host_versions.py runs two
    processes)."""
    with served(settings, answer_versions=versions_app[0].state.settings.answer_versions) as pair:
        yield pair


@pytest.fixture(scope="module")
def uncached_app(settings: Settings) -> Iterator[Served]:
    """A process on the same database with the answer cache off."""
    with served(settings, answer_cache_mb=0) as pair:
        yield pair


@pytest.fixture
def world(shop: Shop) -> Shop:
    """tools > hammers (p-hammer) > sledges (p-sledge); products p1 and p2. Segment s holds p1 and the category
    hammers; c1 is its member, c2 a customer of no segment."""
    for category, parent in [("tools", None), ("hammers", "tools"), ("sledges", "hammers")]:
        shop.category(category, parent)
    for product in ("p1", "p2", "p-hammer", "p-sledge"):
        shop.product(product)
    shop.assign("hammers", "p-hammer")
    shop.assign("sledges", "p-sledge")
    shop.create_customer("c1")
    shop.create_customer("c2")
    shop.segment("s")
    shop.put_item("s", "p1")
    shop.put_item("s", "hammers", "CATEGORY")
    shop.member("s", "c1")
    return shop


def reads(shop: Shop) -> dict[str, Callable[[], Any]]:
    """One read of each kind."""
    return {
        ITEMS: lambda: shop.item_ids("c1"),
        TREES: lambda: shop.outline("c1"),
        MATCH: lambda: shop.match(ASKED, ["s"]),
        ASSIGNMENTS: lambda: shop.assigned("tools", withSubcategories="true", segmentsIds="s"),
    }


class TestTwoProcesses:
    def test_a_segment_write_through_a_reaches_b(self, world: Shop, app: FastLane, other_app: Served) -> None:
        b_app, b_client = other_app
        b = reads(world.on(b_client))
        assert cached(b_app, ITEMS, b[ITEMS]) == [("s", "hammers"), ("s", "p1")]
        assert cached(b_app, MATCH, b[MATCH]) == ["p1", "p-hammer", "p-sledge"]
        assert cached(b_app, ASSIGNMENTS, b[ASSIGNMENTS]) == ["p-hammer", "p-sledge"]
        world.put_item("s", "p2")  # through the session's app, A
        assert missed(b_app, ITEMS, b[ITEMS]) == [("s", "hammers"), ("s", "p1"), ("s", "p2")]
        assert missed(b_app, MATCH, b[MATCH]) == ["p1", "p2", "p-hammer", "p-sledge"]
        world.delete_item("s", "hammers", "CATEGORY")
        assert missed(b_app, ITEMS, b[ITEMS]) == [("s", "p1"), ("s", "p2")]
        assert missed(b_app, ASSIGNMENTS, b[ASSIGNMENTS]) == []
        assert missed(b_app, TREES, b[TREES]) == []
        world.patch_segment("s", "/status", "INACTIVE")
        assert missed(b_app, ITEMS, b[ITEMS]) == []
        assert missed(b_app, MATCH, b[MATCH]) == []

    def test_a_catalogue_write_through_a_reaches_b(self, world: Shop, app: FastLane, other_app: Served) -> None:
        b_app, b_client = other_app
        b = world.on(b_client)
        assert cached(b_app, TREES, lambda: b.outline("c1")) == [
            ("tools", False, [("hammers", True, [("sledges", True, [])])])
        ]
        assert cached(b_app, ASSIGNMENTS, lambda: b.assigned("sledges", hideUnpublishedProducts="true")) == ["p-sledge"]
        world.patch_category("sledges", parentId=None)
        assert missed(b_app, TREES, lambda: b.outline("c1")) == [("tools", False, [("hammers", True, [])])]
        world.patch_product("p-sledge", published=False)
        assert missed(b_app, ASSIGNMENTS, lambda: b.assigned("sledges", hideUnpublishedProducts="true")) == []

    def test_a_membership_written_through_a_reaches_b(self, world: Shop, app: FastLane, other_app: Served) -> None:
        b_app, b_client = other_app
        b = world.on(b_client)
        assert cached(b_app, ITEMS, lambda: b.item_ids("c2")) == []
        world.member("s", "c2")
        assert b.item_ids("c2") == [("s", "hammers"), ("s", "p1")]
        world.unmember("s", "c2")
        assert b.item_ids("c2") == []

    def test_a_write_through_b_reaches_a(self, world: Shop, app: FastLane, other_app: Served) -> None:
        _, b_client = other_app
        a = reads(world)
        assert cached(app, ITEMS, a[ITEMS]) == [("s", "hammers"), ("s", "p1")]
        assert cached(app, MATCH, a[MATCH]) == ["p1", "p-hammer", "p-sledge"]
        world.on(b_client).delete_item("s", "p1")
        assert missed(app, ITEMS, a[ITEMS]) == [("s", "hammers")]
        assert missed(app, MATCH, a[MATCH]) == ["p-hammer", "p-sledge"]

    def test_each_process_keeps_its_own(self, world: Shop, app: FastLane, other_app: Served) -> None:
        """A's kept answer is no hit in B: nothing is shared."""
        b_app, b_client = other_app
        assert cached(app, ITEMS, reads(world)[ITEMS]) == [("s", "hammers"), ("s", "p1")]
        assert missed(b_app, ITEMS, reads(world.on(b_client))[ITEMS]) == [("s", "hammers"), ("s", "p1")]


class TestCacheOff:
    def test_the_same_answers_and_nothing_kept(self, world: Shop, app: FastLane, uncached_app: Served) -> None:
        off_app, off_client = uncached_app
        off = answers_of(off_app)
        assert not off.enabled
        a, c = reads(world), reads(world.on(off_client))
        for kind in (ITEMS, TREES, MATCH, ASSIGNMENTS):
            assert cached(app, kind, a[kind]) == c[kind]() == c[kind](), kind
        world.put_item("s", "sledges", "CATEGORY")
        world.patch_category("sledges", parentId="tools")
        world.patch_product("p-hammer", published=False)
        for kind in (ITEMS, TREES, MATCH, ASSIGNMENTS):
            assert a[kind]() == c[kind](), kind
            assert hit(app, kind, a[kind]) == c[kind](), kind
        assert world.assigned("hammers", hideUnpublishedProducts="true") == []
        assert world.on(off_client).assigned("hammers", hideUnpublishedProducts="true") == []
        assert (len(off.entries), off.bytes, off.evictions) == (0, 0, 0)
        assert sum(counts.hits for counts in off.counts.values()) == 0
