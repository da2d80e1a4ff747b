"""A write's re-evaluation of a few customers (docs/rules.md#evaluation): their rows, contacts, orders and
memberships are read once (a handful of index reads, whatever the number of rules), every rule runs over them in
Python (rules/matcher.py), level by level so that a rule reading another segment sees that segment's new members, and
the memberships that change are written in two statements. Planning a statement per rule for one customer cost
PostgreSQL far more than the work; this costs the same few reads for one rule or a thousand.
"""

from __future__ import annotations

from collections import Counter, OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from segment_service.core.db import Connection
from segment_service.orders import facts
from segment_service.rules import snapshot_store
from segment_service.rules.conditions import Orders, Rule, leaves
from segment_service.rules.matcher import Batch, Predicate, Resolver, Subject, matcher
from segment_service.rules.snapshot_store import Key

#: More orders than this among the customers of one re-evaluation are added up by SQL instead (rules/evaluation.py).
MAX_ORDERS = 10_000


@dataclass(frozen=True, slots=True)
class Compiled:
    """A parsed rule ready to run here: its predicate and the categories its purchase leaves name."""

    rule: Rule
    matches: Predicate
    categories: frozenset[str]


#: Compiled rules by the parsed rule they were made from (parsed rules are cached: rules/evaluation.py `parsed`).
_COMPILED: OrderedDict[int, Compiled] = OrderedDict()
_COMPILED_MAX = 4096


@dataclass(frozen=True, slots=True)
class Planned:
    """A rule to apply: its segment and parsed rule."""

    segment_id: str
    rule: Rule


def compiled(rule: Rule) -> Compiled:
    known = _COMPILED.get(id(rule))
    if known is not None and known.rule is rule:
        return known
    categories = frozenset(
        leaf.category for leaf in leaves(rule.condition) if isinstance(leaf, Orders) and leaf.category is not None
    )
    made = Compiled(rule, matcher(rule), categories)
    _COMPILED[id(rule)] = made
    if len(_COMPILED) > _COMPILED_MAX:
        _COMPILED.popitem(last=False)
    return made


@dataclass(slots=True)
class _Snapshot:
    customers: dict[str, dict[str, object]]
    contacts: list[Subject]
    memberships: list[tuple[str, str, str, str]]
    excluded: set[Key]
    batch: Batch


async def _read(
    conn: Connection, tenant: str, levels: Sequence[Sequence[Planned]], ids: Sequence[str], now: datetime
) -> _Snapshot | None:
    rules = [planned.rule for level in levels for planned in level]
    customers = await snapshot_store.customers(conn, tenant, ids)
    contacts: list[Subject] = []
    if any(rule.subject == "CONTACT" for rule in rules):
        for customer_id, entity_id, contact, entity in await snapshot_store.contacts(conn, tenant, ids):
            customer = customers.get(customer_id)
            if customer is not None:  # a contact of a customer that is gone is no subject (the SQL joins customers)
                rows = {"customer": customer, "legalEntity": entity, "contact": contact}
                contacts.append(Subject(customer_id, entity_id, rows))
    orders: dict[str, list[facts.OrderFacts]] = {}
    counted: list[str] = []
    subtrees: dict[str, set[str]] = {}
    if any(rule.uses_orders for rule in rules):
        products: set[str] = set()
        found, counted = await facts.orders_of(conn, tenant, ids, MAX_ORDERS + 1)
        if len(found) > MAX_ORDERS:
            return None
        for order in found:
            orders.setdefault(order.customer_id, []).append(order)
            products.update(p for p in order.product_ids if p is not None)
        categories = frozenset().union(*(compiled(rule).categories for rule in rules))
        if categories and products:
            for category, product in await facts.subtree_products_among(
                conn, tenant, sorted(categories), sorted(products)
            ):
                subtrees.setdefault(category, set()).add(product)
    segments = [planned.segment_id for level in levels for planned in level]
    memberships, excluded = await snapshot_store.memberships(conn, tenant, segments, ids)
    batch = Batch(
        now,
        frozenset(counted),
        orders,
        {category: frozenset(products) for category, products in subtrees.items()},
        set(),
        Counter(),
    )
    return _Snapshot(customers, contacts, memberships, excluded, batch)


