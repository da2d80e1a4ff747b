"""SQL of the answer versions (migration 0017, docs/answers.md): raising them, and reading those of named scopes.

A scope is a segment (its id) or the tenant's catalogue (`CATALOGUE`). A scope without a row has version 0.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from segment_service.core import host_versions
from segment_service.core.db import Connection

#: The scope of a tenant's categories, their closure, category assignments and products. No segment id is empty.
CATALOGUE = ""

# One statement per batch; the scopes in one order, so that two writers raising the same scopes take their rows' locks
# in the same order.
_RAISE = """
INSERT INTO answer_versions AS v (tenant, scope, version)
SELECT $1, s.scope, 1 FROM unnest($2::text[]) AS s(scope) ORDER BY s.scope
ON CONFLICT (tenant, scope) DO UPDATE SET version = v.version + 1
"""

# The versions of the asked scopes, in the order asked ($2), 0 for those without a row.
_VERSIONS = """
SELECT coalesce(v.version, 0)
FROM unnest($2::text[]) WITH ORDINALITY AS s(scope, position)
LEFT JOIN answer_versions v ON v.tenant = $1 AND v.scope = s.scope
ORDER BY s.position
"""


async def raise_versions(conn: Connection, tenant: str, scopes: Iterable[str]) -> None:
    """Add 1 to the version of each scope (in the caller's transaction)."""
    await conn.execute(_RAISE, tenant, sorted(set(scopes)))


async def versions(conn: Connection, tenant: str, scopes: Sequence[str]) -> tuple[int, ...]:
    """The current version of each of `scopes`, in their order."""
    return tuple(r[0] for r in await conn.fetch(_VERSIONS, tenant, list(scopes)))


# A write's marks, mirrored in the database for as long as its transaction lasts there (core/host_versions.py).
_HOLD = "SELECT pg_advisory_xact_lock_shared($1, s) FROM unnest($2::int[]) AS s"

# The slots whose writes' transactions have not ended in the database.
_HELD = """
SELECT coalesce(array_agg(objid::int8), '{}') FROM pg_locks
WHERE locktype = 'advisory' AND classid = $1::int8::oid AND objsubid = 2
"""


async def hold_slots(conn: Connection, slots: Sequence[int]) -> None:
    """Hold `slots` in the database until the caller's transaction ends (a shared lock: writers never wait)."""
    if slots:
        await conn.execute(_HOLD, host_versions.ADVISORY_CLASS, list(slots))


async def held_slots(conn: Connection) -> frozenset[int]:
    """The slots that a transaction still open in the database has marked."""
    found: list[int] = await conn.fetchval(_HELD, host_versions.ADVISORY_CLASS)
    return frozenset(found)
