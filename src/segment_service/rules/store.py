"""SQL of rule-based segments (docs/rules.md): the rules, their evaluation queue, the locks, memberships as explain
reads them, and exclusions. The statements that evaluate rules are rules/evaluation_store.py's.

Full evaluations of a tenant's rules hold the tenant's rule lock exclusively; every incremental evaluation (a write
that changes what rules read) shares it. A full evaluation thus never races a write's own re-evaluation of the same
customers, and two full evaluations of one tenant run one after the other.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from segment_service.core import membership_lock
from segment_service.core.db import Connection
from segment_service.core.paging import Page
from segment_service.core.timefmt import iso

_CUSTOMER_RULE_LOCK = 7_412_501
_GRAPH_LOCK = 7_412_502


@dataclass(frozen=True, slots=True)
class RuleRow:
    segment_id: str
    subject: str
    condition: Any
    depends_on: list[str]
    time_relative: bool
    uses_orders: bool
    uses_categories: bool
    state: str
    evaluated_at: datetime | None
    swept_at: datetime | None
    member_count: int | None
    error: str | None
    version: int
    created_at: datetime
    modified_at: datetime


_COLUMNS = (
    "segment_id, subject, condition, depends_on, time_relative, uses_orders, uses_categories, state, evaluated_at,"
    " swept_at, member_count, error, version, created_at, modified_at"
)


def _rule(record: Any) -> RuleRow:
    return RuleRow(*record)


async def lock_shared(conn: Connection, tenant: str) -> None:
    await membership_lock.share(conn, tenant)


async def lock_customers(conn: Connection, tenant: str, customer_ids: Sequence[str]) -> None:
    """Inside a transaction: serialise re-evaluations of these customers with other transactions' (in sorted order,
    so two writers never wait on each other in a cycle). Two writes that each supply half of a match then cannot
    both decide without the other's change: the second decides after the first committed, on both changes."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock($1, hashtext($2 || ':' || s.c))"
        " FROM (SELECT DISTINCT c FROM unnest($3::text[]) AS u(c) ORDER BY c) s",
        _CUSTOMER_RULE_LOCK,
        tenant,
        list(customer_ids),
    )


async def lock_graph(conn: Connection, tenant: str) -> None:
    """Inside a transaction: one rule save of the tenant at a time checks its dependencies (for cycles)."""
    await conn.execute("SELECT pg_advisory_xact_lock($1, hashtext($2))", _GRAPH_LOCK, tenant)


async def lock_exclusive(conn: Connection, tenant: str) -> None:
    await membership_lock.exclusive(conn, tenant)


#: A full evaluation (or removal) of a rule over a large tenant is one long statement; it gets this long instead of
#: the service's per-statement bound (SEGMENT_SERVICE_STATEMENT_TIMEOUT_MS), for its own transaction only.
FULL_EVALUATION_TIMEOUT_MS = 15 * 60 * 1000


#: A preview reads as much as a full evaluation but answers a request: it gets a minute.
PREVIEW_TIMEOUT_MS = 60 * 1000


async def allow_long_statements(conn: Connection, timeout_ms: int = FULL_EVALUATION_TIMEOUT_MS) -> None:
    """Inside a transaction: lift the statement timeout to `timeout_ms` until it ends."""
    await conn.execute(f"SET LOCAL statement_timeout = {int(timeout_ms)}")


async def fetch_rules(conn: Connection, tenant: str) -> list[RuleRow]:
    """Every rule of the tenant."""
    return [_rule(r) for r in await conn.fetch(f"SELECT {_COLUMNS} FROM segment_rules WHERE tenant = $1", tenant)]


async def fetch_rule(conn: Connection, tenant: str, segment_id: str) -> RuleRow | None:
    record = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM segment_rules WHERE tenant = $1 AND segment_id = $2", tenant, segment_id
    )
    return None if record is None else _rule(record)


async def upsert_rule(
    conn: Connection,
    tenant: str,
    segment_id: str,
    subject: str,
    condition: Any,
    depends_on: Sequence[str],
    flags: tuple[bool, bool, bool],
    expected_version: int | None,
) -> bool | None:
    """Create or replace the segment's rule (state EVALUATING): True created, False replaced, None stale version."""
    record = await conn.fetchrow(
        """
        INSERT INTO segment_rules AS r (tenant, segment_id, subject, condition, depends_on, time_relative,
                                        uses_orders, uses_categories, state, version, created_at, modified_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'EVALUATING', 1, now(), now())
        ON CONFLICT (tenant, segment_id) DO UPDATE
        SET subject = excluded.subject, condition = excluded.condition, depends_on = excluded.depends_on,
            time_relative = excluded.time_relative, uses_orders = excluded.uses_orders,
            uses_categories = excluded.uses_categories, state = 'EVALUATING', error = NULL,
            queued_at = clock_timestamp(), version = r.version + 1, modified_at = now()
        WHERE $9::integer IS NULL OR r.version = $9
        RETURNING (r.xmax = 0) AS created
        """,
        tenant,
        segment_id,
        subject,
        condition,
        list(depends_on),
        *flags,
        expected_version,
    )
    return None if record is None else bool(record["created"])


