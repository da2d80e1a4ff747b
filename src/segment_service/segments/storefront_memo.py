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

from segment_service.answers.service import CATALOGUE, version_key
from segment_service.core.host_versions import DEFINITIONS, Ticket, VersionMemo, member_scope
from segment_service.segments.storefront_store import SegmentVersions


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
    tenant: str,
    active_key: Hashable,
    active_scopes: Sequence[str],
    versions: Callable[[bool], Awaitable[SegmentVersions]],
) -> SegmentVersions:
    """`versions(changes_in)` from the database, and, with a memo, what of it may be remembered: each part only when
    its ticket was taken (before the statement) with no write holding its scopes. The segments are known only after
    the statement, so their versions are kept by a snapshot of every generation when no write holds any; otherwise
    by tickets for the segments remembered as active before (the others at a later read)."""
    if memo is None:
        return await versions(False)
    active_ticket = memo.ticket(tenant, active_scopes)
    catalogue_ticket = memo.ticket(tenant, (CATALOGUE,))
    everything = memo.snapshot()
    segment_tickets: dict[str, Ticket | None] = {}
    if everything is None:
        before: tuple[str, ...] = memo.recall(active_key) or ()
        segment_tickets = {segment_id: memo.ticket(tenant, (segment_id,)) for segment_id in before}
    found = await versions(True)
    memo.put(active_key, found.ids, active_ticket, found.changes_in)
    memo.put(version_key(tenant, CATALOGUE), found.catalogue, catalogue_ticket)
    for segment_id, version in found.segments:
        if everything is not None:
            memo.put(version_key(tenant, segment_id), version, everything.ticket(tenant, (segment_id,)))
        elif segment_id in segment_tickets:
            memo.put(version_key(tenant, segment_id), version, segment_tickets[segment_id])
    return found
