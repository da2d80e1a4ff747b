"""SQL of the webhook configuration, the event subscriptions and the statistics (docs/webhooks.md)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from segment_service.core.db import Connection
from segment_service.core.errors import Conflict
from segment_service.webhooks.models import HTTP, ConfigSpec, EntrySpec


async def lock_config(conn: Connection, tenant: str) -> ConfigSpec | None:
    """Inside a transaction: the tenant's HTTP configuration, locked until it ends; None when it has none."""
    row = await conn.fetchrow(
        "SELECT active, destination_url, secret_key, headers FROM webhook_configs"
        " WHERE tenant = $1 AND code = $2 FOR UPDATE",
        tenant,
        HTTP,
    )
    return None if row is None else await _with_entries(conn, tenant, row)


async def get_config(conn: Connection, tenant: str) -> ConfigSpec | None:
    row = await conn.fetchrow(
        "SELECT active, destination_url, secret_key, headers FROM webhook_configs WHERE tenant = $1 AND code = $2",
        tenant,
        HTTP,
    )
    return None if row is None else await _with_entries(conn, tenant, row)


#: The columns `entry_of` reads.
ENTRY_COLUMNS = (
    "id::text AS id, event_type, name, destination_url, secret_key, headers, filter, excluded_fields, active"
)


def entry_of(record: asyncpg.Record) -> EntrySpec:
    """A stored `eventsConfiguration` entry (`ENTRY_COLUMNS`)."""
    excluded = record["excluded_fields"]
    return EntrySpec(
        id=record["id"],
        event_type=record["event_type"],
        name=record["name"],
        destination_url=record["destination_url"],
        secret_key=record["secret_key"],
        headers=record["headers"],
        filter=record["filter"],
        excluded_fields=None if excluded is None else list(excluded),
        active=record["active"],
    )


async def _with_entries(conn: Connection, tenant: str, row: asyncpg.Record) -> ConfigSpec:
    entries = await conn.fetch(
        f"SELECT {ENTRY_COLUMNS} FROM webhook_endpoints WHERE tenant = $1 AND code = $2 ORDER BY position",
        tenant,
        HTTP,
    )
    return ConfigSpec(
        active=row["active"],
        destination_url=row["destination_url"],
        secret_key=row["secret_key"],
        headers=row["headers"] or {},
        entries=[entry_of(e) for e in entries],
    )


async def insert_config(conn: Connection, tenant: str, spec: ConfigSpec) -> None:
    """Create the tenant's HTTP configuration; Conflict when it has one."""
    try:
        await conn.execute(
            "INSERT INTO webhook_configs (tenant, code, active, destination_url, secret_key, headers)"
            " VALUES ($1, $2, $3, $4, $5, $6)",
            tenant,
            HTTP,
            spec.active,
            spec.destination_url,
            spec.secret_key,
            spec.headers,
        )
    except asyncpg.UniqueViolationError:
        raise Conflict(
            "The tenant already has a webhook configuration of type 'http'; update it with PUT or PATCH "
            "/webhook/{tenant}/config/http, or delete it first."
        ) from None
    await _insert_entries(conn, tenant, spec.entries)


async def replace_config(conn: Connection, tenant: str, spec: ConfigSpec) -> None:
    """Store `spec` as the tenant's (existing) HTTP configuration, its entries in their new order."""
    await conn.execute(
        """
        UPDATE webhook_configs SET active = $3, destination_url = $4, secret_key = $5, headers = $6,
               modified_at = clock_timestamp()
        WHERE tenant = $1 AND code = $2
        """,
        tenant,
        HTTP,
        spec.active,
        spec.destination_url,
        spec.secret_key,
        spec.headers,
    )
    await conn.execute("DELETE FROM webhook_endpoints WHERE tenant = $1 AND code = $2", tenant, HTTP)
    await _insert_entries(conn, tenant, spec.entries)


