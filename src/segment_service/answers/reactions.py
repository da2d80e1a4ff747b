"""Every write that can change a storefront answer raises the versions of what it changed, in its own transaction
(docs/answers.md): a segment's own row and its items raise the segment's version; categories, their place in the
tree, category assignments and products raise the catalogue's. Memberships raise nothing: a read asks for the
caller's segments every time (the first statement of a cached read), so a membership change needs no version.
"""

from __future__ import annotations

from collections.abc import Sequence

from segment_service.answers import store
from segment_service.core.db import Connection
from segment_service.core.events import (
    CategoryAssignmentCreated,
    CategoryAssignmentDeleted,
    CategoryCreated,
    CategoryDeleted,
    CategoryUpdated,
    ChangeEvent,
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


async def raise_versions(conn: Connection, batch: Sequence[ChangeEvent]) -> None:
    """One statement per tenant of the batch (a write's batch has one)."""
    by_tenant: dict[str, set[str]] = {}
    for event in batch:
        by_tenant.setdefault(event.tenant, set()).add(scopes_of(event))
    for tenant, scopes in by_tenant.items():
        await store.raise_versions(conn, tenant, scopes)


def register(registry: EventRegistry) -> None:
    registry.subscribe_batch(SEGMENT_EVENTS + CATALOGUE_EVENTS, raise_versions)