async def delete_rule(conn: Connection, tenant: str, segment_id: str) -> bool:
    result = await conn.execute("DELETE FROM segment_rules WHERE tenant = $1 AND segment_id = $2", tenant, segment_id)
    return str(result) != "DELETE 0"


async def delete_automatic(conn: Connection, tenant: str, segment_id: str) -> list[tuple[str, str]]:
    """Remove the rule's memberships (manual ones stay)."""
    rows = await conn.fetch(
        "DELETE FROM segment_customer_assignments WHERE tenant = $1 AND segment_id = $2"
        " AND assignment_type = 'AUTOMATIC' RETURNING customer_id, legal_entity_id",
        tenant,
        segment_id,
    )
    return [(r[0], r[1]) for r in rows]


async def mark_evaluating(
    conn: Connection,
    tenant: str,
    *,
    segment_ids: Sequence[str] | None = None,
    uses_orders: bool = False,
    uses_categories: bool = False,
) -> int:
    """Queue rules for a full evaluation: the segments given, or every rule reading purchases / categories."""
    result = await conn.execute(
        """
        UPDATE segment_rules SET state = 'EVALUATING', queued_at = clock_timestamp()
        WHERE tenant = $1
          AND (segment_id = ANY($2::text[]) OR ($3 AND uses_orders) OR ($4 AND uses_categories))
        """,
        tenant,
        list(segment_ids or ()),
        uses_orders,
        uses_categories,
    )
    return int(str(result).split()[-1])


async def next_queued(conn: Connection) -> tuple[str, str] | None:
    """The oldest rule waiting for a full evaluation (segment_rules_evaluating_idx)."""
    record = await conn.fetchrow(
        "SELECT tenant, segment_id FROM segment_rules WHERE state = 'EVALUATING' ORDER BY modified_at LIMIT 1"
    )
    return None if record is None else (record[0], record[1])


async def queued_rules(conn: Connection, tenant: str) -> dict[str, datetime]:
    """The tenant's rules waiting for a full evaluation, with when each was queued (read under the tenant's
    exclusive rule lock)."""
    rows = await conn.fetch(
        "SELECT segment_id, queued_at FROM segment_rules WHERE tenant = $1 AND state = 'EVALUATING'", tenant
    )
    return {r[0]: r[1] for r in rows}


async def next_due_sweep(conn: Connection, moved_before: datetime, now: datetime) -> tuple[str, str] | None:
    """A READY time-relative rule last moved before `moved_before` (or ahead of `now`: the clock went back), the
    longest-waiting first."""
    record = await conn.fetchrow(
        "SELECT tenant, segment_id FROM segment_rules WHERE state = 'READY' AND time_relative"
        " AND (swept_at < $1 OR swept_at > $2) ORDER BY swept_at LIMIT 1",
        moved_before,
        now,
    )
    return None if record is None else (record[0], record[1])


async def lock_due_sweep(conn: Connection, tenant: str, segment_id: str, moved_before: datetime, now: datetime) -> bool:
    """Inside a transaction: lock the rule if it is still due for a move and no one else holds it."""
    return bool(
        await conn.fetchval(
            "SELECT true FROM segment_rules WHERE tenant = $1 AND segment_id = $2 AND state = 'READY'"
            " AND (swept_at < $3 OR swept_at > $4) FOR UPDATE SKIP LOCKED",
            tenant,
            segment_id,
            moved_before,
            now,
        )
    )


async def finish(
    conn: Connection,
    tenant: str,
    segment_id: str,
    *,
    state: str,
    swept_at: datetime | None,
    error: str | None,
    queued: datetime,
) -> None:
    """Record an evaluation's end: READY with the member count, or FAILED with the error; still EVALUATING when it
    was queued again after `queued` (a change while it ran: it runs again)."""
    await conn.execute(
        """
        UPDATE segment_rules
        SET state = CASE WHEN queued_at > $6 THEN 'EVALUATING' ELSE $3 END,
            error = CASE WHEN queued_at > $6 THEN NULL ELSE $4 END,
            evaluated_at = now(), swept_at = coalesce($5, swept_at),
            member_count = (SELECT count(*) FROM segment_customer_assignments a
                            WHERE a.tenant = $1 AND a.segment_id = $2)
        WHERE tenant = $1 AND segment_id = $2
        """,
        tenant,
        segment_id,
        state,
        error,
        swept_at,
        queued,
    )


