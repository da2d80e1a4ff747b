"""How contact assignments follow changes elsewhere (docs/events.md): every reaction of the Legal Entity service to
another service's change, registered at start-up."""

from __future__ import annotations

from segment_service.core.db import Connection
from segment_service.core.events import CustomerDeleted, EventRegistry
from segment_service.legal_entities import service


async def remove_contacts_of_customer(conn: Connection, event: CustomerDeleted) -> None:
    """A deleted customer is a contact of no legal entity any more. Its memberships and sessions go through
    CustomerDeleted's other subscribers, so no ContactRemoved is announced for these."""
    await service.delete_contact_assignments_of_customer(conn, event.tenant, event.customer_id)


def register(registry: EventRegistry) -> None:
    """Subscribe the Legal Entity service's reactions."""
    registry.subscribe(CustomerDeleted, remove_contacts_of_customer)
