"""A parsed rule as a Python predicate (docs/rules.md#evaluation): how a write re-evaluates a few customers against
every rule without asking PostgreSQL to plan a statement per rule. The customers' rows, contacts, orders and
memberships are read once (rules/snapshot_store.py); each rule then runs here over them, with the results the SQL of
rules/compiler.py gives for the same rows (tests/rules/test_matcher_equivalence.py compares the two).

Two things only the database can answer exactly are asked of it in one statement per batch when a rule needs them:
how the database's collation orders two strings (`gt`, `between` … on strings), and what `segment_rule_timestamp`
makes of a text (`withinLast` / `olderThan` on a string or JSON field). An evaluation runs once, notes what it could not
answer (`Resolver.missing`), and runs again once the answers are in.
"""

from __future__ import annotations

import decimal
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from itertools import zip_longest
from typing import Any

from segment_service.orders.facts import OrderFacts
from segment_service.rules.conditions import TIME_OPS, Attribute, Group, InSegment, Node, Orders, Rule
from segment_service.rules.fields import BOOLEAN, DATETIME, DYNAMIC, NUMBER, STRING

#: A value the database would read as SQL NULL (a NULL column, a JSON path that leads nowhere); JSON `null` is None.
ABSENT: Any = type("Absent", (), {"__repr__": lambda self: "ABSENT"})()
#: Sums of order totals are exact in PostgreSQL's numeric; Decimal's default 28 digits are not enough for that.
_EXACT = decimal.Context(prec=100_000, Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN)


@dataclass(frozen=True, slots=True)
class Subject:
    """One thing a rule matches: a customer (legal entity '') or one contact assignment of a customer."""

    customer_id: str
    legal_entity_id: str
    rows: dict[str, dict[str, Any]]  # entity (customer, legalEntity, contact) -> its columns


class Resolver:
    """Answers of the database a batch's evaluation needs, and the questions it could not answer yet."""

    def __init__(self) -> None:
        self.timestamps: dict[str, datetime | None] = {}
        self.orders: dict[tuple[str, str], int] = {}
        self.missing_timestamps: set[str] = set()
        self.missing_orders: set[tuple[str, str]] = set()

    @property
    def missing(self) -> bool:
        return bool(self.missing_timestamps or self.missing_orders)

    def timestamp(self, text: str) -> datetime | None:
        if text in self.timestamps:
            return self.timestamps[text]
        self.missing_timestamps.add(text)
        return None

    def order(self, a: str, b: str) -> int:
        """-1, 0 or 1 as the database's collation orders a and b."""
        if a == b:
            return 0
        sign = self.orders.get((a, b))
        if sign is None:
            self.missing_orders.add((a, b))
            return 0
        return sign


