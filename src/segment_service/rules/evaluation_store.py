"""SQL that evaluates rules (docs/rules.md#evaluation): applying compiled rules to the memberships (a diff: rows a
rule wants and lacks are added, AUTOMATIC rows it no longer wants go) of some customers, or of many rules at once to
the whole tenant; previewing a rule, explaining it for one subject, and the planner settings these statements run
with. The rules themselves, their queue, locks and exclusions are rules/store.py's."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from segment_service.core.db import Connection
from segment_service.core.listing import Criteria
from segment_service.rules.compiler import Compiled, moved_sql
from segment_service.rules.conditions import Rule

Change = tuple[bool, str, str]  # (added, customer id, legal entity id or '')


#: What a statement over the whole tenant runs with, for its transaction: no nested loops (it joins whole sets; with
#: statistics older than a segment's members, a nested loop over them costs time with the square of their number);
#: memory enough that its aggregates, hashes and shared subject table stay out of temporary files at a million
#: customers (each hash may take work_mem times hash_mem_multiplier); and index pages priced as what they are on a
#: server whose data is cached or on SSD (the default prices a random page four times a sequential one), so that
#: purchase conditions read the narrow covering index of the orders (orders_customer_idx) rather than every wide
#: order row (docs/performance.md#rule-based-segments).
WHOLE_TENANT_SETTINGS = {"enable_nestloop": "off", "work_mem": "64MB", "random_page_cost": "1.1"}


async def whole_tenant_settings(conn: Connection) -> dict[str, str]:
    """Inside a transaction: WHOLE_TENANT_SETTINGS until `restore_settings`; the settings they replace."""
    previous = {}
    for name, value in WHOLE_TENANT_SETTINGS.items():
        previous[name] = str(await conn.fetchval("SELECT current_setting($1)", name))
        await conn.execute("SELECT set_config($1, $2, true)", name, value)
    return previous


async def restore_settings(conn: Connection, previous: dict[str, str]) -> None:
    for name, value in previous.items():
        await conn.execute("SELECT set_config($1, $2, true)", name, value)


def _with(compiled: Compiled, *more: str) -> str:
    return "WITH " + ", ".join([*compiled.ctes, f"matched AS ({compiled.select})", *more])


@dataclass(frozen=True, slots=True)
class Applied:
    """One compiled rule of a statement that applies several: its segment's placeholder and its CTE name prefix."""

    compiled: Compiled
    segment: str
    prefix: str


def _diff(rule: Applied, customers: str) -> list[str]:
    """The CTEs that apply one rule to some customers: what it matches, what it wants (exclusions respected), how
    that differs from the segment's memberships of those customers now, what is added and what is removed
    (AUTOMATIC rows only: manual ones stay)."""
    p, segment = rule.prefix, rule.segment
    scope = f" AND x.customer_id IN (SELECT unnest({customers}))"
    return [
        *rule.compiled.ctes,
        f"{p}matched AS ({rule.compiled.select})",
        f"""{p}wanted AS (
            SELECT m.customer_id, m.legal_entity_id FROM {p}matched m
            WHERE NOT EXISTS (SELECT 1 FROM segment_exclusions e WHERE e.tenant = $1 AND e.segment_id = {segment}
                              AND e.customer_id = m.customer_id AND e.legal_entity_id IN ('', m.legal_entity_id)))""",
        # One full join of the wanted rows with the segment's rows finds both what is missing and what may go: an
        # existing row is never inserted again, and the segment's rows are read from its primary key alone (the
        # delete below keeps manual rows).
        f"""{p}diff AS MATERIALIZED (
            SELECT coalesce(w.customer_id, x.customer_id) AS customer_id,
                   coalesce(w.legal_entity_id, x.legal_entity_id) AS legal_entity_id, w.customer_id IS NOT NULL AS add
            FROM {p}wanted w FULL JOIN (
                SELECT x.customer_id, x.legal_entity_id FROM segment_customer_assignments x
                WHERE x.tenant = $1 AND x.segment_id = {segment}{scope}) x
              ON x.customer_id = w.customer_id AND x.legal_entity_id = w.legal_entity_id
            WHERE x.customer_id IS NULL OR w.customer_id IS NULL)""",
        f"""{p}added AS (
            INSERT INTO segment_customer_assignments
                (tenant, segment_id, customer_id, legal_entity_id, assignment_type, version, created_at, modified_at)
            SELECT $1, {segment}, d.customer_id, d.legal_entity_id, 'AUTOMATIC', 1, now(), now()
            FROM {p}diff d WHERE d.add
            ON CONFLICT ON CONSTRAINT segment_customer_assignments_pkey DO NOTHING
            RETURNING customer_id, legal_entity_id)""",
        f"""{p}removed AS (
            DELETE FROM segment_customer_assignments a USING {p}diff d
            WHERE a.tenant = $1 AND a.segment_id = {segment} AND a.assignment_type = 'AUTOMATIC' AND NOT d.add
              AND a.customer_id = d.customer_id AND a.legal_entity_id = d.legal_entity_id
            RETURNING a.customer_id, a.legal_entity_id)""",
    ]


