"""A parsed rule as SQL (docs/rules.md#evaluation): the subjects it matches, for the whole tenant or for some
customers, as one SELECT of (customer_id, legal_entity_id). Purchase conditions join a per-customer aggregate of the
orders (orders/facts_store.py); other segments are an index probe of their memberships.

Every leaf is two-valued: a missing field or value makes a comparison false (only `missing` is true then), so `not`
is plain negation. Values are bound as parameters, so one rule's SQL text is the same at every evaluation and its
prepared statement is reused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from segment_service.core.listing import Criteria
from segment_service.orders.facts import Filter, purchase_aggregate_sql, shared_aggregate_sql
from segment_service.rules.conditions import TIME_OPS, Attribute, Group, InSegment, Node, Orders, Rule, leaves
from segment_service.rules.fields import BOOLEAN, DATETIME, DYNAMIC, NUMBER, STRING

_ALIASES = {"customer": "c", "legalEntity": "le", "contact": "ca"}
_CASTS = {str: "text", Decimal: "numeric", bool: "boolean", datetime: "timestamptz"}
_COMPARE = {"eq": "=", "ne": "<>", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}


@dataclass(slots=True)
class Compiled:
    """The SQL of one rule: `ctes` to put in the statement's WITH, then `select` (customer_id, legal_entity_id)."""

    ctes: list[str]
    select: str
    #: For explain: each node's boolean SQL in pre-order, and each leaf's value SQL (jsonb).
    nodes: list[tuple[Node, str]] = field(default_factory=list)
    actuals: dict[int, str] = field(default_factory=dict)
    from_sql: str = ""
    where_sql: str = ""


def purchase_filter(node: Orders, now: datetime) -> Filter:
    """Which purchases a purchase leaf counts at `now`."""
    return Filter(
        since=None if node.within is None else now - node.within,
        statuses=node.statuses,
        site_code=node.site_code,
        currency=node.currency,
        product_id=node.product,
        category_id=node.category,
    )


class SharedOrders:
    """The purchase conditions of several rules as columns of one aggregate over the orders (`name`), each distinct
    condition once (orders/facts.py `shared_aggregate_sql`); conditions of a window alone as columns of one pass
    over the purchase timelines (`{name}t`, orders/timeline_store.py `shared_sql`)."""

    def __init__(self, name: str, now: datetime) -> None:
        self.name = name
        self.now = now
        # Conditions over whole orders, and those naming a product or a category (read through the GIN index of
        # the orders' products, in an aggregate of their own named `{name}x`).
        self.filters: dict[Filter, set[str]] = {}
        self.by_line: dict[Filter, set[str]] = {}
        # Conditions of a window alone, read from the purchase timelines (a row per customer) as `{name}t`.
        self.windows: dict[Filter, set[str]] = {}

    def value(self, node: Orders) -> tuple[str, str]:
        facts = purchase_filter(node, self.now)
        if facts.window_only:
            filters, name = self.windows, f"{self.name}t"
        elif facts.by_line:
            filters, name = self.by_line, f"{self.name}x"
        else:
            filters, name = self.filters, self.name
        filters.setdefault(facts, set()).add(node.measure)
        k = list(filters).index(facts)
        if node.measure == "count":
            return f"coalesce({name}.n{k}, 0)", NUMBER
        if node.measure == "total":
            return f"coalesce({name}.t{k}, 0)", NUMBER
        return f"{name}.{'l' if node.measure == 'lastOrderAt' else 'f'}{k}", DATETIME

    def ctes(self, criteria: Criteria, *, per_legal_entity: bool) -> list[tuple[str, str]]:
        """(name, SQL) of the aggregates the conditions need."""
        made = []
        groups = ((self.name, self.filters), (f"{self.name}x", self.by_line), (f"{self.name}t", self.windows))
        for name, filters in groups:
            if filters:
                listed = [(f, frozenset(measures)) for f, measures in filters.items()]
                made.append((name, shared_aggregate_sql(listed, criteria, per_legal_entity=per_legal_entity)))
        return made


