"""SQL of a write's re-evaluation of a few customers (rules/incremental.py): their rows, contact assignments and
memberships read once by index, the two questions only the database answers exactly (string order, text as a
timestamp), and the memberships that change written in one statement each."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from segment_service.core.db import Connection
from segment_service.rules.fields import columns
from segment_service.rules.matcher import ABSENT

#: JSON with numbers as Decimal (PostgreSQL's numeric), so comparisons are exact.
_JSON = json.JSONDecoder(parse_float=Decimal, parse_int=Decimal)

_CUSTOMER_PLAIN, _CUSTOMER_JSON = columns("customer")
_ENTITY_PLAIN, _ENTITY_JSON = columns("legalEntity")
_CONTACT_PLAIN, _CONTACT_JSON = columns("contact")


def _select(alias: str, plain: tuple[str, ...], documents: tuple[str, ...]) -> str:
    return ", ".join([*(f"{alias}.{c}" for c in plain), *(f"{alias}.{c}::text" for c in documents)])


def _row(record: Any, offset: int, plain: tuple[str, ...], documents: tuple[str, ...]) -> dict[str, Any]:
    row = {c: record[offset + i] for i, c in enumerate(plain)}
    for i, c in enumerate(documents):
        text = record[offset + len(plain) + i]
        row[c] = ABSENT if text is None else _JSON.decode(text)
    return row


# The rows are read FOR KEY SHARE: a concurrent delete of one of them waits for this transaction (and the deleting
# transaction's removal of its memberships then sees the rows this one adds), or, deleted first, it is not read.
_CUSTOMERS = (
    f"SELECT {_select('c', _CUSTOMER_PLAIN, _CUSTOMER_JSON)} FROM customers c"
    " WHERE c.tenant = $1 AND c.id = ANY($2::text[]) ORDER BY c.id FOR KEY SHARE"
)
_CONTACTS = (
    f"SELECT ca.customer_id, ca.legal_entity_id, {_select('ca', _CONTACT_PLAIN, _CONTACT_JSON)},"
    f" {_select('le', _ENTITY_PLAIN, _ENTITY_JSON)}"
    " FROM contact_assignments ca JOIN legal_entities le ON le.tenant = ca.tenant AND le.id = ca.legal_entity_id"
    " WHERE ca.tenant = $1 AND ca.customer_id = ANY($2::text[]) ORDER BY ca.customer_id, ca.id FOR KEY SHARE"
)


async def customers(conn: Connection, tenant: str, customer_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The customers' columns a rule may read, by id (customers that are gone are not there)."""
    records = await conn.fetch(_CUSTOMERS, tenant, list(customer_ids))
    return {r[0]: _row(r, 0, _CUSTOMER_PLAIN, _CUSTOMER_JSON) for r in records}


async def contacts(
    conn: Connection, tenant: str, customer_ids: Sequence[str]
) -> list[tuple[str, str, dict[str, Any], dict[str, Any]]]:
    """(customer, legal entity, the contact assignment's columns, the legal entity's) of each contact assignment of
    the customers."""
    records = await conn.fetch(_CONTACTS, tenant, list(customer_ids))
    entity_at = 2 + len(_CONTACT_PLAIN) + len(_CONTACT_JSON)
    return [
        (r[0], r[1], _row(r, 2, _CONTACT_PLAIN, _CONTACT_JSON), _row(r, entity_at, _ENTITY_PLAIN, _ENTITY_JSON))
        for r in records
    ]


