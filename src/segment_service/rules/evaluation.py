"""Evaluating rules into memberships (docs/rules.md#evaluation): for some customers (a write changed what the rules
read about them, inside that write's transaction) or for a whole segment (its rule was saved: the evaluator,
rules/evaluator.py). Each applied rule is one statement; its changes are announced as the customer-assignment events
with `assignmentType: AUTOMATIC`, which in turn re-evaluate the segments whose rules read that segment
(rules/reactions.py).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Sequence
from datetime import datetime

from segment_service.core import clock, events
from segment_service.core.db import Connection
from segment_service.core.listing import Criteria
from segment_service.rules import evaluation_store, incremental, store
from segment_service.rules.compiler import Compiled, compile_rule
from segment_service.rules.conditions import Rule, parse_rule
from segment_service.rules.evaluation_store import Change
from segment_service.rules.graph import Graph
from segment_service.rules.store import RuleRow

#: Parsed rules by (tenant, segment, version, created): parsing is pure, a rule's version changes with its text, and
#: a rule deleted and saved again (or a segment made again under its id) starts anew at version 1 with a new created.
_PARSED: OrderedDict[tuple[str, str, int, datetime], Rule] = OrderedDict()
_PARSED_MAX = 4096
#: One statement of a write's re-evaluation holds at most this many purchase conditions and conditions in all.
STATEMENT_PURCHASE_LEAVES = 8
STATEMENT_LEAVES = 5000
#: Up to this many customers, a re-evaluation locks each of them (store.lock_customers); beyond, the whole tenant.
LOCK_EACH_CUSTOMER_UP_TO = 1000


def parsed(tenant: str, row: RuleRow) -> Rule:
    key = (tenant, row.segment_id, row.version, row.created_at)
    rule = _PARSED.get(key)
    if rule is None:
        rule = parse_rule(row.subject, row.condition, row.segment_id)
        _PARSED[key] = rule
        if len(_PARSED) > _PARSED_MAX:
            _PARSED.popitem(last=False)
    return rule


def graph_of(rows: Iterable[RuleRow]) -> Graph:
    return Graph({row.segment_id: tuple(row.depends_on) for row in rows})


def compiled_for(
    tenant: str, rule: Rule, segment_id: str, now: datetime, customer_ids: Sequence[str] | None
) -> tuple[Criteria, Compiled, str, str | None]:
    """(criteria with the values, compiled rule, the segment's placeholder, the customers' placeholder)."""
    criteria = Criteria(tenant)
    segment = f"{criteria.bind(segment_id)}::text"
    customers = None if customer_ids is None else f"{criteria.bind(list(customer_ids))}::text[]"
    return criteria, compile_rule(rule, criteria, now, customers=customers), segment, customers


async def announce(conn: Connection, tenant: str, segment_id: str, changes: Sequence[Change]) -> None:
    """The customer-assignment events of a rule's changes."""
    batch: list[events.ChangeEvent] = []
    for added, customer_id, legal_entity_id in changes:
        if added:
            batch.append(
                events.CustomerAssignmentCreated(
                    tenant=tenant,
                    segment_id=segment_id,
                    customer_id=customer_id,
                    legal_entity_id=legal_entity_id or None,
                    assignment_type="AUTOMATIC",
                )
            )
        else:
            batch.append(
                events.CustomerAssignmentDeleted(
                    tenant=tenant,
                    segment_id=segment_id,
                    customer_id=customer_id,
                    legal_entity_id=legal_entity_id or None,
                    assignment_type="AUTOMATIC",
                )
            )
    if batch:
        await events.emit_many(conn, batch)