async def apply(conn: Connection, criteria: Criteria, rules: Sequence[Applied], customers: str) -> list[list[Change]]:
    """Make each segment's AUTOMATIC memberships of `customers` (a text[] placeholder) what its compiled rule wants,
    exclusions and manual memberships respected, in one statement (the rules must not read each other's segments:
    they see the memberships as they were before it); the changes made, per rule."""
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


#: A whole-tenant statement compares at most this many rules' results with their segments' members: each rule is a
#: bit of one bigint per subject.
SHARED_RULES = 64


async def apply_shared(
    conn: Connection, criteria: Criteria, ctes: Sequence[str], flags: str, segments: Sequence[str]
) -> list[list[Change]]:
    """Make the segments' AUTOMATIC memberships what the rules of one shared pass want (rules/compiler.py
    `compile_shared`: the CTE `flags` has each subject once with the boolean `h{k}` of rule k, the rule of
    `segments[k]`), exclusions and manual memberships respected, for the whole tenant ($1), in one statement; the
    changes made, per rule.

    All the rules are compared with all their members in one pass: each subject's wanted segments and each
    (customer, legal entity)'s present ones become one bigint each (bit k for rule k), and one full join of the two
    finds the subjects whose bits differ. A member that stays costs a bit in a group, not a join per rule."""
    assert 0 < len(segments) <= SHARED_RULES
    seg = f"{criteria.bind(list(segments))}::text[]"
    wanted_bits = " | ".join(f"(CASE WHEN m.h{k} THEN 1::int8 << {k} ELSE 0 END)" for k in range(len(segments)))
    bit = "(1::int8 << (s.k - 1)::int)"
    numbered = f"unnest({seg}) WITH ORDINALITY AS s(id, k)"
    sql = "WITH " + ", ".join(
        [
            *ctes,
            # Exclusions of these segments, as bits per (customer, legal entity or '' for every context).
            f"""excluded AS (
                SELECT e.customer_id, e.legal_entity_id, bit_or({bit}) AS bits
                FROM segment_exclusions e JOIN {numbered} ON s.id = e.segment_id
                WHERE e.tenant = $1 AND e.segment_id = ANY({seg}) GROUP BY e.customer_id, e.legal_entity_id)""",
            # Materialized: the bits are computed once per subject, not again wherever the planner would inline them.
            f"""wanted AS MATERIALIZED (
                SELECT m.customer_id, m.legal_entity_id,
                       ({wanted_bits}) & ~(coalesce(ea.bits, 0) | coalesce(el.bits, 0)) AS bits
                FROM {flags} m
                LEFT JOIN excluded ea ON ea.customer_id = m.customer_id AND ea.legal_entity_id = ''
                LEFT JOIN excluded el ON el.customer_id = m.customer_id AND el.legal_entity_id = m.legal_entity_id
                                     AND m.legal_entity_id <> '')""",
            # The segments' rows now, AUTOMATIC and MANUAL alike (a manual row is never inserted again nor deleted),
            # read in the order of the customer index.
            f"""present AS (
                SELECT a.customer_id, a.legal_entity_id, bit_or({bit}) AS bits
                FROM segment_customer_assignments a JOIN {numbered} ON s.id = a.segment_id
                WHERE a.tenant = $1 AND a.segment_id = ANY({seg}) GROUP BY a.customer_id, a.legal_entity_id)""",
            """differing AS MATERIALIZED (
                SELECT coalesce(w.customer_id, p.customer_id) AS customer_id,
                       coalesce(w.legal_entity_id, p.legal_entity_id) AS legal_entity_id,
                       coalesce(w.bits, 0) AS want, coalesce(p.bits, 0) AS have
                FROM (SELECT * FROM wanted WHERE bits <> 0) w FULL JOIN present p
                  ON p.customer_id = w.customer_id AND p.legal_entity_id = w.legal_entity_id
                WHERE coalesce(w.bits, 0) <> coalesce(p.bits, 0))""",
            f"""changes AS MATERIALIZED (
                SELECT ({seg})[k + 1] AS segment_id, d.customer_id, d.legal_entity_id, (d.want >> k) & 1 = 1 AS add
                FROM differing d CROSS JOIN generate_series(0, {len(segments) - 1}) AS k
                WHERE ((d.want # d.have) >> k) & 1 = 1)""",
            """added AS (
                INSERT INTO segment_customer_assignments (tenant, segment_id, customer_id, legal_entity_id,
                                                          assignment_type, version, created_at, modified_at)
                SELECT $1, c.segment_id, c.customer_id, c.legal_entity_id, 'AUTOMATIC', 1, now(), now()
                FROM changes c WHERE c.add
                ON CONFLICT ON CONSTRAINT segment_customer_assignments_pkey DO NOTHING
                RETURNING segment_id, customer_id, legal_entity_id)""",
            # Each row to go is found by its primary key, one probe per change (a LATERAL with LIMIT is always a
            # nested loop, which this statement's settings would otherwise turn into a merge over every membership
            # of the tenant), and deleted by its row address: no other write changes the tenant's memberships while
            # a full evaluation holds its membership lock (core/membership_lock.py), so the address stays right.
            """removed AS (
                DELETE FROM segment_customer_assignments a
                WHERE a.tenant = $1 AND a.ctid = ANY (ARRAY(
                    SELECT x.ctid FROM changes c CROSS JOIN LATERAL (
                        SELECT x.ctid FROM segment_customer_assignments x
                        WHERE x.tenant = $1 AND x.segment_id = c.segment_id AND x.customer_id = c.customer_id
                          AND x.legal_entity_id = c.legal_entity_id AND x.assignment_type = 'AUTOMATIC' LIMIT 1) x
                    WHERE NOT c.add))
                RETURNING a.segment_id, a.customer_id, a.legal_entity_id)""",
        ]
    )
    sql += (
        " SELECT segment_id, true, customer_id, legal_entity_id FROM added"
        " UNION ALL SELECT segment_id, false, customer_id, legal_entity_id FROM removed"
    )
    position = {segment_id: n for n, segment_id in enumerate(segments)}
    changes: list[list[Change]] = [[] for _ in segments]
    for record in await conn.fetch(sql, *criteria.values):
        changes[position[record[0]]].append((record[1], record[2], record[3]))
    return changes


