"""Adversarial: the bulk and import writes, failing writes, hostile parameters and many distinct questions, each
answer of the cached app compared with the cache-off app's on the same database."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from segment_service.core.fastlane import FastLane
from segment_service.settings import Settings
from segment_service.transfer import importer
from tests.answers.attack_support import snapshot
from tests.answers.support import Shop, answers_of, served
from tests.factories import Tokens
from tests.transfer.helpers import write_ndjson

Served = tuple[FastLane, TestClient[FastLane]]
BULK = "/customer-segment/{tenant}/segments/s/items/PRODUCT/bulk"


@pytest.fixture(scope="module")
def uncached_app(settings: Settings) -> Iterator[Served]:
    with served(settings, answer_cache_mb=0) as pair:
        yield pair


@pytest.fixture(scope="module")
def small_app(settings: Settings) -> Iterator[Served]:
    """An app whose cache holds at most 1 MB."""
    with served(settings, answer_cache_mb=1) as pair:
        yield pair


@pytest.fixture
def world(shop: Shop) -> Shop:
    shop.category("tools")
    for product in ("p1", "p2", "p3"):
        shop.product(product)
    shop.assign("tools", "p3")
    shop.create_customer("c1")
    shop.create_customer("c2")
    shop.segment("s")
    shop.segment("t")
    shop.put_item("s", "p1")
    shop.put_item("t", "tools", "CATEGORY")
    shop.member("s", "c1")
    shop.member("t", "c2")
    return shop


def _reads(shop: Shop) -> dict[str, Any]:
    return {
        "items c1": shop.item_ids("c1"),
        "items c1 whole": shop.item_ids("c1", sort="segmentId,type,item.id"),
        "items c2": shop.item_ids("c2"),
        "trees c2": shop.outline("c2"),
        "match": shop.match(["p1", "p2", "p3"], ["s", "t"]),
        "assignments": shop.assigned("tools", segmentsIds="s,t"),
    }


def _same(shop: Shop, uncached: Served) -> dict[str, Any]:
    """Read twice through the cached app (the second a hit) and once with the cache off: all equal."""
    first = _reads(shop)
    assert _reads(shop) == first
    assert _reads(shop.on(uncached[1])) == first
    return first


def test_bulk_put_and_delete_invalidate(world: Shop, uncached_app: Served) -> None:
    _same(world, uncached_app)
    world.ok("PUT", BULK, 207, json=[{"id": "p2"}, {"id": "p3"}])
    assert _same(world, uncached_app)["items c1"] == [("s", "p1"), ("s", "p2"), ("s", "p3")]
    world.ok("DELETE", BULK, 207, json=["p1", "p3"])
    assert _same(world, uncached_app)["items c1"] == [("s", "p2")]


def test_a_bulk_with_failing_items_item_by_item(world: Shop, uncached_app: Served) -> None:
    """The item-by-item path (an id twice) with items that fail in their savepoints, and a bulk that fails whole."""
    _same(world, uncached_app)
    response = world.ok("PUT", BULK, 207, json=[{"id": "p2"}, {"id": "p2"}, {"id": "nope"}])
    assert [r["code"] for r in response.json()][2] >= 400, response.text
    assert _same(world, uncached_app)["items c1"] == [("s", "p1"), ("s", "p2")]
    world.ok("PUT", BULK, 207, json=[{"id": "nope"}, {"id": "gone"}])
    world.ok("PUT", "/customer-segment/{tenant}/segments/nosuch/items/PRODUCT/bulk", 207, 404, json=[{"id": "p3"}])
    assert _same(world, uncached_app)["items c1"] == [("s", "p1"), ("s", "p2")]


def test_a_409_leaves_the_answers_right(world: Shop, uncached_app: Served) -> None:
    before = _same(world, uncached_app)
    body = {"localizedName": {"en": "Renamed"}, "published": False, "metadata": {"version": 999}}
    response = world.call("PATCH", "/category/{tenant}/categories/tools", json=body)
    assert response.status_code == 409, response.text
    assert _same(world, uncached_app) == before
    world.unassign("tools", "p3")
    after = _same(world, uncached_app)
    assert after["assignments"] == []
    assert after["match"] == ["p1"]


def test_the_item_assignment_import_invalidates(
    world: Shop, uncached_app: Served, settings: Settings, tmp_path: Path
) -> None:
    _same(world, uncached_app)
    rows = [{"segmentId": "s", "type": "PRODUCT", "id": "p2"}, {"segmentId": "s", "type": "CATEGORY", "id": "tools"}]
    path = write_ndjson(tmp_path / "items.ndjson", rows)
    summary = asyncio.run(
        importer.import_file(settings, str(settings.database_url), "item-assignments", path, world.tenant)
    )
    assert summary.failed == 0
    after = _same(world, uncached_app)
    assert after["items c1"] == [("s", "tools"), ("s", "p1"), ("s", "p2")] or ("s", "p2") in after["items c1"]
    assert after["match"] == ["p1", "p2", "p3"]
    members = write_ndjson(tmp_path / "members.ndjson", [{"segmentId": "t", "customerId": "c1"}])
    summary = asyncio.run(
        importer.import_file(settings, str(settings.database_url), "customer-assignments", members, world.tenant)
    )
    assert summary.failed == 0, summary.errors
    assert ("t", "tools") in _same(world, uncached_app)["items c1"]


def test_hostile_segments_ids(world: Shop, uncached_app: Served) -> None:
    """A huge list, duplicates, blanks, commas, odd unicode: the cached answer is the cache-off app's."""
    uncached = world.on(uncached_app[1])
    lists = [
        ",".join([f"x{n}" for n in range(3000)] + ["t"]),
        "t,t,,  t ,",
        ",,,",
        "",
        "T",
        "t\u200b",
        "\U0001f600,t",
        "s",
    ]
    for segments in lists * 2:
        got = snapshot(world.assignments_response("tools", segmentsIds=segments))
        assert got == snapshot(uncached.assignments_response("tools", segmentsIds=segments)), segments


