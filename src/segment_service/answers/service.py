"""What the services whose answers are cached ask of the answer versions (docs/answers.md); no HTTP here."""

from __future__ import annotations

from collections.abc import Sequence

from segment_service.answers import store
from segment_service.core import host_versions
from segment_service.core.db import Connection, Database
from segment_service.settings import Settings

#: The scope of a tenant's catalogue: categories, their closure, category assignments, products.
CATALOGUE = store.CATALOGUE


async def versions(conn: Connection, tenant: str, scopes: Sequence[str]) -> tuple[int, ...]:
    """The current version of each of `scopes` (a segment's id, or CATALOGUE), in their order."""
    return await store.versions(conn, tenant, scopes)


#: Remembered versions per MB of SEGMENT_SERVICE_ANSWER_CACHE_MB: an entry is a few hundred bytes
#: (docs/answers.md#versions-kept-on-the-host).
MEMO_ENTRIES_PER_MB = 512


async def memo_for(db: Database, settings: Settings) -> host_versions.VersionMemo | None:
    """The memo of versions kept on the host, when the settings ask for one and the answers are cached; never with
    read replicas (a replica's answer may be older than a write whose marks are already gone)."""
    if settings.answer_versions != "host" or not db.answers.enabled or db.replicas is not None:
        return None
    async with db.connection() as conn:
        installation = await store.installation(conn)
    host = host_versions.HostVersions.shared(host_versions.path_for(installation))
    host_versions.use(host)
    return host_versions.VersionMemo(host, max(1024, settings.answer_cache_mb * MEMO_ENTRIES_PER_MB))
