"""SQL of rule-based segments (docs/rules.md): the rules, their exclusions, and the statements that apply a compiled
rule to the memberships (a diff: rows the rule wants and lacks are added, AUTOMATIC rows it no longer wants go),
preview it, and explain it for one subject.

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
from segment_service.core.listing import Criteria
from segment_service.core.paging import Page
from segment_service.core.timefmt import iso
from segment_service.rules.compiler import Compiled, moved_sql
from segment_service.rules.conditions import Rule

_CUSTOMER_RULE_LOCK = 7_412_501
_GRAPH_LOCK = 7_412_502

Change = tuple[bool, str, str]  # (added, customer id, legal entity id or '')


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


async def prefer_hash_joins(conn: Connection) -> str:
    """Inside a transaction: no nested loops until `restore_nested_loops` (a full evaluation joins whole sets; with
    statistics older than a segment's members, a nested loop over them costs time with the square of their number).
    The setting it had."""
    setting = str(await conn.fetchval("SELECT current_setting('enable_nestloop')"))
    await conn.execute("SELECT set_config('enable_nestloop', 'off', true)")
    return setting


async def restore_nested_loops(conn: Connection, setting: str) -> None:
    await conn.execute("SELECT set_config('enable_nestloop', $1, true)", setting)


async def prefer_generic_plans(conn: Connection) -> str:
    """Inside a transaction: plan prepared statements once (generic plans) until `restore_plans`; the setting it had."""
    setting = str(await conn.fetchval("SELECT current_setting('plan_cache_mode')"))
    await conn.execute("SELECT set_config('plan_cache_mode', 'force_generic_plan', true)")
    return setting


async def restore_plans(conn: Connection, setting: str) -> None:
    await conn.execute("SELECT set_config('plan_cache_mode', $1, true)", setting)


async def fetch_rules(conn: Connection, tenant: str) -> list[RuleRow]:
    """Every rule of the tenant."""
    return [_rule(r) for r in await conn.fetch(f"SELECT {_COLUMNS} FROM segment_rules WHERE tenant = $1", tenant)]


async def fetch_rule(conn: Connection, tenant: str, segment_id: str, *, for_update: bool = False) -> RuleRow | None:
    lock = " FOR UPDATE" if for_update else ""
    record = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM segment_rules WHERE tenant = $1 AND segment_id = $2{lock}", tenant, segment_id
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


async def queued_at(conn: Connection, tenant: str, segment_id: str) -> datetime | None:
    """When the rule was queued, if it still is (read under the tenant's exclusive rule lock: no other full
    evaluation of the tenant runs meanwhile)."""
    value = await conn.fetchval(
        "SELECT queued_at FROM segment_rules WHERE tenant = $1 AND segment_id = $2 AND state = 'EVALUATING'",
        tenant,
        segment_id,
    )
    return None if value is None else value


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


# ------------------------------------------------------------------------------------------------- evaluation


def _with(compiled: Compiled, *more: str) -> str:
    return "WITH " + ", ".join([*compiled.ctes, f"matched AS ({compiled.select})", *more])


@dataclass(frozen=True, slots=True)
class Applied:
    """One compiled rule of a statement that applies several: its segment's placeholder and its CTE name prefix."""

    compiled: Compiled
    segment: str
    prefix: str


def _diff(rule: Applied, customers: str | None) -> list[str]:
    """The CTEs that apply one rule: what it matches, what it wants (exclusions respected), what is added and what
    is removed (AUTOMATIC rows only: manual ones stay)."""
    p, segment = rule.prefix, rule.segment
    gone_scope = f" AND x.customer_id IN (SELECT unnest({customers}))" if customers else ""
    return [
        *rule.compiled.ctes,
        f"{p}matched AS ({rule.compiled.select})",
        f"""{p}wanted AS (
            SELECT m.customer_id, m.legal_entity_id FROM {p}matched m
            WHERE NOT EXISTS (SELECT 1 FROM segment_exclusions e WHERE e.tenant = $1 AND e.segment_id = {segment}
                              AND e.customer_id = m.customer_id AND e.legal_entity_id IN ('', m.legal_entity_id)))""",
        f"""{p}added AS (
            INSERT INTO segment_customer_assignments
                (tenant, segment_id, customer_id, legal_entity_id, assignment_type, version, created_at, modified_at)
            SELECT $1, {segment}, w.customer_id, w.legal_entity_id, 'AUTOMATIC', 1, now(), now() FROM {p}wanted w
            ON CONFLICT ON CONSTRAINT segment_customer_assignments_pkey DO NOTHING
            RETURNING customer_id, legal_entity_id)""",
        # What goes is computed once (EXCEPT, a set operation) and then deleted by key: an anti join against the
        # wanted rows may be planned as a nested loop when the statistics predate the segment's members, which
        # costs time with the square of their number.
        f"""{p}gone AS MATERIALIZED (
            SELECT x.customer_id, x.legal_entity_id FROM segment_customer_assignments x
            WHERE x.tenant = $1 AND x.segment_id = {segment} AND x.assignment_type = 'AUTOMATIC'{gone_scope}
            EXCEPT SELECT w.customer_id, w.legal_entity_id FROM {p}wanted w)""",
        f"""{p}removed AS (
            DELETE FROM segment_customer_assignments a USING {p}gone g
            WHERE a.tenant = $1 AND a.segment_id = {segment} AND a.assignment_type = 'AUTOMATIC'
              AND a.customer_id = g.customer_id AND a.legal_entity_id = g.legal_entity_id
            RETURNING a.customer_id, a.legal_entity_id)""",
    ]


async def apply(
    conn: Connection, criteria: Criteria, rules: Sequence[Applied], customers: str | None
) -> list[list[Change]]:
    """Make each segment's AUTOMATIC memberships (of `customers`, else all) what its compiled rule wants, exclusions
    and manual memberships respected, in one statement (the rules must not read each other's segments: they see the
    memberships as they were before it); the changes made, per rule."""
    ctes = [cte for rule in rules for cte in _diff(rule, customers)]
    selects = [
        f"SELECT {n}, true, customer_id, legal_entity_id FROM {rule.prefix}added"
        f" UNION ALL SELECT {n}, false, customer_id, legal_entity_id FROM {rule.prefix}removed"
        for n, rule in enumerate(rules)
    ]
    sql = "WITH " + ", ".join(ctes) + " " + " UNION ALL ".join(selects)
    changes: list[list[Change]] = [[] for _ in rules]
    for record in await conn.fetch(sql, *criteria.values):
        changes[record[0]].append((record[1], record[2], record[3]))
    return changes


_CONTACT_FROM = (
    "contact_assignments ca JOIN customers c ON c.tenant = ca.tenant AND c.id = ca.customer_id"
    " JOIN legal_entities le ON le.tenant = ca.tenant AND le.id = ca.legal_entity_id"
)


async def match_subjects(
    conn: Connection, criteria: Criteria, rules: Sequence[Compiled], subject: str, customers: str
) -> list[tuple[str, str, list[bool]]]:
    """For a few customers: each subject (customer, legal entity or '') with whether each rule matches it, in one
    SELECT (a row per customer, or per contact, with a column per rule)."""
    ctes = [cte for rule in rules for cte in rule.ctes]
    joins = " ".join(join for rule in rules for join in rule.joins)
    head = ("WITH " + ", ".join(ctes) + " ") if ctes else ""
    if subject == "CUSTOMER":
        results = ", ".join(f"coalesce({rule.condition}, false)" for rule in rules)
        sql = (
            f"{head}SELECT c.id, ''::text, {results} FROM customers c {joins}"
            f" WHERE c.tenant = $1 AND c.id IN (SELECT unnest({customers}))"
        )
    else:
        results = ", ".join(f"bool_or(coalesce({rule.condition}, false))" for rule in rules)
        sql = (
            f"{head}SELECT ca.customer_id, ca.legal_entity_id, {results} FROM {_CONTACT_FROM} {joins}"
            f" WHERE ca.tenant = $1 AND ca.customer_id IN (SELECT unnest({customers})) GROUP BY 1, 2"
        )
    n = len(rules)
    return [(r[0], r[1], [bool(r[2 + i]) for i in range(n)]) for r in await conn.fetch(sql, *criteria.values)]


async def memberships_of(
    conn: Connection, tenant: str, customer_ids: Sequence[str], segment_ids: Sequence[str]
) -> tuple[dict[tuple[str, str, str], str], set[tuple[str, str, str]]]:
    """The customers' memberships of the segments, (segment, customer, legal entity) -> assignment type, and the
    exclusions covering them, (segment, customer, legal entity or '' for every context)."""
    rows = await conn.fetch(
        """
        SELECT true, segment_id, customer_id, legal_entity_id, assignment_type FROM segment_customer_assignments
        WHERE tenant = $1 AND customer_id IN (SELECT unnest($2::text[])) AND segment_id = ANY($3::text[])
        UNION ALL
        SELECT false, segment_id, customer_id, legal_entity_id, NULL FROM segment_exclusions
        WHERE tenant = $1 AND customer_id IN (SELECT unnest($2::text[])) AND segment_id = ANY($3::text[])
        """,
        tenant,
        list(customer_ids),
        list(segment_ids),
    )
    members = {(r[1], r[2], r[3]): str(r[4]) for r in rows if r[0]}
    excluded = {(r[1], r[2], r[3]) for r in rows if not r[0]}
    return members, excluded


async def write_memberships(
    conn: Connection,
    tenant: str,
    added: Sequence[tuple[str, str, str]],
    removed: Sequence[tuple[str, str, str]],
) -> tuple[list[tuple[str, str, str]], list[tuple[str, str, str]]]:
    """Insert `added` as AUTOMATIC memberships (none that exists already) and delete the AUTOMATIC ones of
    `removed`; (segment, customer, legal entity) of what was inserted and deleted."""
    inserted: list[tuple[str, str, str]] = []
    deleted: list[tuple[str, str, str]] = []
    if added:
        rows = await conn.fetch(
            """
            INSERT INTO segment_customer_assignments
                (tenant, segment_id, customer_id, legal_entity_id, assignment_type, version, created_at, modified_at)
            SELECT $1, u.s, u.c, u.l, 'AUTOMATIC', 1, now(), now()
            FROM unnest($2::text[], $3::text[], $4::text[]) AS u(s, c, l)
            ON CONFLICT ON CONSTRAINT segment_customer_assignments_pkey DO NOTHING
            RETURNING segment_id, customer_id, legal_entity_id
            """,
            tenant,
            [k[0] for k in added],
            [k[1] for k in added],
            [k[2] for k in added],
        )
        inserted = [(r[0], r[1], r[2]) for r in rows]
    if removed:
        rows = await conn.fetch(
            """
            DELETE FROM segment_customer_assignments a
            USING unnest($2::text[], $3::text[], $4::text[]) AS u(s, c, l)
            WHERE a.tenant = $1 AND a.segment_id = u.s AND a.customer_id = u.c AND a.legal_entity_id = u.l
              AND a.assignment_type = 'AUTOMATIC'
            RETURNING a.segment_id, a.customer_id, a.legal_entity_id
            """,
            tenant,
            [k[0] for k in removed],
            [k[1] for k in removed],
            [k[2] for k in removed],
        )
        deleted = [(r[0], r[1], r[2]) for r in rows]
    return inserted, deleted


async def preview(conn: Connection, criteria: Criteria, compiled: Compiled, segment: str) -> dict[str, Any]:
    """What saving the compiled rule would do to the segment's members; writes nothing."""
    sample = (
        "(SELECT coalesce(jsonb_agg(jsonb_strip_nulls(jsonb_build_object('customerId', s.customer_id,"
        " 'legalEntityId', nullif(s.legal_entity_id, '')))), '[]'::jsonb)"
        " FROM (SELECT * FROM {0} ORDER BY customer_id, legal_entity_id LIMIT 20) s)"
    )
    sql = _with(
        compiled,
        f"""future AS (
            SELECT customer_id, legal_entity_id FROM segment_customer_assignments
            WHERE tenant = $1 AND segment_id = {segment} AND assignment_type = 'MANUAL'
            UNION
            SELECT m.customer_id, m.legal_entity_id FROM matched m
            WHERE NOT EXISTS (SELECT 1 FROM segment_exclusions e WHERE e.tenant = $1 AND e.segment_id = {segment}
                              AND e.customer_id = m.customer_id AND e.legal_entity_id IN ('', m.legal_entity_id)))""",
        f"""present AS (SELECT customer_id, legal_entity_id FROM segment_customer_assignments
                        WHERE tenant = $1 AND segment_id = {segment})""",
        "joining AS (SELECT * FROM future EXCEPT SELECT * FROM present)",
        "leaving AS (SELECT * FROM present EXCEPT SELECT * FROM future)",
    )
    sql += (
        " SELECT (SELECT count(*) FROM matched), (SELECT count(*) FROM future),"
        f" (SELECT count(*) FROM joining), {sample.format('joining')},"
        f" (SELECT count(*) FROM leaving), {sample.format('leaving')}"
    )
    record = await conn.fetchrow(sql, *criteria.values)
    assert record is not None
    return {
        "matchCount": record[0],
        "memberCount": record[1],
        "added": {"count": record[2], "sample": record[3]},
        "removed": {"count": record[4], "sample": record[5]},
    }


async def explain(
    conn: Connection, criteria: Criteria, compiled: Compiled, customer: str, legal_entity: str | None
) -> tuple[list[bool], list[Any]] | None:
    """Each node's result (pre-order) and each leaf's value for one subject; None when the subject is not there
    (a customer who is not a contact of the legal entity, for a CONTACT rule)."""
    results = [sql for _, sql in compiled.nodes]
    actuals = [compiled.actuals.get(i, "NULL::jsonb") for i in range(len(compiled.nodes))]
    # $2 is the segment, which only the diff statements need.
    where = f"{compiled.where_sql} AND c.id = {customer} AND $2::text IS NOT NULL"
    if legal_entity is not None:
        where += f" AND ca.legal_entity_id = {legal_entity}"
    # Two arrays rather than a column per node: a rule of 1,000 leaves has more nodes than a row may have columns
    # (ordered by the arrays: the root, first, decides which contact of a customer is explained).
    outcomes = "ARRAY[" + ", ".join(f"coalesce({r}, false)" for r in results) + "]::boolean[]"
    values = "ARRAY[" + ", ".join(actuals) + "]::jsonb[]"
    head = ("WITH " + ", ".join(compiled.ctes) + " ") if compiled.ctes else ""
    sql = (
        f"{head}SELECT {outcomes} AS outcomes, {values} FROM {compiled.from_sql} WHERE {where} ORDER BY 1 DESC LIMIT 1"
    )
    record = await conn.fetchrow(sql, *criteria.values)
    if record is None:
        return None
    return [bool(b) for b in record[0]], list(record[1])


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


async def moved_candidates(conn: Connection, tenant: str, rule: Rule, start: datetime, end: datetime) -> list[str]:
    """The customers whose time-relative conditions a move of the rule clock from `start` to `end` may have changed
    (rules/compiler.py `moved_sql`)."""
    criteria = Criteria(tenant)
    sql = moved_sql(rule, criteria, start, end)
    if sql is None:
        return []
    return [r[0] for r in await conn.fetch(sql, *criteria.values)]


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
