"""Rule-based segments (docs/rules.md): saving, reading and deleting a segment's rule, previewing a candidate rule,
explaining one subject's membership, and exclusions. No HTTP here (rules/routes.py)."""

from __future__ import annotations

from typing import Any

from segment_service.core import clock, events
from segment_service.core.auth import Caller
from segment_service.core.db import Connection, Database
from segment_service.core.errors import BadRequest, NotFound, VersionConflict
from segment_service.core.models import UNSET
from segment_service.core.paging import Page
from segment_service.core.timefmt import iso
from segment_service.customers import service as customers_service
from segment_service.legal_entities import service as legal_entities_service
from segment_service.rules import evaluation_store, evaluator, store
from segment_service.rules.conditions import MAX_CHAIN, Group, Node, Rule, parse_rule
from segment_service.rules.evaluation import announce, compiled_for, evaluate_customers, graph_of
from segment_service.rules.models import RuleBody
from segment_service.segments.membership import missing_segments

B2C = ""


def _segment_not_found(segment_id: str) -> NotFound:
    return NotFound(f"The segment {segment_id} does not exist.", resource_id=segment_id)


async def _require_segment(conn: Connection, tenant: str, segment_id: str) -> None:
    if await missing_segments(conn, tenant, [segment_id]):
        raise _segment_not_found(segment_id)


async def _checked_rule(conn: Connection, tenant: str, segment_id: str, body: RuleBody) -> Rule:
    """The body's rule, its segments existing and no dependency cycle through this segment."""
    rule = parse_rule(body.subject, body.condition, segment_id)
    missing = await missing_segments(conn, tenant, rule.depends_on)
    if missing:
        path = rule.segment_paths[missing[0]]
        raise BadRequest(
            f"{path}: the segment {missing[0]} does not exist.",
            field=path,
            type="missing_reference",
            resource_id=missing[0],
        )
    await store.lock_graph(conn, tenant)  # two rules saved at once cannot close a cycle unseen
    graph = graph_of(await store.fetch_rules(conn, tenant))
    graph.edges[segment_id] = rule.depends_on
    cycle = graph.cycle_through(segment_id)
    if cycle is not None:
        path = rule.segment_paths[cycle[1]]
        raise BadRequest(
            f"{path}: the rules would read each other in a cycle: " + " -> ".join(cycle) + ".",
            field=path,
            type="invalid_value",
        )
    if rule.depends_on and len(graph.levels()) > MAX_CHAIN:
        path = rule.segment_paths[rule.depends_on[0]]
        raise BadRequest(
            f"{path}: rules may read each other's segments in chains of at most {MAX_CHAIN}; this one makes a"
            f" chain of {len(graph.levels())}.",
            field=path,
            type="invalid_value",
        )
    return rule


def rule_document(row: store.RuleRow) -> dict[str, Any]:
    return {
        "segmentId": row.segment_id,
        "subject": row.subject,
        "condition": row.condition,
        "state": row.state,
        "evaluatedAt": None if row.evaluated_at is None else iso(row.evaluated_at),
        "memberCount": row.member_count,
        "error": row.error,
        "metadata": {"version": row.version, "createdAt": iso(row.created_at), "modifiedAt": iso(row.modified_at)},
    }


async def put_rule(db: Database, caller: Caller, segment_id: str, body: RuleBody) -> bool:
    """Save the segment's rule (queued for a full evaluation); whether it was created. A sent version must match."""
    version = None
    if body.metadata is not UNSET and body.metadata is not None and body.metadata.version is not UNSET:
        version = body.metadata.version
    async with db.transaction() as conn:
        await _require_segment(conn, caller.tenant, segment_id)
        rule = await _checked_rule(conn, caller.tenant, segment_id, body)
        flags = (rule.time_relative, rule.uses_orders, rule.uses_categories)
        created = await store.upsert_rule(
            conn, caller.tenant, segment_id, rule.subject, body.condition, rule.depends_on, flags, version
        )
        if created is None:
            current = await store.fetch_rule(conn, caller.tenant, segment_id)
            at = "" if current is None else f" is at version {current.version}"
            raise VersionConflict(f"The rule of segment {segment_id}{at}, not {version}.", resource_id=segment_id)
    evaluator.wake()
    return created


