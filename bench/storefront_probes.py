"""What the storefront scenarios ask for, and the answers they must get back (bench/storefront.py builds them).

The expected answers follow docs (docs/decisions.md#match-and-the-storefront-reads) and the generated data, never the
service's code: the category trees and item lists are computed from the rows the bench generated, the match answers with
the bench's own reference SQL.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from dataclasses import dataclass

import asyncpg

from bench.dataset import TENANT
from bench.load import BenchError

#: The page the category requests ask for (pageNumber=1&pageSize=60).
PAGE_SIZE = 60
MATCH_ITEMS = 20
MATCH_SITE = "main"


@dataclass(slots=True)
class Catalogue:
    """The tenant's categories and products as the category dataset left them."""

    parent: dict[str, str | None]
    depth: dict[str, int]
    children: dict[str, list[str]]
    direct: Counter[str]
    """Product assignments directly on each category."""
    products: list[str]
    published: list[str]

    def ancestors(self, category_id: str) -> list[str]:
        """The category itself, then its parent, up to its root."""
        chain: list[str] = []
        current: str | None = category_id
        while current is not None:
            chain.append(current)
            current = self.parent[current]
        return chain

    def subtree(self, category_id: str) -> list[str]:
        """The category and everything below it."""
        found, stack = [], [category_id]
        while stack:
            current = stack.pop()
            found.append(current)
            stack.extend(self.children.get(current, ()))
        return found


@dataclass(frozen=True, slots=True)
class Shopper:
    """A B2C customer with a live session, built for the scenarios; the bench mints its token."""

    customer_id: str
    session_id: str
    segment_ids: tuple[str, ...]
    """Every segment it is a member of, active or not."""


@dataclass(frozen=True, slots=True)
class ItemsProbe:
    """GET /segments/items of a customer: exactly these (segmentId, type, item id) assignments."""

    shopper: Shopper
    expected: frozenset[tuple[str, str, str]]


@dataclass(frozen=True, slots=True)
class TreeProbe:
    """GET /segments/items/category-trees?siteCode=main of a customer: these nodes; the assigned ones flagged
    `isSegmentAssigned`, their ancestors not (unless assigned themselves). The spec leaves open whether the
    descendants of an assigned category are flagged (its example flags an assigned child under an assigned parent);
    docs/decisions.md#match-and-the-storefront-reads flags them, and the bench accepts either reading."""

    shopper: Shopper
    assigned: frozenset[str]
    nodes: frozenset[str]
    covered: frozenset[str]
    """The assigned categories and everything below them: the nodes that may be flagged."""


@dataclass(frozen=True, slots=True)
class MatchProbe:
    """POST /segments/match: these segments and products; exactly `expected` of the products match."""

    segment_ids: tuple[str, ...]
    product_ids: tuple[str, ...]
    expected: frozenset[str]


@dataclass(frozen=True, slots=True)
class CategoryFilterProbe:
    """GET /categories/{id}/assignments?segmentsIds=…: the subtree the answer must stay in and its size.

    The spec leaves open whether a subcategory counts when only a category above it is assigned to a segment
    (docs/decisions.md#segment-filters-on-category-assignments says it does); the bench accepts either reading, so it
    knows both totals."""

    category_id: str
    segment_ids: tuple[str, ...]
    with_subcategories: bool
    strict: frozenset[str]
    """The asked categories (the category, or its subtree) that are themselves assigned to one of the segments."""
    strict_total: int
    """Their assignments."""
    inherited: frozenset[str]
    """The asked categories that are assigned to one of the segments or lie below one that is."""
    inherited_total: int
    unrelated_segment_id: str | None
    """An active segment with no category item in or above the asked ones: with it alone, the page must be empty."""


