"""A seeded random walk of writes through the API, each followed by reads through the served app (answer cache on)
and through an app on the same database with the cache off: the answers must agree at every step. The writes are
those the cache is keyed for: items added and removed, memberships added and removed, segment status toggled,
products published and unpublished, categories moved, published and unpublished, category assignments added and
removed."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from litestar.testing import TestClient

from segment_service.core.fastlane import FastLane
from segment_service.settings import Settings
from tests.answers.support import ASSIGNMENTS, ITEMS, MATCH, TREES, Shop, answers_of, served

STEPS = 150
SEED = 20261204
CATEGORIES = [f"k{n}" for n in range(6)]
PRODUCTS = [f"p{n}" for n in range(8)]
SEGMENTS = ["s0", "s1", "s2", "s3"]  # s3 is of the site "other"
CUSTOMERS = ["c0", "c1", "c2"]
Read = tuple[str, Callable[[Shop], httpx.Response]]


@pytest.fixture(scope="module")
def uncached_client(settings: Settings) -> Iterator[TestClient[FastLane]]:
    with served(settings, answer_cache_mb=0) as (_, client):
        yield client


class Model:
    """What the walk wrote, so that each write it picks is one the API takes."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.parents: dict[str, str | None] = {"k0": None, "k1": "k0", "k2": "k1", "k3": "k0", "k4": None, "k5": "k4"}
        self.category_published = dict.fromkeys(CATEGORIES, True)
        self.product_published = dict.fromkeys(PRODUCTS, True)
        self.assignments: set[tuple[str, str]] = {(CATEGORIES[n % 6], p) for n, p in enumerate(PRODUCTS[:6])}
        self.items: set[tuple[str, str, str]] = set()
        self.members: set[tuple[str, str]] = set()
        self.active = dict.fromkeys(SEGMENTS, True)

    def below(self, category: str) -> set[str]:
        """`category` and every category under it."""
        found = {category}
        while True:
            more = {c for c, p in self.parents.items() if p in found} - found
            if not more:
                return found
            found |= more


def build(shop: Shop, model: Model) -> None:
    for category in CATEGORIES:  # parents come first in this order
        shop.category(category, model.parents[category])
    for product in PRODUCTS:
        shop.product(product)
    for category, product in sorted(model.assignments):
        shop.assign(category, product)
    for customer in CUSTOMERS:
        shop.create_customer(customer)
    for segment in SEGMENTS:
        shop.segment(segment, siteCode="other" if segment == "s3" else "main")
    rng = model.rng
    for segment in SEGMENTS:
        for item_type, item_id in rng.sample(
            [("PRODUCT", p) for p in PRODUCTS] + [("CATEGORY", c) for c in CATEGORIES], 3
        ):
            shop.put_item(segment, item_id, item_type)
            model.items.add((segment, item_type, item_id))
    for segment, customer in rng.sample([(s, c) for s in SEGMENTS for c in CUSTOMERS], 5):
        shop.member(segment, customer)
        model.members.add((segment, customer))


