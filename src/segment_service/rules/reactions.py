"""How rule memberships follow the data (docs/rules.md#freshness): every write that changes what a rule reads
re-evaluates the affected customers inside its own transaction, so readers never see the write without its
memberships. One batch reaction per event kind, so an import batch costs one evaluation, not one per row.

Changes that can move any customer (a category's products, the counted order statuses, a segment a rule reads being
deleted) queue the rules concerned for a full evaluation instead (within seconds, rules/evaluator.py).
"""

from __future__ import annotations

from collections.abc import Sequence

from segment_service.core import events
from segment_service.core.db import Connection
from segment_service.core.errors import Conflict
from segment_service.core.events import ChangeEvent, EventRegistry
from segment_service.rules import evaluator, store
from segment_service.rules.evaluation import evaluate_customers, graph_of, settled


async def _customers_changed(conn: Connection, batch: Sequence[ChangeEvent]) -> None:
    """A new customer or contact may match any rule; a changed profile only the rules that read attributes."""
    new: dict[str, set[str]] = {}
    changed: dict[str, set[str]] = {}
    for event in batch:
        assert isinstance(event, events.CustomerCreated | events.CustomerUpdated | events.ContactAssigned)
        target = changed if isinstance(event, events.CustomerUpdated) else new
        target.setdefault(event.tenant, set()).add(event.customer_id)
    for tenant, ids in new.items():
        await evaluate_customers(conn, tenant, sorted(ids))
    for tenant, ids in changed.items():
        await evaluate_customers(conn, tenant, sorted(ids - new.get(tenant, set())), attributes_only=True)


async def _legal_entities_changed(conn: Connection, batch: Sequence[ChangeEvent]) -> None:
    by_tenant: dict[str, set[str]] = {}
    for event in batch:
        assert isinstance(event, events.LegalEntityCreated | events.LegalEntityUpdated)
        by_tenant.setdefault(event.tenant, set()).add(event.legal_entity_id)
    for tenant, ids in by_tenant.items():
        if await store.fetch_rules(conn, tenant):
            customers = await store.customers_of_legal_entities(conn, tenant, sorted(ids))
            await evaluate_customers(conn, tenant, customers, attributes_only=True)


async def _orders_changed(conn: Connection, batch: Sequence[ChangeEvent]) -> None:
    by_tenant: dict[str, set[str]] = {}
    for event in batch:
        assert isinstance(event, events.OrdersChanged)
        by_tenant.setdefault(event.tenant, set()).update(event.customer_ids)
    for tenant, ids in by_tenant.items():
        await evaluate_customers(conn, tenant, sorted(ids), orders_only=True)


async def _memberships_changed(conn: Connection, batch: Sequence[ChangeEvent]) -> None:
    """A membership changed: the rules that read its segment follow; a manual assignment of an excluded subject is
    refused; a removed manual membership may still be a rule match."""
    by_tenant: dict[str, list[ChangeEvent]] = {}
    done = settled.get()
    for event in batch:
        assert isinstance(
            event,
            events.CustomerAssignmentCreated | events.CustomerAssignmentUpdated | events.CustomerAssignmentDeleted,
        )
        if event.assignment_type == "AUTOMATIC" and (event.segment_id, event.customer_id) in done:
            continue  # a re-evaluation's own change: the rules reading the segment ran with it
        by_tenant.setdefault(event.tenant, []).append(event)
    for tenant, changed in by_tenant.items():
        manual = [
            (event.segment_id, event.customer_id, event.legal_entity_id or "")
            for event in changed
            if isinstance(event, events.CustomerAssignmentCreated | events.CustomerAssignmentUpdated)
            and event.assignment_type == "MANUAL"
        ]
        excluded = None
        if manual:
            await store.lock_customers(conn, tenant, sorted({key[1] for key in manual}))
            excluded = await store.first_excluded(conn, tenant, manual)
        if excluded is not None:
            segment_id, customer_id, _ = excluded
            raise Conflict(
                f"The customer {customer_id} is excluded from the segment {segment_id}; lift the exclusion"
                f" (DELETE /customer-segment/{tenant}/segments/{segment_id}/exclusions/...) before assigning it.",
                resource_id=customer_id,
            )
        rows = await store.fetch_rules(conn, tenant)
        ruled = {row.segment_id for row in rows}
        if not rows:
            continue
        graph = graph_of(rows)
        # A rule waiting for a full evaluation gets it with every membership as it will be then (a full evaluation's
        # batch is followed by the batch of the rules that read it): re-evaluating it for these customers now would
        # be done twice.
        queued = {row.segment_id for row in rows if row.state == "EVALUATING"}
        segments: set[str] = set()
        customers: set[str] = set()
        dependents: dict[str, set[str]] = {}  # per segment of the batch (an evaluation's batch has one)
        for event in changed:
            assert isinstance(
                event,
                events.CustomerAssignmentCreated | events.CustomerAssignmentUpdated | events.CustomerAssignmentDeleted,
            )
            reading = dependents.get(event.segment_id)
            if reading is None:
                reading = dependents[event.segment_id] = graph.dependents({event.segment_id})
            wanted = reading - queued
            if isinstance(event, events.CustomerAssignmentDeleted) and event.assignment_type == "MANUAL":
                wanted = (reading | ({event.segment_id} & ruled)) - queued
            if wanted:
                segments |= wanted
                customers.add(event.customer_id)
        if segments:
            await evaluate_customers(conn, tenant, sorted(customers), only=segments)


async def _segment_deleted(conn: Connection, batch: Sequence[ChangeEvent]) -> None:
    for event in batch:
        assert isinstance(event, events.SegmentDeleted)
        rows = await store.fetch_rules(conn, event.tenant)
        dependents = graph_of(rows).dependents({event.segment_id}) - {event.segment_id}
        if dependents and await store.mark_evaluating(conn, event.tenant, segment_ids=sorted(dependents)):
            evaluator.wake()


async def _catalogue_changed(conn: Connection, batch: Sequence[ChangeEvent]) -> None:
    for tenant in sorted({event.tenant for event in batch}):
        if await store.mark_evaluating(conn, tenant, uses_categories=True):
            evaluator.wake()


async def _purchase_settings_changed(conn: Connection, batch: Sequence[ChangeEvent]) -> None:
    for tenant in sorted({event.tenant for event in batch}):
        if await store.mark_evaluating(conn, tenant, uses_orders=True):
            evaluator.wake()


def register(registry: EventRegistry) -> None:
    """Subscribe the rules' reactions (after the Customer Segment service's own: memberships of a deleted customer
    or contact are gone before rules look)."""
    registry.subscribe_batch(
        (events.CustomerCreated, events.CustomerUpdated, events.ContactAssigned), _customers_changed
    )
    registry.subscribe_batch((events.LegalEntityCreated, events.LegalEntityUpdated), _legal_entities_changed)
    registry.subscribe_batch((events.OrdersChanged,), _orders_changed)
    registry.subscribe_batch(
        (events.CustomerAssignmentCreated, events.CustomerAssignmentUpdated, events.CustomerAssignmentDeleted),
        _memberships_changed,
    )
    registry.subscribe_batch((events.SegmentDeleted,), _segment_deleted)
    registry.subscribe_batch(
        (
            events.CategoryAssignmentCreated,
            events.CategoryAssignmentDeleted,
            events.CategoryUpdated,
            events.CategoryDeleted,
        ),
        _catalogue_changed,
    )
    registry.subscribe_batch((events.PurchaseSettingsChanged,), _purchase_settings_changed)