async def _insert_entries(conn: Connection, tenant: str, entries: Sequence[EntrySpec]) -> None:
    if not entries:
        return
    await conn.executemany(
        """
        INSERT INTO webhook_endpoints (tenant, code, id, position, event_type, name, destination_url, secret_key,
                                       headers, filter, excluded_fields, active)
        VALUES ($1, 'http', $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
        """,
        [
            (
                tenant,
                uuid.UUID(e.id) if e.id is not None else uuid.uuid4(),
                position,
                e.event_type,
                e.name,
                e.destination_url,
                e.secret_key,
                e.headers,
                e.filter,
                e.excluded_fields,
                e.active,
            )
            for position, e in enumerate(entries)
        ],
    )


async def delete_config(conn: Connection, tenant: str) -> None:
    await conn.execute("DELETE FROM webhook_configs WHERE tenant = $1 AND code = $2", tenant, HTTP)


async def cancel_pending(conn: Connection, tenant: str, endpoints: Sequence[str] | None) -> None:
    """Cancel the tenant's pending deliveries to `endpoints` (entry ids, "root"); all of them for None."""
    await conn.execute(
        """
        UPDATE webhook_deliveries SET status = 'CANCELLED', finished_at = clock_timestamp(), leased_until = NULL,
               last_error = 'the destination was removed or deactivated'
        WHERE tenant = $1 AND status = 'PENDING' AND ($2::text[] IS NULL OR endpoint = ANY($2::text[]))
        """,
        tenant,
        None if endpoints is None else list(endpoints),
    )


# --- event subscriptions ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Subscription:
    subscribed: bool
    excluded_fields: list[str]
    version: int
    created_at: datetime
    modified_at: datetime


async def subscriptions(conn: Connection, tenant: str, *, lock: bool = False) -> dict[str, Subscription]:
    """The tenant's subscriptions by event type (locked until the transaction ends with `lock`)."""
    rows = await conn.fetch(
        "SELECT event_type, subscribed, excluded_fields, version, created_at, modified_at FROM webhook_subscriptions"
        " WHERE tenant = $1" + (" FOR UPDATE" if lock else ""),
        tenant,
    )
    return {
        r["event_type"]: Subscription(
            r["subscribed"], list(r["excluded_fields"]), r["version"], r["created_at"], r["modified_at"]
        )
        for r in rows
    }


async def save_subscription(
    conn: Connection, tenant: str, event_type: str, subscribed: bool, excluded_fields: list[str], version: int | None
) -> bool:
    """Create (version None) or update the subscription if it is still at `version`; False when another write
    changed it first."""
    if version is None:
        status = await conn.execute(
            "INSERT INTO webhook_subscriptions (tenant, event_type, subscribed, excluded_fields)"
            " VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            tenant,
            event_type,
            subscribed,
            excluded_fields,
        )
    else:
        status = await conn.execute(
            """
            UPDATE webhook_subscriptions SET subscribed = $3, excluded_fields = $4, version = version + 1,
                   modified_at = clock_timestamp()
            WHERE tenant = $1 AND event_type = $2 AND version = $5
            """,
            tenant,
            event_type,
            subscribed,
            excluded_fields,
            version,
        )
    return status.split()[-1] == "1"


# --- statistics ---------------------------------------------------------------------------------------------------


async def monthly_statistics(
    conn: Connection, tenant: str, from_month: str | None, to_month: str | None
) -> list[dict[str, Any]]:
    """Events delivered per month (newest first), with the count per event type."""
    rows = await conn.fetch(
        """
        SELECT month, event_type, delivered FROM webhook_statistics
        WHERE tenant = $1 AND ($2::text IS NULL OR month >= $2) AND ($3::text IS NULL OR month <= $3)
        ORDER BY month DESC, event_type
        """,
        tenant,
        from_month,
        to_month,
    )
    months: dict[str, dict[str, Any]] = {}
    for row in rows:
        month = months.setdefault(
            row["month"], {"statisticsMonth": row["month"], "succesfullySentWebhooks": 0, "eventTypes": {}}
        )
        month["succesfullySentWebhooks"] += row["delivered"]
        month["eventTypes"][row["event_type"]] = row["delivered"]
    return list(months.values())