async def set_swept(conn: Connection, tenant: str, segment_id: str, swept_at: datetime) -> None:
    await conn.execute(
        """
        UPDATE segment_rules SET swept_at = $3, member_count = (SELECT count(*) FROM segment_customer_assignments a
                                                               WHERE a.tenant = $1 AND a.segment_id = $2)
        WHERE tenant = $1 AND segment_id = $2
        """,
        tenant,
        segment_id,
        swept_at,
    )


async def membership(
    conn: Connection, tenant: str, segment_id: str, customer_id: str, legal_entity_id: str
) -> tuple[str | None, bool]:
    """(the membership's assignment type or None, whether an exclusion covers the subject)."""
    record = await conn.fetchrow(
        """
        SELECT (SELECT assignment_type FROM segment_customer_assignments
                WHERE tenant = $1 AND segment_id = $2 AND customer_id = $3 AND legal_entity_id = $4),
               EXISTS (SELECT 1 FROM segment_exclusions WHERE tenant = $1 AND segment_id = $2 AND customer_id = $3
                       AND legal_entity_id IN ('', $4))
        """,
        tenant,
        segment_id,
        customer_id,
        legal_entity_id,
    )
    assert record is not None
    return record[0], bool(record[1])


async def customers_of_legal_entities(conn: Connection, tenant: str, legal_entity_ids: Sequence[str]) -> list[str]:
    rows = await conn.fetch(
        "SELECT DISTINCT customer_id FROM contact_assignments WHERE tenant = $1 AND legal_entity_id = ANY($2::text[])",
        tenant,
        list(legal_entity_ids),
    )
    return [r[0] for r in rows]


# ------------------------------------------------------------------------------------------------- exclusions


async def add_exclusion(
    conn: Connection, tenant: str, segment_id: str, customer_id: str, legal_entity_id: str
) -> tuple[bool, list[tuple[str, str, str]]]:
    """Exclude the subject ('' legal entity: in every context); (whether it was new, the memberships removed)."""
    created = await conn.fetchval(
        """
        INSERT INTO segment_exclusions (tenant, segment_id, customer_id, legal_entity_id, created_at)
        VALUES ($1, $2, $3, $4, now()) ON CONFLICT DO NOTHING RETURNING true
        """,
        tenant,
        segment_id,
        customer_id,
        legal_entity_id,
    )
    removed = await conn.fetch(
        """
        DELETE FROM segment_customer_assignments
        WHERE tenant = $1 AND segment_id = $2 AND customer_id = $3 AND ($4 = '' OR legal_entity_id = $4)
        RETURNING legal_entity_id, assignment_type
        """,
        tenant,
        segment_id,
        customer_id,
        legal_entity_id,
    )
    return bool(created), [(customer_id, r[0], r[1]) for r in removed]


async def delete_exclusion(
    conn: Connection, tenant: str, segment_id: str, customer_id: str, legal_entity_id: str
) -> bool:
    result = await conn.execute(
        "DELETE FROM segment_exclusions WHERE tenant = $1 AND segment_id = $2 AND customer_id = $3"
        " AND legal_entity_id = $4",
        tenant,
        segment_id,
        customer_id,
        legal_entity_id,
    )
    return str(result) != "DELETE 0"


async def first_excluded(
    conn: Connection, tenant: str, keys: Sequence[tuple[str, str, str]]
) -> tuple[str, str, str] | None:
    """The first of (segment, customer, legal entity or '') that an exclusion covers, in one statement."""
    record = await conn.fetchrow(
        """
        SELECT k.segment_id, k.customer_id, k.legal_entity_id
        FROM unnest($2::text[], $3::text[], $4::text[])
             WITH ORDINALITY AS k(segment_id, customer_id, legal_entity_id, n)
        WHERE EXISTS (SELECT 1 FROM segment_exclusions e WHERE e.tenant = $1 AND e.segment_id = k.segment_id
                      AND e.customer_id = k.customer_id AND e.legal_entity_id IN ('', k.legal_entity_id))
        ORDER BY k.n LIMIT 1
        """,
        tenant,
        [k[0] for k in keys],
        [k[1] for k in keys],
        [k[2] for k in keys],
    )
    return None if record is None else (record[0], record[1], record[2])


async def list_exclusions(
    conn: Connection, tenant: str, segment_id: str, page: Page
) -> tuple[list[dict[str, Any]], int]:
    rows = await conn.fetch(
        """
        SELECT customer_id, legal_entity_id, created_at, count(*) OVER () FROM segment_exclusions
        WHERE tenant = $1 AND segment_id = $2 ORDER BY customer_id, legal_entity_id LIMIT $3 OFFSET $4
        """,
        tenant,
        segment_id,
        page.size,
        page.offset,
    )
    total = rows[0][3] if rows else 0
    if not rows and page.offset:
        total = await conn.fetchval(
            "SELECT count(*) FROM segment_exclusions WHERE tenant = $1 AND segment_id = $2", tenant, segment_id
        )
    return [{"customerId": r[0], "legalEntityId": r[1] or None, "createdAt": iso(r[2])} for r in rows], int(total)
