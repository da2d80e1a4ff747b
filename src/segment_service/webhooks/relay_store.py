"""SQL of the webhook relay's delivery side: claiming due deliveries as chains, recording attempts, disabling gone
endpoints, housekeeping (docs/webhooks.md#delivery).

Relays in any number of processes cooperate through these statements alone: a claimed delivery carries a lease, and
one whose relay died is claimed again once the lease ran out.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from segment_service.core.db import Connection


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
      AND tenant <> ALL($4::text[])
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


async def claim_deliveries(
    conn: Connection, heads: int, lease_seconds: float, chain: int, *, skip_tenants: Sequence[str] = ()
) -> list[list[Claimed]]:
    """Due deliveries leased to this relay, as chains: each the earliest pending delivery of its endpoint and
    ordering key followed by up to `chain` - 1 of the next ones, in order; none of `skip_tenants` (at their share)."""
    rows = await conn.fetch(_CLAIM, heads, lease_seconds, chain, list(skip_tenants))
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