async def memberships(
    conn: Connection, tenant: str, segment_ids: Sequence[str], customer_ids: Sequence[str]
) -> tuple[list[tuple[str, str, str, str]], set[tuple[str, str, str]]]:
    """(segment, customer, legal entity or '', assignment type) of every membership of the customers, and (segment,
    customer, legal entity or '' for every context) of their exclusions from `segment_ids`, in one statement."""
    records = await conn.fetch(
        "SELECT segment_id, customer_id, legal_entity_id, assignment_type FROM segment_customer_assignments"
        " WHERE tenant = $1 AND customer_id = ANY($3::text[])"
        " UNION ALL SELECT segment_id, customer_id, legal_entity_id, NULL FROM segment_exclusions"
        " WHERE tenant = $1 AND segment_id = ANY($2::text[]) AND customer_id = ANY($3::text[])",
        tenant,
        list(segment_ids),
        list(customer_ids),
    )
    rows = [(r[0], r[1], r[2], r[3]) for r in records if r[3] is not None]
    return rows, {(r[0], r[1], r[2]) for r in records if r[3] is None}


async def timestamps(conn: Connection, texts: Sequence[str]) -> list[datetime | None]:
    """What rules/compiler.py's `segment_rule_timestamp` makes of each text, in order."""
    # Beyond the years this process can represent (1 to 9999), a moment is clamped to them: the rules compare it
    # with `now - D` for durations of at most 500 years, which lies far inside, so the comparison is unchanged.
    records = await conn.fetch(
        """
        SELECT CASE WHEN v < '0001-01-01 00:00:00+00' THEN '0001-01-01 00:00:00+00'
                    WHEN v > '9999-12-31 23:59:59.999999+00' THEN '9999-12-31 23:59:59.999999+00' ELSE v END
        FROM unnest($1::text[]) WITH ORDINALITY AS u(t, n), LATERAL (SELECT segment_rule_timestamp(t) AS v) m
        ORDER BY n
        """,
        list(texts),
    )
    return [r[0] for r in records]


async def string_orders(conn: Connection, pairs: Sequence[tuple[str, str]]) -> list[int]:
    """-1, 0 or 1 for each pair (a, b) as the database's collation orders them, in order."""
    records = await conn.fetch(
        "SELECT CASE WHEN a < b THEN -1 WHEN a > b THEN 1 ELSE 0 END"
        " FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS u(a, b, n) ORDER BY n",
        [a for a, _ in pairs],
        [b for _, b in pairs],
    )
    return [int(r[0]) for r in records]


Key = tuple[str, str, str]  # (segment, customer, legal entity or '')


async def add_memberships(conn: Connection, tenant: str, keys: Sequence[Key]) -> set[Key]:
    """Insert AUTOMATIC memberships (a membership that is there by now, of either kind, stays as it is); the keys
    inserted."""
    if not keys:
        return set()
    records = await conn.fetch(
        """
        INSERT INTO segment_customer_assignments
            (tenant, segment_id, customer_id, legal_entity_id, assignment_type, version, created_at, modified_at)
        SELECT $1, k.s, k.c, k.l, 'AUTOMATIC', 1, now(), now()
        FROM unnest($2::text[], $3::text[], $4::text[]) AS k(s, c, l)
        ON CONFLICT ON CONSTRAINT segment_customer_assignments_pkey DO NOTHING
        RETURNING segment_id, customer_id, legal_entity_id
        """,
        tenant,
        [k[0] for k in keys],
        [k[1] for k in keys],
        [k[2] for k in keys],
    )
    return {(r[0], r[1], r[2]) for r in records}


async def remove_memberships(conn: Connection, tenant: str, keys: Sequence[Key]) -> set[Key]:
    """Delete AUTOMATIC memberships (a manual one stays); the keys deleted."""
    if not keys:
        return set()
    records = await conn.fetch(
        """
        DELETE FROM segment_customer_assignments a USING unnest($2::text[], $3::text[], $4::text[]) AS k(s, c, l)
        WHERE a.tenant = $1 AND a.segment_id = k.s AND a.customer_id = k.c AND a.legal_entity_id = k.l
          AND a.assignment_type = 'AUTOMATIC'
        RETURNING a.segment_id, a.customer_id, a.legal_entity_id
        """,
        tenant,
        [k[0] for k in keys],
        [k[1] for k in keys],
        [k[2] for k in keys],
    )
    return {(r[0], r[1], r[2]) for r in records}
