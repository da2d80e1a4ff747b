"""What orders do when something changes (docs/events.md): the purchase facts follow every order write, and a
deleted customer's orders are anonymised, and a deleted legal entity's orders no longer name it."""

from __future__ import annotations

from segment_service.core import events
from segment_service.core.db import Connection
from segment_service.core.events import EventRegistry
from segment_service.orders import facts_store, service


async def _keep_facts(conn: Connection, event: events.OrdersChanged) -> None:
    await facts_store.rebuild(conn, event.tenant, event.customer_ids)


async def _anonymise(conn: Connection, event: events.CustomerDeleted) -> None:
    await service.anonymise_orders_of_customer(conn, event.tenant, event.customer_id)


async def _unlink(conn: Connection, event: events.LegalEntityDeleted) -> None:
    await service.unlink_legal_entity(conn, event.tenant, event.legal_entity_id)


def register(target: EventRegistry) -> None:
    target.subscribe(events.OrdersChanged, _keep_facts)
    target.subscribe(events.CustomerDeleted, _anonymise)
    target.subscribe(events.LegalEntityDeleted, _unlink)