def write(shop: Shop, model: Model) -> str:
    """One random write through the API; what it was."""
    rng = model.rng
    kind = rng.choice(
        ["item+", "item+", "item-", "member+", "member-", "status", "publish", "move", "move", "category", "assign"]
    )
    if kind == "item+":
        segment = rng.choice(SEGMENTS)
        item_type, item_id = rng.choice([("PRODUCT", p) for p in PRODUCTS] + [("CATEGORY", c) for c in CATEGORIES])
        shop.put_item(segment, item_id, item_type)
        model.items.add((segment, item_type, item_id))
        return f"PUT item {segment} {item_type} {item_id}"
    if kind == "item-" and model.items:
        segment, item_type, item_id = rng.choice(sorted(model.items))
        shop.delete_item(segment, item_id, item_type)
        model.items.discard((segment, item_type, item_id))
        return f"DELETE item {segment} {item_type} {item_id}"
    if kind == "member+":
        segment, customer = rng.choice(SEGMENTS), rng.choice(CUSTOMERS)
        shop.member(segment, customer)
        model.members.add((segment, customer))
        return f"PUT member {segment} {customer}"
    if kind == "member-" and model.members:
        segment, customer = rng.choice(sorted(model.members))
        shop.unmember(segment, customer)
        model.members.discard((segment, customer))
        return f"DELETE member {segment} {customer}"
    if kind == "status":
        segment = rng.choice(SEGMENTS)
        model.active[segment] = not model.active[segment]
        shop.patch_segment(segment, "/status", "ACTIVE" if model.active[segment] else "INACTIVE")
        return f"status {segment} {model.active[segment]}"
    if kind == "publish":
        product = rng.choice(PRODUCTS)
        model.product_published[product] = not model.product_published[product]
        shop.patch_product(product, published=model.product_published[product])
        return f"product {product} published={model.product_published[product]}"
    if kind == "move":
        category = rng.choice(CATEGORIES)
        parent = rng.choice([None, *sorted(set(CATEGORIES) - model.below(category))])
        shop.patch_category(category, parentId=parent)
        model.parents[category] = parent
        return f"move {category} under {parent}"
    if kind == "category":
        category = rng.choice(CATEGORIES)
        model.category_published[category] = not model.category_published[category]
        shop.patch_category(category, published=model.category_published[category])
        return f"category {category} published={model.category_published[category]}"
    category, product = rng.choice(CATEGORIES), rng.choice(PRODUCTS)
    if (category, product) in model.assignments:
        shop.unassign(category, product)
        model.assignments.discard((category, product))
        return f"unassign {category} {product}"
    shop.assign(category, product)
    model.assignments.add((category, product))
    return f"assign {category} {product}"


def items_read(customer: str, **params: Any) -> Read:
    return ITEMS, lambda shop: shop.items_response(customer, **params)


def trees_read(customer: str) -> Read:
    return TREES, lambda shop: shop.trees_response(customer)


def match_read(segments: list[str], site: str = "main") -> Read:
    return MATCH, lambda shop: shop.match_response(PRODUCTS, segments, site)


def assignments_read(category: str, **params: Any) -> Read:
    return ASSIGNMENTS, lambda shop: shop.assignments_response(category, **params)


def reads() -> list[Read]:
    """A small fixed set of reads, so that the walk reads many of them again (hits) between writes."""
    found: list[Read] = []
    for customer in CUSTOMERS:
        found += [items_read(customer), items_read(customer, siteCode="main", sort="item.id:DESC")]
        found.append(items_read(customer, q="type:CATEGORY"))
        found.append(trees_read(customer))
    found += [match_read(["s0"]), match_read(["s1", "s2"]), match_read(SEGMENTS), match_read(SEGMENTS, "other")]
    for category in ("k0", "k1", "k4"):
        found.append(assignments_read(category, withSubcategories="true"))
        by_segments = {"withSubcategories": "true", "hideUnpublishedProducts": "true", "segmentsIds": "s0,s1"}
        found.append(assignments_read(category, **by_segments))
    found.append(assignments_read("k2", segmentsIds="s2,s3"))
    found.append(assignments_read("k5", hideUnpublishedProducts="true"))
    return found


def outcome(response: httpx.Response) -> tuple[int, Any]:
    return response.status_code, response.json()


def test_cached_answers_equal_uncached_ones_along_a_random_walk(
    shop: Shop, app: FastLane, uncached_client: TestClient[FastLane]
) -> None:
    rng = random.Random(SEED)
    model = Model(rng)
    build(shop, model)
    truth = shop.on(uncached_client)
    cache = answers_of(app)
    before = {kind: (counts.hits, counts.misses) for kind, counts in cache.counts.items()}
    every = reads()
    log: list[str] = []
    differences: list[str] = []
    for step in range(STEPS):
        log.append(write(shop, model))
        for kind, read in rng.sample(every, 4):
            got, expected = outcome(read(shop)), outcome(read(truth))
            if got != expected:
                differences.append(f"step {step} after {log[-1]!r}: {kind} {got} != {expected}")
    assert not differences, "\n".join([*differences[:5], "writes:", *log])
    gained = {
        kind: (counts.hits - before.get(kind, (0, 0))[0], counts.misses - before.get(kind, (0, 0))[1])
        for kind, counts in cache.counts.items()
    }
    for kind in (ITEMS, TREES, MATCH, ASSIGNMENTS):  # the walk did read kept answers, and made new ones
        hits, misses = gained[kind]
        assert hits >= 5, gained
        assert misses >= 5, gained