async def preview(conn: Connection, criteria: Criteria, compiled: Compiled, segment: str) -> dict[str, Any]:
    """What saving the compiled rule would do to the segment's members; writes nothing. It runs with the server's
    settings: with WHOLE_TENANT_SETTINGS (or only their page prices) it measured slower at a million customers."""
    sample = (
        "(SELECT coalesce(jsonb_agg(jsonb_strip_nulls(jsonb_build_object('customerId', s.customer_id,"
        " 'legalEntityId', nullif(s.legal_entity_id, '')))), '[]'::jsonb)"
        " FROM (SELECT * FROM d WHERE {0} ORDER BY customer_id, legal_entity_id LIMIT 20) s)"
    )
    joining, leaving = "wanted AND NOT member", "member AND NOT manual AND NOT wanted"
    excluded = "SELECT e.customer_id{0} FROM segment_exclusions e WHERE e.tenant = $1 AND e.segment_id = {1}{2}"
    rows = "FROM segment_customer_assignments x WHERE x.tenant = $1 AND x.segment_id = {0}"
    everywhere = excluded.format("", segment, " AND e.legal_entity_id = ''")
    in_context = excluded.format(", e.legal_entity_id", segment, "")
    manual = f"SELECT x.customer_id, x.legal_entity_id {rows.format(segment)} AND x.assignment_type = 'MANUAL'"
    # One full join of what the rule matches with the segment's rows: each subject once, with whether the rule
    # matches it, whether an exclusion holds it out (two hashed look-ups: everywhere, in its context), whether it is a
    # member now and whether a manual one. Members then are the wanted (matched, not excluded) and the manual ones;
    # joining, the wanted non-members; leaving, the AUTOMATIC members no longer wanted. The matches are read once and
    # in customer order, the members from the primary key alone and the manual ones from their own small index, so
    # the join is a merge of two ordered streams (docs/performance.md#rule-based-segments).
    head = ("WITH " + ", ".join(compiled.ctes) + ", ") if compiled.ctes else "WITH "
    sql = head + (
        f"""d AS MATERIALIZED (
            SELECT coalesce(w.customer_id, x.customer_id) AS customer_id,
                   coalesce(w.legal_entity_id, x.legal_entity_id) AS legal_entity_id,
                   w.customer_id IS NOT NULL AS matched, coalesce(NOT w.excluded, false) AS wanted,
                   x.customer_id IS NOT NULL AS member, mm.customer_id IS NOT NULL AS manual
            FROM (SELECT m.customer_id, m.legal_entity_id,
                         m.customer_id IN ({everywhere})
                         OR (m.customer_id, m.legal_entity_id) IN ({in_context}) AS excluded
                  FROM ({compiled.select} ORDER BY 1, 2) m) w
            FULL JOIN (SELECT x.customer_id, x.legal_entity_id {rows.format(segment)}) x
              ON x.customer_id = w.customer_id AND x.legal_entity_id = w.legal_entity_id
            LEFT JOIN ({manual}) mm ON mm.customer_id = x.customer_id AND mm.legal_entity_id = x.legal_entity_id),
        counts AS (SELECT count(*) FILTER (WHERE matched) AS matches,
                          count(*) FILTER (WHERE wanted OR manual) AS members,
                          count(*) FILTER (WHERE {joining}) AS joining,
                          count(*) FILTER (WHERE {leaving}) AS leaving FROM d)"""
    )
    sql += (
        " SELECT counts.matches, counts.members, counts.joining,"
        f" {sample.format(joining)}, counts.leaving, {sample.format(leaving)} FROM counts"
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


async def moved_candidates(conn: Connection, tenant: str, rule: Rule, start: datetime, end: datetime) -> list[str]:
    """The customers whose time-relative conditions a move of the rule clock from `start` to `end` may have changed
    (rules/compiler.py `moved_sql`)."""
    criteria = Criteria(tenant)
    sql = moved_sql(rule, criteria, start, end)
    if sql is None:
        return []
    return [r[0] for r in await conn.fetch(sql, *criteria.values)]