# The products below a set of categories, to put products that match only through a category into a match body.
_INDIRECT_PRODUCTS = """
SELECT DISTINCT a.product_id
FROM category_closure cc
JOIN category_assignments a ON a.tenant = cc.tenant AND a.category_id = cc.descendant_id
JOIN products p ON p.tenant = a.tenant AND p.id = a.product_id AND p.published
WHERE cc.tenant = $1 AND cc.ancestor_id = ANY($2::text[])
ORDER BY a.product_id
"""
# The match rule of docs/decisions.md#match-and-the-storefront-reads, written here independently of the service: a
# product matches when an active segment of the site among those asked for has it as an item, or has as an item a
# category it is assigned to or one above it.
_REFERENCE_MATCH = """
WITH active AS (
    SELECT id FROM segments
    WHERE tenant = $1 AND id = ANY($2::text[]) AND site_code = $3 AND status = 'ACTIVE'
      AND (valid_from IS NULL OR valid_from <= now()) AND (valid_to IS NULL OR now() < valid_to)
)
SELECT p.id FROM unnest($4::text[]) AS p(id)
WHERE EXISTS (SELECT 1 FROM segment_item_assignments s
              WHERE s.tenant = $1 AND s.segment_id IN (SELECT id FROM active) AND s.item_type = 'PRODUCT'
                AND s.item_id = p.id)
   OR EXISTS (SELECT 1 FROM category_assignments a
              JOIN category_closure cc ON cc.tenant = a.tenant AND cc.descendant_id = a.category_id
              JOIN segment_item_assignments s ON s.tenant = cc.tenant AND s.item_type = 'CATEGORY'
                                             AND s.item_id = cc.ancestor_id
              WHERE a.tenant = $1 AND a.product_id = p.id AND s.segment_id IN (SELECT id FROM active))
"""

Items = dict[int, list[tuple[str, str]]]


def _of_type(items: Items, segments: list[int], item_type: str) -> list[str]:
    return [i for s in segments for t, i in items.get(s, ()) if t == item_type]


async def match_probes(
    conn: asyncpg.Connection,
    rng: random.Random,
    *,
    pool: int,
    segment_ids: list[str],
    active: list[int],
    not_active: list[int],
    items: Items,
    published: list[str],
) -> list[MatchProbe]:
    """`pool` match bodies: 2 to 5 segments (one with category items; a quarter of the bodies also name one that is
    not active on the site) and MATCH_ITEMS published products: some the segments have as items, some under a
    category they have as an item, some that the segment that is not active has, the rest drawn at random. The
    expected answers come from _REFERENCE_MATCH."""
    published_ids = set(published)
    with_categories = [s for s in active if _of_type(items, [s], "CATEGORY")]
    probes: list[MatchProbe] = []
    for _ in range(pool * 10):
        if len(probes) == pool:
            break
        chosen = [rng.choice(with_categories)]
        chosen += [s for s in rng.sample(active, rng.randint(1, 4)) if s not in chosen]
        inactive = [rng.choice(not_active)] if not_active and rng.random() < 0.25 else []
        direct = sorted({p for p in _of_type(items, chosen, "PRODUCT") if p in published_ids})
        indirect = [
            r["product_id"] for r in await conn.fetch(_INDIRECT_PRODUCTS, TENANT, _of_type(items, chosen, "CATEGORY"))
        ]
        decoys = sorted({p for p in _of_type(items, inactive, "PRODUCT") if p in published_ids})
        products = dict.fromkeys(
            [
                *rng.sample(direct, min(5, len(direct))),
                *rng.sample(indirect, min(5, len(indirect))),
                *rng.sample(decoys, min(2, len(decoys))),
            ]
        )
        while len(products) < MATCH_ITEMS:
            products[rng.choice(published)] = None
        product_ids = list(products)
        rng.shuffle(product_ids)
        segments = [segment_ids[s] for s in [*chosen, *inactive]]
        rng.shuffle(segments)
        expected = frozenset(
            r["id"] for r in await conn.fetch(_REFERENCE_MATCH, TENANT, segments, MATCH_SITE, product_ids)
        )
        if expected:
            probes.append(MatchProbe(tuple(segments), tuple(product_ids), expected))
    if len(probes) < pool:
        raise BenchError("could not build match bodies with matching products; the dataset is too small")
    return probes


