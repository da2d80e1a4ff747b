"""The Category service's reactions to other services' changes (docs/events.md): a product about to be deleted
leaves every category, each assignment announced as its own `assignment.deleted` (the foreign key would remove
them without a word)."""

from __future__ import annotations

from segment_service.categories import assignment_store
from segment_service.core import events
from segment_service.core.db import Connection
from segment_service.core.events import EventRegistry, ProductDeleting


async def unassign_product(conn: Connection, event: ProductDeleting) -> None:
    removed = await assignment_store.delete_product_assignments(conn, event.tenant, event.product_id)
    await events.emit_many(
        conn,
        [
            events.CategoryAssignmentDeleted(
                tenant=event.tenant, assignment_id=assignment_id, category_id=category_id, product_id=product_id
            )
            for assignment_id, category_id, product_id in removed
        ],
    )


def register(registry: EventRegistry) -> None:
    registry.subscribe(ProductDeleting, unassign_product)