def _decide(snapshot: _Snapshot, levels: Sequence[Sequence[Planned]]) -> list[tuple[str, list[Key], list[Key]]]:
    """(segment, memberships to add, AUTOMATIC memberships to remove) per rule, in the order the rules apply."""
    batch = snapshot.batch
    batch.memberships.clear()
    batch.customer_segments.clear()
    automatic: dict[str, set[tuple[str, str]]] = {}
    for segment_id, customer_id, entity_id, kind in snapshot.memberships:
        batch.add_membership(segment_id, customer_id, entity_id)
        if kind == "AUTOMATIC":
            automatic.setdefault(segment_id, set()).add((customer_id, entity_id))
    excluded = snapshot.excluded
    customers = [Subject(c, "", {"customer": row}) for c, row in snapshot.customers.items()]
    decided: list[tuple[str, list[Key], list[Key]]] = []
    for level in levels:
        changes: list[tuple[str, list[Key], list[Key]]] = []
        for planned in level:
            segment_id, rule = planned.segment_id, planned.rule
            matches = compiled(rule).matches
            subjects = customers if rule.subject == "CUSTOMER" else snapshot.contacts
            wanted: set[tuple[str, str]] = set()
            for subject in subjects:
                key = (subject.customer_id, subject.legal_entity_id)
                if key in wanted or not matches(subject, batch):
                    continue
                if (segment_id, key[0], "") in excluded or (segment_id, key[0], key[1]) in excluded:
                    continue
                wanted.add(key)
            added = sorted((segment_id, c, e) for c, e in wanted if (segment_id, c, e) not in batch.memberships)
            removed = sorted((segment_id, c, e) for c, e in automatic.get(segment_id, ()) if (c, e) not in wanted)
            changes.append((segment_id, added, removed))
        for _, added, removed in changes:  # visible to the next level only
            for segment, customer, entity in added:
                batch.add_membership(segment, customer, entity)
            for segment, customer, entity in removed:
                batch.remove_membership(segment, customer, entity)
        decided.extend(changes)
    return decided


async def _resolve(conn: Connection, resolver: Resolver) -> None:
    if resolver.missing_timestamps:
        texts = sorted(resolver.missing_timestamps)
        resolver.timestamps.update(zip(texts, await snapshot_store.timestamps(conn, texts), strict=True))
        resolver.missing_timestamps.clear()
    if resolver.missing_orders:
        pairs = sorted(resolver.missing_orders)
        resolver.orders.update(zip(pairs, await snapshot_store.string_orders(conn, pairs), strict=True))
        resolver.missing_orders.clear()


async def apply(
    conn: Connection, tenant: str, levels: Sequence[Sequence[Planned]], ids: Sequence[str], now: datetime
) -> list[tuple[str, list[tuple[bool, str, str]]]] | None:
    """Bring the customers' memberships of the planned rules' segments up to date (the caller holds their locks);
    the changes made, per rule in the order they apply. None, with nothing written, when the customers have more
    than MAX_ORDERS orders between them (set-based statements add those up faster than this process)."""
    snapshot = await _read(conn, tenant, levels, ids, now)
    if snapshot is None:
        return None
    while True:
        decided = _decide(snapshot, levels)
        if not snapshot.batch.resolver.missing:
            break
        await _resolve(conn, snapshot.batch.resolver)  # answers only grow: this ends
    added = await snapshot_store.add_memberships(conn, tenant, [k for _, a, _ in decided for k in a])
    removed = await snapshot_store.remove_memberships(conn, tenant, [k for _, _, r in decided for k in r])
    result = []
    for segment_id, wanted, unwanted in decided:
        changes = [(True, c, e) for s, c, e in wanted if (s, c, e) in added]
        changes += [(False, c, e) for s, c, e in unwanted if (s, c, e) in removed]
        result.append((segment_id, changes))
    return result
