"""What the services whose answers are cached ask of the answer versions (docs/answers.md); no HTTP here."""

from __future__ import annotations

from collections.abc import Sequence

from segment_service.answers import store
from segment_service.core import host_versions
from segment_service.core.db import Connection, Database
from segment_service.settings import Settings

#: The scope of a tenant's catalogue: categories, their closure, category assignments, products.
CATALOGUE = store.CATALOGUE


async def versions(
    conn: Connection, tenant: str, scopes: Sequence[str], memo: host_versions.VersionMemo | None = None
) -> tuple[int, ...]:
    """The current version of each of `scopes` (a segment's id, or CATALOGUE), in their order; with a memo, each
    remembered when no write held its scope before the statement (docs/answers.md#versions-kept-on-the-host)."""
    if memo is None:
        return await store.versions(conn, tenant, scopes)
    tickets = await settled(conn, [memo.ticket(tenant, (scope,)) for scope in scopes])
    found = await store.versions(conn, tenant, scopes)
    for scope, version, ticket in zip(scopes, found, tickets, strict=True):
        memo.put(version_key(tenant, scope), version, ticket)
    return found


async def settled(
    conn: Connection, tickets: Sequence[host_versions.Ticket | None]
) -> list[host_versions.Ticket | None]:
    """`tickets` (taken before this), each kept only if no transaction that marked one of its slots is still open in
    the database: a writer whose process died may leave its COMMIT running there after its marks are gone
    (core/host_versions.py). One statement, before the one the tickets are for."""
    if all(ticket is None for ticket in tickets):
        return list(tickets)
    return _unheld(await store.held_slots(conn), tickets)


async def settled_snapshot(
    conn: Connection, tickets: Sequence[host_versions.Ticket | None], snapshot: host_versions.Snapshot | None
) -> tuple[list[host_versions.Ticket | None], host_versions.Snapshot | None]:
    """`settled` for `tickets` and a snapshot of every slot (kept only when no such transaction is open at all)."""
    if snapshot is None:
        return await settled(conn, tickets), None
    held = await store.held_slots(conn)
    return _unheld(held, tickets), (None if held else snapshot)


def _unheld(held: frozenset[int], tickets: Sequence[host_versions.Ticket | None]) -> list[host_versions.Ticket | None]:
    return [None if ticket is None or held.intersection(ticket.slots) else ticket for ticket in tickets]


def version_key(tenant: str, scope: str) -> tuple[str, str, str]:
    """Where a memo keeps the version of `scope` (a segment's id, or CATALOGUE)."""
    return ("version", tenant, scope)


def known_versions(memo: host_versions.VersionMemo, tenant: str, scopes: Sequence[str]) -> tuple[int, ...] | None:
    """The versions of `scopes` if the memo still vouches for every one; None otherwise."""
    found: list[int] = []
    for scope in scopes:
        version: int | None = memo.get(version_key(tenant, scope))
        if version is None:
            return None
        found.append(version)
    return tuple(found)


#: Remembered versions per MB of SEGMENT_SERVICE_ANSWER_CACHE_MB: an entry is a few hundred bytes
#: (docs/answers.md#versions-kept-on-the-host).
MEMO_ENTRIES_PER_MB = 512


def memo_for(db: Database, settings: Settings) -> host_versions.VersionMemo | None:
    """The memo of versions kept on the host, when the process marks its writes there (Database.connect) and keeps
    answers; never with read replicas (a replica may not have replayed a write whose marks are already gone)."""
    if db.host is None or not db.answers.enabled or db.replicas is not None:
        return None
    return host_versions.VersionMemo(db.host, max(1024, settings.answer_cache_mb * MEMO_ENTRIES_PER_MB))
