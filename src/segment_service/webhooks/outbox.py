"""The transactional outbox: the catalogue events a write emits that its tenant receives become one row of
`webhook_outbox` in the write's own transaction (docs/webhooks.md#the-outbox).

`publish` is the registry's published-event subscriber (webhooks/reactions.py registers it). Per tenant of the batch
it reads which event types the tenant receives (one statement) and writes the events themselves, each with a new id,
as one row (one statement). A write of up to RENDER_AT_WRITE events also renders their payloads now, from the rows
as it leaves them (one statement per event type); a larger (bulk) write leaves the rendering to the relay, when it
takes the row (webhooks/relay.py), which also drops the events of types the tenant stopped receiving meanwhile.
Nothing is encoded for a tenant that receives none of a write's types. A change is published
if and only if it commits; nothing here notifies anyone, the relays poll.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

from segment_service.core.db import Connection
from segment_service.core.events import ChangeEvent, EventRegistry
from segment_service.webhooks import outbox_store

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(list[dict[str, Any]])
#: Writes with at most this many published events carry their payloads as of the write (docs/webhooks.md#payloads).
RENDER_AT_WRITE = 20


def encode_events(events: Sequence[ChangeEvent], payloads: Sequence[dict[str, Any]] | None = None) -> bytes:
    """The outbox form of events: `{"event": <class name>, ...its fields}` each, with `"payload"` when it was
    rendered at the write. Event ids are given when the relay publishes them (a uuid4 each would cost a bulk write
    more than the rest of its outbox row)."""
    items: list[dict[str, Any]] = []
    for index, event in enumerate(events):
        fields = msgspec.to_builtins(event)
        fields["event"] = type(event).__name__
        if payloads is not None:
            fields["payload"] = payloads[index]
        items.append(fields)
    return _encoder.encode(items)


def decode_events(registry: EventRegistry, raw: str) -> list[tuple[ChangeEvent, dict[str, Any] | None]]:
    """(event, its payload when rendered at the write) of each item of an outbox row."""
    classes = {cls.__name__: cls for cls in registry.publishable()}
    decoded = []
    for fields in _decoder.decode(raw):
        name, payload = fields.pop("event"), fields.pop("payload", None)
        decoded.append((msgspec.convert(fields, classes[name]), payload))
    return decoded


async def publish(registry: EventRegistry, conn: Connection, batch: Sequence[ChangeEvent]) -> None:
    """Write the events of `batch` their tenants receive, one outbox row per tenant."""
    by_tenant: dict[str, list[ChangeEvent]] = {}
    for event in batch:
        by_tenant.setdefault(event.tenant, []).append(event)
    for tenant, events in by_tenant.items():
        types = sorted({event.catalogue_name for event in events if event.catalogue_name is not None})
        receiving = await outbox_store.receiving_types(conn, tenant, types)
        chosen = [event for event in events if event.catalogue_name in receiving]
        if not chosen:
            continue  # nothing is encoded for a tenant that receives none of the types (most imports)
        # A bulk write's payloads are rendered by the relay, keeping the write itself to one short insert.
        payloads = await registry.payloads(conn, chosen) if len(chosen) <= RENDER_AT_WRITE else None
        await outbox_store.insert_batch(conn, tenant, encode_events(chosen, payloads))
