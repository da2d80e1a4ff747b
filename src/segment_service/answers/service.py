"""What the services whose answers are cached ask of the answer versions (docs/answers.md); no HTTP here."""

from __future__ import annotations

from collections.abc import Sequence

from segment_service.answers import store
from segment_service.core.db import Connection

#: The scope of a tenant's catalogue: categories, their closure, category assignments, products.
CATALOGUE = store.CATALOGUE


async def versions(conn: Connection, tenant: str, scopes: Sequence[str]) -> tuple[int, ...]:
    """The current version of each of `scopes` (a segment's id, or CATALOGUE), in their order."""
    return await store.versions(conn, tenant, scopes)
