"""The transactional outbox: every catalogue event a write emits that its tenant receives becomes a row of
`webhook_events` in the write's own transaction (docs/webhooks.md#the-outbox).

`publish` is the registry's published-event subscriber (webhooks/reactions.py registers it): per tenant of the batch
it reads which event types the tenant receives (one statement), renders those payloads through the builders of the
owning services (one statement per event type) and writes the rows (one statement). A change is published if and
only if it commits; nothing here notifies anyone, the relays poll (webhooks/relay.py).
"""

from __future__ import annotations

from collections.abc import Sequence

from segment_service.core.db import Connection
from segment_service.core.events import ChangeEvent, EventRegistry
from segment_service.webhooks import catalogue, outbox_store


async def publish(registry: EventRegistry, conn: Connection, batch: Sequence[ChangeEvent]) -> None:
    """Write the outbox rows of the events of `batch` their tenants receive."""
    by_tenant: dict[str, list[ChangeEvent]] = {}
    for event in batch:
        by_tenant.setdefault(event.tenant, []).append(event)
    for tenant, events in by_tenant.items():
        types = {event.catalogue_name for event in events if event.catalogue_name is not None}
        receiving = await outbox_store.receiving_types(conn, tenant, sorted(types))
        if not receiving:
            continue
        chosen = [event for event in events if event.catalogue_name in receiving]
        payloads = await registry.payloads(conn, chosen)
        rows = []
        for event, payload in zip(chosen, payloads, strict=True):
            assert event.catalogue_name is not None
            fields = catalogue.fields_of(event.catalogue_name)
            # The catalogue's schema is the contract: a field the rendered document has beyond it is left out.
            rows.append((event.catalogue_name, event.ordering_key(), {k: v for k, v in payload.items() if k in fields}))
        await outbox_store.insert_events(conn, tenant, rows)