def test_ids_that_look_alike_are_told_apart(world: Shop, uncached_app: Served) -> None:
    """Segments whose ids differ only in case or by a trailing '_' or '-': no answer of one is handed to another."""
    for segment, product in (("S", "p2"), ("s_", "p3"), ("s-", "p2")):
        world.segment(segment)
        world.put_item(segment, product)
    world.put_item("S", "tools", "CATEGORY")
    uncached = world.on(uncached_app[1])
    expected = {"s": ["p1"], "S": ["p2", "p3"], "s_": ["p3"], "s-": ["p2"]}
    for _ in range(2):
        for asked, want in expected.items():
            assert world.match(["p1", "p2", "p3"], [asked]) == want, asked
            assert uncached.match(["p1", "p2", "p3"], [asked]) == want, asked
        for asked_ids in ("s", "S", "s_", "s-", "s_,s-", "s-,s_"):
            got = snapshot(world.assignments_response("tools", segmentsIds=asked_ids))
            assert got == snapshot(uncached.assignments_response("tools", segmentsIds=asked_ids)), asked_ids


def test_paging_fields_languages_and_totals_match_the_cache_off_app(world: Shop, uncached_app: Served) -> None:
    for n in range(7):
        world.product(f"q{n}")
        world.put_item("s" if n % 2 else "t", f"q{n}")
    world.member("t", "c1")
    uncached = world.on(uncached_app[1])
    variants: list[tuple[dict[str, Any], dict[str, str]]] = []
    for page in ("1", "2", "3", "4", "99"):
        for size in ("1", "3", "4"):
            variants.append(({"pageNumber": page, "pageSize": size}, {"X-Total-Count": "true"}))
    variants += [
        ({"fields": "item.id"}, {}),
        ({"fields": "segmentId,item"}, {"Accept-Language": "de"}),
        ({"fields": "item.id"}, {"Accept-Language": "*"}),
        ({}, {"Accept-Language": "de,en;q=0.5"}),
        ({"pageNumber": "2", "pageSize": "3", "sort": "item.id:desc"}, {"X-Total-Count": "true"}),
        ({"q": "item.id:q1"}, {"X-Total-Count": "true"}),
    ]
    token = world.customer_token("c1")
    for _ in range(2):
        for params, headers in variants:
            path = "/customer-segment/{tenant}/segments/items"
            got = snapshot(world.call("GET", path, token=token, params=params, headers=headers))
            want = snapshot(uncached.call("GET", path, token=token, params=params, headers=headers))
            assert got == want, (params, headers)
            apath = "/category/{tenant}/categories/tools/assignments"
            params = {**params, "segmentsIds": "t"}
            params.pop("q", None)
            got = snapshot(world.call("GET", apath, params=params, headers=headers))
            want = snapshot(uncached.call("GET", apath, params=params, headers=headers))
            assert got == want, ("assignments", params, headers)


def test_other_customers_and_tenants_never_get_this_answer(
    world: Shop, uncached_app: Served, client: TestClient[FastLane], tokens: Tokens, tenant: str
) -> None:
    """c1's answers kept, then asked by c2, by c1 of another tenant with the same ids, and by c1 with a legal
    entity it is no contact of (whatever the cache-off app answers)."""
    other = Shop(client, tokens, tenant + "x")
    other.create_customer("c1")
    other.segment("s")
    other.product("p2")
    other.put_item("s", "p2")
    other.member("s", "c1")
    world.create_legal_entity("L9")  # c1 is no contact of it
    uncached = world.on(uncached_app[1])
    for _ in range(2):
        assert world.item_ids("c1") == [("s", "p1")]
        assert world.item_ids("c2") == [("t", "tools")]
        assert other.item_ids("c1") == [("s", "p2")]
        assert other.match(["p1", "p2"], ["s"]) == ["p2"]
        assert world.match(["p1", "p2"], ["s"]) == ["p1"]
        denied = world.items_response("c1", "L9")
        assert snapshot(denied) == snapshot(uncached.items_response("c1", "L9"))


def test_thousands_of_distinct_questions_stay_within_the_bound(world: Shop, small_app: Served) -> None:
    """2,000 distinct assignment questions and 500 distinct item pages through an app with a 1 MB cache: its byte
    count never exceeds the bound and always equals the sum of its entries."""
    app, client = small_app
    small = world.on(client)
    cache = answers_of(app)
    big = "x" * 300
    for n in range(2000):
        params = {"segmentsIds": f"t,{big}{n}", "pageSize": str(1 + n % 50)}
        response = small.assignments_response("tools", **params)
        assert response.status_code == 200, response.text
        assert cache.bytes <= cache.max_bytes
    assert sum(size for _, size in cache.entries.values()) == cache.bytes
    assert cache.evictions > 0
    for n in range(500):
        small.items("c1", pageSize=str(1 + n % 100), pageNumber=str(1 + n // 100), sort="item.id")
        assert cache.bytes <= cache.max_bytes
    assert sum(size for _, size in cache.entries.values()) == cache.bytes
