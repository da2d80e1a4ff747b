"""SQL of the webhook relay: dispatching outbox rows into published events and deliveries, claiming due
deliveries, recording attempts, and housekeeping (docs/webhooks.md#delivery).

Relays in any number of processes cooperate through these statements alone: outbox rows and deliveries are claimed
with `FOR UPDATE SKIP LOCKED`; one relay at a time dispatches (a transaction-level advisory lock), so deliveries are
created in the order their events became visible; a claimed delivery carries a lease, and one whose relay died is
claimed again once the lease ran out.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from segment_service.core.db import Connection

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
class Endpoint:
    """One destination of a tenant's configuration: an `eventsConfiguration` entry, or the root (`id` "root")."""

    id: str
    event_type: str | None
    destination_url: str | None
    secret_key: str | None
    headers: dict[str, Any]
    filter: str | None
    excluded_fields: list[str] | None
    active: bool


@dataclass(frozen=True, slots=True)
class TenantSetup:
    """What decides a tenant's deliveries: its active HTTP configuration's endpoints and its subscriptions."""

    root: Endpoint
    entries: list[Endpoint]
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


@dataclass(frozen=True, slots=True)
class Claimed:
    """A delivery claimed for one attempt."""

    seq: int
    id: uuid.UUID
    tenant: str
    event_id: uuid.UUID
    event_type: str
    endpoint: str
    destination_url: str
    headers: dict[str, str]
    secret_key: str | None
    body: str
    attempt: int
    #: A replay (POST .../retry): a failure is final.
    replay: bool = False


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one attempt ended, and what becomes of its delivery."""

    claimed: Claimed
    started_at: datetime
    duration_ms: float
    status_code: int | None
    response_excerpt: str | None
    error: str | None
    #: DELIVERED, FAILED (given up) or PENDING (tried again at `next_attempt_at`).
    status: str
    next_attempt_in: float | None
    #: The receiver answered 410 Gone: the endpoint is disabled.
    gone: bool


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
        """
        SELECT tenant, id::text AS id, event_type, destination_url, secret_key, headers, filter, excluded_fields, active
        FROM webhook_endpoints WHERE tenant = ANY($1::text[]) AND code = 'http' ORDER BY tenant, position
        """,
        active,
    )
    subscriptions = await conn.fetch(
        "SELECT tenant, event_type, excluded_fields, subscribed FROM webhook_subscriptions"
        " WHERE tenant = ANY($1::text[])",
        active,
    )
    setups: dict[str, TenantSetup] = {}
    for row in configs:
        root = Endpoint("root", None, row["destination_url"], row["secret_key"], row["headers"] or {}, None, None, True)
        setups[row["tenant"]] = TenantSetup(root=root, entries=[], excluded={}, subscribed=set())
    for row in entries:
        setups[row["tenant"]].entries.append(
            Endpoint(
                row["id"],
                row["event_type"],
                row["destination_url"],
                row["secret_key"],
                row["headers"],
                row["filter"],
                None if row["excluded_fields"] is None else list(row["excluded_fields"]),
                row["active"],
            )
        )
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


# The head of each ordering key (its earliest pending delivery to one endpoint), when it is due and not leased, with
# up to $3 pending deliveries that follow it: a chain the relay sends one after the other, so that a key's events go
# out in order without a database round trip between them. The UPDATE re-checks the lease on the row it locks, so two
# relays never claim one delivery.
_CLAIM = """
WITH heads AS (
    SELECT DISTINCT ON (tenant, endpoint, ordering_key)
           seq, tenant, endpoint, ordering_key, next_attempt_at, leased_until
    FROM webhook_deliveries
    WHERE status = 'PENDING'
    ORDER BY tenant, endpoint, ordering_key, seq
), ready AS (
    SELECT * FROM heads
    WHERE next_attempt_at <= clock_timestamp() AND (leased_until IS NULL OR leased_until < clock_timestamp())
    ORDER BY next_attempt_at, seq
    LIMIT $1
), chain AS (
    SELECT c.seq, r.seq AS head
    FROM ready r
    CROSS JOIN LATERAL (
        SELECT d.seq FROM webhook_deliveries d
        WHERE d.status = 'PENDING' AND d.tenant = r.tenant AND d.endpoint = r.endpoint
          AND d.ordering_key = r.ordering_key AND d.seq >= r.seq AND d.next_attempt_at <= clock_timestamp()
        ORDER BY d.seq
        LIMIT $3
    ) c
)
UPDATE webhook_deliveries w
SET leased_until = clock_timestamp() + make_interval(secs => $2), attempts = w.attempts + 1
FROM chain
WHERE w.seq = chain.seq AND w.status = 'PENDING'
  AND (w.leased_until IS NULL OR w.leased_until < clock_timestamp())
RETURNING chain.head, w.seq, w.id, w.tenant, w.event_id, w.event_type, w.endpoint, w.destination_url, w.headers,
          w.secret_key, w.body, w.attempts, w.replay