@dataclass(slots=True)
class Batch:
    """What a batch's rules read besides the subjects' own rows."""

    now: datetime
    counted_statuses: frozenset[str]
    orders: dict[str, list[OrderFacts]]  # customer id -> its orders
    subtree_products: dict[str, frozenset[str]]  # category id -> the products of its subtree (among the orders')
    memberships: set[tuple[str, str, str]]  # (segment, customer, legal entity or '')
    #: (segment, customer) -> how many of the customer's memberships of the segment there are (in any context)
    customer_segments: Counter[tuple[str, str]]
    resolver: Resolver = field(default_factory=Resolver)
    _measures: dict[tuple[str, str | None, Orders], tuple[int, Decimal, datetime | None, datetime | None]] = field(
        default_factory=dict
    )

    def add_membership(self, segment_id: str, customer_id: str, legal_entity_id: str) -> None:
        key = (segment_id, customer_id, legal_entity_id)
        if key not in self.memberships:
            self.memberships.add(key)
            self.customer_segments[segment_id, customer_id] += 1

    def remove_membership(self, segment_id: str, customer_id: str, legal_entity_id: str) -> None:
        key = (segment_id, customer_id, legal_entity_id)
        if key in self.memberships:
            self.memberships.remove(key)
            self.customer_segments[segment_id, customer_id] -= 1
            if not self.customer_segments[segment_id, customer_id]:
                del self.customer_segments[segment_id, customer_id]

    def measures(
        self, customer_id: str, legal_entity_id: str | None, node: Orders
    ) -> tuple[int, Decimal, datetime | None, datetime | None]:
        """(count, total, first, last) of the customer's purchases the leaf counts (per legal entity for contacts),
        as orders/facts_store.py `per_customer_sql` adds them up."""
        key = (customer_id, legal_entity_id, node)
        known = self._measures.get(key)
        if known is not None:
            return known
        since = None if node.within is None else self.now - node.within
        statuses = self.counted_statuses if node.statuses is None else frozenset(node.statuses)
        subtree = None if node.category is None else self.subtree_products.get(node.category, frozenset())
        count, total = 0, Decimal(0)
        first: datetime | None = None
        last: datetime | None = None
        for order in self.orders.get(customer_id, ()):
            if legal_entity_id is not None and order.legal_entity_id != legal_entity_id:
                continue
            if order.status not in statuses or (since is not None and order.created_at < since):
                continue
            if (node.site_code is not None and order.site_code != node.site_code) or (
                node.currency is not None and order.currency != node.currency
            ):
                continue
            amount = order.total
            if node.product is not None or subtree is not None:
                entries = [
                    a
                    for p, a in zip_longest(order.product_ids, order.amounts)
                    if p is not None
                    and (node.product is None or p == node.product)
                    and (subtree is None or p in subtree)
                ]
                if not entries:
                    continue
                amount = _EXACT.create_decimal(0)
                for a in entries:
                    if a is not None:
                        amount = _EXACT.add(amount, a)
            count += 1
            total = _EXACT.add(total, amount)
            first = order.created_at if first is None or order.created_at < first else first
            last = order.created_at if last is None or order.created_at > last else last
        result = (count, total, first, last)
        self._measures[key] = result
        return result


Predicate = Callable[[Subject, Batch], bool]
_Value = Callable[[Subject, Batch], Any]


def matcher(rule: Rule) -> Predicate:
    """The rule as a predicate over one subject of a batch."""
    return _node(rule, rule.condition)


def _node(rule: Rule, node: Node) -> Predicate:
    if isinstance(node, Group):
        parts = [_node(rule, item) for item in node.items]
        if node.kind == "not":
            inner = parts[0]
            return lambda s, b: not inner(s, b)
        if node.kind == "all":
            return lambda s, b: all(part(s, b) for part in parts)
        return lambda s, b: any(part(s, b) for part in parts)
    if isinstance(node, InSegment):
        segment_id = node.segment_id
        if rule.subject == "CONTACT":
            return lambda s, b: (segment_id, s.customer_id, s.legal_entity_id) in b.memberships
        return lambda s, b: (segment_id, s.customer_id) in b.customer_segments
    if isinstance(node, Orders):
        return _compare(_order_value(rule, node), DATETIME if node.measure.endswith("At") else NUMBER, node)
    value, kind = _attribute_value(node)
    return _compare(value, kind, node)


def _order_value(rule: Rule, node: Orders) -> _Value:
    index = {"count": 0, "total": 1, "firstOrderAt": 2, "lastOrderAt": 3}[node.measure]
    contact = rule.subject == "CONTACT"

    def value(s: Subject, b: Batch) -> Any:
        count, total, first, last = b.measures(s.customer_id, s.legal_entity_id if contact else None, node)
        return (Decimal(count), total, first, last)[index]

    return value


def _walk(document: Any, path: tuple[str, ...]) -> Any:
    """PostgreSQL's `#>`: keys into objects, integer indexes (negative from the end) into arrays."""
    for key in path:
        if isinstance(document, dict):
            if key not in document:
                return ABSENT
            document = document[key]
        elif isinstance(document, list):
            index = _array_index(key)
            if index is None:
                return ABSENT
            if index < 0:
                index += len(document)
            if not 0 <= index < len(document):
                return ABSENT
            document = document[index]
        else:
            return ABSENT
    return document


def _array_index(key: str) -> int | None:
    """The array index PostgreSQL reads a path key as (strtol: leading white space, a sign, digits, nothing after,
    within a 32-bit int), else None."""
    text = key.lstrip(" \t\n\r\v\f")
    digits = text[1:] if text[:1] in ("+", "-") else text
    if not digits or not digits.isascii() or not digits.isdigit():
        return None
    index = int(text)
    return index if -(2**31) <= index < 2**31 else None