async def get_rule(db: Database, caller: Caller, segment_id: str) -> dict[str, Any]:
    async with db.connection() as conn:
        row = await store.fetch_rule(conn, caller.tenant, segment_id)
        if row is None:
            await _require_segment(conn, caller.tenant, segment_id)
            raise NotFound(f"The segment {segment_id} has no rule.", resource_id=segment_id)
    return rule_document(row)


async def delete_rule(db: Database, caller: Caller, segment_id: str) -> None:
    """Delete the rule and its memberships (manual ones stay); 404 when the segment has no rule."""
    async with db.transaction() as conn:
        await store.lock_exclusive(conn, caller.tenant)
        await store.allow_long_statements(conn)
        if not await store.delete_rule(conn, caller.tenant, segment_id):
            await _require_segment(conn, caller.tenant, segment_id)
            raise NotFound(f"The segment {segment_id} has no rule.", resource_id=segment_id)
        removed = await store.delete_automatic(conn, caller.tenant, segment_id)
        await announce(conn, caller.tenant, [(segment_id, [(False, c, le) for c, le in removed])])


async def preview(db: Database, caller: Caller, segment_id: str, body: RuleBody) -> dict[str, Any]:
    """What saving the rule would do, computed now; writes nothing."""
    async with db.transaction() as conn:
        await _require_segment(conn, caller.tenant, segment_id)
        rule = await _checked_rule(conn, caller.tenant, segment_id, body)
        criteria, compiled, segment, _ = compiled_for(caller.tenant, rule, segment_id, clock.now(), None)
        await store.allow_long_statements(conn, store.PREVIEW_TIMEOUT_MS)
        return await evaluation_store.preview(conn, criteria, compiled, segment)


def _annotated(raw: Any, node: Node, results: list[bool], actuals: list[Any], index: list[int]) -> dict[str, Any]:
    """The stored condition with each node's result and each leaf's value, walked in the compiler's pre-order."""
    position = index[0]
    index[0] += 1
    doc: dict[str, Any] = dict(raw)
    if isinstance(node, Group):
        if node.kind == "not":
            doc["not"] = _annotated(raw["not"], node.items[0], results, actuals, index)
        else:
            doc[node.kind] = [
                _annotated(r, n, results, actuals, index) for r, n in zip(raw[node.kind], node.items, strict=True)
            ]
    else:
        doc["actual"] = actuals[position]
    doc["result"] = results[position]
    return doc


def _count_nodes(node: Node) -> int:
    return 1 + (sum(_count_nodes(n) for n in node.items) if isinstance(node, Group) else 0)