"""


async def claim_deliveries(conn: Connection, heads: int, lease_seconds: float, chain: int) -> list[list[Claimed]]:
    """Due deliveries leased to this relay, as chains: each the earliest pending delivery of its endpoint and
    ordering key followed by up to `chain` - 1 of the next ones, in order."""
    rows = await conn.fetch(_CLAIM, heads, lease_seconds, chain)
    chains: dict[int, list[Claimed]] = {}
    for row in rows:
        chains.setdefault(row["head"], []).append(
            Claimed(
                seq=row["seq"],
                id=row["id"],
                tenant=row["tenant"],
                event_id=row["event_id"],
                event_type=row["event_type"],
                endpoint=row["endpoint"],
                destination_url=row["destination_url"],
                headers=row["headers"] or {},
                secret_key=row["secret_key"],
                body=row["body"],
                attempt=row["attempts"],
                replay=row["replay"],
            )
        )
    ordered: list[list[Claimed]] = []
    stray: list[int] = []
    for head in sorted(chains):
        links = sorted(chains[head], key=lambda c: c.seq)
        if links[0].seq == head:
            ordered.append(links)
        else:  # another relay took the head first: this relay gives the rest of the chain back
            stray.extend(link.seq for link in links)
    if stray:
        await release(conn, stray)
    return ordered


async def record(conn: Connection, outcomes: Sequence[Outcome]) -> None:
    """Inside a transaction: the attempts, the deliveries' new states, the month's statistics, and the endpoints a
    410 disabled (with their other pending deliveries cancelled)."""
    if not outcomes:
        return
    await conn.execute(
        """
        INSERT INTO webhook_attempts
            (delivery_seq, attempt, started_at, status_code, duration_ms, response_excerpt, error)
        SELECT * FROM unnest(
            $1::bigint[], $2::int[], $3::timestamptz[], $4::int[], $5::float8[], $6::text[], $7::text[]
        )
        ON CONFLICT (delivery_seq, attempt) DO NOTHING
        """,
        [o.claimed.seq for o in outcomes],
        [o.claimed.attempt for o in outcomes],
        [o.started_at for o in outcomes],
        [o.status_code for o in outcomes],
        [o.duration_ms for o in outcomes],
        [o.response_excerpt for o in outcomes],
        [o.error for o in outcomes],
    )
    await conn.execute(
        """
        UPDATE webhook_deliveries w
        SET status = u.status,
            leased_until = NULL,
            last_status_code = u.status_code,
            last_error = u.error,
            next_attempt_at = CASE WHEN u.status = 'PENDING'
                                   THEN clock_timestamp() + make_interval(secs => u.delay) ELSE w.next_attempt_at END,
            finished_at = CASE WHEN u.status = 'PENDING' THEN NULL ELSE clock_timestamp() END
        FROM unnest($1::bigint[], $2::text[], $3::int[], $4::text[], $5::float8[])
            AS u(seq, status, status_code, error, delay)
        WHERE w.seq = u.seq AND w.status = 'PENDING'
        """,
        [o.claimed.seq for o in outcomes],
        [o.status for o in outcomes],
        [o.status_code for o in outcomes],
        [o.error for o in outcomes],
        [o.next_attempt_in or 0.0 for o in outcomes],
    )
    delivered = [o for o in outcomes if o.status == "DELIVERED"]
    if delivered:
        await conn.execute(
            """
            INSERT INTO webhook_statistics (tenant, month, event_type, delivered)
            SELECT tenant, to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM'), event_type, count(*)
            FROM unnest($1::text[], $2::text[]) AS d(tenant, event_type)
            GROUP BY tenant, event_type
            ON CONFLICT (tenant, month, event_type)
            DO UPDATE SET delivered = webhook_statistics.delivered + EXCLUDED.delivered
            """,
            [o.claimed.tenant for o in delivered],
            [o.claimed.event_type for o in delivered],
        )
    for outcome in outcomes:
        if outcome.gone:
            await disable_endpoint(conn, outcome.claimed.tenant, outcome.claimed.endpoint)


async def disable_endpoint(conn: Connection, tenant: str, endpoint: str) -> None:
    """A receiver answered 410 Gone: the entry (or, for the root destination, the configuration) is deactivated and
    its pending deliveries cancelled."""
    if endpoint == "root":
        await conn.execute(
            "UPDATE webhook_configs SET active = false, modified_at = clock_timestamp()"
            " WHERE tenant = $1 AND code = 'http'",
            tenant,
        )
        await conn.execute(
            """
            UPDATE webhook_deliveries SET status = 'CANCELLED', finished_at = clock_timestamp(), leased_until = NULL
            WHERE tenant = $1 AND status = 'PENDING'
            """,
            tenant,
        )
        return
    await conn.execute(
        "UPDATE webhook_endpoints SET active = false WHERE tenant = $1 AND id::text = $2",
        tenant,
        endpoint,
    )
    await conn.execute(
        """
        UPDATE webhook_deliveries SET status = 'CANCELLED', finished_at = clock_timestamp(), leased_until = NULL
        WHERE tenant = $1 AND endpoint = $2 AND status = 'PENDING'
        """,
        tenant,
        endpoint,
    )


async def release(conn: Connection, seqs: Sequence[int]) -> None:
    """Give back leases of deliveries this relay claimed but will not attempt (it is stopping)."""
    await conn.execute(
        """
        UPDATE webhook_deliveries SET leased_until = NULL, attempts = attempts - 1
        WHERE seq = ANY($1::bigint[]) AND status = 'PENDING'
        """,
        list(seqs),
    )


async def purge(conn: Connection, retention_days: int, limit: int = 1000) -> int:
    """Delete up to `limit` outbox rows older than the retention whose deliveries are all finished (their delivery
    log goes with them); the number deleted."""
    result = await conn.execute(
        """
        DELETE FROM webhook_events WHERE seq IN (
            SELECT e.seq FROM webhook_events e
            WHERE e.created_at < clock_timestamp() - make_interval(days => $1)
              AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_seq = e.seq AND d.status = 'PENDING')
            ORDER BY e.seq LIMIT $2
        )
        """,
        retention_days,
        limit,
    )
    return int(result.split()[-1])
