"""Every write that can change a storefront answer raises the versions of what it changed, in its own transaction
(docs/answers.md): a segment's own row and its items raise the segment's version; categories, their place in the
tree, category assignments and products raise the catalogue's. Memberships raise nothing in the database: a read
that asks the database for the caller's segments sees them.

With the versions kept on the host (core/host_versions.py), the same writes also mark their scopes there, and so
do memberships (the member's scope), segment definitions (the tenant's: which segments are active where) and coupons
with their redemptions (the coupon's scope: what a validation remembers, coupons/validation_memo.py).
"""

from __future__ import annotations

from collections.abc import Sequence

from segment_service.answers import store
from segment_service.core import host_versions
from segment_service.core.db import Connection
from segment_service.core.events import (
    CategoryAssignmentCreated,
    CategoryAssignmentDeleted,
    CategoryCreated,
    CategoryDeleted,
    CategoryUpdated,
    ChangeEvent,
    CouponChanged,
    CustomerAssignmentCreated,
    CustomerAssignmentDeleted,
    CustomerAssignmentUpdated,
    EventRegistry,
    ItemAssignmentCreated,
    ItemAssignmentDeleted,
    ItemAssignmentUpdated,
    ProductCreated,
    ProductDeleted,
    ProductDeleting,
    ProductUpdated,
    SegmentCreated,
    SegmentDeleted,
    SegmentUpdated,
)

#: Events about one segment: its version goes up.
SEGMENT_EVENTS: tuple[type[ChangeEvent], ...] = (
    SegmentCreated,
    SegmentUpdated,
    SegmentDeleted,
    ItemAssignmentCreated,
    ItemAssignmentUpdated,
    ItemAssignmentDeleted,
)
#: Events about the catalogue: the tenant's catalogue version goes up.
CATALOGUE_EVENTS: tuple[type[ChangeEvent], ...] = (
    CategoryCreated,
    CategoryUpdated,
    CategoryDeleted,
    CategoryAssignmentCreated,
    CategoryAssignmentDeleted,
    ProductCreated,
    ProductUpdated,
    ProductDeleting,
    ProductDeleted,
)


def scopes_of(event: ChangeEvent) -> str:
    """The scope whose version `event` raises."""
    if isinstance(event, CATALOGUE_EVENTS):
        return store.CATALOGUE
    segment_id: str = getattr(event, "segment_id")  # noqa: B009 - every SEGMENT_EVENTS class has it
    return segment_id


#: Events that change which segments are active where (status, validity, site) or exist.
DEFINITION_EVENTS: tuple[type[ChangeEvent], ...] = (SegmentCreated, SegmentUpdated, SegmentDeleted)
#: Events that change a customer's memberships.
MEMBERSHIP_EVENTS: tuple[type[ChangeEvent], ...] = (
    CustomerAssignmentCreated,
    CustomerAssignmentUpdated,
    CustomerAssignmentDeleted,
)


async def raise_versions(conn: Connection, batch: Sequence[ChangeEvent]) -> None:
    """One statement per tenant of the batch (a write's batch has one), and the host's marks."""
    by_tenant: dict[str, set[str]] = {}
    for event in batch:
        by_tenant.setdefault(event.tenant, set()).add(scopes_of(event))
    for tenant, scopes in by_tenant.items():
        if host_versions.HOSTS:
            marked = set(scopes)
            if any(isinstance(e, DEFINITION_EVENTS) and e.tenant == tenant for e in batch):
                marked.add(host_versions.DEFINITIONS)
            await store.hold_slots(conn, host_versions.mark(conn, tenant, sorted(marked)))
        await store.raise_versions(conn, tenant, scopes)


async def mark_members(conn: Connection, batch: Sequence[ChangeEvent]) -> None:
    """A membership changed: the member's scope on the host, held in the database until the transaction ends (no
    version is raised there)."""
    by_tenant: dict[str, set[str]] = {}
    for event in batch:
        customer_id: str = getattr(event, "customer_id")  # noqa: B009 - every MEMBERSHIP_EVENTS class has it
        by_tenant.setdefault(event.tenant, set()).add(host_versions.member_scope(customer_id))
    for tenant, scopes in by_tenant.items():
        await store.hold_slots(conn, host_versions.mark(conn, tenant, sorted(scopes)))


async def mark_coupons(conn: Connection, batch: Sequence[ChangeEvent]) -> None:
    """A coupon or its redemptions changed: the coupon's scope on the host, held in the database until the
    transaction ends (no version is raised there: only validations answered from the host's memo remember
    coupons)."""
    by_tenant: dict[str, set[str]] = {}
    for event in batch:
        if isinstance(event, CouponChanged):
            by_tenant.setdefault(event.tenant, set()).add(host_versions.coupon_scope(event.code))
    for tenant, scopes in by_tenant.items():
        await store.hold_slots(conn, host_versions.mark(conn, tenant, sorted(scopes)))


def register(registry: EventRegistry) -> None:
    registry.subscribe_batch(SEGMENT_EVENTS + CATALOGUE_EVENTS, raise_versions)
    registry.subscribe_batch(MEMBERSHIP_EVENTS, mark_members)
    registry.subscribe_batch((CouponChanged,), mark_coupons)