def _attribute_value(node: Attribute) -> tuple[_Value, str]:
    """The leaf's value getter and its kind, as rules/compiler.py `attribute_value` reads it."""
    entity, column, kind = node.field.entity, node.field.column, node.field.kind
    if kind != DYNAMIC:

        def column_value(s: Subject, b: Batch) -> Any:
            row = s.rows.get(entity)
            return None if row is None else row[column]

        return column_value, kind
    path = node.field.json_path

    def json_value(s: Subject, b: Batch) -> Any:
        row = s.rows.get(entity)
        document = ABSENT if row is None else row[column]
        return ABSENT if document is ABSENT else _walk(document, path)

    if node.op in ("exists", "missing", "contains"):
        return json_value, DYNAMIC
    sample = node.value[0] if isinstance(node.value, tuple) else node.value

    def typed(wanted: type) -> _Value:
        # The value when it is JSON of the comparison's kind, else nothing (bool is not a number here).
        return lambda s, b: (v if type(v) is wanted else None) if (v := json_value(s, b)) is not ABSENT else None

    if node.op in TIME_OPS:
        text = typed(str)
        return lambda s, b: None if (t := text(s, b)) is None else b.resolver.timestamp(t), DATETIME
    if isinstance(sample, bool):
        return typed(bool), BOOLEAN
    if isinstance(sample, Decimal):
        return typed(Decimal), NUMBER
    return typed(str), STRING


def _equal(a: Any, b: Any) -> bool:
    """JSON equality (jsonb @>): of one kind and equal; numbers by value."""
    return type(a) is type(b) and a == b


def _order(batch: Batch, a: Any, b: Any) -> int:
    if isinstance(a, str):
        return batch.resolver.order(a, b)
    return -1 if a < b else (1 if a > b else 0)


_ORDERED: dict[str, Callable[[int], bool]] = {
    "gt": lambda sign: sign > 0,
    "gte": lambda sign: sign >= 0,
    "lt": lambda sign: sign < 0,
    "lte": lambda sign: sign <= 0,
}


def _compare(value: _Value, kind: str, node: Attribute | Orders) -> Predicate:
    """The leaf's test, as rules/compiler.py `compare` writes it: a missing value makes it false, but for `missing`."""
    op, operand = node.op, node.value
    if op in ("exists", "missing"):
        want = op == "exists"
        if kind == DYNAMIC:
            return lambda s, b: ((v := value(s, b)) is not ABSENT and v is not None) == want
        return lambda s, b: (value(s, b) is not None) == want
    if op in TIME_OPS:
        assert isinstance(operand, timedelta)
        within = op == "withinLast"

        def timed(s: Subject, b: Batch) -> bool:
            moment = value(s, b)
            if isinstance(moment, str):  # a string field: read as segment_rule_timestamp reads it
                moment = b.resolver.timestamp(moment)
            if moment is None:
                return False
            boundary = b.now - operand
            return bool(moment >= boundary) if within else bool(moment < boundary)

        return timed
    if op == "contains":
        if kind == DYNAMIC:

            def json_contains(s: Subject, b: Batch) -> bool:
                v = value(s, b)
                if isinstance(v, list):
                    return any(_equal(element, operand) for element in v)
                return isinstance(v, str) and isinstance(operand, str) and operand in v

            return json_contains
        return lambda s, b: (v := value(s, b)) is not None and operand in v
    if op == "startsWith":
        return lambda s, b: (v := value(s, b)) is not None and v.startswith(operand)
    if op in ("in", "nin"):
        values = tuple(operand)
        if op == "in":
            return lambda s, b: (v := value(s, b)) is not None and any(_same(v, x) for x in values)
        return lambda s, b: (v := value(s, b)) is not None and not any(_same(v, x) for x in values)
    if op == "between":
        low, high = operand
        return lambda s, b: (v := value(s, b)) is not None and _order(b, v, low) >= 0 and _order(b, v, high) <= 0
    if op in ("eq", "ne"):
        want = op == "eq"
        return lambda s, b: (v := value(s, b)) is not None and _same(v, operand) == want
    test = _ORDERED[op]
    return lambda s, b: (v := value(s, b)) is not None and test(_order(b, v, operand))


def _same(a: Any, b: Any) -> bool:
    """SQL equality of two values of one kind (numbers by value, date-times by instant, strings byte for byte)."""
    return bool(a == b)
