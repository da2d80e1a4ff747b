"""How sessions follow changes elsewhere (docs/events.md): every reaction of the OAuth service to another
service's change, registered at start-up.

Tokens handed out before a change stop working with it: a deleted or deactivated customer is logged out everywhere,
a customer who is no longer a contact of a legal entity loses the sessions in its context.
"""

from __future__ import annotations

from segment_service.core.db import Connection
from segment_service.core.events import ContactRemoved, CustomerDeactivated, CustomerDeleted, EventRegistry
from segment_service.oauth.service import end_customer_sessions


async def end_sessions_of_customer(conn: Connection, event: CustomerDeleted | CustomerDeactivated) -> None:
    """A deleted or deactivated customer's tokens answer 401 and its refresh tokens are spent, as after a logout;
    reactivation does not bring them back."""
    await end_customer_sessions(conn, event.tenant, event.customer_id)


async def end_sessions_in_context(conn: Connection, event: ContactRemoved) -> None:
    """The customer's sessions in the context of the legal entity end: their tokens stop giving access to it."""
    await end_customer_sessions(conn, event.tenant, event.customer_id, legal_entity_id=event.legal_entity_id)


def register(registry: EventRegistry) -> None:
    """Subscribe the OAuth service's reactions."""
    registry.subscribe(CustomerDeleted, end_sessions_of_customer)
    registry.subscribe(CustomerDeactivated, end_sessions_of_customer)
    registry.subscribe(ContactRemoved, end_sessions_in_context)