class _Compiler:
    def __init__(
        self,
        rule: Rule,
        criteria: Criteria,
        now: datetime,
        customers: str | None,
        prefix: str,
        shared: SharedOrders | None = None,
    ) -> None:
        self.shared = shared
        self.rule = rule
        self.criteria = criteria
        self.now = now
        self.customers = customers
        self.prefix = prefix
        self.ctes: list[str] = []
        self.joins: list[str] = []
        self.nodes: list[tuple[Node, str]] = []
        self.actuals: dict[int, str] = {}

    def bind(self, value: Any) -> str:
        if isinstance(value, tuple):
            kind = _CASTS[type(value[0])]
            return f"{self.criteria.bind(list(value))}::{kind}[]"
        return f"{self.criteria.bind(value)}::{_CASTS[type(value)]}"

    def node(self, node: Node) -> str:
        index = len(self.nodes)
        self.nodes.append((node, ""))
        if isinstance(node, Group):
            parts = [self.node(item) for item in node.items]
            if node.kind == "not":
                sql = f"(NOT {parts[0]})"
            else:
                sql = "(" + (" AND " if node.kind == "all" else " OR ").join(parts) + ")"
        elif isinstance(node, Attribute):
            value_sql, kind = self.attribute_value(node)
            self.actuals[index] = f"to_jsonb({value_sql})"
            sql = self.compare(value_sql, kind, node.op, node.value)
        elif isinstance(node, Orders):
            value_sql, kind = self.order_value(node)
            self.actuals[index] = f"to_jsonb({value_sql})"
            sql = self.compare(value_sql, kind, node.op, node.value)
        else:
            sql = self.in_segment(node)
            self.actuals[index] = f"to_jsonb({sql})"
        self.nodes[index] = (node, sql)
        return sql

    # --- leaves

    def attribute_value(self, node: Attribute) -> tuple[str, str]:
        """The SQL of the field's value and its kind; a JSON value is typed by the rule's value."""
        column = f"{_ALIASES[node.field.entity]}.{node.field.column}"
        if node.field.kind != DYNAMIC:
            return column, node.field.kind
        json = f"({column} #> {self.criteria.bind(list(node.field.json_path))}::text[])"
        if node.op in ("exists", "missing", "contains"):
            return json, DYNAMIC
        sample = node.value[0] if isinstance(node.value, tuple) else node.value
        if node.op in TIME_OPS:
            return (
                f"segment_rule_timestamp(CASE WHEN jsonb_typeof({json}) = 'string' THEN {json} #>> '{{}}' END)",
                DATETIME,
            )
        if isinstance(sample, bool):
            return f"(CASE WHEN jsonb_typeof({json}) = 'boolean' THEN ({json} #>> '{{}}')::boolean END)", BOOLEAN
        if isinstance(sample, Decimal):
            return f"(CASE WHEN jsonb_typeof({json}) = 'number' THEN ({json} #>> '{{}}')::numeric END)", NUMBER
        return f"(CASE WHEN jsonb_typeof({json}) = 'string' THEN {json} #>> '{{}}' END)", STRING

    def order_value(self, node: Orders) -> tuple[str, str]:
        if self.shared is not None:
            return self.shared.value(node)
        name = f"{self.prefix}o{len(self.ctes)}"
        facts = purchase_filter(node, self.now)
        contact = self.rule.subject == "CONTACT"
        aggregate = purchase_aggregate_sql(facts, self.criteria, per_legal_entity=contact, customers=self.customers)
        self.ctes.append(f"{name} AS ({aggregate})")
        on = f"{name}.customer_id = c.id" + (f" AND {name}.legal_entity_id = ca.legal_entity_id" if contact else "")
        self.joins.append(f"LEFT JOIN {name} ON {on}")
        if node.measure == "count":
            return f"coalesce({name}.count, 0)", NUMBER
        if node.measure == "total":
            return f"coalesce({name}.total, 0)", NUMBER
        return f"{name}.{'last_order_at' if node.measure == 'lastOrderAt' else 'first_order_at'}", DATETIME

    def in_segment(self, node: InSegment) -> str:
        context = " AND x.legal_entity_id = ca.legal_entity_id" if self.rule.subject == "CONTACT" else ""
        return (
            "EXISTS (SELECT 1 FROM segment_customer_assignments x WHERE x.tenant = $1 AND x.customer_id = c.id"
            f" AND x.segment_id = {self.criteria.bind(node.segment_id)}{context})"
        )

    def compare(self, value: str, kind: str, op: str, operand: Any) -> str:
        if op == "exists":
            test = f"{value} IS NOT NULL" + (f" AND jsonb_typeof({value}) <> 'null'" if kind == DYNAMIC else "")
            return f"({test})"
        if op == "missing":
            test = f"{value} IS NULL" + (f" OR jsonb_typeof({value}) = 'null'" if kind == DYNAMIC else "")
            return f"({test})"
        if op in TIME_OPS:
            assert isinstance(operand, timedelta)
            moment = value if kind == DATETIME else f"segment_rule_timestamp({value})"
            boundary = self.bind(self.now - operand)
            return f"coalesce({moment} {'>=' if op == 'withinLast' else '<'} {boundary}, false)"
        if op == "contains":
            if kind == DYNAMIC:
                element = self.bind(operand)
                text = (
                    f" WHEN 'string' THEN strpos({value} #>> '{{}}', {element}) > 0" if isinstance(operand, str) else ""
                )
                return (
                    f"coalesce(CASE jsonb_typeof({value}) WHEN 'array' THEN {value} @> jsonb_build_array({element})"
                    f"{text} END, false)"
                )
            return f"coalesce(strpos({value}, {self.bind(operand)}) > 0, false)"
        if op == "startsWith":
            return f"coalesce(starts_with({value}, {self.bind(operand)}), false)"
        if op == "in":
            return f"coalesce({value} = ANY({self.bind(operand)}), false)"
        if op == "nin":
            return f"coalesce({value} <> ALL({self.bind(operand)}), false)"
        if op == "between":
            low, high = operand
            return f"coalesce({value} BETWEEN {self.bind(low)} AND {self.bind(high)}, false)"
        return f"coalesce({value} {_COMPARE[op]} {self.bind(operand)}, false)"