async def apply_rules(
    conn: Connection,
    tenant: str,
    rows: Sequence[RuleRow],
    customer_ids: Sequence[str] | None,
    now: datetime | None = None,
) -> list[Change]:
    """Apply rules that do not read each other's segments (to `customer_ids`, else to every subject of the tenant),
    in one statement, and announce their changes; every change made."""
    if not rows:
        return []
    criteria = Criteria(tenant)
    customers = None if customer_ids is None else f"{criteria.bind(list(customer_ids))}::text[]"
    moment = now or clock.now()
    applied = []
    for n, row in enumerate(rows):
        segment = f"{criteria.bind(row.segment_id)}::text"
        prefix = f"r{n}_"
        compiled = compile_rule(parsed(tenant, row), criteria, moment, customers=customers, prefix=prefix)
        applied.append(evaluation_store.Applied(compiled, segment, prefix))
    whole = customer_ids is None
    previous = await evaluation_store.prefer_hash_joins(conn) if whole else ""
    results = await evaluation_store.apply(conn, criteria, applied, customers)
    if whole:
        await evaluation_store.restore_nested_loops(conn, previous)
    every: list[Change] = []
    for row, changes in zip(rows, results, strict=True):
        await announce(conn, tenant, row.segment_id, changes)
        every.extend(changes)
    return every


def _statements(rows: Sequence[RuleRow], tenant: str) -> list[list[RuleRow]]:
    """The rules in groups of one statement each: at most STATEMENT_PURCHASE_LEAVES purchase conditions (each a join
    the planner orders, which costs planning time with the square of their number) and STATEMENT_LEAVES conditions
    (each a few bound values, of which a statement may have 32,767)."""
    groups: list[list[RuleRow]] = []
    purchases = leaves = 0
    for row in rows:
        rule = parsed(tenant, row)
        full = purchases + rule.purchase_leaves > STATEMENT_PURCHASE_LEAVES or leaves + rule.leaves > STATEMENT_LEAVES
        if not groups or full:
            groups.append([])
            purchases = leaves = 0
        groups[-1].append(row)
        purchases += rule.purchase_leaves
        leaves += rule.leaves
    return groups


async def apply_rule(
    conn: Connection, tenant: str, row: RuleRow, customer_ids: Sequence[str] | None, now: datetime | None = None
) -> list[Change]:
    """Apply one rule (to `customer_ids`, else to every subject of the tenant) and announce its changes."""
    return await apply_rules(conn, tenant, [row], customer_ids, now)


async def evaluate_customers(
    conn: Connection,
    tenant: str,
    customer_ids: Sequence[str],
    *,
    only: set[str] | None = None,
    orders_only: bool = False,
    attributes_only: bool = False,
) -> None:
    """Inside a write's transaction: bring the customers' rule memberships up to date (those of the segments in
    `only`, else of every rule; with `orders_only`, of the rules that read purchases; with `attributes_only`, of the
    rules that read fields): one statement for each group of rules that do not read each other's segments,
    dependencies first."""
    if not customer_ids:
        return
    ids = sorted(set(customer_ids))
    # A few customers are locked one by one; a large set (an import batch, the members a full evaluation changed)
    # takes the tenant's rule lock exclusively instead: a lock per customer would fill the server's lock table.
    many = len(ids) > LOCK_EACH_CUSTOMER_UP_TO
    await (store.lock_exclusive(conn, tenant) if many else store.lock_shared(conn, tenant))
    rows = await store.fetch_rules(conn, tenant)
    if not rows:
        return
    by_segment = {row.segment_id: row for row in rows}
    if not many:
        await store.lock_customers(conn, tenant, ids)
    now = clock.now()
    levels = [
        [
            by_segment[segment_id]
            for segment_id in level
            if (only is None or segment_id in only)
            and (not orders_only or by_segment[segment_id].uses_orders)
            and (not attributes_only or parsed(tenant, by_segment[segment_id]).reads_attributes)
        ]
        for level in graph_of(rows).levels()
    ]
    if many:  # set-based statements: reading every row of so many customers into this process would cost more
        for level_rows in levels:
            for group in _statements(level_rows, tenant):
                await apply_rules(conn, tenant, group, ids, now)
        return
    planned = [[incremental.Planned(row.segment_id, parsed(tenant, row)) for row in level] for level in levels]
    for segment_id, changes in await incremental.apply(conn, tenant, [p for p in planned if p], ids, now):
        await announce(conn, tenant, segment_id, changes)
