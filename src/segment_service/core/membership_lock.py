"""The tenant's membership lock (docs/rules.md#evaluation): a full evaluation of a rule holds it exclusively for its
transaction; every write of memberships, and every re-evaluation of customers, shares it, taken *before* it writes.

Taken before the write, the wait for a running full evaluation holds nothing the evaluation needs, so the two never
deadlock (a manual assignment that had already inserted its row would hold the very row the evaluation inserts). A
wait longer than the statement timeout answers 503 with `Retry-After`: nothing was written, and the same request may
be sent again once the evaluation is over.
"""

from __future__ import annotations

import asyncpg

from segment_service.core.db import Connection
from segment_service.core.errors import ServiceUnavailable

_KEY = 7_412_500
#: What a client that waited too long is told to wait before trying again.
RETRY_AFTER_SECONDS = 5


async def share(conn: Connection, tenant: str) -> None:
    """Inside a transaction: wait for a running full evaluation of the tenant's rules, and keep one from starting."""
    try:
        await conn.execute("SELECT pg_advisory_xact_lock_shared($1, hashtext($2))", _KEY, tenant)
    except asyncpg.QueryCanceledError:
        raise _busy() from None


async def exclusive(conn: Connection, tenant: str) -> None:
    """Inside a transaction: wait until no write of the tenant's memberships is under way, and hold them off."""
    try:
        await conn.execute("SELECT pg_advisory_xact_lock($1, hashtext($2))", _KEY, tenant)
    except asyncpg.QueryCanceledError:
        raise _busy() from None


def _busy() -> ServiceUnavailable:
    return ServiceUnavailable(
        "A rule of this tenant is being evaluated and its memberships cannot change until it is done; nothing was"
        " written. Try again in a few seconds.",
        retry_after=RETRY_AFTER_SECONDS,
    )