def compile_rule(
    rule: Rule, criteria: Criteria, now: datetime, *, customers: str | None = None, prefix: str = ""
) -> Compiled:
    """The rule's matches ($1 is the tenant; `customers`, a text[] placeholder, limits them to those customers)."""
    compiler = _Compiler(rule, criteria, now, customers, prefix)
    condition = compiler.node(rule.condition)
    if rule.subject == "CUSTOMER":
        from_sql = "customers c"
        # IN (SELECT unnest(...)) rather than = ANY(...): a set the planner can hash or loop over, where a large array
        # repeated as the index condition of every inner scan costs time with the square of its length.
        where = "c.tenant = $1" + (f" AND c.id IN (SELECT unnest({customers}))" if customers else "")
        keys = "c.id AS customer_id, ''::text AS legal_entity_id"
    else:
        from_sql = (
            "contact_assignments ca JOIN customers c ON c.tenant = ca.tenant AND c.id = ca.customer_id"
            " JOIN legal_entities le ON le.tenant = ca.tenant AND le.id = ca.legal_entity_id"
        )
        where = "ca.tenant = $1" + (f" AND ca.customer_id IN (SELECT unnest({customers}))" if customers else "")
        keys = "DISTINCT ca.customer_id, ca.legal_entity_id"
    joined = " ".join([from_sql, *compiler.joins])
    select = f"SELECT {keys} FROM {joined} WHERE {where} AND {condition}"
    return Compiled(compiler.ctes, select, compiler.nodes, compiler.actuals, joined, where)


_CONTACTS_FROM = (
    "contact_assignments ca JOIN customers c ON c.tenant = ca.tenant AND c.id = ca.customer_id"
    " JOIN legal_entities le ON le.tenant = ca.tenant AND le.id = ca.legal_entity_id"
)