async def explain(
    db: Database, caller: Caller, segment_id: str, customer_id: str, legal_entity_id: str | None
) -> dict[str, Any]:
    """Whether the subject is a member and why, with the rule's tree evaluated for it now."""
    le = legal_entity_id or B2C
    async with db.connection() as conn:
        await _require_segment(conn, caller.tenant, segment_id)
        if not await customers_service.customer_exists(conn, caller.tenant, customer_id):
            raise NotFound(f"The customer {customer_id} does not exist.", resource_id=customer_id)
        if le and not await legal_entities_service.legal_entity_exists(conn, caller.tenant, le):
            raise NotFound(f"The legal entity {le} does not exist.", resource_id=le)
        assignment, excluded = await store.membership(conn, caller.tenant, segment_id, customer_id, le)
        row = await store.fetch_rule(conn, caller.tenant, segment_id)
        tree = None
        matched = False
        if row is not None:
            rule = parse_rule(row.subject, row.condition, segment_id)
            criteria, compiled, _, _ = compiled_for(caller.tenant, rule, segment_id, clock.now(), None)
            customer = criteria.bind(customer_id)
            entity = None
            if rule.subject == "CONTACT":
                entity = criteria.bind(le)
            evaluated = await evaluation_store.explain(conn, criteria, compiled, customer, entity)
            n = _count_nodes(rule.condition)
            results, actuals = evaluated if evaluated is not None else ([False] * n, [None] * n)
            # A CUSTOMER rule makes B2C memberships, a CONTACT rule B2B ones: the other kind never matches.
            subject_fits = (rule.subject == "CUSTOMER") == (le == B2C)
            matched = results[0] and subject_fits
            tree = _annotated(row.condition, rule.condition, results, actuals, [0])
    if excluded:
        because = "EXCLUDED"
    elif assignment == "MANUAL":
        because = "MANUAL"
    elif row is None:
        because = "NO_RULE"
    else:
        because = "RULE" if matched else "NO_MATCH"
    answer: dict[str, Any] = {"member": assignment is not None, "because": because}
    if tree is not None:
        answer["condition"] = tree
    return answer


# --------------------------------------------------------------------------------------------------- exclusions


async def _check_subject(conn: Connection, tenant: str, customer_id: str, legal_entity_id: str) -> None:
    if not await customers_service.customer_exists(conn, tenant, customer_id, for_write=True):
        raise NotFound(f"The customer {customer_id} does not exist.", resource_id=customer_id)
    if legal_entity_id and not await legal_entities_service.legal_entity_exists(conn, tenant, legal_entity_id):
        raise NotFound(f"The legal entity {legal_entity_id} does not exist.", resource_id=legal_entity_id)


async def put_exclusion(
    db: Database, caller: Caller, segment_id: str, customer_id: str, legal_entity_id: str | None
) -> bool:
    """Exclude the subject (without a legal entity: in every context); its memberships go. Whether it was new."""
    le = legal_entity_id or B2C
    async with db.transaction() as conn:
        await _require_segment(conn, caller.tenant, segment_id)
        await _check_subject(conn, caller.tenant, customer_id, le)
        await store.lock_shared(conn, caller.tenant)
        # A manual assignment of the customer racing this exclusion either commits first (and is removed here) or
        # checks for exclusions after this commits (and is refused): rules/reactions.py takes the same lock.
        await store.lock_customers(conn, caller.tenant, [customer_id])
        created, removed = await store.add_exclusion(conn, caller.tenant, segment_id, customer_id, le)
        await _announce_removed(conn, caller.tenant, segment_id, removed)
    return created


async def _announce_removed(
    conn: Connection, tenant: str, segment_id: str, removed: list[tuple[str, str, str]]
) -> None:
    batch = [
        events.CustomerAssignmentDeleted(
            tenant=tenant,
            segment_id=segment_id,
            customer_id=customer,
            legal_entity_id=le or None,
            assignment_type=kind,
        )
        for customer, le, kind in removed
    ]
    if batch:
        await events.emit_many(conn, batch)


async def delete_exclusion(
    db: Database, caller: Caller, segment_id: str, customer_id: str, legal_entity_id: str | None
) -> None:
    """Lift an exclusion; the rule decides again at once. Idempotent, as every delete of this service."""
    le = legal_entity_id or B2C
    async with db.transaction() as conn:
        await _require_segment(conn, caller.tenant, segment_id)
        if await store.delete_exclusion(conn, caller.tenant, segment_id, customer_id, le):
            await evaluate_customers(conn, caller.tenant, [customer_id], only={segment_id})


async def list_exclusions(
    db: Database, caller: Caller, segment_id: str, page: Page
) -> tuple[list[dict[str, Any]], int]:
    async with db.connection() as conn:
        await _require_segment(conn, caller.tenant, segment_id)
        return await store.list_exclusions(conn, caller.tenant, segment_id, page)