def _readings(catalogue: Catalogue, asked: list[str], assigned: set[str]) -> tuple[set[str], int, set[str], int]:
    """Both readings of segmentsIds: (categories, assignments) of the asked categories that are assigned themselves,
    and of those that are assigned or lie below an assigned category."""
    strict = {d for d in asked if d in assigned}
    inherited = {d for d in asked if any(a in assigned for a in catalogue.ancestors(d))}
    return (strict, sum(catalogue.direct[d] for d in strict), inherited, sum(catalogue.direct[d] for d in inherited))


def category_filter_probes(
    rng: random.Random,
    *,
    pool: int,
    segment_ids: list[str],
    active: list[int],
    items: Items,
    catalogue: Catalogue,
) -> tuple[list[CategoryFilterProbe], list[CategoryFilterProbe]]:
    """`pool` requests of each category scenario, all with active segments:
    - without withSubcategories: a category with at least a page of products that an active segment has as an item,
      that segment and one or two others;
    - with withSubcategories=true: a level-2 category and the segments (up to 5) that have categories of its subtree
      as items, enough of them for a page where possible (and one more active segment when that is one)."""
    assigners: dict[str, list[int]] = defaultdict(list)
    for s in active:
        for category in _of_type(items, [s], "CATEGORY"):
            assigners[category].append(s)

    def assigned_by(segments: list[int]) -> set[str]:
        return set(_of_type(items, segments, "CATEGORY"))

    def probe(category: str, asked: list[str], segments: list[int], with_subcategories: bool) -> CategoryFilterProbe:
        strict, strict_total, inherited, inherited_total = _readings(catalogue, asked, assigned_by(segments))
        related = {*asked, *catalogue.ancestors(category)}
        unrelated = next((s for s in rng.sample(active, min(200, len(active))) if not related & assigned_by([s])), None)
        return CategoryFilterProbe(
            category,
            tuple(segment_ids[s] for s in segments),
            with_subcategories,
            frozenset(strict),
            strict_total,
            frozenset(inherited),
            inherited_total,
            None if unrelated is None else segment_ids[unrelated],
        )

    candidates = sorted((c, s) for c, ss in assigners.items() if catalogue.direct[c] >= PAGE_SIZE for s in ss)
    if not candidates:
        raise BenchError(
            "no category with a page of products is assigned to an active segment; the dataset is too small"
        )
    leaf: list[CategoryFilterProbe] = []
    for category, segment in rng.sample(candidates, min(pool, len(candidates))):
        named = [segment, *(s for s in rng.sample(active, rng.randint(1, 2)) if s != segment)]
        rng.shuffle(named)
        leaf.append(probe(category, [category], named, False))

    level2 = sorted(c for c, d in catalogue.depth.items() if d == 1)
    subtree_probes: list[CategoryFilterProbe] = []
    for _ in range(pool * 20):
        if len(subtree_probes) == pool or not level2:
            break
        category = rng.choice(level2)
        subtree = catalogue.subtree(category)
        pairs = [(d, s) for d in subtree for s in assigners.get(d, ())]
        rng.shuffle(pairs)
        segments: list[int] = []
        strict_total = 0
        for _, s in pairs:
            if s in segments:
                continue
            segments.append(s)
            strict_total = _readings(catalogue, subtree, assigned_by(segments))[1]
            if strict_total >= PAGE_SIZE or len(segments) == 5:
                break
        if strict_total:
            # A storefront names all of a customer's segments, rarely one: add another one when one did.
            segments += [s for s in rng.sample(active, 1) if s not in segments and len(segments) == 1]
            subtree_probes.append(probe(category, subtree, segments, True))
    if len(subtree_probes) < pool:
        raise BenchError("could not build enough withSubcategories requests with segments; the dataset is too small")
    return leaf, subtree_probes
