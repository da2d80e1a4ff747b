"""Evaluating rules into memberships (docs/rules.md#evaluation): for some customers (a write changed what the rules
read about them, inside that write's transaction) or for a whole segment (its rule was saved: the evaluator,
rules/evaluator.py). Each applied rule is one statement; its changes are announced as the customer-assignment events
with `assignmentType: AUTOMATIC`, which in turn re-evaluate the segments whose rules read that segment
(rules/reactions.py).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Sequence
from contextvars import ContextVar
from datetime import datetime

from segment_service.core import clock, events
from segment_service.core.db import Connection
from segment_service.core.listing import Criteria
from segment_service.rules import evaluation_store, incremental, store
from segment_service.rules.compiler import Compiled, compile_rule, compile_shared
from segment_service.rules.conditions import SUBJECTS, Rule, parse_rule
from segment_service.rules.evaluation_store import Change
from segment_service.rules.graph import Graph
from segment_service.rules.store import RuleRow

#: Parsed rules by (tenant, segment, version, created): parsing is pure, a rule's version changes with its text, and
#: a rule deleted and saved again (or a segment made again under its id) starts anew at version 1 with a new created.
_PARSED: OrderedDict[tuple[str, str, int, datetime], Rule] = OrderedDict()
_PARSED_MAX = 4096
#: Graphs and levels of recent rule sets, by their dependencies.
_LEVELS: OrderedDict[tuple[tuple[str, tuple[str, ...]], ...], tuple[Graph, list[list[str]]]] = OrderedDict()
_LEVELS_MAX = 256
#: (segment, customer) of the changes a write's re-evaluation is announcing: the rules that read those segments were
#: re-evaluated for those customers in the same pass (rules/reactions.py skips them).
settled: ContextVar[frozenset[tuple[str, str]]] = ContextVar("settled", default=frozenset())
#: One statement of a write's re-evaluation holds at most this many purchase conditions and conditions in all.
STATEMENT_PURCHASE_LEAVES = 8
STATEMENT_LEAVES = 5000
#: A full evaluation's statement holds at most this many purchase conditions: columns of one aggregate, which costs
#: the planner little per column.
SHARED_PURCHASE_LEAVES = 256
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


async def announce(conn: Connection, tenant: str, changed: Sequence[tuple[str, Sequence[Change]]]) -> None:
    """The customer-assignment events of rules' changes ((segment, its changes), in the order the rules applied),
    emitted as one batch: what reacts to them (the rules that read those segments) runs once."""
    batch: list[events.ChangeEvent] = []
    for segment_id, changes in changed:
        for added, customer_id, legal_entity_id in changes:
            kind = events.CustomerAssignmentCreated if added else events.CustomerAssignmentDeleted
            batch.append(
                kind(
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
    """Apply rules that do not read each other's segments (to `customer_ids`, else to every subject of the tenant)
    and announce their changes; every change made. For the whole tenant, the rules of one subject share one pass
    over the subjects and one over the orders (rules/compiler.py `compile_shared`), in statements of at most
    STATEMENT_LEAVES conditions and SHARED_PURCHASE_LEAVES purchase conditions."""
    if not rows:
        return []
    moment = now or clock.now()
    if customer_ids is not None:
        return await _apply(conn, tenant, rows, customer_ids, moment)
    every: list[Change] = []
    for subject in SUBJECTS:
        chosen = [row for row in rows if row.subject == subject]
        for group in _statements(chosen, tenant, SHARED_PURCHASE_LEAVES):
            every += await _apply(conn, tenant, group, None, moment)
    return every


async def _apply(
    conn: Connection, tenant: str, rows: Sequence[RuleRow], customer_ids: Sequence[str] | None, now: datetime
) -> list[Change]:
    """Apply the rules in one statement and announce their changes."""
    criteria = Criteria(tenant)
    if customer_ids is None:
        ctes, _ = compile_shared([parsed(tenant, row) for row in rows], criteria, now, "r0_")
        previous = await evaluation_store.whole_tenant_settings(conn)
        segments = [row.segment_id for row in rows]
        results = await evaluation_store.apply_shared(conn, criteria, ctes, "r0_m", segments)
        await evaluation_store.restore_settings(conn, previous)
    else:
        customers = f"{criteria.bind(list(customer_ids))}::text[]"
        applied = []
        for n, row in enumerate(rows):
            segment = f"{criteria.bind(row.segment_id)}::text"
            prefix = f"r{n}_"
            compiled = compile_rule(parsed(tenant, row), criteria, now, customers=customers, prefix=prefix)
            applied.append(evaluation_store.Applied(compiled, segment, prefix))
        results = await evaluation_store.apply(conn, criteria, applied, customers)
    await announce(conn, tenant, [(row.segment_id, changes) for row, changes in zip(rows, results, strict=True)])
    return [change for changes in results for change in changes]


def _statements(rows: Sequence[RuleRow], tenant: str, purchase_leaves: int) -> list[list[RuleRow]]:
    """The rules in groups of one statement each: at most `purchase_leaves` purchase conditions (each a join the
    planner orders, or a column of a shared aggregate) and STATEMENT_LEAVES conditions (each a few bound values, of
    which a statement may have 32,767)."""
    groups: list[list[RuleRow]] = []
    purchases = leaves = 0
    for row in rows:
        rule = parsed(tenant, row)
        full = (
            purchases + rule.purchase_leaves > purchase_leaves
            or leaves + rule.leaves > STATEMENT_LEAVES
            or (bool(groups) and len(groups[-1]) == evaluation_store.SHARED_RULES)
        )
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
    rules that read fields), dependencies first: up to LOCK_EACH_CUSTOMER_UP_TO customers in this process over
    their rows read once (rules/incremental.py), more by one statement for each group of rules that do not read each
    other's segments."""
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
    graph, levels_of = _graph_and_levels(rows)
    chosen = {
        row.segment_id
        for row in rows
        if (only is None or row.segment_id in only)
        and (not orders_only or row.uses_orders)
        and (not attributes_only or parsed(tenant, row).reads_attributes)
    }
    changed = None
    if not many:
        # The rules that read the chosen segments come along (in later levels), so that the reaction to this
        # evaluation's announcement finds them settled instead of reading everything again.
        along = chosen | graph.dependents(chosen)
        planned = [
            [incremental.Planned(s, parsed(tenant, by_segment[s])) for s in level if s in along] for level in levels_of
        ]
        changed = await incremental.apply(conn, tenant, [level for level in planned if level], ids, now)
    if changed is None:  # set-based statements: many customers (or orders) cost less there than in this process
        for level in levels_of:
            for group in _statements([by_segment[s] for s in level if s in chosen], tenant, STATEMENT_PURCHASE_LEAVES):
                await apply_rules(conn, tenant, group, ids, now)
        return
    token = settled.set(frozenset((s, c) for s, changes in changed for _, c, _ in changes))
    try:
        await announce(conn, tenant, changed)
    finally:
        settled.reset(token)


def _graph_and_levels(rows: Sequence[RuleRow]) -> tuple[Graph, list[list[str]]]:
    """The rules' dependency graph and its levels (rules/graph.py), remembered for the same dependencies."""
    key = tuple(sorted((row.segment_id, tuple(row.depends_on)) for row in rows))
    known = _LEVELS.get(key)
    if known is None:
        graph = graph_of(rows)
        known = _LEVELS[key] = (graph, graph.levels())
        if len(_LEVELS) > _LEVELS_MAX:
            _LEVELS.popitem(last=False)
    return known
