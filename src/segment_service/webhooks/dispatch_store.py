"""SQL of the webhook dispatcher: outbox rows become published events (webhook_events) and their deliveries, one
relay at a time (a transaction-level advisory lock), so that deliveries are created in the order their events became
visible (docs/webhooks.md#ordering)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from segment_service.core.db import Connection
from segment_service.webhooks.models import EntrySpec
from segment_service.webhooks.store import ENTRY_COLUMNS, entry_of

#: The advisory lock of the dispatcher (any constant; every relay uses the same).
_DISPATCH_LOCK_ID = 7_412_313


@dataclass(frozen=True, slots=True)
class OutboxEvent:
    seq: int
    id: uuid.UUID
    tenant: str
    event_type: str
    ordering_key: str
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class TenantSetup:
    """What decides a tenant's deliveries: its active HTTP configuration's endpoints and its subscriptions."""

    #: The configuration's own destination, secret and headers, as an entry with the id "root".
    root: EntrySpec
    entries: list[EntrySpec]
    #: Event type -> the fields the subscription excludes.
    excluded: dict[str, list[str]]
    #: The event types the tenant is subscribed to.
    subscribed: set[str]


@dataclass(frozen=True, slots=True)
class NewDelivery:
    event: OutboxEvent
    endpoint: str
    destination_url: str
    headers: dict[str, str]
    secret_key: str | None
    body: str


async def try_dispatch_lock(conn: Connection) -> bool:
    """Inside a transaction: whether this relay may dispatch now (no other relay is dispatching)."""
    return bool(await conn.fetchval("SELECT pg_try_advisory_xact_lock($1)", _DISPATCH_LOCK_ID))


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """One write's events, as the outbox keeps them (webhooks/outbox.py)."""

    seq: int
    tenant: str
    events: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Rendered:
    """A published event with its payload, to be kept in webhook_events."""

    id: str
    tenant: str
    event_type: str
    ordering_key: str
    payload: dict[str, Any]
    created_at: datetime


async def has_outbox(conn: Connection) -> bool:
    return bool(await conn.fetchval("SELECT EXISTS (SELECT 1 FROM webhook_outbox)"))


async def claim_outbox(conn: Connection, limit: int) -> list[OutboxRow]:
    """Inside a transaction: the oldest outbox rows, locked until it ends."""
    rows = await conn.fetch(
        "SELECT seq, tenant, events, created_at FROM webhook_outbox ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED",
        limit,
    )
    return [OutboxRow(**dict(row)) for row in rows]


async def delete_outbox(conn: Connection, seqs: Sequence[int]) -> None:
    await conn.execute("DELETE FROM webhook_outbox WHERE seq = ANY($1::bigint[])", list(seqs))


async def insert_events(conn: Connection, rendered: Sequence[Rendered]) -> list[OutboxEvent]:
    """Keep the published events with their payloads, in order; the stored events."""
    if not rendered:
        return []
    rows = await conn.fetch(
        """
        INSERT INTO webhook_events (id, tenant, event_type, ordering_key, payload, created_at)
        SELECT id, tenant, event_type, ordering_key, payload, created_at
        FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::jsonb[], $6::timestamptz[])
            WITH ORDINALITY AS e(id, tenant, event_type, ordering_key, payload, created_at, position)
        ORDER BY position
        RETURNING seq, id
        """,
        [uuid.UUID(r.id) for r in rendered],
        [r.tenant for r in rendered],
        [r.event_type for r in rendered],
        [r.ordering_key for r in rendered],
        [r.payload for r in rendered],
        [r.created_at for r in rendered],
    )
    seqs = {row["id"]: row["seq"] for row in rows}
    return [
        OutboxEvent(seqs[uuid.UUID(r.id)], uuid.UUID(r.id), r.tenant, r.event_type, r.ordering_key, r.payload)
        for r in rendered
    ]


async def tenant_setups(conn: Connection, tenants: Sequence[str]) -> dict[str, TenantSetup]:
    """The active HTTP configurations of `tenants` (locked against change until the transaction ends, so that a
    configuration deactivated meanwhile cannot gain new deliveries), with their entries and subscriptions."""
    configs = await conn.fetch(
        """
        SELECT tenant, destination_url, secret_key, headers FROM webhook_configs
        WHERE tenant = ANY($1::text[]) AND code = 'http' AND active FOR SHARE
        """,
        list(tenants),
    )
    if not configs:
        return {}
    active = [row["tenant"] for row in configs]
    entries = await conn.fetch(
        f"SELECT tenant, {ENTRY_COLUMNS} FROM webhook_endpoints"
        " WHERE tenant = ANY($1::text[]) AND code = 'http' ORDER BY tenant, position",
        active,
    )
    subscriptions = await conn.fetch(
        "SELECT tenant, event_type, excluded_fields, subscribed FROM webhook_subscriptions"
        " WHERE tenant = ANY($1::text[])",
        active,
    )
    setups: dict[str, TenantSetup] = {}
    for row in configs:
        root = EntrySpec(
            id="root",
            event_type="",
            destination_url=row["destination_url"],
            secret_key=row["secret_key"],
            headers=row["headers"] or {},
        )
        setups[row["tenant"]] = TenantSetup(root=root, entries=[], excluded={}, subscribed=set())
    for row in entries:
        setups[row["tenant"]].entries.append(entry_of(row))
    for row in subscriptions:
        setups[row["tenant"]].excluded[row["event_type"]] = list(row["excluded_fields"])
        if row["subscribed"]:
            setups[row["tenant"]].subscribed.add(row["event_type"])
    return setups


async def insert_deliveries(conn: Connection, deliveries: Sequence[NewDelivery]) -> None:
    if not deliveries:
        return
    await conn.execute(
        """
        INSERT INTO webhook_deliveries
            (id, tenant, event_seq, event_id, event_type, endpoint, ordering_key, destination_url, headers,
             secret_key, body, status)
        SELECT id, tenant, event_seq, event_id, event_type, endpoint, ordering_key, destination_url, headers,
               secret_key, body, 'PENDING'
        FROM unnest($1::uuid[], $2::text[], $3::bigint[], $4::uuid[], $5::text[], $6::text[], $7::text[], $8::text[],
                    $9::jsonb[], $10::text[], $11::text[])
            AS d(id, tenant, event_seq, event_id, event_type, endpoint, ordering_key, destination_url, headers,
                 secret_key, body)
        """,
        [uuid.uuid4() for _ in deliveries],
        [d.event.tenant for d in deliveries],
        [d.event.seq for d in deliveries],
        [d.event.id for d in deliveries],
        [d.event.event_type for d in deliveries],
        [d.endpoint for d in deliveries],
        [d.event.ordering_key for d in deliveries],
        [d.destination_url for d in deliveries],
        [d.headers for d in deliveries],
        [d.secret_key for d in deliveries],
        [d.body for d in deliveries],
    )
