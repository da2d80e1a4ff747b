"""How segment memberships follow changes elsewhere (docs/events.md): every reaction of the Customer Segment
service to another service's change, registered at start-up.

A membership lives as long as its customer, its legal-entity context and its item: when one of them goes, the
memberships that named it go in the same transaction, each announced as the deletion the catalogue names.
"""

from __future__ import annotations

from segment_service.core import events, membership_lock
from segment_service.core.db import Connection
from segment_service.core.events import (
    CategoryDeleted,
    ContactRemoved,
    CustomerAssignmentDeleted,
    CustomerDeleted,
    EventRegistry,
    ItemAssignmentDeleted,
    LegalEntityDeleted,
    ProductDeleted,
)
from segment_service.segments import customer_assignment_store, item_assignment_store
from segment_service.segments.customer_assignment_store import RemovedAssignment


async def _announce(conn: Connection, tenant: str, removed: list[RemovedAssignment]) -> None:
    for segment_id, customer_id, legal_entity_id in removed:
        await events.emit(
            conn,
            CustomerAssignmentDeleted(
                tenant=tenant, segment_id=segment_id, customer_id=customer_id, legal_entity_id=legal_entity_id or None
            ),
        )


async def remove_memberships_of_customer(conn: Connection, event: CustomerDeleted) -> None:
    """A deleted customer leaves every segment."""
    await membership_lock.share(conn, event.tenant)
    await _announce(
        conn, event.tenant, await customer_assignment_store.delete_of_customer(conn, event.tenant, event.customer_id)
    )


async def remove_memberships_of_contact(conn: Connection, event: ContactRemoved) -> None:
    """A customer who is no longer a contact of a legal entity has no memberships in its context."""
    await membership_lock.share(conn, event.tenant)
    removed = await customer_assignment_store.delete_of_contact(
        conn, event.tenant, event.customer_id, event.legal_entity_id
    )
    await _announce(conn, event.tenant, removed)


async def remove_memberships_of_legal_entity(conn: Connection, event: LegalEntityDeleted) -> None:
    """No membership keeps the context of a deleted legal entity."""
    await membership_lock.share(conn, event.tenant)
    removed = await customer_assignment_store.delete_of_legal_entity(conn, event.tenant, event.legal_entity_id)
    await _announce(conn, event.tenant, removed)


async def _remove_item(conn: Connection, tenant: str, item_type: str, item_id: str) -> None:
    for segment_id, removed_id in await item_assignment_store.delete_assignments_of_items(
        conn, tenant, item_type, [item_id]
    ):
        await events.emit(
            conn, ItemAssignmentDeleted(tenant=tenant, segment_id=segment_id, item_type=item_type, item_id=removed_id)
        )


async def remove_product(conn: Connection, event: ProductDeleted) -> None:
    """A deleted product leaves every segment."""
    await _remove_item(conn, event.tenant, "PRODUCT", event.product_id)


async def remove_category(conn: Connection, event: CategoryDeleted) -> None:
    """A deleted category leaves every segment."""
    await _remove_item(conn, event.tenant, "CATEGORY", event.category_id)


def register(registry: EventRegistry) -> None:
    """Subscribe the Customer Segment service's reactions."""
    registry.subscribe(CustomerDeleted, remove_memberships_of_customer)
    registry.subscribe(ContactRemoved, remove_memberships_of_contact)
    registry.subscribe(LegalEntityDeleted, remove_memberships_of_legal_entity)
    registry.subscribe(ProductDeleted, remove_product)
    registry.subscribe(CategoryDeleted, remove_category)