def compile_shared(rules: list[Rule], criteria: Criteria, now: datetime, prefix: str) -> tuple[list[str], list[str]]:
    """Rules of one subject over the whole tenant ($1) in one pass: (the CTEs to put first — one aggregate of every
    purchase condition, then `{prefix}m`, each subject once with a boolean column per rule — and each rule's SELECT
    of its matches from `{prefix}m`). A customer's (or contact's) row is read once for all the rules, where
    `compile_rule` reads it once per rule."""
    subject = rules[0].subject
    assert all(rule.subject == subject for rule in rules)
    shared = SharedOrders(f"{prefix}o", now)
    conditions = [_Compiler(rule, criteria, now, None, prefix, shared).node(rule.condition) for rule in rules]
    contact = subject == "CONTACT"
    ctes = []
    joined = _CONTACTS_FROM if contact else "customers c"
    for name, sql in shared.ctes(criteria, per_legal_entity=contact):
        ctes.append(f"{name} AS ({sql})")
        on = f"{name}.customer_id = c.id" + (f" AND {name}.legal_entity_id = ca.legal_entity_id" if contact else "")
        joined += f" LEFT JOIN {name} ON {on}"
    if contact:
        # One row per (customer, legal entity): a rule matches when it matches one of the pair's contact types.
        flags = ", ".join(f"bool_or({condition}) AS h{k}" for k, condition in enumerate(conditions))
        body = (
            f"SELECT ca.customer_id, ca.legal_entity_id, {flags} FROM {joined} WHERE ca.tenant = $1"
            " GROUP BY ca.customer_id, ca.legal_entity_id"
        )
    else:
        flags = ", ".join(f"{condition} AS h{k}" for k, condition in enumerate(conditions))
        body = f"SELECT c.id AS customer_id, ''::text AS legal_entity_id, {flags} FROM {joined} WHERE c.tenant = $1"
    ctes.append(f"{prefix}m AS ({body})")
    selects = [f"SELECT customer_id, legal_entity_id FROM {prefix}m WHERE h{k}" for k in range(len(rules))]
    return ctes, selects


def moved_sql(rule: Rule, criteria: Criteria, start: datetime, end: datetime) -> str | None:
    """The customers ($1 the tenant) whose time-relative conditions may have changed their result while the rule
    clock went from `start` to `end`: a boundary `now - D` swept over their value. None when nothing reads the clock.
    """
    compiler = _Compiler(rule, criteria, end, None, "")
    start, end = min(start, end), max(start, end)  # the clock may have been set back: the same span, crossed back
    if rule.subject == "CUSTOMER":
        subject_from, tenant_where, key = "customers c", "c.tenant = $1", "c.id"
    else:
        subject_from = (
            "contact_assignments ca JOIN customers c ON c.tenant = ca.tenant AND c.id = ca.customer_id"
            " JOIN legal_entities le ON le.tenant = ca.tenant AND le.id = ca.legal_entity_id"
        )
        tenant_where, key = "ca.tenant = $1", "ca.customer_id"
    parts: list[str] = []
    order_windows: set[timedelta] = set()
    for leaf in leaves(rule.condition):
        if isinstance(leaf, Attribute) and leaf.op in TIME_OPS:
            value, kind = compiler.attribute_value(leaf)
            moment = value if kind == DATETIME else f"segment_rule_timestamp({value})"
            low, high = compiler.bind(start - leaf.value), compiler.bind(end - leaf.value)
            parts.append(
                f"SELECT {key} FROM {subject_from} WHERE {tenant_where} AND {moment} >= {low} AND {moment} < {high}"
            )
        elif isinstance(leaf, Orders):
            if leaf.within is not None:
                order_windows.add(leaf.within)
            if leaf.op in TIME_OPS:
                order_windows.add(leaf.value)
    for window in sorted(order_windows):
        low, high = compiler.bind(start - window), compiler.bind(end - window)
        parts.append(
            "SELECT p.customer_id FROM orders p WHERE p.tenant = $1 AND p.customer_id IS NOT NULL"
            f" AND p.created_at >= {low} AND p.created_at < {high}"
        )
    if not parts:
        return None
    return " UNION ".join(parts)
