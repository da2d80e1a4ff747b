"""The versions of a storefront read kept on the host (docs/answers.md#versions-kept-on-the-host), so that a read
whose answer is cached asks the database nothing.

Three kinds of things are remembered, each trusted while the generations of the scopes it depends on stand:
- which segments are active for a caller (a customer's, in its context and site; the segments a `match` names): on
  the member's scope and the tenant's segment definitions, and until the first validity window of those segments
  opens or closes;
- a segment's answer version: on the segment's scope;
- the tenant's catalogue version: on the catalogue's scope.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Sequence

from segment_service.answers import service as answers
from segment_service.answers.service import CATALOGUE, version_key
from segment_service.core.db import Connection
from segment_service.core.host_versions import DEFINITIONS, VersionMemo, member_scope
from segment_service.segments import storefront_store as store
from segment_service.segments.storefront_store import SegmentScope, SegmentVersions


def known(memo: VersionMemo, tenant: str, active_key: Hashable) -> SegmentVersions | None:
    """The versions of the segments active under `active_key`, if everything about them is remembered."""
    ids: tuple[str, ...] | None = memo.get(active_key)
    if ids is None:
        return None
    catalogue: int | None = memo.get(version_key(tenant, CATALOGUE))
    if catalogue is None:
        return None
    segments: list[tuple[str, int]] = []
    for segment_id in ids:
        version: int | None = memo.get(version_key(tenant, segment_id))
        if version is None:
            return None
        segments.append((segment_id, version))
    return SegmentVersions(tuple(segments), catalogue)


def customer_key(tenant: str, scope: Hashable) -> Hashable:
    return ("active", tenant, scope)


def customer_scopes(customer_id: str) -> tuple[str, ...]:
    return (member_scope(customer_id), DEFINITIONS)


def match_key(tenant: str, segment_ids: Sequence[str], site_code: str) -> Hashable:
    return ("match", tenant, tuple(segment_ids), site_code)


async def read(
    memo: VersionMemo | None,
    conn: Connection,
    tenant: str,
    active_key: Hashable,
    active_scopes: Sequence[str],
    versions: Callable[[bool], Awaitable[SegmentVersions]],
) -> SegmentVersions:
    """`versions(changes_in)` from the database on `conn`, and, with a memo, what of it may be remembered: each part
    only when its ticket was taken (before the statement) with no write holding its scopes, on the host or in the
    database. The segments are known only after the statement, so their versions are kept by a snapshot of every
    generation when no write holds any; otherwise by tickets for the segments remembered as active before (the
    others at a later read)."""
    if memo is None:
        return await versions(False)
    everything = memo.snapshot()
    before: tuple[str, ...] = () if everything is not None else (memo.recall(active_key) or ())
    tickets = [
        memo.ticket(tenant, active_scopes),
        memo.ticket(tenant, (CATALOGUE,)),
        *(memo.ticket(tenant, (segment_id,)) for segment_id in before),
    ]
    tickets, everything = await answers.settled_snapshot(conn, tickets, everything)
    active_ticket, catalogue_ticket, *segment_tickets = tickets
    found = await versions(True)
    memo.put(active_key, found.ids, active_ticket, found.changes_in)
    memo.put(version_key(tenant, CATALOGUE), found.catalogue, catalogue_ticket)
    by_segment = dict(zip(before, segment_tickets, strict=True))
    for segment_id, version in found.segments:
        if everything is not None:
            memo.put(version_key(tenant, segment_id), version, everything.ticket(tenant, (segment_id,)))
        elif segment_id in by_segment:
            memo.put(version_key(tenant, segment_id), version, by_segment[segment_id])
    return found


async def customer_versions(
    memo: VersionMemo | None, conn: Connection, tenant: str, scope: SegmentScope, active_key: Hashable
) -> SegmentVersions:
    """The versions of a customer's active segments (`read` with the customer's scopes)."""

    async def active(changes_in: bool) -> SegmentVersions:
        return await store.active_versions(conn, tenant, scope, changes_in=changes_in)

    return await read(memo, conn, tenant, active_key, customer_scopes(scope.visibility.member or ""), active)


async def match_versions(
    memo: VersionMemo | None,
    conn: Connection,
    tenant: str,
    segment_ids: Sequence[str],
    site_code: str,
    active_key: Hashable,
) -> SegmentVersions:
    """The versions of the named segments active on the site (`read` with the tenant's segment definitions)."""

    async def active(changes_in: bool) -> SegmentVersions:
        return await store.match_versions(conn, tenant, segment_ids, site_code, changes_in=changes_in)

    return await read(memo, conn, tenant, active_key, (DEFINITIONS,), active)
